//! The register's outbox (`outbox`), as the one relay ([`crate::runtime::relay`]) publishes it:
//! a message goes to the delivery queue of each of its recipients (decided at ingest, see
//! [`super::recipients`]), through the default exchange, so no other subscriber's queue sees
//! it; a recipient that entered the association's scope gets the header
//! [`crate::runtime::broker::topology::CROSSING`] = `entered`. A message recorded before
//! recipients were (no recipient list) goes to `hub.associations`, which every delivery queue
//! is bound to.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::runtime::broker::topology::{delivery_queue, ASSOCIATIONS, CROSSING, ENTERED};
use crate::runtime::broker::{Envelope, Outgoing, Properties};
use crate::runtime::relay::{Outbox, PendingRow};
use crate::runtime::store::{PendingMessage, Store, StoreError};

/// The queue named by the dead letter of an `association.*` message the broker refused.
pub const OUTBOX_QUEUE: &str = "hub.outbox";

/// The register's outbox (`outbox`): `association.*` messages for the subscribers.
pub struct RegisterOutbox(pub Arc<dyn Store>);

#[async_trait]
impl Outbox for RegisterOutbox {
    fn adapter(&self) -> &'static str {
        "register"
    }

    fn aside_queue(&self) -> &'static str {
        OUTBOX_QUEUE
    }

    async fn pending(&self, limit: usize) -> Result<Vec<PendingRow>, StoreError> {
        Ok(self
            .0
            .pending_outbox(limit)
            .await?
            .into_iter()
            .map(|p| PendingRow {
                id: p.outbox_id,
                copies: outgoing(p),
            })
            .collect())
    }

    async fn mark_published(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.0.mark_published(ids).await
    }

    async fn prune(&self, age: Duration) -> Result<u64, StoreError> {
        self.0.prune_outbox(age).await
    }
}

/// The copies of an outbox message to publish, each with the recipient it is for (`None`: the
/// broadcast of a message without recipients).
fn outgoing(p: PendingMessage) -> Vec<(Outgoing, Option<String>)> {
    let m = p.message;
    let properties = Properties::from(&Envelope {
        message_id: m.message_id,
        message_type: m.message_type.as_str().to_owned(),
        correlation_id: m.correlation_id,
        time: m.time,
        v_code: m.v_code.to_string(),
        sequence: m.sequence,
        version: m.version,
        schema_version: m.message_type.schema_version(),
    });
    let Some(recipients) = m.recipients else {
        let broadcast = Outgoing {
            exchange: ASSOCIATIONS.to_owned(),
            routing_key: m.message_type.as_str().to_owned(),
            properties,
            body: m.body,
        };
        return vec![(broadcast, None)];
    };
    recipients
        .into_iter()
        .map(|r| {
            let mut properties = properties.clone();
            if r.entered {
                properties.set_text(CROSSING, ENTERED);
            }
            let copy = Outgoing {
                exchange: String::new(),
                routing_key: delivery_queue(&r.subscriber),
                properties,
                body: m.body.clone(),
            };
            (copy, Some(r.subscriber))
        })
        .collect()
}
