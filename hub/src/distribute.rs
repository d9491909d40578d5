//! Hub → subscriber: the batch handler behind each subscriber's consumer. For every
//! `association.changed` / `association.removed` on `hub.deliver.<subscriber>` it applies
//! the subscriber's selector and field policy and delivers what the subscriber may see
//! through its channel (its own queue, or its HTTP endpoint).
//!
//! One effect per message and subscriber, in one [`crate::store::DeliveryTx`] per batch:
//! one statement advances the subscriber's per-vCode state (its inbox: the newest sequence
//! applied) where the message is newer, returning what the subscriber had; a duplicate
//! (same sequence), even one handled at the same moment by another replica, is absorbed,
//! and per vCode an older sequence is never delivered after a newer one. Within a batch only
//! the newest message of a vCode counts. Then the effects happen, failed ones are put back,
//! and everything commits.

use std::collections::HashMap;
use std::sync::Arc;

use adapter_subscriber::http::{HttpEndpoint, PostError, PostHeaders};
use async_trait::async_trait;
use contracts::{AssociationChanged, AssociationRemoved, MessageType, Metadata, VCode};
use futures::stream::{self, StreamExt};

use crate::broker::topology::SUBSCRIBERS;
use crate::broker::{Broker, BrokerError, Incoming, Outgoing, Properties};
use crate::config::{Channel, SubscriberSettings};
use crate::consume::{BatchHandler, Failure, Outcome};
use crate::metrics::Metrics;
use crate::store::{Advance, DeliveryState, Store, StoreError};

/// Concurrent requests to one HTTP endpoint per batch.
const HTTP_CONCURRENCY: usize = 16;

enum Parsed {
    Changed(Box<AssociationChanged>),
    Removed(AssociationRemoved),
}

impl Parsed {
    fn metadata(&self) -> &Metadata {
        match self {
            Parsed::Changed(m) => &m.metadata,
            Parsed::Removed(m) => &m.metadata,
        }
    }
}

struct Item {
    index: usize,
    message_id: String,
    parsed: Parsed,
}

/// What to do for one message.
struct Plan {
    index: usize,
    message_id: String,
    v_code: VCode,
    /// The message to deliver, if any, with its AMQP properties.
    delivery: Option<(Properties, Vec<u8>, Metadata)>,
}

pub struct Distributor {
    pub subscriber: SubscriberSettings,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    pub metrics: Metrics,
    endpoint: Option<HttpEndpoint>,
}

impl Distributor {
    pub fn new(
        subscriber: SubscriberSettings,
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        metrics: Metrics,
    ) -> Result<Self, String> {
        let endpoint = match &subscriber.channel {
            Channel::Http { url, timeout } => Some(HttpEndpoint::new(url, *timeout)?),
            Channel::Queue { .. } => None,
        };
        Ok(Distributor {
            subscriber,
            store,
            broker,
            metrics,
            endpoint,
        })
    }

    fn skip(&self, reason: &str) {
        self.metrics
            .messages_skipped
            .with_label_values(&[&self.subscriber.name, reason])
            .inc();
    }

