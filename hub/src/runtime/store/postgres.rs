//! PostgreSQL implementation of [`Store`], with sqlx. Migrations run at start-up.
//!
//! [`classify`] is the one place sqlx's errors become [`StoreError`]s, for every store on
//! this pool (projection, applications, commands, dead letters): by SQLSTATE class, the
//! item's data (22, 23: `Rejected`) or the database (everything else: `Unavailable`).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use contracts::{MessageType, VCode, Vereniging};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};

use super::*;

/// Advisory-lock key of the register reader and outbox relay ("VLHUB" in ASCII).
const LEADER_LOCK: i64 = 0x0056_4c48_5542;

pub struct PgStore {
    pool: PgPool,
    url: SecretString,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        classify(e)
    }
}

/// Whose failure a refusal with this SQLSTATE is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The data sent: class 22 (data exception: NUL in text `22021`, `\u0000` in jsonb
    /// `22P05`, a value out of range, ...) and 23 (integrity constraint violation).
    Item,
    /// The database: connection exceptions (08), operator intervention and shutdown (57),
    /// insufficient resources (53), serialisation failures (40), and anything unknown, which
    /// is held rather than dropped.
    Database,
}

/// The SQLSTATE's class (its first two characters) decides.
pub fn blame(sqlstate: &str) -> Blame {
    match sqlstate.get(..2) {
        Some("22" | "23") => Blame::Item,
        _ => Blame::Database,
    }
}

/// The one classification of sqlx's errors every PostgreSQL store uses (through `?`):
/// a database error by its SQLSTATE ([`blame`]); a value the driver could not encode is
/// the item's; a value that does not decode is `Corrupt`; pool timeouts, I/O, TLS and
/// protocol errors, and everything else, are `Unavailable`.
pub fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match blame(&code) {
                Blame::Item => StoreError::Rejected {
                    code,
                    reason: db.message().to_owned(),
                },
                Blame::Database => unavailable_by(e),
            }
        }
        sqlx::Error::Encode(cause) => StoreError::Rejected {
            code: String::new(),
            reason: cause.to_string(),
        },
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::corrupt_by(e),
        _ => unavailable_by(e),
    }
}

fn unavailable_by(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable {
        reason: e.to_string(),
        cause: Some(Box::new(e)),
    }
}

impl PgStore {
    /// Connects lazily-tolerant: the pool is created even while the database is down, and
    /// connections are made when first needed.
    pub fn connect_lazy(
        url: &SecretString,
        max_connections: u32,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url.expose_secret())
            .map_err(|_| StoreError::unavailable("database.url is not a valid PostgreSQL URL"))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(timeout)
            .test_before_acquire(false)
            .connect_lazy_with(options);
        Ok(PgStore {
            pool,
            url: url.clone(),
        })
    }

    /// Creates the configured database when the server has none of that name, so that a
    /// new machine needs no manual set-up.
    pub async fn create_database_if_missing(&self) -> Result<(), StoreError> {
        use sqlx::migrate::MigrateDatabase;
        let url = self.url.expose_secret();
        if !sqlx::Postgres::database_exists(url).await? {
            tracing::info!("creating the hub's database");
            sqlx::Postgres::create_database(url).await?;
        }
        Ok(())
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable {
                reason: format!("migrations: {e}"),
                cause: Some(Box::new(e)),
            })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

struct PgLeadership {
    conn: PgConnection,
}

#[async_trait]
impl Leadership for PgLeadership {
    async fn confirm(&mut self) -> bool {
        // The lock lives as long as this session: if the session answers, we still hold it.
        tokio::time::timeout(Duration::from_secs(5), self.conn.ping())
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

fn parse_v_code(raw: &str) -> Result<VCode, StoreError> {
    raw.parse()
        .map_err(|e| StoreError::corrupt(format!("stored vCode {raw:?}: {e}")))
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn try_lead(&self) -> Result<Option<Box<dyn Leadership>>, StoreError> {
        // A connection of its own, outside the pool, so the lock is not shared or recycled.
        let mut conn = self.pool.acquire().await?.detach();
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if locked {
            Ok(Some(Box::new(PgLeadership { conn })))
        } else {
            // Dropping the connection is enough; close it politely.
            let _ = conn.close().await;
            Ok(None)
        }
    }

    async fn checkpoint(&self) -> Result<u64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT sequence FROM register_checkpoint")
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.map(to_u64).unwrap_or(0))
    }

