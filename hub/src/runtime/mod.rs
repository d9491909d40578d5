//! What every feature runs on: the broker ([`broker`]), the store ([`store`]), the consumer
//! runtime ([`consume`]), the one outbox relay ([`relay`]), the HTTP server ([`http`],
//! [`serve`]), the metrics and the list of a plug-in point's kinds ([`registry`]). A feature ([`Feature`]) declares its queues from
//! configuration, and is then built on a [`Runtime`] into what it contributes: routes, tasks
//! on every replica and tasks on the leader ([`Built`]).
//!
//! Invariant: nothing here knows a feature; a new feature plugs into `crate::features`.

pub mod broker;
pub mod consume;
mod feature;
pub mod http;
pub mod inbound;
pub mod management;
pub mod metrics;
pub mod registry;
pub mod relay;
pub mod serve;
pub mod store;
pub mod telemetry;

pub use feature::{every, prune_every, Built, Every, Feature, Routes, Runtime};
