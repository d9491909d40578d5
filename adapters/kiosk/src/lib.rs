//! The KIOSK provider adapter: KIOSK (the Department of Culture, Youth and Media's online
//! application system for subsidies, grants and certificates) over the hub's own SOAP 1.1
//! contract (`contracts/xsd/kiosk-v1.xsd`, `contracts/wsdl/kiosk-v1.wsdl`, described in
//! `contracts/xsd/README.md`, section KIOSK).
//!
//! - [`soap`] is pure: it writes `DienAanvraagIn` / `GeefDossierStatus` and reads the
//!   answers into [`adapter_provider::Submitted`] / [`adapter_provider::Decision`], or
//!   classifies the failure as transient or permanent.
//! - [`client`] is the crate's only I/O: [`KioskProvider`] posts the envelopes and
//!   implements [`adapter_provider::Provider`].
//! - [`kind`]: [`KioskKind`], how the hub configures and builds it (`kind = "kiosk"`).
//!
//! Decisions reach the hub by polling (`Provider::status` calls `GeefDossierStatus`): KIOSK
//! has no outbound integration. `submit` is idempotent: KIOSK answers the same dossier for a
//! repeated `applicationId`.

pub mod client;
pub mod kind;
pub mod soap;

pub use client::KioskProvider;
pub use kind::KioskKind;
