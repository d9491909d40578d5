//! Dead letters and the operator audit trail: the `dead_letter` and `operator_action` tables
//! (`migrations/0003_dead_letters.sql`), behind a trait of their own.
//!
//! Invariants every implementation keeps:
//! - `record` is idempotent per (queue, message id, dead-lettered-at): a dead-letter
//!   delivery redelivered after its row committed is recorded once.
//! - A dead letter leaves status `dead` only through a [`Resolution`], and the status change
//!   and its `operator_action` row commit in one transaction.
//! - A [`Resolution`] holds the row locked until it commits or is dropped (rolled back), so
//!   two operators resolving the same dead letter at once are serialised: the second sees
//!   the first's outcome and is refused.

use async_trait::async_trait;
use contracts::text::without_nul as no_nul;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sqlx::postgres::PgRow;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use time::OffsetDateTime;

use super::{PgStore, StoreError};
use crate::runtime::broker::{HeaderValue, Properties};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadLetterStatus {
    /// Waiting for an operator.
    Dead,
    /// Republished to its queue.
    Replayed,
    /// Given up on.
    Discarded,
}

impl DeadLetterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterStatus::Dead => "dead",
            DeadLetterStatus::Replayed => "replayed",
            DeadLetterStatus::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dead" => Some(DeadLetterStatus::Dead),
            "replayed" => Some(DeadLetterStatus::Replayed),
            "discarded" => Some(DeadLetterStatus::Discarded),
            _ => None,
        }
    }
}

impl std::fmt::Display for DeadLetterStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operator did with a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    Replayed,
    Discarded,
}

impl Resolved {
    pub fn status(self) -> DeadLetterStatus {
        match self {
            Resolved::Replayed => DeadLetterStatus::Replayed,
            Resolved::Discarded => DeadLetterStatus::Discarded,
        }
    }

    /// The `operator_action.action` recorded for it.
    pub fn action(self) -> &'static str {
        match self {
            Resolved::Replayed => "dlq.replay",
            Resolved::Discarded => "dlq.discard",
        }
    }
}

/// The `operator_action.target` of a dead letter.
pub fn target(id: i64) -> String {
    format!("dead_letter/{id}")
}

/// A dead letter as taken off a dead-letter queue, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeadLetter {
    /// The queue it died in (a replay goes back there).
    pub queue: String,
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub original_exchange: Option<String>,
    pub original_routing_key: Option<String>,
    /// As received from the dead-letter queue, hub-* and x-* headers included.
    pub properties: Properties,
    pub body: Vec<u8>,
    pub attempts: u32,
    pub failure: String,
    pub last_error: String,
    pub dead_lettered_at: OffsetDateTime,
}

/// A stored dead letter without its message (what a listing shows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterSummary {
    pub id: i64,
    pub queue: String,
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub failure: String,
    pub attempts: u32,
    pub last_error: String,
    #[serde(with = "time::serde::rfc3339")]
    pub dead_lettered_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub status: DeadLetterStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    pub resolved_by: Option<String>,
}

/// A stored dead letter with its message.
///
/// As JSON: the summary's fields, `original_exchange`, `original_routing_key`, `properties`
/// (`message_id`, `type`, `correlation_id`, `timestamp`, `headers`), and the body as
/// `body` with `body_encoding`: `"utf-8"` (the body as text; the hub's bodies are JSON) or,
/// when the body is not valid UTF-8, `"hex"` (lower-case hex digits).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub summary: DeadLetterSummary,
    pub original_exchange: Option<String>,
    pub original_routing_key: Option<String>,
    pub properties: Properties,
    pub body: Vec<u8>,
}

impl Serialize for DeadLetter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            #[serde(flatten)]
            summary: &'a DeadLetterSummary,
            original_exchange: &'a Option<String>,
            original_routing_key: &'a Option<String>,
            properties: Value,
            body: String,
            body_encoding: &'static str,
        }
        let (body, body_encoding) = show_body(&self.body);
        View {
            summary: &self.summary,
            original_exchange: &self.original_exchange,
            original_routing_key: &self.original_routing_key,
            properties: properties_to_json(&self.properties),
            body,
            body_encoding,
        }
        .serialize(serializer)
    }
}

