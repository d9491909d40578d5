//! The register adapter: how the hub reads the Verenigingsregister.
//!
//! `client` does the HTTP (token, change feed, detail); `translate` is pure (parsing a
//! detail document, reading an ETag). The adapter knows nothing of the broker or the store:
//! the hub's ingest loop decides what to do with what it returns.

pub mod beheer;
pub mod client;
pub mod translate;

pub use client::{Detail, RegisterClient, RegisterClientConfig, RegisterError};
pub use translate::{etag_version, parse_detail, ParseError};
