//! The queue channel: JSON on the subscriber's own durable queue, published through
//! `hub.subscribers` with the subscriber's name as routing key, the whole batch in one
//! confirmed publish.

use std::sync::Arc;

use async_trait::async_trait;
use contracts::Metadata;

use super::Channel;
use crate::features::register_sync::distribute::Plan;
use crate::runtime::broker::topology::SUBSCRIBERS;
use crate::runtime::broker::{Broker, BrokerError, Envelope, Outgoing, Properties};
use crate::runtime::consume::Failure;

pub struct QueueChannel {
    pub broker: Arc<dyn Broker>,
    /// The subscriber's name: the routing key on `hub.subscribers`.
    pub subscriber: String,
}

#[async_trait]
impl Channel for QueueChannel {
    async fn deliver(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        let outgoing: Vec<Outgoing> = plans
            .iter()
            .flat_map(|p| &p.deliveries)
            .filter_map(|outbound| {
                let body = outbound.json()?;
                Some(Outgoing {
                    exchange: SUBSCRIBERS.to_owned(),
                    routing_key: self.subscriber.clone(),
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
