//! Hub → subscriber: the batch handler behind each subscriber's consumer. For every
//! `association.changed` / `association.removed` on `hub.deliver.<subscriber>` it applies
//! the subscriber's selector and field policy and delivers what the subscriber may see
//! through its channel (its own queue, or its HTTP endpoint). A granted value that fails its
//! check is withheld by the field policy, counted (`hub_values_withheld_total`) and logged
//! without the value.
//!
//! One effect per message and subscriber, in one [`crate::runtime::store::DeliveryTx`] per batch:
//! one statement advances the subscriber's per-vCode state (its inbox: the newest sequence
//! applied) where the message is newer, returning what the subscriber had; a duplicate
//! (same sequence), even one handled at the same moment by another replica, is absorbed,
//! and per vCode an older sequence is never delivered after a newer one. Within a batch only
//! the newest message of a vCode counts. Then the effects happen, failed ones are put back,
//! and everything commits.

use std::collections::HashMap;
use std::sync::Arc;

use adapter_municipality::endpoint::{ClientTls, SoapEndpoint, SoapError};
use adapter_municipality::soap::{self, Parties, Publication};
use adapter_subscriber::http::{HttpEndpoint, PostError, PostHeaders};
use adapter_subscriber::Filtered;
use async_trait::async_trait;
use contracts::{
    AssociationChanged, AssociationRemoved, Crossing, MessageType, Metadata, TerritoryNotice, VCode,
};
use futures::stream::{self, StreamExt};

use crate::config::{Channel, ClientTlsFiles, SoapChannel, SubscriberSettings};
use crate::runtime::broker::topology::{CROSSING, ENTERED, SUBSCRIBERS};
use crate::runtime::broker::{Broker, BrokerError, Incoming, Outgoing, Properties};
use crate::runtime::consume::{BatchHandler, Failure, Outcome};
use crate::runtime::metrics::Metrics;
use crate::runtime::store::{Advance, DeliveryState, Store};

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
    parsed: Parsed,
    /// The relay marked this copy: the change brought the association into the
    /// subscriber's scope (see `recipients.rs`).
    entered: bool,
}

/// One message as it leaves the hub for this subscriber (already through its field policy).
enum Outbound {
    Changed(Box<AssociationChanged>),
    Removed(AssociationRemoved),
    Notice(TerritoryNotice),
}

impl Outbound {
    fn metadata(&self) -> &Metadata {
        match self {
            Outbound::Changed(m) => &m.metadata,
            Outbound::Removed(m) => &m.metadata,
            Outbound::Notice(m) => &m.metadata,
        }
    }

    fn json(&self) -> Option<Vec<u8>> {
        match self {
            Outbound::Changed(m) => encode(m),
            Outbound::Removed(m) => encode(m),
            Outbound::Notice(m) => encode(m),
        }
    }

    fn publication(&self) -> Publication<'_> {
        match self {
            Outbound::Changed(m) => Publication::Changed(m),
            Outbound::Removed(m) => Publication::Removed(m),
            Outbound::Notice(m) => Publication::Notice(m),
        }
    }
}

/// What to do for one message: nothing, one message, or a territory notice and the
/// snapshot (delivered in that order).
struct Plan {
    index: usize,
    v_code: VCode,
    deliveries: Vec<Outbound>,
}

/// How this distributor reaches its subscriber.
enum Route {
    Queue,
    Http(HttpEndpoint),
    Soap(SoapEndpoint, Parties),
}

pub struct Distributor {
    pub subscriber: SubscriberSettings,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    pub metrics: Metrics,
    route: Route,
}

impl Distributor {
    pub fn new(
        subscriber: SubscriberSettings,
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        metrics: Metrics,
    ) -> Result<Self, String> {
        let route = match &subscriber.channel {
            Channel::Queue { .. } => Route::Queue,
            Channel::Http { url, timeout } => Route::Http(HttpEndpoint::new(url, *timeout)?),
            Channel::Soap(channel) => {
                soap_route(channel).map_err(|e| format!("subscriber {}: {e}", subscriber.name))?
            }
        };
        Ok(Distributor {
            subscriber,
            store,
            broker,
            metrics,
            route,
        })
    }

