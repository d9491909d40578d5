//! The register's write side (the beheer API), as the hub calls it for a municipality.
//!
//! A `Write` is one HTTP command (`PATCH /v1/verenigingen/{vCode}`,
//! `POST|PATCH|DELETE /v1/verenigingen/{vCode}/contactgegevens[/{id}]`,
//! `…/locaties[/{id}]`); `RegisterClient::write` sends it with `VR-Initiator`,
//! `X-Correlation-Id` and `If-Match: W/"<version>"` and returns a `WriteOutcome`.

use contracts::VCode;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WriteMethod {
    Post,
    Patch,
    Delete,
}

/// One command for the register's beheer API.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub method: WriteMethod,
    pub v_code: VCode,
    /// Below `/v1/verenigingen/{vCode}`: empty for the association itself (basisgegevens),
    /// else e.g. `contactgegevens`, `contactgegevens/3`, `locaties/2`.
    pub sub_path: String,
    /// The JSON body as the register expects it; `None` for a DELETE.
    pub body: Option<serde_json::Value>,
    /// The acting organisation's OVO code (`VR-Initiator`).
    pub initiator: String,
    /// Sent as `X-Correlation-Id`; the register echoes it.
    pub correlation_id: Uuid,
    /// Sent as `If-Match: W/"<version>"`: the version the change was made against.
    pub if_match: Option<u64>,
}

/// One field error of a `400` problem document (`validationErrors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The register's field path, e.g. `contactgegeven.waarde`.
    pub field: String,
    pub code: String,
    pub reason: String,
}

/// What the register answered to a `Write` (a transport failure or 5xx is a
/// `RegisterError` instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// `202`: applied; the association's new version (`ETag`) and the change's sequence
    /// (`VR-Sequence`).
    Accepted { version: u64, sequence: u64 },
    /// `200`: nothing to change (the association already looked like that).
    Unchanged,
    /// `412`: the association changed since `if_match`.
    Conflict,
    /// `400` (or `422`): the register refused the command; `title`/`detail` of the problem
    /// document and its field errors.
    Rejected {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// `404`: no such association (or sub-entity).
    NotFound { detail: String },
}
