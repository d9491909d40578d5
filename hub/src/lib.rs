//! The Verenigingsloket integration hub.
//!
//! [`runtime`] is what every feature runs on: the broker, the store, the consumer runtime, the
//! one outbox relay, the HTTP server and the metrics. [`features`] are what the hub does:
//! register sync and distribution, municipalities' commands, service applications, dead
//! letters; each contributes its own queues, tasks and routes ([`runtime::Feature`]), and
//! [`app::start`] starts the union of them.
//!
//! Invariant: the broker and the store are reached only through the [`runtime::broker::Broker`]
//! and [`runtime::store::Store`] traits; adapters never see either.

pub mod app;
pub mod config;
pub mod features;
pub mod runtime;
