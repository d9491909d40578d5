//! The ULDK adapter (Uitleendienst Kampeermateriaal, Department of Culture, Youth and Media):
//! tent reservations for youth associations over REST/JSON.
//!
//! ULDK publishes no API; the contract is the hub project's own, documented in
//! `contracts/uldk.md` with the JSON Schemas `contracts/schemas/uldk.reservation.v1.json`
//! (request) and `uldk.reservation-status.v1.json` (answer).
//!
//! - [`translate`] (pure): an `EnrichedApplication` → the reservation body, ULDK's
//!   reservation document → a [`adapter_provider::Decision`], problem+json → a reason.
//! - [`client`]: [`UldkProvider`], the [`adapter_provider::Provider`] over HTTP, which
//!   classifies failures as transient or permanent and decides nothing else.
//! - [`kind`]: [`UldkKind`], how the hub configures and builds it (`kind = "uldk"`).
//!
//! The service fields a `uldk-tentlening` application must carry (`EnrichedApplication.fields`):
//!
//! ```json
//! {
//!   "periode":     {"van": "2027-07-02", "tot": "2027-07-11"},
//!   "tenten":      [{"type": "seniortent", "aantal": 3}, {"type": "patrouilletent", "aantal": 2}],
//!   "aantalLeden": 33,
//!   "ophaling":    {"datum": "2027-07-01", "plaats": "Gent"}
//! }
//! ```
//!
//! **Invariant:** the adapter never sees the broker or the store; `submit` is idempotent
//! because ULDK keeps one reservation per `Idempotency-Key` (the applicationId).

pub mod client;
pub mod kind;
pub mod translate;

pub use client::{UldkProvider, IDEMPOTENCY_KEY};
pub use kind::UldkKind;
