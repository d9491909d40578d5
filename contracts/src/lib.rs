//! Wire types of the Verenigingsloket integration hub.
//!
//! Invariant: this crate does no I/O. It holds the register-facing types (with the
//! register's own Dutch wire names), the validated identifiers, and the messages the hub
//! publishes. Every published message has a JSON Schema under `contracts/schemas/` and an
//! example under `contracts/examples/`; tests keep the three in step.

pub mod applications;
pub mod commands;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod ids;
pub mod json;
pub mod messages;
pub mod register;
pub mod schemas;
pub mod territory;
pub mod text;

pub use commands::{Command, CommandData, CommandType, Outcome, Reply, ReplyError};
pub use ids::{Email, Insz, KboNumber, OvoCode, Postcode, VCode};
pub use messages::{
    AssociationChanged, AssociationRemoved, Crossing, MessageType, Metadata, Part, TerritoryNotice,
};
pub use register::{Mutatie, Vereniging, VerenigingDetail};
pub use schemas::schema;
pub use territory::Territory;
