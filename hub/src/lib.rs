//! The Verenigingsloket integration hub's runtime.
//!
//! Invariant: the broker and the store are reached only through the [`broker::Broker`] and
//! [`store::Store`] traits; adapters never see either.

pub mod api;
pub mod app;
pub mod applications;
pub mod backfill;
pub mod broker;
pub mod catalogue;
pub mod commands;
pub mod config;
pub mod consume;
pub mod dead_letters;
pub mod distribute;
pub mod http;
pub mod inbound;
pub mod ingest;
pub mod management;
pub mod metrics;
pub mod providers;
pub mod recipients;
pub mod relay;
pub mod serve;
pub mod store;
pub mod telemetry;