    /// Counts and logs (without the values) what the field policy withheld as invalid.
    fn count_invalid(&self, filtered: &Filtered) {
        for invalid in &filtered.invalid {
            self.metrics
                .values_withheld
                .with_label_values(&[&self.subscriber.name, invalid.field])
                .inc();
            tracing::warn!(subscriber = %self.subscriber.name,
                v_code = %filtered.message.metadata.v_code,
                sequence = filtered.message.metadata.sequence,
                field = invalid.field, reason = %invalid.reason,
                "withheld a value that fails its check");
        }
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
            .map_err(Failure::from)?;
        let advanced: HashMap<VCode, Advance> = tx
            .advance(&proposals)
            .await
            .map_err(Failure::from)?
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
                Ok(()) => delivered += plan.deliveries.len() as u64,
                Err(failure) => {
                    failed.push(plan.v_code);
                    outcomes[plan.index] = Outcome::Failed(failure);
                }
            }
        }
        tx.restore(&failed).await.map_err(Failure::from)?;
        tx.commit().await.map_err(Failure::from)?;
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
        // Outside its scope before (known so to its state, or so decided at ingest): for a
        // municipality, a change that selects it now moved it onto the territory.
        let was_outside = previous.is_some_and(|s| !s.in_scope) || (item.entered && !held);
        let mut plan = Plan {
            index: item.index,
            v_code: item.parsed.metadata().v_code.clone(),
            deliveries: Vec::new(),
        };
        let territory = self.subscriber.municipality.is_some();
        let notice = |m: &Metadata, crossing| {
            Outbound::Notice(TerritoryNotice::for_change(
                m,
                &self.subscriber.name,
                crossing,
            ))
        };
        match item.parsed {
            Parsed::Changed(message) => {
                if !self.subscriber.selector.matches(&message.vereniging) {
                    if held && territory {
                        plan.deliveries
                            .push(notice(&message.metadata, Crossing::Left));
                    } else {
                        self.skip("not_selected");
                    }
                    return plan;
                }
                let filtered = self.subscriber.fields.filter(*message);
                self.count_invalid(&filtered);
                let mut visible = filtered.message;
                if !held {
                    // New to this subscriber: everything it may see is new to it.
                    visible.changed_parts = self.subscriber.fields.visible_parts();
                    if was_outside && territory {
                        plan.deliveries
                            .push(notice(&visible.metadata, Crossing::Entered));
                    }
                }
                if visible.changed_parts.is_empty() {
                    self.skip("no_visible_change");
                    return plan;
                }
                plan.deliveries.push(Outbound::Changed(Box::new(visible)));
            }
            Parsed::Removed(message) => {
                if !held {
                    self.skip("not_held");
                    return plan;
                }
                plan.deliveries.push(Outbound::Removed(message));
            }
        }
        plan
    }

    /// Delivers what the plans say, through the subscriber's channel; one result per plan.
    async fn effects(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        if let Route::Queue = self.route {
            return self.publish(plans).await;
        }
        // Collected first: a lazy `map` held across the await is not `Send` enough for
        // `async_trait`.
        let calls: Vec<_> = plans.iter().map(|plan| self.call(plan)).collect();
        Ok(stream::iter(calls)
            .buffered(HTTP_CONCURRENCY)
            .collect()
            .await)
    }

    /// HTTP and SOAP channels: one request per message of the plan, in order; the first
    /// failure fails the plan (its state is restored, so all of it is retried).
    async fn call(&self, plan: &Plan) -> Result<(), Failure> {
        for outbound in &plan.deliveries {
            match &self.route {
                Route::Queue => {}
                Route::Http(endpoint) => {
                    let Some(body) = outbound.json() else {
                        continue;
                    };
                    let m = outbound.metadata();
                    let headers = PostHeaders {
                        message_id: m.message_id.to_string(),
                        correlation_id: m.correlation_id.to_string(),
                        message_type: m.message_type.as_str().to_owned(),
                    };
                    endpoint.post(&headers, body).await.map_err(|e| match e {
                        PostError::Transient(r) => Failure::Transient(r),
                        PostError::Permanent(r) => Failure::Permanent(r),
                    })?;
                }
                Route::Soap(endpoint, parties) => {
                    let envelope = soap::request(
                        &outbound.publication(),
                        parties,
                        time::OffsetDateTime::now_utc(),
                    );
                    endpoint.send(envelope).await.map_err(|e| match e {
                        SoapError::Transient(r) => Failure::Transient(r),
                        SoapError::Permanent(r) => Failure::Permanent(r),
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Queue channel: the whole batch in one confirmed publish, in plan order.
    async fn publish(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        let outgoing: Vec<Outgoing> = plans
            .iter()
            .flat_map(|p| &p.deliveries)
            .filter_map(|outbound| {
                let body = outbound.json()?;
                Some(Outgoing {
                    exchange: SUBSCRIBERS.to_owned(),
                    routing_key: self.subscriber.name.clone(),
                    properties: properties_for(outbound.metadata()),
                    body,
                })
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
}

/// The SOAP endpoint of a channel, with its client certificate read from disk.
fn soap_route(channel: &SoapChannel) -> Result<Route, String> {
    let tls = channel.tls.as_ref().map(read_tls).transpose()?;
    let endpoint = SoapEndpoint::new(&channel.url, channel.timeout, tls.as_ref())?;
    let parties = Parties {
        sender: channel.sender.clone(),
        receiver: channel.receiver.clone(),
    };
    Ok(Route::Soap(endpoint, parties))
}

fn read_tls(files: &ClientTlsFiles) -> Result<ClientTls, String> {
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
    };
    Ok(ClientTls {
        certificate_pem: read(&files.certificate, "client certificate")?,
        private_key_pem: read(&files.private_key, "client private key")?,
        ca_pem: files
            .ca
            .as_deref()
            .map(|ca| read(ca, "CA certificate"))
            .transpose()?,
    })
}

#[async_trait]
impl BatchHandler for Distributor {
    async fn handle(&self, batch: &[Incoming]) -> Vec<Outcome> {
        let mut outcomes = vec![Outcome::Done; batch.len()];
        let mut items = Vec::with_capacity(batch.len());
        for (index, incoming) in batch.iter().enumerate() {
            match parse(incoming) {
                Ok(parsed) => items.push(Item {
                    index,
                    parsed,
                    entered: incoming.properties.header_text(CROSSING) == Some(ENTERED),
                }),
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
    Properties::from(&crate::runtime::broker::Envelope {
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
        MessageType::AssociationEnteredTerritory | MessageType::AssociationLeftTerritory => {
            Err(format!(
                "{} is not expected on a delivery queue",
                message_type.as_str()
            ))
        }
    }
}
