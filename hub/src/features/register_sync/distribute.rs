//! Hub → subscriber: the batch handler behind each subscriber's consumer. For every
//! `association.changed` / `association.removed` on `hub.deliver.<subscriber>` it applies
//! the subscriber's selector and field policy and delivers what the subscriber may see
//! through its channel ([`super::channels`]: its own queue, an HTTP or a SOAP endpoint). A granted value that fails its
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

use adapter_municipality::soap::Publication;
use adapter_subscriber::lazy::{self, LazyChanged};
use adapter_subscriber::Filtered;
use async_trait::async_trait;
use contracts::{
    AssociationChanged, AssociationRemoved, Crossing, MessageType, Metadata, TerritoryNotice, VCode,
};

use super::channels::Channel;
use crate::config::SubscriberSettings;
use crate::runtime::broker::topology::{CROSSING, ENTERED};
use crate::runtime::broker::Incoming;
use crate::runtime::consume::{BatchHandler, Failure, Outcome};
use crate::runtime::metrics::Metrics;
use crate::runtime::store::{Advance, DeliveryState, Store};

enum Parsed<'a> {
    Changed(Box<AssociationChanged>),
    /// Read only as far as the selector and the field policy need
    /// ([`adapter_subscriber::lazy`]), for a JSON channel and a policy it covers.
    Lazy(Box<LazyChanged<'a>>),
    Removed(AssociationRemoved),
}

impl Parsed<'_> {
    fn metadata(&self) -> &Metadata {
        match self {
            Parsed::Changed(m) => &m.metadata,
            Parsed::Lazy(m) => &m.metadata,
            Parsed::Removed(m) => &m.metadata,
        }
    }
}

struct Item<'a> {
    index: usize,
    parsed: Parsed<'a>,
    /// The relay marked this copy: the change brought the association into the
    /// subscriber's scope (see `recipients.rs`).
    entered: bool,
    /// The subscriber's selector matches the snapshot (never for a removal).
    selected: bool,
}

/// One message as it leaves the hub for this subscriber (already through its field policy).
pub enum Outbound {
    Changed(Box<AssociationChanged>),
    /// An `association.changed` already written as JSON (the lazy path).
    Json {
        metadata: Box<Metadata>,
        body: Vec<u8>,
    },
    Removed(AssociationRemoved),
    Notice(TerritoryNotice),
}

impl Outbound {
    pub fn metadata(&self) -> &Metadata {
        match self {
            Outbound::Changed(m) => &m.metadata,
            Outbound::Json { metadata, .. } => metadata,
            Outbound::Removed(m) => &m.metadata,
            Outbound::Notice(m) => &m.metadata,
        }
    }

    /// The message as JSON (the queue and HTTP channels).
    pub fn json(&self) -> Option<Vec<u8>> {
        match self {
            Outbound::Changed(m) => encode(m),
            Outbound::Json { body, .. } => Some(body.clone()),
            Outbound::Removed(m) => encode(m),
            Outbound::Notice(m) => encode(m),
        }
    }

    /// The message as a SOAP publication (the SOAP channel); `None` for one written as
    /// JSON, which only a channel that [`Channel::reads_json`] is given.
    pub fn publication(&self) -> Option<Publication<'_>> {
        match self {
            Outbound::Changed(m) => Some(Publication::Changed(m)),
            Outbound::Json { .. } => None,
            Outbound::Removed(m) => Some(Publication::Removed(m)),
            Outbound::Notice(m) => Some(Publication::Notice(m)),
        }
    }
}

/// What to deliver for one message: nothing, one message, or a territory notice and the
/// snapshot (delivered in that order).
pub struct Plan {
    index: usize,
    v_code: VCode,
    pub deliveries: Vec<Outbound>,
}

pub struct Distributor {
    pub subscriber: SubscriberSettings,
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    channel: Arc<dyn Channel>,
    /// Whether `association.changed` takes the lazy path (see [`Parsed::Lazy`]).
    lazy: bool,
}