/// The body as text when it is UTF-8, else as hex.
pub fn show_body(body: &[u8]) -> (String, &'static str) {
    match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), "utf-8"),
        Err(_) => {
            use std::fmt::Write;
            let mut hex = String::with_capacity(body.len() * 2);
            for b in body {
                let _ = write!(hex, "{b:02x}");
            }
            (hex, "hex")
        }
    }
}

/// Which dead letters to list (newest first).
#[derive(Debug, Clone, Default)]
pub struct DeadLetterFilter {
    /// The origin queue, e.g. `hub.deliver.aalst`.
    pub queue: Option<String>,
    /// `None`: every status.
    pub status: Option<DeadLetterStatus>,
    pub limit: u32,
    pub offset: u64,
}

/// An operator action to add to the audit trail.
#[derive(Debug)]
pub struct NewAction<'a> {
    /// Who did it (`X-Operator`).
    pub actor: &'a str,
    /// What was done (e.g. `replay`, `resync`).
    pub action: &'a str,
    /// What it was done to (e.g. a dead letter, `register`).
    pub target: &'a str,
    pub detail: Value,
}

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct OperatorAction {
    pub id: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no dead letter {0}")]
    NotFound(i64),
    #[error("dead letter {id} is {status}, not dead")]
    NotDead { id: i64, status: DeadLetterStatus },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A dead letter locked for resolving: status `dead`, no one else can resolve it meanwhile.
/// Do the effect (the replay's publish), then `commit`; dropping it changes nothing.
#[async_trait]
pub trait Resolution: Send {
    fn letter(&self) -> &DeadLetter;
    /// Marks the dead letter resolved by `actor` and records the operator action with
    /// `detail`, in one transaction.
    async fn commit(
        self: Box<Self>,
        resolved: Resolved,
        actor: &str,
        detail: Value,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait DeadLetterStore: Send + Sync {
    /// Stores a dead letter; `None` when it was recorded before (a redelivery).
    async fn record(&self, letter: &NewDeadLetter) -> Result<Option<i64>, StoreError>;
    /// Newest first.
    async fn list(&self, filter: &DeadLetterFilter) -> Result<Vec<DeadLetterSummary>, StoreError>;
    async fn get(&self, id: i64) -> Result<Option<DeadLetter>, StoreError>;
    /// Locks a dead letter that is still `dead` (waiting while someone else resolves it).
    async fn begin_resolve(&self, id: i64) -> Result<Box<dyn Resolution>, ResolveError>;
    /// Resolves without an effect (discard): status and audit row in one transaction.
    async fn mark_resolved(
        &self,
        id: i64,
        resolved: Resolved,
        actor: &str,
        detail: Value,
    ) -> Result<DeadLetter, ResolveError> {
        let resolution = self.begin_resolve(id).await?;
        let letter = resolution.letter().clone();
        resolution.commit(resolved, actor, detail).await?;
        Ok(letter)
    }
    /// Records an operator action that is not a dead letter's resolution (e.g. `resync`).
    async fn record_action(&self, action: NewAction<'_>) -> Result<(), StoreError>;
    /// The audit trail, newest first.
    async fn actions(&self, limit: u32) -> Result<Vec<OperatorAction>, StoreError>;
    /// Dead letters still waiting for an operator.
    async fn unresolved(&self) -> Result<u64, StoreError>;
    /// Deletes replayed and discarded dead letters resolved longer ago than `age` (they hold
    /// full messages, personal data included); unresolved ones are kept.
    async fn prune_resolved(&self, age: std::time::Duration) -> Result<u64, StoreError>;
}

/// Properties as stored: `{"message_id", "type", "correlation_id", "timestamp", "headers"}`,
/// text headers as JSON strings and integer headers as JSON numbers, so that they read back
/// exactly.
pub fn properties_to_json(p: &Properties) -> Value {
    let headers: Map<String, Value> = p
        .headers
        .iter()
        .map(|(k, v)| {
            let v = match v {
                HeaderValue::Text(s) => Value::String(s.clone()),
                HeaderValue::Int(i) => Value::from(*i),
            };
            (k.clone(), v)
        })
        .collect();
    json!({
        "message_id": p.message_id,
        "type": p.message_type,
        "correlation_id": p.correlation_id,
        "timestamp": p.timestamp,
        "headers": headers,
    })
}

pub fn properties_from_json(v: &Value) -> Result<Properties, String> {
    let text = |key: &str| match &v[key] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(format!("properties.{key} is {other}, not text")),
    };
    let timestamp = match &v["timestamp"] {
        Value::Null => None,
        t => Some(
            t.as_u64()
                .ok_or_else(|| format!("properties.timestamp is {t}"))?,
        ),
    };
    let mut p = Properties {
        message_id: text("message_id")?,
        message_type: text("type")?,
        correlation_id: text("correlation_id")?,
        timestamp,
        ..Properties::default()
    };
    if let Some(headers) = v["headers"].as_object() {
        for (k, value) in headers {
            let value = match value {
                Value::String(s) => HeaderValue::Text(s.clone()),
                n => HeaderValue::Int(
                    n.as_i64()
                        .ok_or_else(|| format!("header {k} is {n}, not text or an integer"))?,
                ),
            };
            p.headers.insert(k.clone(), value);
        }
    }
    Ok(p)
}

/// PostgreSQL text and jsonb cannot hold NUL characters; a stray one must not block a
/// dead-letter queue, so it is stored as U+FFFD (the body is `bytea` and kept as it is).
fn no_nul_json(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(no_nul(&s)),
        Value::Array(a) => Value::Array(a.into_iter().map(no_nul_json).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (no_nul(&k), no_nul_json(v)))
                .collect(),
        ),
        other => other,
    }
}

const SUMMARY_COLUMNS: &str = "id, queue, message_id, message_type, failure, attempts, last_error,
    dead_lettered_at, recorded_at, status, resolved_at, resolved_by";

fn summary_from_row(row: &PgRow) -> Result<DeadLetterSummary, StoreError> {
    let raw_status: String = row.try_get("status")?;
    let status = DeadLetterStatus::parse(&raw_status)
        .ok_or_else(|| StoreError::corrupt(format!("dead letter status {raw_status:?}")))?;
    let attempts: i32 = row.try_get("attempts")?;
    Ok(DeadLetterSummary {
        id: row.try_get("id")?,
        queue: row.try_get("queue")?,
        message_id: row.try_get("message_id")?,
        message_type: row.try_get("message_type")?,
        failure: row.try_get("failure")?,
        attempts: u32::try_from(attempts).unwrap_or_default(),
        last_error: row.try_get("last_error")?,
        dead_lettered_at: row.try_get("dead_lettered_at")?,
        recorded_at: row.try_get("recorded_at")?,
        status,
        resolved_at: row.try_get("resolved_at")?,
        resolved_by: row.try_get("resolved_by")?,
    })
}

fn letter_from_row(row: &PgRow) -> Result<DeadLetter, StoreError> {
    let properties: Value = row.try_get("properties")?;
    Ok(DeadLetter {
        summary: summary_from_row(row)?,
        original_exchange: row.try_get("original_exchange")?,
        original_routing_key: row.try_get("original_routing_key")?,
        properties: properties_from_json(&properties).map_err(StoreError::corrupt)?,
        body: row.try_get("body")?,
    })
}

fn letter_query(lock: bool) -> String {
    format!(
        "SELECT {SUMMARY_COLUMNS}, original_exchange, original_routing_key, properties, body
         FROM dead_letter WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    )
}

async fn insert_action(
    conn: &mut sqlx::PgConnection,
    action: NewAction<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO operator_action (actor, action, target, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(no_nul(action.actor))
    .bind(action.action)
    .bind(no_nul(action.target))
    .bind(no_nul_json(action.detail))
    .execute(conn)
    .await?;
    Ok(())
}

struct PgResolution {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    letter: DeadLetter,
}

#[async_trait]
impl Resolution for PgResolution {
    fn letter(&self) -> &DeadLetter {
        &self.letter
    }

    async fn commit(
        mut self: Box<Self>,
        resolved: Resolved,
        actor: &str,
        detail: Value,
    ) -> Result<(), StoreError> {
        let id = self.letter.summary.id;
        sqlx::query(
            "UPDATE dead_letter SET status = $2, resolved_at = now(), resolved_by = $3
             WHERE id = $1",
        )
        .bind(id)
        .bind(resolved.status().as_str())
        .bind(no_nul(actor))
        .execute(&mut *self.tx)
        .await?;
        let action = NewAction {
            actor,
            action: resolved.action(),
            target: &target(id),
            detail,
        };
        insert_action(&mut self.tx, action).await?;
        self.tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl DeadLetterStore for PgStore {
    async fn record(&self, l: &NewDeadLetter) -> Result<Option<i64>, StoreError> {
        let text = |s: &Option<String>| s.as_deref().map(no_nul);
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO dead_letter (queue, message_id, message_type, original_exchange,
                 original_routing_key, properties, body, attempts, failure, last_error,
                 dead_lettered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT ON CONSTRAINT dead_letter_once DO NOTHING
             RETURNING id",
        )
        .bind(no_nul(&l.queue))
        .bind(text(&l.message_id))
        .bind(text(&l.message_type))
        .bind(text(&l.original_exchange))
        .bind(text(&l.original_routing_key))
        .bind(no_nul_json(properties_to_json(&l.properties)))
        .bind(&l.body)
        .bind(i32::try_from(l.attempts).unwrap_or(i32::MAX))
        .bind(no_nul(&l.failure))
        .bind(no_nul(&l.last_error))
        .bind(l.dead_lettered_at)
        .fetch_optional(self.pool())
        .await?;
        Ok(id)
    }

    async fn list(&self, filter: &DeadLetterFilter) -> Result<Vec<DeadLetterSummary>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SUMMARY_COLUMNS} FROM dead_letter
             WHERE ($1::text IS NULL OR queue = $1) AND ($2::text IS NULL OR status = $2)
             ORDER BY id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(&filter.queue)
        .bind(filter.status.map(DeadLetterStatus::as_str))
        .bind(i64::from(filter.limit))
        .bind(i64::try_from(filter.offset).unwrap_or(i64::MAX))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn get(&self, id: i64) -> Result<Option<DeadLetter>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(letter_query(false)))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(letter_from_row).transpose()
    }

    async fn begin_resolve(&self, id: i64) -> Result<Box<dyn Resolution>, ResolveError> {
        let mut tx = self.pool().begin().await.map_err(StoreError::from)?;
        let row = sqlx::query(AssertSqlSafe(letter_query(true)))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .ok_or(ResolveError::NotFound(id))?;
        let letter = letter_from_row(&row)?;
        if letter.summary.status != DeadLetterStatus::Dead {
            return Err(ResolveError::NotDead {
                id,
                status: letter.summary.status,
            });
        }
        Ok(Box::new(PgResolution { tx, letter }))
    }

    async fn record_action(&self, action: NewAction<'_>) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        insert_action(&mut conn, action).await
    }

    async fn unresolved(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM dead_letter WHERE status = 'dead'")
            .fetch_one(self.pool())
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn prune_resolved(&self, age: std::time::Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM dead_letter
             WHERE status <> 'dead' AND resolved_at < now() - make_interval(secs => $1)",
        )
        .bind(age.as_secs_f64())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn actions(&self, limit: u32) -> Result<Vec<OperatorAction>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, actor, action, target, detail, at FROM operator_action
             ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_read_back_exactly() {
        let mut p = Properties {
            message_id: Some("m-1".into()),
            message_type: Some("association.changed".into()),
            correlation_id: None,
            timestamp: Some(1_700_000_000),
            ..Properties::default()
        };
        p.set_text("vCode", "V0001001");
        // Text that looks like a number stays text.
        p.set_text("looks-numeric", "42");
        p.set_int("sequence", 7);
        let stored = properties_to_json(&p);
        assert_eq!(stored["headers"]["looks-numeric"], json!("42"));
        assert_eq!(stored["headers"]["sequence"], json!(7));
        assert_eq!(properties_from_json(&stored), Ok(p));
    }

    #[test]
    fn a_body_shows_as_text_or_hex() {
        assert_eq!(show_body(b"{\"a\":1}"), ("{\"a\":1}".to_owned(), "utf-8"));
        assert_eq!(show_body(&[0xff, 0x00, 0x1a]), ("ff001a".to_owned(), "hex"));
    }

    #[test]
    fn nul_characters_are_replaced_everywhere() {
        let v = no_nul_json(json!({"a\0": ["x\0y", 1], "b": "ok"}));
        assert_eq!(v, json!({"a\u{FFFD}": ["x\u{FFFD}y", 1], "b": "ok"}));
    }
}
