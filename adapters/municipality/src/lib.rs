//! The municipality adapter: what the hub says to a municipality's back office and what a
//! municipality may ask of the register.
//!
//! - `soap`: association publications as MAGDA-style SOAP 1.1 messages
//!   (`contracts/xsd/`, `contracts/wsdl/`) and the classification of the back office's reply
//!   (pure).
//! - `endpoint`: the one piece of I/O, posting a SOAP message to a back office (optionally
//!   with a client certificate) and classifying the outcome as transient or permanent.
//! - `commands`: a municipality's commands to change an association in the register: their
//!   validation (field errors), the register request each becomes, and whether its effect is
//!   already visible in a snapshot (pure).
//!
//! Invariant: like every adapter, this crate never sees the broker or the store; retrying,
//! dead-lettering and bookkeeping are the hub runtime's.

pub mod commands;
pub mod endpoint;
pub mod soap;