    /// Advances the states, delivers and commits; an `Err` says why nothing of the batch
    /// took effect (usually: the database or the broker is away).
    async fn deliver(&self, items: Vec<Item>, outcomes: &mut [Outcome]) -> Result<(), Failure> {
        let unavailable = |e: StoreError| match e {
            StoreError::Unavailable(m) => Failure::Unavailable(m),
            StoreError::Corrupt(m) => Failure::Permanent(format!("stored state is corrupt: {m}")),
        };
        // Per vCode only the newest message of the batch counts (the last one, when two
        // carry the same sequence); the others are superseded.
        let mut newest: HashMap<VCode, usize> = HashMap::new();
        for (position, item) in items.iter().enumerate() {
            let m = item.parsed.metadata();
            let best = newest.entry(m.v_code.clone()).or_insert(position);
            if m.sequence >= items[*best].parsed.metadata().sequence {
                *best = position;
            }
        }
        let mut kept = Vec::with_capacity(newest.len());
        for (position, item) in items.into_iter().enumerate() {
            if newest.get(&item.parsed.metadata().v_code) == Some(&position) {
                kept.push(item);
            } else {
                self.skip("superseded");
            }
        }
        let proposals: Vec<(VCode, DeliveryState)> = kept
            .iter()
            .map(|item| {
                (
                    item.parsed.metadata().v_code.clone(),
                    self.proposed_state(&item.parsed),
                )
            })
            .collect();

        let mut tx = self
            .store
            .begin_delivery(&self.subscriber.name)
            .await
            .map_err(unavailable)?;
        let advanced: HashMap<VCode, Advance> = tx
            .advance(&proposals)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|a| (a.v_code.clone(), a))
            .collect();
        let mut plans = Vec::with_capacity(kept.len());
        for item in kept {
            let m = item.parsed.metadata();
            match advanced.get(&m.v_code) {
                Some(a) if a.applied => plans.push(self.plan(item, a.previous)),
                Some(Advance {
                    previous: Some(p), ..
                }) if p.sequence == m.sequence => {
                    outcomes[item.index] = Outcome::Duplicate;
                }
                _ => self.skip("duplicate_or_stale"),
            }
        }

        let results = self.effects(&plans).await?;
        let mut failed = Vec::new();
        let mut delivered = 0;
        for (plan, result) in plans.into_iter().zip(results) {
            match result {
                Ok(()) => delivered += u64::from(plan.delivery.is_some()),
                Err(failure) => {
                    failed.push(plan.v_code);
                    outcomes[plan.index] = Outcome::Failed(failure);
                }
            }
        }
        tx.restore(&failed).await.map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        self.metrics
            .messages_delivered
            .with_label_values(&[&self.subscriber.name])
            .inc_by(delivered);
        Ok(())
    }

    /// The subscriber's state for the vCode once this message is applied.
    fn proposed_state(&self, parsed: &Parsed) -> DeliveryState {
        let sequence = parsed.metadata().sequence;
        let in_scope = match parsed {
            Parsed::Changed(m) => self.subscriber.selector.matches(&m.vereniging),
            Parsed::Removed(_) => false,
        };
        DeliveryState { sequence, in_scope }
    }

    /// What to deliver for an applied message, given what the subscriber had before.
    fn plan(&self, item: Item, previous: Option<DeliveryState>) -> Plan {
        let held = previous.is_some_and(|s| s.in_scope);
        let metadata = item.parsed.metadata().clone();
        let mut plan = Plan {
            index: item.index,
            message_id: item.message_id,
            v_code: metadata.v_code.clone(),
            delivery: None,
        };
        let body = match item.parsed {
            Parsed::Changed(message) => {
                if !self.subscriber.selector.matches(&message.vereniging) {
                    self.skip("not_selected");
                    return plan;
                }
                let mut visible = self.subscriber.fields.apply(*message);
                if !held {
                    // New to this subscriber: everything it may see is new to it.
                    visible.changed_parts = self.subscriber.fields.visible_parts();
                }
                if visible.changed_parts.is_empty() {
                    self.skip("no_visible_change");
                    return plan;
                }
                encode(&visible)
            }
            Parsed::Removed(message) => {
                if !held {
                    self.skip("not_held");
                    return plan;
                }
                encode(&message)
            }
        };
        plan.delivery = body.map(|body| (properties_for(&metadata), body, metadata));
        plan
    }

    /// Delivers what the plans say, through the subscriber's channel; one result per plan.
    async fn effects(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        match &self.endpoint {
            None => {
                let outgoing: Vec<Outgoing> = plans
                    .iter()
                    .filter_map(|p| p.delivery.as_ref())
                    .map(|(properties, body, _)| Outgoing {
                        exchange: SUBSCRIBERS.to_owned(),
                        routing_key: self.subscriber.name.clone(),
                        properties: properties.clone(),
                        body: body.clone(),
                    })
                    .collect();
                if !outgoing.is_empty() {
                    self.broker.publish(outgoing).await.map_err(|e| match e {
                        BrokerError::Unavailable(m) => Failure::Unavailable(m),
                        // Refused by the broker: retried with backoff, then dead-lettered.
                        other => Failure::Transient(other.to_string()),
                    })?;
                }
                Ok(plans.iter().map(|_| Ok(())).collect())
            }
            Some(endpoint) => {
                let posts: Vec<_> = plans
                    .iter()
                    .map(|plan| {
                        let endpoint = endpoint.clone();
                        let delivery = plan.delivery.clone();
                        let message_id = plan.message_id.clone();
                        async move {
                            let Some((_, body, m)) = delivery else {
                                return Ok(());
                            };
                            let headers = PostHeaders {
                                message_id,
                                correlation_id: m.correlation_id.to_string(),
                                message_type: m.message_type.as_str().to_owned(),
                            };
                            endpoint.post(&headers, body).await.map_err(|e| match e {
                                PostError::Transient(r) => Failure::Transient(r),
                                PostError::Permanent(r) => Failure::Permanent(r),
                            })
                        }
                    })
                    .collect();
                let results = stream::iter(posts)
                    .buffered(HTTP_CONCURRENCY)
                    .collect()
                    .await;
                Ok(results)
            }
        }
    }
}

