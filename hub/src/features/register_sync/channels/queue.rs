//! The queue channel: JSON on the subscriber's own durable queue, published through
//! `hub.subscribers` with the subscriber's name as routing key, the whole batch in one
//! confirmed publish.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::Metadata;
use serde::Deserialize;

use super::kinds::{ChannelKind, Owner, Wiring};
use super::Channel;
use crate::config::Problem;
use crate::features::register_sync::distribute::Plan;
use crate::runtime::broker::topology::{Binding, SUBSCRIBERS};
use crate::runtime::broker::{Broker, BrokerError, Envelope, Outgoing, Properties, Topology};
use crate::runtime::consume::Failure;

/// `kind = "queue"`: JSON on the subscriber's own durable queue (a subscriber's channel when
/// it names none).
pub struct QueueKind;

/// `channel = { kind = "queue", queue = "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// The subscriber's queue; empty in the configuration: `subscriber.<name>`.
    #[serde(default)]
    pub queue: String,
}

impl QueueSettings {
    /// The default: the owner's queue `subscriber.<name>`.
    pub fn of(owner: Owner<'_>) -> QueueSettings {
        QueueSettings {
            queue: format!("subscriber.{}", owner.name),
        }
    }
}

impl ChannelKind for QueueKind {
    type Settings = QueueSettings;

    fn name(&self) -> &'static str {
        "queue"
    }

    fn validate(&self, settings: &mut QueueSettings, owner: Owner<'_>) -> Vec<Problem> {
        if settings.queue.is_empty() {
            *settings = QueueSettings::of(owner);
        }
        Vec::new()
    }

    fn declare(&self, settings: &QueueSettings, owner: &str, topology: &mut Topology) {
        topology.add_queue(&settings.queue, vec![Binding::key(SUBSCRIBERS, owner)]);
    }

    fn build(&self, _: &QueueSettings, wiring: Wiring<'_>) -> Result<Arc<dyn Channel>, String> {
        Ok(Arc::new(QueueChannel {
            broker: wiring.broker.clone(),
            subscriber: wiring.owner.to_owned(),
        }))
    }
}

pub struct QueueChannel {
    pub broker: Arc<dyn Broker>,
    /// The subscriber's name: the routing key on `hub.subscribers`.
    pub subscriber: String,
}

#[async_trait]
impl Channel for QueueChannel {
    async fn deliver(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        let mut outgoing = Vec::with_capacity(plans.iter().map(|p| p.deliveries.len()).sum());
        for outbound in plans.iter().flat_map(|p| &p.deliveries) {
            if let Some(body) = outbound.json() {
                outgoing.push(Outgoing {
                    exchange: SUBSCRIBERS.to_owned(),
                    routing_key: self.subscriber.clone(),
                    properties: properties_for(outbound.metadata()),
                    body,
                });
            }
        }
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

/// The subscriber's copy keeps the message's id, type and correlation, without the hub's
/// internal retry headers.
fn properties_for(m: &Metadata) -> Properties {
    Properties::from(&Envelope {
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