impl Distributor {
    /// The distributor of `subscriber`, delivering through `channel`.
    pub fn new(
        subscriber: SubscriberSettings,
        store: Arc<dyn Store>,
        channel: Arc<dyn Channel>,
        metrics: Metrics,
    ) -> Self {
        let lazy = channel.reads_json() && lazy::covers(&subscriber.fields);
        Distributor {
            subscriber,
            store,
            metrics,
            channel,
            lazy,
        }
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
    async fn deliver(&self, items: Vec<Item<'_>>, outcomes: &mut [Outcome]) -> Result<(), Failure> {
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
                    DeliveryState {
                        sequence: item.parsed.metadata().sequence,
                        in_scope: item.selected,
                    },
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

        let results = self.channel.deliver(&plans).await?;
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

    fn selects(&self, parsed: &Parsed<'_>) -> bool {
        match parsed {
            Parsed::Changed(m) => self.subscriber.selector.matches(&m.vereniging),
            Parsed::Lazy(m) => m.selected_by(&self.subscriber.selector),
            Parsed::Removed(_) => false,
        }
    }

    /// A selected change as this subscriber may see it; `None` when it sees no change. New
    /// to the subscriber (not `held`), everything it may see is new to it.
    fn snapshot(&self, changed: Parsed<'_>, held: bool) -> Option<Outbound> {
        let policy = &self.subscriber.fields;
        match changed {
            Parsed::Changed(message) => {
                let filtered = policy.filter(*message);
                self.count_invalid(&filtered);
                let mut visible = filtered.message;
                if !held {
                    visible.changed_parts = policy.visible_parts();
                }
                (!visible.changed_parts.is_empty()).then(|| Outbound::Changed(Box::new(visible)))
            }
            Parsed::Lazy(message) => {
                let parts = if held {
                    policy.visible(&message.changed_parts)
                } else {
                    policy.visible_parts()
                };
                if parts.is_empty() {
                    return None;
                }
                // Always `Some`: the lazy path is taken only for a policy `lazy::covers`.
                let body = message.render(policy, &parts)?;
                Some(Outbound::Json {
                    metadata: Box::new(message.metadata),
                    body,
                })
            }
            Parsed::Removed(_) => None,
        }
    }

    /// What to deliver for an applied message, given what the subscriber had before.
    fn plan(&self, item: Item<'_>, previous: Option<DeliveryState>) -> Plan {
        let held = previous.is_some_and(|s| s.in_scope);
        // Outside its scope before (known so to its state, or so decided at ingest): for a
        // municipality, a change that selects it now moved it onto the territory.
        let was_outside = previous.is_some_and(|s| !s.in_scope) || (item.entered && !held);
        let mut plan = Plan {
            index: item.index,
            v_code: item.parsed.metadata().v_code.clone(),
            // At most a territory notice and the snapshot.
            deliveries: Vec::with_capacity(2),
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
            Parsed::Removed(message) => {
                if held {
                    plan.deliveries.push(Outbound::Removed(message));
                } else {
                    self.skip("not_held");
                }
            }
            changed if !item.selected => {
                if held && territory {
                    plan.deliveries
                        .push(notice(changed.metadata(), Crossing::Left));
                } else {
                    self.skip("not_selected");
                }
            }
            changed => {
                if !held && was_outside && territory {
                    plan.deliveries
                        .push(notice(changed.metadata(), Crossing::Entered));
                }
                match self.snapshot(changed, held) {
                    Some(outbound) => plan.deliveries.push(outbound),
                    None => self.skip("no_visible_change"),
                }
            }
        }
        plan
    }
}

#[async_trait]
impl BatchHandler for Distributor {
    async fn handle(&self, batch: &[Incoming]) -> Vec<Outcome> {
        let mut outcomes = vec![Outcome::Done; batch.len()];
        let mut items = Vec::with_capacity(batch.len());
        for (index, incoming) in batch.iter().enumerate() {
            match parse(incoming, self.lazy) {
                Ok(parsed) => items.push(Item {
                    index,
                    selected: self.selects(&parsed),
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

fn encode<T: serde::Serialize>(message: &T) -> Option<Vec<u8>> {
    // Serialising the hub's own types cannot fail; if it ever did, deliver nothing.
    serde_json::to_vec(message).ok()
}

fn parse(incoming: &Incoming, lazy: bool) -> Result<Parsed<'_>, String> {
    let raw_type = incoming.properties.message_type.as_deref();
    let message_type = raw_type
        .and_then(MessageType::parse)
        .ok_or_else(|| format!("unknown message type {raw_type:?}"))?;
    match message_type {
        MessageType::AssociationChanged if lazy => match LazyChanged::parse(&incoming.body) {
            Some(m) => Ok(Parsed::Lazy(Box::new(m))),
            None => parse(incoming, false),
        },
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
