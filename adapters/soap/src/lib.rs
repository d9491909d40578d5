//! The SOAP 1.1 conventions the hub's SOAP partners share, written once.
//!
//! The municipality back offices (`adapter-municipality`), KIOSK (`adapter-kiosk`) and the
//! volunteer-insurance service (`adapter-insurance`) each have their own contract (their
//! own namespace, operations and answer types, which stay in their adapter), but they speak
//! the same protocol in the same MAGDA style: a SOAP 1.1 envelope, unqualified child
//! elements, a `Verzoek/Context/Bericht` header with `Afzender`/`Ontvanger`/`Referte`,
//! `Uitzonderingen` of type `FOUT`/`WAARSCHUWING`/`INFORMATIE` in the answer, fault `99995`
//! for throttling, and the same rule for what is worth retrying. This crate holds that
//! common part:
//!
//! - [`xml`]: writing (an indenting quick-xml writer, text escaped and cleaned of
//!   characters XML 1.0 cannot carry, the envelope and the MAGDA `Context`) and reading (a
//!   small, bounded element tree that refuses DTDs and unknown entities);
//! - [`fault`]: SOAP faults and HTTP statuses classified as transient or permanent, and the
//!   MAGDA `Uitzondering`s;
//! - [`text`]: reasons kept short (white space collapsed, at most [`MAX_REASON_CHARS`]);
//! - `http` (feature `http`, the only I/O): the reqwest client every adapter builds, one
//!   SOAP `POST` with a bounded answer, and a partner's endpoint (`SoapClient`) posting it;
//! - `fixtures` (feature `fixtures`): what the adapters' tests feed every SOAP reader.
//!
//! Everything but `http` is pure: no I/O, no clock, no dependency on the hub's contracts.

pub mod fault;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
#[cfg(feature = "http")]
pub mod http;
pub mod text;
pub mod xml;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENVELOPE_NAMESPACE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The HTTP `Content-Type` of a SOAP 1.1 request.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// The longest reason an error or a refusal carries, in characters.
pub const MAX_REASON_CHARS: usize = 300;
