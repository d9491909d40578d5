//! Service applications in PostgreSQL (`migrations/0005_applications.sql`): the dossiers,
//! their transitions, the outbox of what the hub publishes about them, and the queries of
//! the loket's API (application timeline, association search, administrative history).
//!
//! Invariants every implementation keeps:
//! - `create` is idempotent on the applicationId: a second call never makes a second row;
//!   it returns the existing one (and whether it was the same submission).
//! - A transition happens only when the state machine allows it
//!   (`ApplicationStatus::can_move_to`), under a row lock, together with its
//!   `application_transition` row and its outbox messages; a refused one changes nothing.
//! - `pending_outbox` is in id order; rows are marked published only by `mark_published`.

use async_trait::async_trait;
use contracts::applications::ApplicationStatus;
use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::AssertSqlSafe;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, StoreError};

/// An application as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationRow {
    pub application_id: Uuid,
    #[serde(rename = "vCode")]
    pub v_code: String,
    pub service_code: String,
    pub provider: String,
    pub status: ApplicationStatus,
    pub provider_reference: Option<String>,
    /// The `application.submitted` as received.
    #[serde(skip)]
    pub submitted: Value,
    #[serde(skip)]
    pub fingerprint: String,
    pub correlation_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// One step of an application's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<ApplicationStatus>,
    pub to: ApplicationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A message to publish once the transaction that recorded it commits.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxEntry {
    pub exchange: String,
    pub routing_key: String,
    pub message_type: String,
    pub message_id: Uuid,
    pub correlation_id: Uuid,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingEntry {
    pub id: i64,
    #[sqlx(flatten)]
    pub entry: OutboxEntry,
}

/// A new application with its first status.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub application_id: Uuid,
    pub v_code: String,
    pub service_code: String,
    pub provider: String,
    pub submitted: Value,
    pub fingerprint: String,
    pub correlation_id: Uuid,
    pub submitted_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// Stored now.
    New,
    /// Stored before; `same` when the fingerprint matches (a resubmission, not a conflict).
    Existing {
        row: Box<ApplicationRow>,
        same: bool,
    },
}

/// A transition asked for.
#[derive(Debug, Clone)]
pub struct Move {
    pub to: ApplicationStatus,
    pub reason: Option<String>,
    /// Set (or kept) as the application's provider reference.
    pub provider_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Moved {
    /// Applied; the row as it was before.
    Applied {
        before: Box<ApplicationRow>,
    },
    /// The state machine does not allow it from the current status; nothing changed.
    Refused {
        current: ApplicationStatus,
    },
    NotFound,
}

/// One line of an association's administrative history.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// `register.association.changed`, `register.association.removed`, `delivery`,
    /// `application.<status>`.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub detail: Value,
}

/// Filters of the association search; all given ones must match.
#[derive(Debug, Clone, Default)]
pub struct AssociationQuery {
    /// Part of the name, case-insensitive.
    pub naam: Option<String>,
    pub postcode: Option<String>,
    pub hoofdactiviteit: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// What the outbox entries of a transition are made from: the row before and the move.
pub type Announce<'a> = &'a (dyn Fn(&ApplicationRow, &Move) -> Vec<OutboxEntry> + Send + Sync);

#[async_trait]
pub trait ApplicationStore: Send + Sync + 'static {
    /// Stores a new application with its first transitions (`moves[0]` is where it starts,
    /// each next one follows from the previous) and the outbox entries, unless its
    /// applicationId is known.
    async fn create(
        &self,
        application: &NewApplication,
        moves: &[Move],
        outbox: &[OutboxEntry],
    ) -> Result<Created, StoreError>;

    /// Moves an application if the state machine allows it (see the module invariants).
    async fn transition(
        &self,
        application_id: Uuid,
        step: &Move,
        announce: Announce<'_>,
    ) -> Result<Moved, StoreError>;

    async fn application(&self, application_id: Uuid)
        -> Result<Option<ApplicationRow>, StoreError>;
    async fn timeline(&self, application_id: Uuid) -> Result<Vec<TransitionRow>, StoreError>;
    /// Applications waiting for a provider's decision, oldest first.
    async fn open_applications(&self, limit: i64) -> Result<Vec<ApplicationRow>, StoreError>;

