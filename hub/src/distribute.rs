//! Hub → subscriber: consumes the hub's delivery queue for one subscriber, applies its
//! selector and field policy, and publishes what it may receive to its own queue.
//!
//! Per vCode the subscriber's newest handled sequence is stored; an older or repeated
//! message is acknowledged without effect, so redeliveries and replays are harmless and an
//! older snapshot never follows a newer one. Deliveries for one vCode are handled by one
//! worker, in order; different vCodes are handled concurrently.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use adapter_subscriber::FieldPolicy;
use contracts::{AssociationChanged, AssociationRemoved, MessageType, VCode};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::broker::topology::{delivery_queue, SUBSCRIBERS};
use crate::broker::{Broker, BrokerError, Envelope, Incoming, Outgoing};
use crate::config::SubscriberSettings;
use crate::metrics::Metrics;
use crate::store::{DeliveryState, Store, StoreError};

/// Workers per subscriber; a vCode always goes to the same one.
const WORKERS: usize = 16;

#[derive(Debug, thiserror::Error)]
enum HandleError {
    /// Worth trying again: the database or the broker is away.
    #[error("transient: {0}")]
    Transient(String),
    /// The message can never be handled: off to the dead-letter queue, with the reason.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl From<StoreError> for HandleError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => HandleError::Transient(m),
            StoreError::Corrupt(m) => HandleError::Permanent(m),
        }
    }
}

impl From<BrokerError> for HandleError {
    fn from(e: BrokerError) -> Self {
        HandleError::Transient(e.to_string())
    }
}

enum Parsed {
    Changed(Box<AssociationChanged>),
    Removed(AssociationRemoved),
}

impl Parsed {
    fn v_code(&self) -> &VCode {
        match self {
            Parsed::Changed(m) => &m.metadata.v_code,
            Parsed::Removed(m) => &m.metadata.v_code,
        }
    }
}

pub struct Distributor {
    pub subscriber: SubscriberSettings,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    pub metrics: Metrics,
    pub prefetch: u16,
}

impl Distributor {
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let queue = delivery_queue(&self.subscriber.name);
        let mut workers = JoinSet::new();
        let mut senders = Vec::with_capacity(WORKERS);
        for _ in 0..WORKERS {
            let (tx, mut rx) = mpsc::channel::<(Incoming, Result<Parsed, String>)>(64);
            senders.push(tx);
            let this = self.clone();
            workers.spawn(async move {
                while let Some((incoming, parsed)) = rx.recv().await {
                    this.settle(incoming, parsed).await;
                }
            });
        }
        loop {
            let consumed = tokio::select! {
                _ = cancel.cancelled() => break,
                c = self.broker.consume(&queue, self.prefetch) => c,
            };
            let mut deliveries = match consumed {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(subscriber = %self.subscriber.name, error = %e, "cannot consume; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            loop {
                let next = tokio::select! {
                    _ = cancel.cancelled() => None,
                    d = deliveries.next() => d,
                };
                let Some(incoming) = next else { break };
                let parsed = parse(&incoming);
                let worker = match &parsed {
                    Ok(p) => shard(p.v_code()),
                    Err(_) => 0,
                };
                if senders[worker].send((incoming, parsed)).await.is_err() {
                    break;
                }
            }
            if cancel.is_cancelled() {
                break;
            }
        }
        // Let the workers finish what they hold (unsettled deliveries return to the queue
        // when the channel closes).
        drop(senders);
        while workers.join_next().await.is_some() {}
    }

    async fn settle(&self, incoming: Incoming, parsed: Result<Parsed, String>) {
        let name = &self.subscriber.name;
        let outcome = match parsed {
            Ok(message) => {
                let _t = self.metrics.time("deliver");
                self.handle(message).await
            }
            Err(reason) => Err(HandleError::Permanent(reason)),
        };
        let settled = match outcome {
            Ok(()) => incoming.ack().await,
            Err(HandleError::Transient(reason)) => {
                tracing::warn!(subscriber = %name, %reason, "delivery failed; will retry");
                self.metrics
                    .messages_failed
                    .with_label_values(&[name, "transient"])
                    .inc();
                tokio::time::sleep(Duration::from_secs(1)).await;
                incoming.requeue().await
            }
            Err(HandleError::Permanent(reason)) => {
                tracing::error!(subscriber = %name, message_id = ?incoming.message_id, %reason, "dead-lettering a message");
                self.metrics
                    .messages_failed
                    .with_label_values(&[name, "permanent"])
                    .inc();
                incoming.dead_letter().await
            }
        };
        if let Err(e) = settled {
            // The delivery returns to the queue with the lost channel; nothing is lost.
            tracing::warn!(subscriber = %name, error = %e, "could not settle a delivery");
        }
    }

