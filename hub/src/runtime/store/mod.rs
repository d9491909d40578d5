//! The hub's storage, behind one narrow trait so that another backend (the embedded SQLite
//! default) can be added without touching the pipeline or any adapter.
//!
//! Invariants every implementation keeps:
//! - `commit_ingest` is atomic: projection, outbox, rejections and checkpoint move together.
//! - The checkpoint never moves backwards; a snapshot is never replaced by an older sequence.
//! - `pending_outbox` returns messages in the order they were recorded.
//! - A `DeliveryTx` is atomic and serialises work on the same vCodes.
//! - Errors say whose failure they are ([`StoreError`]): the database's (`Unavailable`,
//!   retry later) or the item's (`Rejected`, permanent), so one bad item is never an outage.

use std::collections::HashMap;

use async_trait::async_trait;
use contracts::{MessageType, VCode, Vereniging};
use time::OffsetDateTime;
use uuid::Uuid;

pub mod applications;
pub mod commands;
pub mod dead_letters;
pub mod postgres;

pub use postgres::PgStore;

/// Whose failure a store error is. The PostgreSQL store decides it in one place
/// ([`postgres::classify`]) from the SQLSTATE class: the database's (`Unavailable`), or the
/// item's, which no retry will change (`Rejected`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or failed mid-way: retry later.
    #[error("database unavailable: {reason}")]
    Unavailable {
        reason: String,
        /// The driver's error, for a log or a caller that walks `source()`.
        #[source]
        cause: Option<Cause>,
    },
    /// Stored data does not read back: an operator must look.
    #[error("stored data is corrupt: {reason}")]
    Corrupt {
        reason: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The database refused this item's data (a data exception such as a NUL character in
    /// text, or a constraint violation): the item's failure, permanent; the database is fine.
    #[error("the database refused the data (SQLSTATE {code}): {reason}")]
    Rejected {
        /// The SQLSTATE, e.g. `22P05`; empty when the driver refused the value itself.
        code: String,
        /// The database's message.
        reason: String,
    },
}

/// What caused a store error, kept for `Error::source`.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl StoreError {
    /// The database is away, for a reason of the hub's own wording.
    pub fn unavailable(reason: impl Into<String>) -> StoreError {
        StoreError::Unavailable {
            reason: reason.into(),
            cause: None,
        }
    }

    /// Stored data does not read back, for a reason of the hub's own wording.
    pub fn corrupt(reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            reason: reason.into(),
            cause: None,
        }
    }

    /// Stored data does not read back because of `cause` (its message is the reason).
    pub fn corrupt_by(cause: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Corrupt {
            reason: cause.to_string(),
            cause: Some(Box::new(cause)),
        }
    }
}

/// An association as the projection holds it.
#[derive(Debug, Clone)]
pub struct StoredAssociation {
    pub vereniging: Vereniging,
    pub sequence: u64,
    pub version: Option<u64>,
}

#[derive(Debug, Clone)]
pub enum ProjectionChange {
    Upsert(Box<StoredAssociation>),
    Remove(VCode),
}

/// A message to publish, as recorded in the outbox. The routing key is its type.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub message_id: Uuid,
    pub message_type: MessageType,
    pub v_code: VCode,
    pub sequence: u64,
    pub version: Option<u64>,
    pub correlation_id: Uuid,
    pub time: OffsetDateTime,
    pub body: Vec<u8>,
    /// Who receives it (decided at ingest); `None` for a message recorded before recipients
    /// were: it goes to every subscriber.
    pub recipients: Option<Vec<crate::features::register_sync::recipients::Recipient>>,
}

