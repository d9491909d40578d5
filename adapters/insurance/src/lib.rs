//! The volunteer-insurance adapter: recognitions (erkenningen) for the free volunteer
//! insurance of the Steunpunt Vrijwilligerswerk (insurer Belfius), over the hub's own
//! MAGDA-style SOAP contract (`contracts/xsd/vrijwilligersverzekering-v1.xsd`,
//! `contracts/wsdl/vrijwilligersverzekering-v1.wsdl`).
//!
//! - `soap`: the requests (`VraagErkenningAan` from an `EnrichedApplication`,
//!   `GeefErkenning`) and the reading and classification of the answers (pure).
//! - `client`: [`InsuranceProvider`], the `adapter_provider::Provider` that posts them (the
//!   crate's only I/O).
//! - `kind`: [`InsuranceKind`], how the hub configures and builds it (`kind = "insurance"`).
//!
//! A recognition is decided at once: `submit` answers `Approved` (reference: the
//! erkenningsnummer) or `Refused` (the service's reasons, a business decision), both `Ok`;
//! throttling, server faults and unreachable service are `Transient`, invalid requests
//! `Permanent`.
//!
//! Invariant: like every adapter, this crate never sees the broker or the store, and it
//! never sends a national number (INSZ): the contact person is the applicant's name, e-mail
//! and telephone only.

pub mod client;
pub mod kind;
pub mod soap;

pub use client::InsuranceProvider;
pub use kind::InsuranceKind;
pub use soap::Parties;