    async fn handle(&self, message: Parsed) -> Result<(), HandleError> {
        let name = self.subscriber.name.as_str();
        let v_code = message.v_code().clone();
        let state = self.store.delivery_state(name, &v_code).await?;
        let skip = |reason: &str| {
            self.metrics
                .messages_skipped
                .with_label_values(&[name, reason])
                .inc()
        };
        match message {
            Parsed::Changed(message) => {
                let sequence = message.metadata.sequence;
                if state.is_some_and(|s| s.sequence >= sequence) {
                    skip("duplicate_or_stale");
                    return Ok(());
                }
                if !self.subscriber.selector.matches(&message.vereniging) {
                    skip("not_selected");
                    return Ok(self.record(&v_code, sequence, false).await?);
                }
                let was_in_scope = state.is_some_and(|s| s.in_scope);
                let visible = visible_to(self.subscriber.fields, *message, was_in_scope);
                let Some(visible) = visible else {
                    skip("no_visible_change");
                    return Ok(self.record(&v_code, sequence, true).await?);
                };
                self.publish(&visible.metadata, serde_json::to_vec(&visible))
                    .await?;
                self.record(&v_code, sequence, true).await?;
            }
            Parsed::Removed(message) => {
                let sequence = message.metadata.sequence;
                // A removal found by a resync may carry the sequence already seen.
                if state.is_some_and(|s| s.sequence > sequence)
                    || !state.is_some_and(|s| s.in_scope)
                {
                    skip("not_held");
                    return Ok(self.record(&v_code, sequence, false).await?);
                }
                self.publish(&message.metadata, serde_json::to_vec(&message))
                    .await?;
                self.record(&v_code, sequence, false).await?;
            }
        }
        Ok(())
    }

    async fn publish(
        &self,
        metadata: &contracts::Metadata,
        body: Result<Vec<u8>, serde_json::Error>,
    ) -> Result<(), HandleError> {
        let body = body.map_err(|e| HandleError::Permanent(format!("cannot encode: {e}")))?;
        let outgoing = Outgoing {
            exchange: SUBSCRIBERS.to_owned(),
            routing_key: self.subscriber.name.clone(),
            envelope: Envelope {
                message_id: metadata.message_id,
                message_type: metadata.message_type.as_str().to_owned(),
                correlation_id: metadata.correlation_id,
                time: metadata.time,
                v_code: metadata.v_code.to_string(),
                sequence: metadata.sequence,
                version: metadata.version,
                schema_version: metadata.message_type.schema_version(),
            },
            body,
        };
        self.broker.publish(vec![outgoing]).await?;
        self.metrics
            .messages_delivered
            .with_label_values(&[&self.subscriber.name])
            .inc();
        Ok(())
    }

    async fn record(
        &self,
        v_code: &VCode,
        sequence: u64,
        in_scope: bool,
    ) -> Result<(), StoreError> {
        let state = DeliveryState { sequence, in_scope };
        self.store
            .record_delivery(&self.subscriber.name, v_code, state)
            .await
    }
}

/// The message as the subscriber may see it, or `None` when nothing it may see changed
/// (e.g. only representatives changed and it is not granted them).
fn visible_to(
    policy: FieldPolicy,
    message: AssociationChanged,
    was_in_scope: bool,
) -> Option<AssociationChanged> {
    let mut visible = policy.apply(message);
    if !was_in_scope {
        // New to this subscriber: everything it may see is new to it.
        visible.changed_parts = policy.visible_parts();
    }
    (!visible.changed_parts.is_empty()).then_some(visible)
}

fn parse(incoming: &Incoming) -> Result<Parsed, String> {
    let message_type = incoming
        .message_type
        .as_deref()
        .and_then(MessageType::parse)
        .ok_or_else(|| format!("unknown message type {:?}", incoming.message_type))?;
    match message_type {
        MessageType::AssociationChanged => serde_json::from_slice(&incoming.body)
            .map(|m| Parsed::Changed(Box::new(m)))
            .map_err(|e| format!("association.changed does not parse: {e}")),
        MessageType::AssociationRemoved => serde_json::from_slice(&incoming.body)
            .map(Parsed::Removed)
            .map_err(|e| format!("association.removed does not parse: {e}")),
    }
}

fn shard(v_code: &VCode) -> usize {
    let mut h = DefaultHasher::new();
    v_code.hash(&mut h);
    (h.finish() % WORKERS as u64) as usize
}