#[derive(Debug, Clone)]
pub struct PendingMessage {
    pub outbox_id: i64,
    pub message: OutboxMessage,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejection {
    #[serde(rename = "vCode")]
    pub v_code: String,
    pub sequence: u64,
    /// Why the document was refused (the parser's message, with line and column). The
    /// document itself is not kept: it may hold personal data.
    pub reason: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub recorded_at: Option<OffsetDateTime>,
}

/// A register change as the association's history shows it (no personal data).
#[derive(Debug, Clone)]
pub struct HistoryLine {
    pub v_code: VCode,
    pub sequence: u64,
    pub kind: MessageType,
    /// e.g. `{"version": 4, "changedParts": ["locaties"]}`.
    pub detail: serde_json::Value,
}

/// Everything one ingest step commits at once.
#[derive(Debug, Default, Clone)]
pub struct IngestBatch {
    pub changes: Vec<ProjectionChange>,
    pub outbox: Vec<OutboxMessage>,
    /// Lines of the associations' administrative history (one per outbox message).
    pub history: Vec<HistoryLine>,
    pub rejections: Vec<Rejection>,
    /// Moves the checkpoint forward (never back).
    pub checkpoint: Option<u64>,
}

impl IngestBatch {
    /// Adds `other`'s changes, messages, history and rejections; the checkpoint is the
    /// higher of the two.
    pub fn extend(&mut self, other: IngestBatch) {
        self.changes.extend(other.changes);
        self.outbox.extend(other.outbox);
        self.history.extend(other.history);
        self.rejections.extend(other.rejections);
        self.checkpoint = self.checkpoint.max(other.checkpoint);
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.outbox.is_empty()
            && self.rejections.is_empty()
            && self.checkpoint.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryState {
    pub sequence: u64,
    pub in_scope: bool,
}

/// One batch's delivery bookkeeping, in one database transaction that stays open while
/// the batch's effects (publishing, posting) happen, and commits after them. Dropping it
/// without `commit` rolls everything back, so a failed batch leaves no trace.
///
/// The subscriber's state per vCode is its inbox: the newest sequence applied. A message
/// is applied only if it moves that forward, so a redelivered or replayed message (same id,
/// same sequence) is absorbed, an older one is never applied after a newer one, and a
/// replica handling the same vCode at the same moment waits on this transaction's row lock
/// and then sees its outcome.
#[async_trait]
pub trait DeliveryTx: Send {
    /// Moves each vCode's state to the proposed one where the proposal is newer (or is a
    /// removal of a held association at the same sequence), and says what it was before.
    async fn advance(
        &mut self,
        proposals: &[(VCode, DeliveryState)],
    ) -> Result<Vec<Advance>, StoreError>;
    /// Puts the rows of these vCodes back as they were before `advance` (their delivery failed).
    async fn restore(&mut self, v_codes: &[VCode]) -> Result<(), StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// What `advance` did for one vCode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    pub v_code: VCode,
    /// The state was moved forward by this transaction.
    pub applied: bool,
    /// The state before (when applied), or the current state (when not); `None`: never
    /// delivered.
    pub previous: Option<DeliveryState>,
}

/// Held by the one replica that reads the register and relays the outbox.
#[async_trait]
pub trait Leadership: Send {
    /// Still the leader? False once the lock's session is gone.
    async fn confirm(&mut self) -> bool;
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn ping(&self) -> Result<(), StoreError>;

    /// Try to become the leader; `None` while another replica is.
    async fn try_lead(&self) -> Result<Option<Box<dyn Leadership>>, StoreError>;

    async fn checkpoint(&self) -> Result<u64, StoreError>;
    async fn associations(
        &self,
        v_codes: &[VCode],
    ) -> Result<HashMap<VCode, StoredAssociation>, StoreError>;
    async fn known_v_codes(&self) -> Result<Vec<VCode>, StoreError>;
    /// Up to `limit` stored associations with a vCode after `after`, in vCode order.
    async fn associations_after(
        &self,
        after: Option<&VCode>,
        limit: usize,
    ) -> Result<Vec<StoredAssociation>, StoreError>;
    /// Each subscriber's configuration fingerprint as last backfilled.
    async fn subscriber_fingerprints(&self) -> Result<HashMap<String, String>, StoreError>;
    /// Records `fingerprint` for `name`, or forgets `name` when `None`.
    async fn set_subscriber_fingerprint(
        &self,
        name: &str,
        fingerprint: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Commits every batch in one transaction (the checkpoint moves to the highest of theirs).
    async fn commit_ingest(&self, batches: &[IngestBatch]) -> Result<(), StoreError>;

    async fn pending_outbox(&self, limit: usize) -> Result<Vec<PendingMessage>, StoreError>;
    async fn mark_published(&self, outbox_ids: &[i64]) -> Result<(), StoreError>;
    async fn outbox_backlog(&self) -> Result<u64, StoreError>;
    /// Age of the oldest unpublished outbox message (zero when none).
    async fn outbox_lag(&self) -> Result<std::time::Duration, StoreError>;
    /// Deletes messages published longer ago than `age`; returns how many.
    async fn prune_outbox(&self, age: std::time::Duration) -> Result<u64, StoreError>;

    /// Newest first.
    async fn rejections(&self, limit: usize) -> Result<Vec<Rejection>, StoreError>;

    /// Opens a unit of work for delivering a batch to `consumer` (see [`DeliveryTx`]).
    async fn begin_delivery(&self, consumer: &str) -> Result<Box<dyn DeliveryTx>, StoreError>;
}
