//! The `register_command` table (`migrations/0004_register_commands.sql`): the hub's own
//! idempotency record for municipalities' commands to the register, which has no
//! idempotency key of its own.
//!
//! Invariants every implementation keeps:
//! - `claim` and `finish` are single statements: a crash between them leaves the command
//!   `pending` with its attempts counted, so the next attempt knows an earlier one may
//!   have reached the register.
//! - `finish` stores the first reply only; a later (concurrent) finish gets that reply back,
//!   so one command never gets two different replies.
//! - The base version, once set, never changes: every attempt sends the same `If-Match`.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::{PgStore, StoreError};

/// What `claim` found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Finished earlier: send this reply again, do nothing else.
    Done { reply: Value },
    /// Go ahead with attempt number `attempt` (1 for the first).
    Go {
        attempt: u32,
        base_version: Option<u64>,
    },
}

#[async_trait]
pub trait CommandStore: Send + Sync + 'static {
    /// Records the command if new and counts an attempt, unless it is done already.
    async fn claim(
        &self,
        municipality: &str,
        command_id: Uuid,
        v_code: Option<&str>,
        command_type: Option<&str>,
    ) -> Result<Claim, StoreError>;

    /// Sets the version every attempt sends as `If-Match`, unless one is set; returns the
    /// one that holds.
    async fn set_base_version(
        &self,
        municipality: &str,
        command_id: Uuid,
        version: u64,
    ) -> Result<u64, StoreError>;

    /// Marks the command done with its reply; returns the reply that holds (an earlier
    /// finisher's, if there was one).
    async fn finish(
        &self,
        municipality: &str,
        command_id: Uuid,
        outcome: &str,
        reply: &Value,
    ) -> Result<Value, StoreError>;

    /// Deletes finished commands older than `age`; returns how many.
    async fn prune_commands(&self, age: std::time::Duration) -> Result<u64, StoreError>;
}

#[async_trait]
impl CommandStore for PgStore {
    async fn claim(
        &self,
        municipality: &str,
        command_id: Uuid,
        v_code: Option<&str>,
        command_type: Option<&str>,
    ) -> Result<Claim, StoreError> {
        // One statement: insert, or count another attempt while pending; a done row is
        // left alone (the CASE keeps its attempts) and returned as it is.
        let row = sqlx::query(
            "INSERT INTO register_command (municipality, command_id, v_code, command_type, attempts)
             VALUES ($1, $2, $3, $4, 1)
             ON CONFLICT (municipality, command_id) DO UPDATE
               SET attempts = CASE WHEN register_command.status = 'pending'
                                   THEN register_command.attempts + 1
                                   ELSE register_command.attempts END
             RETURNING status, attempts, base_version, reply",
        )
        .bind(municipality)
        .bind(command_id)
        .bind(v_code)
        .bind(command_type)
        .fetch_one(self.pool())
        .await?;
        let status: String = row.try_get("status")?;
        if status == "done" {
            let reply: Option<Value> = row.try_get("reply")?;
            let reply = reply.ok_or_else(|| {
                StoreError::corrupt(format!("command {command_id} is done without a reply"))
            })?;
            return Ok(Claim::Done { reply });
        }
        let attempts: i32 = row.try_get("attempts")?;
        let base_version: Option<i64> = row.try_get("base_version")?;
        Ok(Claim::Go {
            attempt: u32::try_from(attempts).unwrap_or(u32::MAX),
            base_version: base_version.map(|v| u64::try_from(v).unwrap_or(0)),
        })
    }

    async fn set_base_version(
        &self,
        municipality: &str,
        command_id: Uuid,
        version: u64,
    ) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "UPDATE register_command SET base_version = COALESCE(base_version, $3)
             WHERE municipality = $1 AND command_id = $2
             RETURNING base_version",
        )
        .bind(municipality)
        .bind(command_id)
        .bind(i64::try_from(version).unwrap_or(i64::MAX))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Err(StoreError::corrupt(format!(
                "command {command_id} vanished before its first attempt"
            )));
        };
        let base: Option<i64> = row.try_get("base_version")?;
        Ok(base.map_or(version, |v| u64::try_from(v).unwrap_or(0)))
    }

    async fn finish(
        &self,
        municipality: &str,
        command_id: Uuid,
        outcome: &str,
        reply: &Value,
    ) -> Result<Value, StoreError> {
        let updated = sqlx::query(
            "UPDATE register_command
               SET status = 'done', outcome = $3, reply = $4, finished_at = now()
             WHERE municipality = $1 AND command_id = $2 AND status = 'pending'",
        )
        .bind(municipality)
        .bind(command_id)
        .bind(outcome)
        .bind(reply)
        .execute(self.pool())
        .await?
        .rows_affected();
        if updated == 1 {
            return Ok(reply.clone());
        }
        let stored: Option<Value> = sqlx::query_scalar(
            "SELECT reply FROM register_command WHERE municipality = $1 AND command_id = $2",
        )
        .bind(municipality)
        .bind(command_id)
        .fetch_optional(self.pool())
        .await?
        .flatten();
        stored.ok_or_else(|| {
            StoreError::corrupt(format!("command {command_id} has no row to finish"))
        })
    }

    async fn prune_commands(&self, age: std::time::Duration) -> Result<u64, StoreError> {
        let seconds = age.as_secs_f64();
        let deleted = sqlx::query(
            "DELETE FROM register_command
             WHERE status = 'done' AND finished_at < now() - make_interval(secs => $1)",
        )
        .bind(seconds)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(deleted)
    }
}
