//! Outbox → broker: publishes recorded messages in the order they were recorded and marks
//! them published only after the broker confirmed them. Runs only on the leader, so the
//! order per vCode is the order of the outbox.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::broker::topology::ASSOCIATIONS;
use crate::broker::{Broker, Envelope, Outgoing, Properties};
use crate::metrics::Metrics;
use crate::store::{PendingMessage, Store};

const BATCH: usize = 500;
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const ADAPTER: &str = "register";

pub struct Relay {
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
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
                match self.store.prune_outbox(self.retention).await {
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
                        .with_label_values(&[ADAPTER, "relay"])
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
    async fn publish_batch(&self) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
        let pending = self.store.pending_outbox(BATCH).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let ids: Vec<i64> = pending.iter().map(|p| p.outbox_id).collect();
        let outgoing: Vec<Outgoing> = pending.into_iter().map(to_outgoing).collect();
        let n = outgoing.len();
        {
            let _t = self.metrics.time("relay_publish");
            self.broker.publish(outgoing).await?;
        }
        self.store.mark_published(&ids).await?;
        self.metrics
            .messages_published
            .with_label_values(&[ADAPTER])
            .inc_by(n as u64);
        tracing::debug!(count = n, "published outbox messages");
        Ok(n)
    }
}

fn to_outgoing(p: PendingMessage) -> Outgoing {
    let m = p.message;
    Outgoing {
        exchange: ASSOCIATIONS.to_owned(),
        routing_key: m.message_type.as_str().to_owned(),
        properties: Properties::from(&Envelope {
            message_id: m.message_id,
            message_type: m.message_type.as_str().to_owned(),
            correlation_id: m.correlation_id,
            time: m.time,
            v_code: m.v_code.to_string(),
            sequence: m.sequence,
            version: m.version,
            schema_version: m.message_type.schema_version(),
        }),
        body: m.body,
    }
}