    async fn pending_outbox(&self, limit: i64) -> Result<Vec<PendingEntry>, StoreError>;
    async fn mark_published(&self, ids: &[i64]) -> Result<(), StoreError>;
    /// Deletes the outbox rows published more than `age` ago; how many.
    async fn prune_outbox(&self, age: std::time::Duration) -> Result<u64, StoreError>;

    /// Snapshots (register wire format) matching the query, by vCode.
    async fn search(&self, query: &AssociationQuery) -> Result<Vec<Value>, StoreError>;
    /// Register changes, the latest delivery per partner, and application transitions of
    /// one association, newest first.
    async fn history(
        &self,
        v_code: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<HistoryEntry>, StoreError>;
}

fn status(raw: &str) -> Result<ApplicationStatus, StoreError> {
    ApplicationStatus::parse(raw)
        .ok_or_else(|| StoreError::corrupt(format!("unknown application status {raw:?}")))
}

fn application_row(row: &PgRow) -> Result<ApplicationRow, StoreError> {
    let raw: String = row.try_get("status")?;
    Ok(ApplicationRow {
        application_id: row.try_get("application_id")?,
        v_code: row.try_get("v_code")?,
        service_code: row.try_get("service_code")?,
        provider: row.try_get("provider")?,
        status: status(&raw)?,
        provider_reference: row.try_get("provider_reference")?,
        submitted: row.try_get("submitted")?,
        fingerprint: row.try_get("fingerprint")?,
        correlation_id: row.try_get("correlation_id")?,
        submitted_at: row.try_get("submitted_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const COLUMNS: &str =
    "application_id, v_code, service_code, provider, status, provider_reference, \
     submitted, fingerprint, correlation_id, submitted_at, updated_at";

async fn insert_outbox(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    outbox: &[OutboxEntry],
) -> Result<(), StoreError> {
    for e in outbox {
        sqlx::query(
            "INSERT INTO application_outbox (exchange, routing_key, message_type, message_id, correlation_id, body)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.exchange)
        .bind(&e.routing_key)
        .bind(&e.message_type)
        .bind(e.message_id)
        .bind(e.correlation_id)
        .bind(&e.body)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_transition(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    application_id: Uuid,
    from: Option<ApplicationStatus>,
    step: &Move,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO application_transition (application_id, from_status, to_status, reason, provider_reference)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(application_id)
    .bind(from.map(|s| s.as_str()))
    .bind(step.to.as_str())
    .bind(&step.reason)
    .bind(&step.provider_reference)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl ApplicationStore for PgStore {
    async fn create(
        &self,
        a: &NewApplication,
        moves: &[Move],
        outbox: &[OutboxEntry],
    ) -> Result<Created, StoreError> {
        let (Some(first), Some(last)) = (moves.first(), moves.last()) else {
            return Err(StoreError::corrupt(
                "an application needs a first status".to_owned(),
            ));
        };
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO application (application_id, v_code, service_code, provider, status,
                 provider_reference, submitted, fingerprint, correlation_id, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (application_id) DO NOTHING",
        )
        .bind(a.application_id)
        .bind(&a.v_code)
        .bind(&a.service_code)
        .bind(&a.provider)
        .bind(last.to.as_str())
        .bind(
            moves
                .iter()
                .rev()
                .find_map(|m| m.provider_reference.clone()),
        )
        .bind(&a.submitted)
        .bind(&a.fingerprint)
        .bind(a.correlation_id)
        .bind(a.submitted_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM application WHERE application_id = $1"
            )))
            .bind(a.application_id)
            .fetch_one(&mut *tx)
            .await?;
            let row = application_row(&row)?;
            let same = row.fingerprint == a.fingerprint;
            return Ok(Created::Existing {
                row: Box::new(row),
                same,
            });
        }
        // The first transition has no `from`: it is where the application starts.
        insert_transition(&mut tx, a.application_id, None, first).await?;
        for pair in moves.windows(2) {
            insert_transition(&mut tx, a.application_id, Some(pair[0].to), &pair[1]).await?;
        }
        insert_outbox(&mut tx, outbox).await?;
        tx.commit().await?;
        Ok(Created::New)
    }

    async fn transition(
        &self,
        application_id: Uuid,
        step: &Move,
        announce: Announce<'_>,
    ) -> Result<Moved, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM application WHERE application_id = $1 FOR UPDATE"
        )))
        .bind(application_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Moved::NotFound);
        };
        let before = application_row(&row)?;
        if !before.status.can_move_to(step.to) {
            return Ok(Moved::Refused {
                current: before.status,
            });
        }
        sqlx::query(
            "UPDATE application
                SET status = $2, provider_reference = COALESCE($3, provider_reference), updated_at = now()
              WHERE application_id = $1",
        )
        .bind(application_id)
        .bind(step.to.as_str())
        .bind(&step.provider_reference)
        .execute(&mut *tx)
        .await?;
        insert_transition(&mut tx, application_id, Some(before.status), step).await?;
        insert_outbox(&mut tx, &announce(&before, step)).await?;
        tx.commit().await?;
        Ok(Moved::Applied {
            before: Box::new(before),
        })
    }

    async fn application(
        &self,
        application_id: Uuid,
    ) -> Result<Option<ApplicationRow>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM application WHERE application_id = $1"
        )))
        .bind(application_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(application_row).transpose()
    }

    async fn timeline(&self, application_id: Uuid) -> Result<Vec<TransitionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_status, to_status, reason, provider_reference, at
               FROM application_transition WHERE application_id = $1 ORDER BY id",
        )
        .bind(application_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let from: Option<String> = r.try_get("from_status")?;
                let to: String = r.try_get("to_status")?;
                Ok(TransitionRow {
                    from: from.as_deref().map(status).transpose()?,
                    to: status(&to)?,
                    reason: r.try_get("reason")?,
                    provider_reference: r.try_get("provider_reference")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }

    async fn open_applications(&self, limit: i64) -> Result<Vec<ApplicationRow>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM application
              WHERE status IN ('ontvangen', 'in_behandeling') AND provider_reference IS NOT NULL
              ORDER BY updated_at LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(application_row).collect()
    }

    async fn pending_outbox(&self, limit: i64) -> Result<Vec<PendingEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, exchange, routing_key, message_type, message_id, correlation_id, body
               FROM application_outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    async fn mark_published(&self, ids: &[i64]) -> Result<(), StoreError> {
        sqlx::query("UPDATE application_outbox SET published_at = now() WHERE id = ANY($1)")
            .bind(ids)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn prune_outbox(&self, age: std::time::Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM application_outbox WHERE published_at < now() - make_interval(secs => $1)",
        )
        .bind(age.as_secs_f64())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn search(&self, q: &AssociationQuery) -> Result<Vec<Value>, StoreError> {
        let rows: Vec<Value> = sqlx::query_scalar(
            "SELECT snapshot FROM association
              WHERE ($1::text IS NULL OR snapshot->>'naam' ILIKE '%' || $1 || '%')
                AND ($2::text IS NULL OR EXISTS (
                      SELECT 1 FROM jsonb_array_elements(COALESCE(snapshot->'locaties', '[]')) l
                       WHERE l->'adres'->>'postcode' = $2))
                AND ($3::text IS NULL OR EXISTS (
                      SELECT 1 FROM jsonb_array_elements(
                             COALESCE(snapshot->'hoofdactiviteitenVerenigingsloket', '[]')) h
                       WHERE h->>'code' = $3))
              ORDER BY vcode LIMIT $4 OFFSET $5",
        )
        .bind(&q.naam)
        .bind(&q.postcode)
        .bind(&q.hoofdactiviteit)
        .bind(q.limit)
        .bind(q.offset)
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    async fn history(
        &self,
        v_code: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, at, detail FROM (
                 SELECT 'register.' || kind AS kind, at, detail || jsonb_build_object('sequence', sequence) AS detail
                   FROM association_history WHERE v_code = $1
                 UNION ALL
                 SELECT 'delivery', updated_at,
                        jsonb_build_object('partner', subscriber, 'sequence', sequence, 'holds', in_scope)
                   FROM delivery_state WHERE vcode = $1
                 UNION ALL
                 SELECT 'application.' || t.to_status, t.at,
                        jsonb_strip_nulls(jsonb_build_object('applicationId', a.application_id,
                            'serviceCode', a.service_code, 'from', t.from_status,
                            'reason', t.reason, 'providerReference', t.provider_reference))
                   FROM application_transition t JOIN application a USING (application_id)
                  WHERE a.v_code = $1
             ) h ORDER BY at DESC, kind LIMIT $2 OFFSET $3",
        )
        .bind(v_code)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?)
    }
}
