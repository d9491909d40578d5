//! The register adapter: how the hub reads the Verenigingsregister and sends it a
//! municipality's changes.
//!
//! `client` does the HTTP (token, change feed, detail, beheer writes); `translate` is pure
//! (parsing a detail document, reading an ETag), and so are `beheer`'s helpers (a write's path,
//! a 202's headers, a problem document). The adapter knows nothing of the broker or the store:
//! the hub's ingest loop decides what to do with what it returns.

pub mod beheer;
pub mod client;
pub mod translate;

pub use beheer::{parse_accepted, parse_problem, FieldError, Write, WriteMethod, WriteOutcome};
pub use client::{
    Detail, RegisterClient, RegisterClientConfig, RegisterError, MAX_ANSWER_BYTES,
    MAX_DOCUMENT_BYTES, MAX_FEED_BYTES,
};
pub use translate::{etag_version, parse_detail, Document, ParseError};