    async fn associations(
        &self,
        v_codes: &[VCode],
    ) -> Result<HashMap<VCode, StoredAssociation>, StoreError> {
        let codes: Vec<&str> = v_codes.iter().map(VCode::as_str).collect();
        let rows = sqlx::query(
            "SELECT snapshot, sequence, version FROM association WHERE vcode = ANY($1)",
        )
        .bind(&codes)
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let snapshot: sqlx::types::Json<Vereniging> = row.try_get("snapshot")?;
            let vereniging = snapshot.0;
            out.insert(
                vereniging.v_code.clone(),
                StoredAssociation {
                    vereniging,
                    sequence: to_u64(row.try_get("sequence")?),
                    version: row.try_get::<Option<i64>, _>("version")?.map(to_u64),
                },
            );
        }
        Ok(out)
    }

    async fn associations_after(
        &self,
        after: Option<&VCode>,
        limit: usize,
    ) -> Result<Vec<StoredAssociation>, StoreError> {
        let rows = sqlx::query(
            "SELECT snapshot, sequence, version FROM association
              WHERE $1::text IS NULL OR vcode > $1 ORDER BY vcode LIMIT $2",
        )
        .bind(after.map(VCode::as_str))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let snapshot: sqlx::types::Json<Vereniging> = row.try_get("snapshot")?;
                Ok(StoredAssociation {
                    vereniging: snapshot.0,
                    sequence: to_u64(row.try_get("sequence")?),
                    version: row.try_get::<Option<i64>, _>("version")?.map(to_u64),
                })
            })
            .collect()
    }

    async fn subscriber_fingerprints(&self) -> Result<HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, fingerprint FROM subscriber_config")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().collect())
    }

    async fn set_subscriber_fingerprint(
        &self,
        name: &str,
        fingerprint: Option<&str>,
    ) -> Result<(), StoreError> {
        match fingerprint {
            Some(f) => sqlx::query(
                "INSERT INTO subscriber_config (name, fingerprint) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, updated_at = now()",
            )
            .bind(name)
            .bind(f),
            None => sqlx::query("DELETE FROM subscriber_config WHERE name = $1").bind(name),
        }
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn known_v_codes(&self) -> Result<Vec<VCode>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar("SELECT vcode FROM association ORDER BY vcode")
            .fetch_all(&self.pool)
            .await?;
        codes.iter().map(|c| parse_v_code(c)).collect()
    }

    async fn commit_ingest(&self, batches: &[IngestBatch]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;

        let mut codes = Vec::new();
        let mut snapshots = Vec::new();
        let mut sequences = Vec::new();
        let mut versions: Vec<Option<i64>> = Vec::new();
        let mut removed = Vec::new();
        for change in batches.iter().flat_map(|b| &b.changes) {
            match change {
                ProjectionChange::Upsert(a) => {
                    codes.push(a.vereniging.v_code.to_string());
                    snapshots.push(
                        serde_json::to_string(&a.vereniging).map_err(StoreError::corrupt_by)?,
                    );
                    sequences.push(to_i64(a.sequence));
                    versions.push(a.version.map(to_i64));
                }
                ProjectionChange::Remove(v) => removed.push(v.to_string()),
            }
        }
        if !codes.is_empty() {
            sqlx::query(
                "INSERT INTO association (vcode, snapshot, sequence, version)
                 SELECT v, s::jsonb, q, ver FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[]) AS t(v, s, q, ver)
                 ON CONFLICT (vcode) DO UPDATE
                   SET snapshot = EXCLUDED.snapshot, sequence = EXCLUDED.sequence,
                       version = EXCLUDED.version, updated_at = now()
                   WHERE association.sequence <= EXCLUDED.sequence",
            )
            .bind(&codes)
            .bind(&snapshots)
            .bind(&sequences)
            .bind(&versions)
            .execute(&mut *tx)
            .await?;
        }
        if !removed.is_empty() {
            sqlx::query("DELETE FROM association WHERE vcode = ANY($1)")
                .bind(&removed)
                .execute(&mut *tx)
                .await?;
        }

        let m: Vec<&OutboxMessage> = batches.iter().flat_map(|b| &b.outbox).collect();
        if !m.is_empty() {
            let ids: Vec<uuid::Uuid> = m.iter().map(|m| m.message_id).collect();
            let types: Vec<&str> = m.iter().map(|m| m.message_type.as_str()).collect();
            let vcodes: Vec<&str> = m.iter().map(|m| m.v_code.as_str()).collect();
            let seqs: Vec<i64> = m.iter().map(|m| to_i64(m.sequence)).collect();
            let vers: Vec<Option<i64>> = m.iter().map(|m| m.version.map(to_i64)).collect();
            let corr: Vec<uuid::Uuid> = m.iter().map(|m| m.correlation_id).collect();
            let times: Vec<time::OffsetDateTime> = m.iter().map(|m| m.time).collect();
            let bodies: Vec<&[u8]> = m.iter().map(|m| m.body.as_slice()).collect();
            let recipients: Vec<Option<String>> = m
                .iter()
                .map(|m| m.recipients.as_ref().map(serde_json::to_string).transpose())
                .collect::<Result<_, _>>()
                .map_err(StoreError::corrupt_by)?;
            sqlx::query(
                "INSERT INTO outbox (message_id, message_type, vcode, sequence, version, correlation_id, created_at, body, recipients)
                 SELECT i, t, v, s, ver, c, ts, b, r::jsonb
                   FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::uuid[], $7::timestamptz[], $8::bytea[], $9::text[])
                     AS u(i, t, v, s, ver, c, ts, b, r)",
            )
            .bind(&ids)
            .bind(&types)
            .bind(&vcodes)
            .bind(&seqs)
            .bind(&vers)
            .bind(&corr)
            .bind(&times)
            .bind(&bodies)
            .bind(&recipients)
            .execute(&mut *tx)
            .await?;
        }

        let h: Vec<&HistoryLine> = batches.iter().flat_map(|b| &b.history).collect();
        if !h.is_empty() {
            let vcodes: Vec<&str> = h.iter().map(|h| h.v_code.as_str()).collect();
            let seqs: Vec<i64> = h.iter().map(|h| to_i64(h.sequence)).collect();
            let kinds: Vec<&str> = h.iter().map(|h| h.kind.as_str()).collect();
            let details: Vec<&serde_json::Value> = h.iter().map(|h| &h.detail).collect();
            sqlx::query(
                "INSERT INTO association_history (v_code, sequence, kind, detail)
                 SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::jsonb[])",
            )
            .bind(&vcodes)
            .bind(&seqs)
            .bind(&kinds)
            .bind(&details)
            .execute(&mut *tx)
            .await?;
        }

        for r in batches.iter().flat_map(|b| &b.rejections) {
            sqlx::query(
                "INSERT INTO register_rejection (vcode, sequence, reason) VALUES ($1, $2, $3)",
            )
            .bind(&r.v_code)
            .bind(to_i64(r.sequence))
            .bind(&r.reason)
            .execute(&mut *tx)
            .await?;
        }

        if let Some(seq) = batches.iter().filter_map(|b| b.checkpoint).max() {
            sqlx::query(
                "INSERT INTO register_checkpoint (id, sequence) VALUES (TRUE, $1)
                 ON CONFLICT (id) DO UPDATE
                   SET sequence = GREATEST(register_checkpoint.sequence, EXCLUDED.sequence), updated_at = now()",
            )
            .bind(to_i64(seq))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pending_outbox(&self, limit: usize) -> Result<Vec<PendingMessage>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, message_id, message_type, vcode, sequence, version, correlation_id, created_at, body, recipients
             FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let raw_type: String = row.try_get("message_type")?;
                let message_type = MessageType::parse(&raw_type).ok_or_else(|| {
                    StoreError::corrupt(format!("unknown message type {raw_type:?} in outbox"))
                })?;
                let raw_code: String = row.try_get("vcode")?;
                Ok(PendingMessage {
                    outbox_id: row.try_get("id")?,
                    message: OutboxMessage {
                        message_id: row.try_get("message_id")?,
                        message_type,
                        v_code: parse_v_code(&raw_code)?,
                        sequence: to_u64(row.try_get("sequence")?),
                        version: row.try_get::<Option<i64>, _>("version")?.map(to_u64),
                        correlation_id: row.try_get("correlation_id")?,
                        time: row.try_get("created_at")?,
                        body: row.try_get("body")?,
                        recipients: row
                            .try_get::<Option<
                                sqlx::types::Json<
                                    Vec<crate::features::register_sync::recipients::Recipient>,
                                >,
                            >, _>("recipients")?
                            .map(|r| r.0),
                    },
                })
            })
            .collect()
    }

    async fn mark_published(&self, outbox_ids: &[i64]) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
            .bind(outbox_ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(to_u64(n))
    }

    async fn outbox_lag(&self) -> Result<Duration, StoreError> {
        let secs: f64 = sqlx::query_scalar(
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0)
             FROM outbox WHERE published_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Duration::from_secs_f64(secs.max(0.0)))
    }

    async fn prune_outbox(&self, age: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)",
        )
        .bind(age.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn rejections(&self, limit: usize) -> Result<Vec<Rejection>, StoreError> {
        let rows = sqlx::query(
            "SELECT vcode, sequence, reason, recorded_at FROM register_rejection ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(Rejection {
                    v_code: row.try_get("vcode")?,
                    sequence: to_u64(row.try_get("sequence")?),
                    reason: row.try_get("reason")?,
                    recorded_at: Some(row.try_get("recorded_at")?),
                })
            })
            .collect()
    }

    async fn begin_delivery(&self, consumer: &str) -> Result<Box<dyn DeliveryTx>, StoreError> {
        Ok(Box::new(PgDeliveryTx {
            tx: self.pool.begin().await?,
            consumer: consumer.to_owned(),
        }))
    }
}