#[async_trait]
impl BatchHandler for Distributor {
    async fn handle(&self, batch: &[Incoming]) -> Vec<Outcome> {
        let mut outcomes = vec![Outcome::Done; batch.len()];
        let mut items = Vec::with_capacity(batch.len());
        for (index, incoming) in batch.iter().enumerate() {
            match parse(incoming) {
                Ok(parsed) => {
                    let message_id = incoming
                        .properties
                        .message_id
                        .clone()
                        .unwrap_or_else(|| parsed.metadata().message_id.to_string());
                    items.push(Item {
                        index,
                        message_id,
                        parsed,
                    });
                }
                Err(reason) => outcomes[index] = Outcome::Failed(Failure::Permanent(reason)),
            }
        }
        let indices: Vec<usize> = items.iter().map(|i| i.index).collect();
        if items.is_empty() {
            return outcomes;
        }
        if let Err(failure) = self.deliver(items, &mut outcomes).await {
            for i in indices {
                outcomes[i] = Outcome::Failed(failure.clone());
            }
        }
        outcomes
    }
}

/// The subscriber's copy keeps the message's id, type and correlation, without the hub's
/// internal retry headers.
fn properties_for(m: &Metadata) -> Properties {
    Properties::from(&crate::broker::Envelope {
        message_id: m.message_id,
        message_type: m.message_type.as_str().to_owned(),
        correlation_id: m.correlation_id,
        time: m.time,
        v_code: m.v_code.to_string(),
        sequence: m.sequence,
        version: m.version,
        schema_version: m.message_type.schema_version(),
    })
}

fn encode<T: serde::Serialize>(message: &T) -> Option<Vec<u8>> {
    // Serialising the hub's own types cannot fail; if it ever did, deliver nothing.
    serde_json::to_vec(message).ok()
}

fn parse(incoming: &Incoming) -> Result<Parsed, String> {
    let raw_type = incoming.properties.message_type.as_deref();
    let message_type = raw_type
        .and_then(MessageType::parse)
        .ok_or_else(|| format!("unknown message type {raw_type:?}"))?;
    match message_type {
        MessageType::AssociationChanged => serde_json::from_slice(&incoming.body)
            .map(|m| Parsed::Changed(Box::new(m)))
            .map_err(|e| format!("association.changed does not parse: {e}")),
        MessageType::AssociationRemoved => serde_json::from_slice(&incoming.body)
            .map(Parsed::Removed)
            .map_err(|e| format!("association.removed does not parse: {e}")),
        // Made per municipality by the distributor itself; never published to the hub.
        MessageType::AssociationEnteredTerritory | MessageType::AssociationLeftTerritory => Err(
            format!("{} is not expected on a delivery queue", message_type.as_str()),
        ),
    }
}
