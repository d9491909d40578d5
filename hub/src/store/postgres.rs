//! PostgreSQL implementation of [`Store`], with sqlx. Migrations run at start-up.

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
        match &e {
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                StoreError::Corrupt(e.to_string())
            }
            _ => StoreError::Unavailable(e.to_string()),
        }
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
        let options = PgConnectOptions::from_str(url.expose_secret()).map_err(|_| {
            StoreError::Unavailable("database.url is not a valid PostgreSQL URL".into())
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(timeout)
            .test_before_acquire(true)
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
            .map_err(|e| StoreError::Unavailable(format!("migrations: {e}")))
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
        .map_err(|e| StoreError::Corrupt(format!("stored vCode {raw:?}: {e}")))
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

    async fn known_v_codes(&self) -> Result<Vec<VCode>, StoreError> {
        let codes: Vec<String> = sqlx::query_scalar("SELECT vcode FROM association ORDER BY vcode")
            .fetch_all(&self.pool)
            .await?;
        codes.iter().map(|c| parse_v_code(c)).collect()
    }

    async fn association_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM association")
            .fetch_one(&self.pool)
            .await?;
        Ok(to_u64(n))
    }

    async fn commit_ingest(&self, batch: IngestBatch) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;

        let mut codes = Vec::new();
        let mut snapshots = Vec::new();
        let mut sequences = Vec::new();
        let mut versions: Vec<Option<i64>> = Vec::new();
        let mut removed = Vec::new();
        for change in &batch.changes {
            match change {
                ProjectionChange::Upsert(a) => {
                    codes.push(a.vereniging.v_code.to_string());
                    snapshots.push(
                        serde_json::to_string(&a.vereniging)
                            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
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

        if !batch.outbox.is_empty() {
            let m = &batch.outbox;
            let ids: Vec<uuid::Uuid> = m.iter().map(|m| m.message_id).collect();
            let types: Vec<&str> = m.iter().map(|m| m.message_type.as_str()).collect();
            let vcodes: Vec<&str> = m.iter().map(|m| m.v_code.as_str()).collect();
            let seqs: Vec<i64> = m.iter().map(|m| to_i64(m.sequence)).collect();
            let vers: Vec<Option<i64>> = m.iter().map(|m| m.version.map(to_i64)).collect();
            let corr: Vec<uuid::Uuid> = m.iter().map(|m| m.correlation_id).collect();
            let times: Vec<time::OffsetDateTime> = m.iter().map(|m| m.time).collect();
            let bodies: Vec<&[u8]> = m.iter().map(|m| m.body.as_slice()).collect();
            sqlx::query(
                "INSERT INTO outbox (message_id, message_type, vcode, sequence, version, correlation_id, created_at, body)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::uuid[], $7::timestamptz[], $8::bytea[])",
            )
            .bind(&ids)
            .bind(&types)
            .bind(&vcodes)
            .bind(&seqs)
            .bind(&vers)
            .bind(&corr)
            .bind(&times)
            .bind(&bodies)
            .execute(&mut *tx)
            .await?;
        }

        for r in &batch.rejections {
            sqlx::query(
                "INSERT INTO register_rejection (vcode, sequence, reason) VALUES ($1, $2, $3)",
            )
            .bind(&r.v_code)
            .bind(to_i64(r.sequence))
            .bind(&r.reason)
            .execute(&mut *tx)
            .await?;
        }

        if let Some(seq) = batch.checkpoint {
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
            "SELECT id, message_id, message_type, vcode, sequence, version, correlation_id, created_at, body
             FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                let raw_type: String = row.try_get("message_type")?;
                let message_type = MessageType::parse(&raw_type).ok_or_else(|| {
                    StoreError::Corrupt(format!("unknown message type {raw_type:?} in outbox"))
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

    async fn prune_inbox(&self, age: Duration) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => $1)")
                .bind(age.as_secs_f64())
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }
}

struct PgDeliveryTx {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    consumer: String,
}

#[async_trait]
impl DeliveryTx for PgDeliveryTx {
    async fn claim(&mut self, message_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        // Sorted, so that two transactions claiming overlapping ids lock them in one order.
        let mut ids = message_ids.to_vec();
        ids.sort();
        ids.dedup();
        let fresh: Vec<String> = sqlx::query_scalar(
            "INSERT INTO inbox (consumer, message_id) SELECT $1, id FROM UNNEST($2::text[]) AS t(id)
             ON CONFLICT DO NOTHING RETURNING message_id",
        )
        .bind(&self.consumer)
        .bind(&ids)
        .fetch_all(&mut *self.tx)
        .await?;
        Ok(fresh.into_iter().collect())
    }

    async fn lock_states(
        &mut self,
        v_codes: &[VCode],
    ) -> Result<HashMap<VCode, DeliveryState>, StoreError> {
        let mut codes: Vec<&str> = v_codes.iter().map(VCode::as_str).collect();
        codes.sort_unstable();
        codes.dedup();
        // A placeholder row (sequence -1) makes a never-delivered vCode lockable too.
        sqlx::query(
            "INSERT INTO delivery_state (subscriber, vcode, sequence, in_scope)
             SELECT $1, v, -1, FALSE FROM UNNEST($2::text[]) AS t(v) ON CONFLICT DO NOTHING",
        )
        .bind(&self.consumer)
        .bind(&codes)
        .execute(&mut *self.tx)
        .await?;
        let rows = sqlx::query(
            "SELECT vcode, sequence, in_scope FROM delivery_state
             WHERE subscriber = $1 AND vcode = ANY($2) ORDER BY vcode FOR UPDATE",
        )
        .bind(&self.consumer)
        .bind(&codes)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in rows {
            let sequence: i64 = row.try_get("sequence")?;
            if sequence < 0 {
                continue;
            }
            let code: String = row.try_get("vcode")?;
            let state = DeliveryState {
                sequence: to_u64(sequence),
                in_scope: row.try_get("in_scope")?,
            };
            out.insert(parse_v_code(&code)?, state);
        }
        Ok(out)
    }

    async fn release(&mut self, message_ids: &[String]) -> Result<(), StoreError> {
        if message_ids.is_empty() {
            return Ok(());
        }
        sqlx::query("DELETE FROM inbox WHERE consumer = $1 AND message_id = ANY($2)")
            .bind(&self.consumer)
            .bind(message_ids)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn save_states(&mut self, states: &[(VCode, DeliveryState)]) -> Result<(), StoreError> {
        if states.is_empty() {
            return Ok(());
        }
        let codes: Vec<&str> = states.iter().map(|(v, _)| v.as_str()).collect();
        let sequences: Vec<i64> = states.iter().map(|(_, s)| to_i64(s.sequence)).collect();
        let scopes: Vec<bool> = states.iter().map(|(_, s)| s.in_scope).collect();
        sqlx::query(
            "UPDATE delivery_state d SET sequence = u.seq, in_scope = u.scope, updated_at = now()
             FROM UNNEST($2::text[], $3::int8[], $4::bool[]) AS u(vcode, seq, scope)
             WHERE d.subscriber = $1 AND d.vcode = u.vcode",
        )
        .bind(&self.consumer)
        .bind(&codes)
        .bind(&sequences)
        .bind(&scopes)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
