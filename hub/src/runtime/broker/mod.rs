//! The hub's view of the message broker, behind one narrow trait so that another transport
//! (an embedded in-process one) can be added without touching the pipeline or any adapter.
//!
//! Invariants every implementation keeps:
//! - `publish` returns `Ok` only when the broker has confirmed every message (persistent,
//!   routed); anything else is an error and the caller keeps the messages.
//! - A delivery is removed from its queue only by `ack` (the runtime dead-letters by
//!   publishing a copy with its reason first).

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::stream::BoxStream;
use time::OffsetDateTime;
use uuid::Uuid;

pub mod acks;
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

/// Headers a transport adds on receipt from the newest entry of the broker's `x-death`
/// table (present once a message was dead-lettered or expired by the broker), for the
/// dead-letter tooling. Like every `x-` header they belong to the broker: a transport never
/// publishes a header whose name starts with `x-`.
pub const DEATH_REASON: &str = "x-death-reason";
/// The queue the message died in.
pub const DEATH_QUEUE: &str = "x-death-queue";
/// The exchange the message had been published to before it died.
pub const DEATH_EXCHANGE: &str = "x-death-exchange";
/// Its first routing key.
pub const DEATH_ROUTING_KEY: &str = "x-death-routing-key";
/// When it (first) died for that reason in that queue, seconds since the Unix epoch.
pub const DEATH_TIME: &str = "x-death-time";
/// How often it died for that reason in that queue.
pub const DEATH_COUNT: &str = "x-death-count";

/// A header value; the hub only uses text and integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Text(String),
    Int(i64),
}

impl HeaderValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            HeaderValue::Text(s) => Some(s),
            HeaderValue::Int(_) => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            HeaderValue::Int(i) => Some(*i),
            HeaderValue::Text(s) => s.parse().ok(),
        }
    }
}

/// A message's AMQP properties and headers, as far as the hub reads or writes them.
/// Republishing (retry, dead letter, replay) copies them, so a message keeps its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub correlation_id: Option<String>,
    /// Seconds since the Unix epoch.
    pub timestamp: Option<u64>,
    pub headers: BTreeMap<String, HeaderValue>,
}

impl Properties {
    pub fn header_text(&self, key: &str) -> Option<&str> {
        self.headers.get(key).and_then(HeaderValue::as_text)
    }

    pub fn header_int(&self, key: &str) -> Option<i64> {
        self.headers.get(key).and_then(HeaderValue::as_int)
    }

    pub fn set_text(&mut self, key: &str, value: impl Into<String>) {
        self.headers
            .insert(key.to_owned(), HeaderValue::Text(value.into()));
    }

    pub fn set_int(&mut self, key: &str, value: i64) {
        self.headers.insert(key.to_owned(), HeaderValue::Int(value));
    }
}

/// The metadata of a hub message, in its properties (`message_id`, `type`, `correlation_id`,
/// `timestamp`) and headers (`vCode`, `sequence`, `version`, `schemaVersion`).
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

impl From<&Envelope> for Properties {
    fn from(e: &Envelope) -> Self {
        let mut p = Properties {
            message_id: Some(e.message_id.to_string()),
            message_type: Some(e.message_type.clone()),
            correlation_id: Some(e.correlation_id.to_string()),
            timestamp: u64::try_from(e.time.unix_timestamp()).ok(),
            headers: BTreeMap::new(),
        };
        p.set_text("vCode", e.v_code.clone());
        p.set_int("sequence", i64::try_from(e.sequence).unwrap_or(i64::MAX));
        if let Some(v) = e.version {
            p.set_int("version", i64::try_from(v).unwrap_or(i64::MAX));
        }
        p.set_int("schemaVersion", i64::from(e.schema_version));
        p
    }
}

#[derive(Debug, Clone)]
pub struct Outgoing {
    pub exchange: String,
    pub routing_key: String,
    pub properties: Properties,
    /// JSON.
    pub body: Vec<u8>,
}

/// How a delivery is settled; implemented by each transport.
#[async_trait]
pub trait Settle: Send + Sync {
    /// Done with the delivery. A transport may send the acknowledgement a little later,
    /// folded with others (RabbitMQ: see [`acks`]); one lost with the connection means the
    /// delivery comes again, as any acknowledgement lost on the way would.
    async fn ack(self: Box<Self>) -> Result<(), BrokerError>;
    /// Back on the queue, to be delivered again.
    async fn requeue(self: Box<Self>) -> Result<(), BrokerError>;
}

pub struct Incoming {
    pub exchange: String,
    pub routing_key: String,
    pub redelivered: bool,
    pub properties: Properties,
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

    /// Messages ready in a queue (for metrics); an error when the queue or broker is away.
    async fn queue_depth(&self, queue: &str) -> Result<u32, BrokerError>;

    /// The depths of `queues` that could be read, in one sweep (for metrics).
    async fn queue_depths(&self, queues: &[String]) -> Vec<(String, u32)> {
        let mut depths = Vec::with_capacity(queues.len());
        for queue in queues {
            if let Ok(depth) = self.queue_depth(queue).await {
                depths.push((queue.clone(), depth));
            }
        }
        depths
    }
}