struct PgDeliveryTx {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    consumer: String,
}

#[async_trait]
impl DeliveryTx for PgDeliveryTx {
    async fn advance(
        &mut self,
        proposals: &[(VCode, DeliveryState)],
    ) -> Result<Vec<Advance>, StoreError> {
        if proposals.is_empty() {
            return Ok(Vec::new());
        }
        // Sorted, so that two transactions with overlapping vCodes lock rows in one order.
        let mut sorted: Vec<&(VCode, DeliveryState)> = proposals.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let codes: Vec<&str> = sorted.iter().map(|(v, _)| v.as_str()).collect();
        let sequences: Vec<i64> = sorted.iter().map(|(_, s)| to_i64(s.sequence)).collect();
        let scopes: Vec<bool> = sorted.iter().map(|(_, s)| s.in_scope).collect();
        // One statement: the upsert takes the row lock (waiting for a concurrent
        // transaction on the same vCode), applies only a newer sequence, and keeps what was
        // there in prev_*; rows it did not apply are read back as they are.
        let applied = sqlx::query(
            "INSERT INTO delivery_state AS d (subscriber, vcode, sequence, in_scope)
             SELECT $1, v, q, s FROM UNNEST($2::text[], $3::int8[], $4::bool[]) AS t(v, q, s)
             ON CONFLICT (subscriber, vcode) DO UPDATE
               SET prev_sequence = d.sequence, prev_in_scope = d.in_scope,
                   sequence = EXCLUDED.sequence, in_scope = EXCLUDED.in_scope, updated_at = now()
               WHERE d.sequence < EXCLUDED.sequence
                  OR (d.sequence = EXCLUDED.sequence AND d.in_scope AND NOT EXCLUDED.in_scope)
             RETURNING d.vcode, d.prev_sequence, d.prev_in_scope, (d.xmax = 0) AS inserted",
        )
        .bind(&self.consumer)
        .bind(&codes)
        .bind(&sequences)
        .bind(&scopes)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = Vec::with_capacity(proposals.len());
        for row in applied {
            let code: String = row.try_get("vcode")?;
            let inserted: bool = row.try_get("inserted")?;
            let previous = if inserted {
                None
            } else {
                let sequence: Option<i64> = row.try_get("prev_sequence")?;
                let in_scope: Option<bool> = row.try_get("prev_in_scope")?;
                sequence.map(|s| DeliveryState {
                    sequence: to_u64(s),
                    in_scope: in_scope.unwrap_or(false),
                })
            };
            out.push(Advance {
                v_code: parse_v_code(&code)?,
                applied: true,
                previous,
            });
        }
        // Usually every proposal applied; only otherwise are the others read back.
        if out.len() < codes.len() {
            let done: HashSet<&str> = out.iter().map(|a| a.v_code.as_str()).collect();
            let skipped: Vec<&str> = codes
                .iter()
                .copied()
                .filter(|c| !done.contains(*c))
                .collect();
            let rows = sqlx::query(
                "SELECT vcode, sequence, in_scope FROM delivery_state
                 WHERE subscriber = $1 AND vcode = ANY($2)",
            )
            .bind(&self.consumer)
            .bind(&skipped)
            .fetch_all(&mut *self.tx)
            .await?;
            for row in rows {
                let code: String = row.try_get("vcode")?;
                out.push(Advance {
                    v_code: parse_v_code(&code)?,
                    applied: false,
                    previous: Some(DeliveryState {
                        sequence: to_u64(row.try_get("sequence")?),
                        in_scope: row.try_get("in_scope")?,
                    }),
                });
            }
        }
        Ok(out)
    }

