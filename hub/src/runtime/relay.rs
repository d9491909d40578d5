//! Outbox → broker: publishes recorded messages in the order they were recorded and marks
//! them published only after the broker confirmed them, and prunes what was published longer
//! than `database.outbox_retention` ago. Runs only on the leader, so the order per vCode is
//! the order of the outbox. One [`Relay`] serves every feature's outbox through [`Outbox`]:
//! the register's ([`crate::features::register_sync::RegisterOutbox`]) and the applications'
//! ([`crate::features::applications::ApplicationOutbox`]); each outbox says where its rows go.
//!
//! A message the broker refuses (larger than `broker.max_message_bytes`, or closed over by
//! the broker) never holds up the ones behind it: [`publish_or_set_aside`] finds it, records
//! it as a dead letter of the outbox's pseudo-queue ([`Outbox::aside_queue`], e.g.
//! `hub.outbox`) with the broker's reason, and the batch is settled. An
//! operator sees it with `hub dlq list` and discards it; a replay is refused, since no queue
//! of that name exists (resync the association once the cause is fixed).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use time::OffsetDateTime;

use crate::runtime::broker::{Broker, BrokerError, Outgoing};
use crate::runtime::metrics::Metrics;
use crate::runtime::store::dead_letters::{DeadLetterStore, NewDeadLetter};
use crate::runtime::store::StoreError;

/// The dead letters' failure.
pub const UNPUBLISHABLE: &str = "unpublishable";

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Publishes `batch`, in order, and waits for the confirms. When the broker refuses it, the
/// messages are published again one at a time and each one refused is recorded as a dead
/// letter of `aside_queue` with the reason (counted in `hub_dead_letters_total` under
/// `adapter`, failure `unpublishable`). Returns the positions set aside. An unavailable
/// broker or database is an error: the caller publishes the whole batch again later (a
/// message confirmed before the error is then published twice, which every consumer
/// absorbs by its message id).
pub async fn publish_or_set_aside(
    broker: &dyn Broker,
    dead_letters: &dyn DeadLetterStore,
    metrics: &Metrics,
    (aside_queue, adapter): (&str, &str),
    batch: Vec<Outgoing>,
) -> Result<Vec<usize>, RelayError> {
    match broker.publish(batch.clone()).await {
        Ok(()) => return Ok(Vec::new()),
        Err(e @ BrokerError::Unavailable(_)) => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "the broker refused an outbox batch; finding the message")
        }
    }
    let mut set_aside = Vec::new();
    for (position, message) in batch.into_iter().enumerate() {
        let refusal = match broker.publish(vec![message.clone()]).await {
            Ok(()) => continue,
            Err(e @ BrokerError::Unavailable(_)) => return Err(e.into()),
            Err(refusal) => refusal,
        };
        let letter = NewDeadLetter {
            queue: aside_queue.to_owned(),
            message_id: message.properties.message_id.clone(),
            message_type: message.properties.message_type.clone(),
            original_exchange: Some(message.exchange.clone()),
            original_routing_key: Some(message.routing_key.clone()),
            // When it was recorded, so that recording it again is recognised.
            dead_lettered_at: message
                .properties
                .timestamp
                .and_then(|t| i64::try_from(t).ok())
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                .unwrap_or_else(OffsetDateTime::now_utc),
            properties: message.properties,
            body: message.body,
            attempts: 1,
            failure: UNPUBLISHABLE.to_owned(),
            last_error: refusal.to_string(),
        };
        dead_letters.record(&letter).await?;
        metrics
            .dead_letters
            .with_label_values(&[adapter, UNPUBLISHABLE])
            .inc();
        tracing::error!(
            message_id = letter.message_id.as_deref().unwrap_or(""),
            message_type = letter.message_type.as_deref().unwrap_or(""),
            reason = %refusal,
            "an outbox message the broker refuses was set aside as a dead letter"
        );
        set_aside.push(position);
    }
    Ok(set_aside)
}

const BATCH: usize = 500;
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// An outbox the [`Relay`] publishes: a feature's table of recorded messages.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Its label in metrics and logs (`adapter`).
    fn adapter(&self) -> &'static str;
    /// The pseudo-queue under which a message the broker refuses is set aside.
    fn aside_queue(&self) -> &'static str;
    /// Up to `limit` unpublished rows, in the order they were recorded.
    async fn pending(&self, limit: usize) -> Result<Vec<PendingRow>, StoreError>;
    async fn mark_published(&self, ids: &[i64]) -> Result<(), StoreError>;
    /// Deletes the rows published more than `age` ago; how many.
    async fn prune(&self, age: Duration) -> Result<u64, StoreError>;
}

/// One outbox row as the copies to publish, each with the subscriber it is for (`None`: no
/// subscriber's, e.g. a broadcast or a message for the loket).
pub struct PendingRow {
    pub id: i64,
    pub copies: Vec<(Outgoing, Option<String>)>,
}

pub struct Relay {
    pub outbox: Arc<dyn Outbox>,
    pub broker: Arc<dyn Broker>,
    /// Where a message the broker refuses is set aside.
    pub dead_letters: Arc<dyn DeadLetterStore>,
    pub metrics: Metrics,
    pub wake: Arc<Notify>,
    /// How long published messages stay in the outbox.
    pub retention: Duration,
}

impl Relay {
    pub async fn run(&self, cancel: CancellationToken) {
        let mut next_prune = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_prune {
                match self.outbox.prune(self.retention).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "pruned published outbox messages"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune the outbox"),
                }
                next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
            }
            let published = tokio::select! {
                _ = cancel.cancelled() => return,
                r = self.publish_batch() => r,
            };
            match published {
                Ok(n) if n == BATCH => continue,
                Ok(_) => {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay failed; retrying");
                    self.metrics
                        .messages_failed
                        .with_label_values(&[self.outbox.adapter(), "relay"])
                        .inc();
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    /// Publishes up to one batch; returns how many were published.
    async fn publish_batch(&self) -> Result<usize, RelayError> {
        let pending = self.outbox.pending(BATCH).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let n = pending.len();
        let adapter = self.outbox.adapter();
        let ids: Vec<i64> = pending.iter().map(|p| p.id).collect();
        let (outgoing, routed): (Vec<Outgoing>, Vec<(usize, Option<String>)>) = pending
            .into_iter()
            .enumerate()
            .flat_map(|(row, p)| {
                p.copies
                    .into_iter()
                    .map(move |(copy, to)| (copy, (row, to)))
            })
            .unzip();
        let set_aside = {
            let _t = self.metrics.time("relay_publish");
            publish_or_set_aside(
                &*self.broker,
                &*self.dead_letters,
                &self.metrics,
                (self.outbox.aside_queue(), adapter),
                outgoing,
            )
            .await?
        };
        self.outbox.mark_published(&ids).await?;
        let rows_set_aside: std::collections::HashSet<usize> = set_aside
            .iter()
            .map(|&position| routed[position].0)
            .collect();
        self.metrics
            .messages_published
            .with_label_values(&[adapter])
            .inc_by((n - rows_set_aside.len()) as u64);
        for (position, (_, subscriber)) in routed.iter().enumerate() {
            if let Some(s) = subscriber
                .as_deref()
                .filter(|_| !set_aside.contains(&position))
            {
                self.metrics.messages_routed.with_label_values(&[s]).inc();
            }
        }
        tracing::debug!(adapter, count = n, "published outbox messages");
        Ok(n)
    }
}
