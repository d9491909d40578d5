//! The hub's view of the message broker, behind one narrow trait so that another transport
//! (an embedded in-process one) can be added without touching the pipeline or any adapter.
//!
//! Invariants every implementation keeps:
//! - `publish` returns `Ok` only when the broker has confirmed every message (persistent,
//!   routed); anything else is an error and the caller keeps the messages.
//! - A delivery is removed from its queue only by `ack` or `dead_letter`.

use async_trait::async_trait;
use futures::stream::BoxStream;
use time::OffsetDateTime;
use uuid::Uuid;

pub mod rabbit;
pub mod topology;

pub use rabbit::RabbitBroker;
pub use topology::Topology;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    #[error("broker refused a message: {0}")]
    Refused(String),
    #[error("no queue is bound for routing key {0:?}")]
    Unroutable(String),
}

/// Metadata that travels in AMQP properties and headers, besides the body.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub message_id: Uuid,
    pub message_type: String,
    pub correlation_id: Uuid,
    pub time: OffsetDateTime,
    pub v_code: String,
    pub sequence: u64,
    pub version: Option<u64>,
    pub schema_version: u32,
}

#[derive(Debug, Clone)]
pub struct Outgoing {
    pub exchange: String,
    pub routing_key: String,
    pub envelope: Envelope,
    /// JSON.
    pub body: Vec<u8>,
}

/// How a delivery is settled; implemented by each transport.
#[async_trait]
pub trait Settle: Send {
    async fn ack(self: Box<Self>) -> Result<(), BrokerError>;
    /// Back on the queue, to be delivered again.
    async fn requeue(self: Box<Self>) -> Result<(), BrokerError>;
    /// Off the queue into its dead-letter queue.
    async fn dead_letter(self: Box<Self>) -> Result<(), BrokerError>;
}

pub struct Incoming {
    pub message_type: Option<String>,
    pub message_id: Option<String>,
    pub redelivered: bool,
    pub body: Vec<u8>,
    pub settle: Box<dyn Settle>,
}

impl Incoming {
    pub async fn ack(self) -> Result<(), BrokerError> {
        self.settle.ack().await
    }
    pub async fn requeue(self) -> Result<(), BrokerError> {
        self.settle.requeue().await
    }
    pub async fn dead_letter(self) -> Result<(), BrokerError> {
        self.settle.dead_letter().await
    }
}

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Connected, with the topology declared.
    fn is_ready(&self) -> bool;

    /// Publishes all messages and waits for the broker's confirms.
    async fn publish(&self, messages: Vec<Outgoing>) -> Result<(), BrokerError>;

    /// Consumes a queue with manual acknowledgement and at most `prefetch` unsettled
    /// deliveries. The stream ends (or yields an error) when the connection is lost; call
    /// again to resume on the next connection.
    async fn consume(
        &self,
        queue: &str,
        prefetch: u16,
    ) -> Result<BoxStream<'static, Incoming>, BrokerError>;
}