    async fn restore(&mut self, v_codes: &[VCode]) -> Result<(), StoreError> {
        if v_codes.is_empty() {
            return Ok(());
        }
        let codes: Vec<&str> = v_codes.iter().map(VCode::as_str).collect();
        // Rows this transaction inserted have no previous state: they go; the others get
        // their previous state back.
        sqlx::query(
            "DELETE FROM delivery_state
             WHERE subscriber = $1 AND vcode = ANY($2) AND prev_sequence IS NULL",
        )
        .bind(&self.consumer)
        .bind(&codes)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "UPDATE delivery_state SET sequence = prev_sequence, in_scope = prev_in_scope
             WHERE subscriber = $1 AND vcode = ANY($2) AND prev_sequence IS NOT NULL",
        )
        .bind(&self.consumer)
        .bind(&codes)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_exceptions_and_constraint_violations_are_the_items() {
        for code in [
            "22021", "22P05", "22001", "22003", "23505", "23503", "23514",
        ] {
            assert_eq!(blame(code), Blame::Item, "{code}");
        }
    }

    #[test]
    fn connection_shutdown_resources_and_the_unknown_are_the_databases() {
        for code in [
            "08006", "08003", "57P01", "57P03", "57014", "53300", "53100", "40001", "40P01",
            "42P01", "XX000", "", "2",
        ] {
            assert_eq!(blame(code), Blame::Database, "{code:?}");
        }
    }

    #[test]
    fn driver_errors_are_classified_by_kind() {
        assert!(matches!(
            classify(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable { .. }
        ));
        let away = classify(sqlx::Error::Io(std::io::Error::other("reset")));
        assert!(matches!(away, StoreError::Unavailable { .. }));
        // The driver's error stays reachable as the cause.
        let cause = std::error::Error::source(&away).map(ToString::to_string);
        assert!(
            cause.as_deref().is_some_and(|c| c.contains("reset")),
            "{cause:?}"
        );
        assert!(matches!(
            classify(sqlx::Error::Encode("too long".into())),
            StoreError::Rejected { code, reason } if code.is_empty() && reason == "too long"
        ));
        assert!(matches!(
            classify(sqlx::Error::Decode("bad".into())),
            StoreError::Corrupt { .. }
        ));
    }
}
