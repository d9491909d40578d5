//! Hub → subscriber: the batch handler behind each subscriber's consumer. For every
//! `association.changed` / `association.removed` on `hub.deliver.<subscriber>` it applies
//! the subscriber's selector and field policy and delivers what the subscriber may see
//! through its channel (its own queue, or its HTTP endpoint).
//!
//! Exactly-once effect per subscriber, in one [`DeliveryTx`] per batch: the message ids are
//! claimed in the inbox (a duplicate, even one handled at the same moment by another
//! replica, is absorbed), the vCodes' delivery states are locked and compared (per vCode an
//! older sequence is never delivered after a newer one; within a batch only the newest
//! message of a vCode is delivered), then the effects happen, then everything commits.

use std::collections::{HashMap, HashSet};
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
use crate::store::{DeliveryState, Store, StoreError};

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
    /// The subscriber's state for the vCode once the delivery (if any) succeeded.
    new_state: Option<DeliveryState>,
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

    /// Claims, decides, delivers and commits; an `Err` says why nothing of the batch took
    /// effect (usually: the database or the broker is away).
    async fn deliver(&self, items: Vec<Item>, outcomes: &mut [Outcome]) -> Result<(), Failure> {
        let unavailable = |e: StoreError| match e {
            StoreError::Unavailable(m) => Failure::Unavailable(m),
            StoreError::Corrupt(m) => Failure::Permanent(format!("stored state is corrupt: {m}")),
        };
        let mut tx = self
            .store
            .begin_delivery(&self.subscriber.name)
            .await
            .map_err(unavailable)?;
        let ids: Vec<String> = items.iter().map(|i| i.message_id.clone()).collect();
        let fresh = tx.claim(&ids).await.map_err(unavailable)?;
        let mut seen = HashSet::new();
        let mut work = Vec::new();
        for item in items {
            if fresh.contains(&item.message_id) && seen.insert(item.message_id.clone()) {
                work.push(item);
            } else {
                outcomes[item.index] = Outcome::Duplicate;
            }
        }
        let codes: Vec<VCode> = work
            .iter()
            .map(|i| i.parsed.metadata().v_code.clone())
            .collect();
        let states = tx.lock_states(&codes).await.map_err(unavailable)?;
        // Per vCode only the newest message of the batch is delivered (the last one, when
        // two carry the same sequence); the others are superseded.
        let mut newest: HashMap<&VCode, (u64, usize)> = HashMap::new();
        for (position, item) in work.iter().enumerate() {
            let m = item.parsed.metadata();
            let best = newest.entry(&m.v_code).or_insert((m.sequence, position));
            if m.sequence >= best.0 {
                *best = (m.sequence, position);
            }
        }
        let mut plans = Vec::with_capacity(work.len());
        for (position, item) in work.iter().enumerate() {
            let m = item.parsed.metadata();
            if newest.get(&m.v_code).is_some_and(|(_, p)| *p != position) {
                self.skip("superseded");
                continue;
            }
            plans.push(self.plan(item, states.get(&m.v_code).copied()));
        }

        let results = self.effects(&plans).await?;
        let mut released = Vec::new();
        let mut new_states = Vec::new();
        let mut delivered = 0;
        for (plan, result) in plans.into_iter().zip(results) {
            match result {
                Ok(()) => {
                    delivered += u64::from(plan.delivery.is_some());
                    if let Some(state) = plan.new_state {
                        new_states.push((plan.v_code, state));
                    }
                }
                Err(failure) => {
                    released.push(plan.message_id);
                    outcomes[plan.index] = Outcome::Failed(failure);
                }
            }
        }
        tx.release(&released).await.map_err(unavailable)?;
        tx.save_states(&new_states).await.map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        self.metrics
            .messages_delivered
            .with_label_values(&[&self.subscriber.name])
            .inc_by(delivered);
        Ok(())
    }

    fn plan(&self, item: &Item, state: Option<DeliveryState>) -> Plan {
        let m = item.parsed.metadata();
        let mut plan = Plan {
            index: item.index,
            message_id: item.message_id.clone(),
            v_code: m.v_code.clone(),
            delivery: None,
            new_state: None,
        };
        let in_scope = state.is_some_and(|s| s.in_scope);
        match &item.parsed {
            Parsed::Changed(message) => {
                if state.is_some_and(|s| s.sequence >= m.sequence) {
                    self.skip("duplicate_or_stale");
                    return plan;
                }
                if !self.subscriber.selector.matches(&message.vereniging) {
                    self.skip("not_selected");
                    plan.new_state = Some(DeliveryState {
                        sequence: m.sequence,
                        in_scope: false,
                    });
                    return plan;
                }
                plan.new_state = Some(DeliveryState {
                    sequence: m.sequence,
                    in_scope: true,
                });
                let mut visible = self.subscriber.fields.apply(message.as_ref().clone());
                if !in_scope {
                    // New to this subscriber: everything it may see is new to it.
                    visible.changed_parts = self.subscriber.fields.visible_parts();
                }
                if visible.changed_parts.is_empty() {
                    self.skip("no_visible_change");
                    return plan;
                }
                plan.delivery = encode(&visible).map(|body| (properties_for(m), body, m.clone()));
            }
            Parsed::Removed(message) => {
                // A removal found by a resync may carry the sequence already seen.
                if state.is_some_and(|s| s.sequence > m.sequence) {
                    self.skip("duplicate_or_stale");
                    return plan;
                }
                plan.new_state = Some(DeliveryState {
                    sequence: m.sequence,
                    in_scope: false,
                });
                if !in_scope {
                    self.skip("not_held");
                    return plan;
                }
                plan.delivery = encode(message).map(|body| (properties_for(m), body, m.clone()));
            }
        }
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
    }
}
