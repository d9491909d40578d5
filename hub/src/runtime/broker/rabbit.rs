//! RabbitMQ through lapin: one supervised connection, re-established with backoff whenever
//! it is lost; the topology is declared again on each connection.
//!
//! Consumers and publishers never keep a channel across connections: they ask for the
//! current session, and when it goes away their operations fail and they ask again.
//! A connection can also go silent without closing (a broker stuck after a restart, a network
//! that drops packets): a publish waiting longer than `broker.round_trip_timeout` for its
//! confirms gives the session up, the supervisor replaces it, and the streams of the
//! consumers on it end so that they start again on the new one. What those consumers held
//! unacknowledged RabbitMQ returns to the queue once it gives the old connection up (after two
//! missed heartbeats; `?heartbeat=` in `broker.url` sets their interval).
//!
//! [`IsolatedConsumer`] consumes the partner-facing queues, each on a connection of its own:
//! lapin drops its whole connection on a frame it cannot parse (a property or routing key
//! that is not UTF-8), so such a frame must only ever reach a connection that carries nothing
//! but the one queue it came from (see [`super::topology`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::future::{join_all, maybe_done};
use futures::stream::{BoxStream, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::BrokerSettings;

use super::acks::{AckBook, Frame, LONGEST_DEFERRAL};
use super::topology::{ExchangeKind, QueueSpec, Topology};
use super::{
    Broker, BrokerError, HeaderValue, Incoming, Outgoing, Properties, Settle, DEATH_COUNT,
    DEATH_EXCHANGE, DEATH_QUEUE, DEATH_REASON, DEATH_ROUTING_KEY, DEATH_TIME,
};

/// Persistent delivery mode (AMQP 0-9-1).
const PERSISTENT: u8 = 2;

struct Session {
    connection: Connection,
    publisher: Channel,
    /// Cancelled when the session is given up: by a round trip that got no answer in time,
    /// or by the supervisor once it saw the connection lost. The supervisor then replaces
    /// it, and the streams of the consumers on it end, even where the broker never closes
    /// them (a connection that went silent).
    given_up: CancellationToken,
}

impl Session {
    fn alive(&self) -> bool {
        !self.given_up.is_cancelled()
            && self.connection.status().connected()
            && self.publisher.status().connected()
    }
}

/// How long connecting, declaring the topology included, may take (a thousand queues take
/// seconds on a busy broker).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(90);

/// How long closing a connection may take (one that went silent never answers).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// `operation` on `session`, given up after `timeout` (`broker.round_trip_timeout`), which
/// gives the session up. A connection the broker stopped answering on, or whose loss
/// lapin did not notice, would otherwise hold its callers for good.
async fn within<T>(
    session: &Session,
    timeout: Duration,
    what: &str,
    operation: impl std::future::Future<Output = Result<T, BrokerError>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(timeout, operation).await {
        Ok(result) => result,
        Err(_) => {
            session.given_up.cancel();
            tracing::warn!(
                what,
                timeout_ms = timeout.as_millis() as u64,
                "RabbitMQ did not answer in time; connecting again"
            );
            Err(unavailable(format!("{what}: no answer within {timeout:?}")))
        }
    }
}

pub struct RabbitBroker {
    url: SecretString,
    topology: Topology,
    reconnect_max_delay: Duration,
    max_message_bytes: usize,
    round_trip_timeout: Duration,
    session: watch::Sender<Option<Arc<Session>>>,
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

/// A lapin error of a publish: the broker closing the channel over that message (a soft,
/// channel-level error such as PRECONDITION_FAILED for a message over its size limit) is a
/// refusal of the message; anything else is the broker being away.
fn publish_error(e: lapin::Error) -> BrokerError {
    match e.kind() {
        lapin::ErrorKind::ProtocolError(amqp)
            if matches!(amqp.kind(), lapin::protocol::AMQPErrorKind::Soft(_)) =>
        {
            BrokerError::Refused(amqp.to_string())
        }
        _ => unavailable(e),
    }
}

impl RabbitBroker {
    /// A broker with the default limits of [`BrokerSettings`].
    pub fn new(url: SecretString, topology: Topology, reconnect_max_delay: Duration) -> Arc<Self> {
        Self::from_settings(
            &BrokerSettings {
                url,
                reconnect_max_delay,
                ..BrokerSettings::default()
            },
            topology,
        )
    }

    /// A broker as configured: `publish` refuses a body larger than `max_message_bytes`
    /// before the broker would close the channel over it, and gives a round trip
    /// `round_trip_timeout`.
    pub fn from_settings(settings: &BrokerSettings, topology: Topology) -> Arc<Self> {
        Arc::new(RabbitBroker {
            url: settings.url.clone(),
            topology,
            reconnect_max_delay: settings.reconnect_max_delay,
            max_message_bytes: settings.max_message_bytes,
            round_trip_timeout: settings.round_trip_timeout,
            session: watch::Sender::new(None),
        })
    }

    /// Keeps a connection up until `cancel`; run it in its own task.
    pub async fn supervise(self: Arc<Self>, cancel: CancellationToken) {
        let backoff = || {
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(self.reconnect_max_delay)
                .with_jitter()
                .without_max_times()
                .build()
        };
        let mut delays = backoff();
        loop {
            let connected = tokio::time::timeout(CONNECT_TIMEOUT, self.connect())
                .await
                .unwrap_or_else(|_| Err(unavailable("connecting and declaring timed out")));
            match connected {
                Ok(session) => {
                    tracing::info!("connected to RabbitMQ; topology declared");
                    delays = backoff();
                    let session = Arc::new(session);
                    self.session.send_replace(Some(session.clone()));
                    tokio::select! {
                        _ = cancel.cancelled() => {
                            self.session.send_replace(None);
                            let closing = session.connection.close(200, "hub stopping".into());
                            let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
                            return;
                        }
                        _ = wait_until_lost(&session) => {
                            self.session.send_replace(None);
                            session.given_up.cancel();
                            tracing::warn!("lost the RabbitMQ connection; reconnecting");
                            // A stalled connection may still be open: close it, best effort.
                            let closing = session.connection.close(320, "replaced".into());
                            let _ = tokio::time::timeout(CLOSE_TIMEOUT, closing).await;
                        }
                    }
                }
                Err(e) => {
                    let delay = delays.next().unwrap_or(self.reconnect_max_delay);
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "cannot connect to RabbitMQ");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<Session, BrokerError> {
        let properties =
            ConnectionProperties::default().with_connection_name("verenigingsloket-hub".into());
        let connection = tokio::time::timeout(
            Duration::from_secs(10),
            Connection::connect(self.url.expose_secret(), properties),
        )
        .await
        .map_err(|_| unavailable("connection attempt timed out"))?
        // lapin's errors can quote the URI: keep only its kind.
        .map_err(|e| unavailable(redact(&e.to_string(), self.url.expose_secret())))?;
        declare(&connection, &self.topology).await?;
        let channel = connection.create_channel().await.map_err(unavailable)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        Ok(Session {
            connection,
            publisher: channel,
            given_up: CancellationToken::new(),
        })
    }

    /// The current session, waiting for one if the broker is away.
    async fn current(&self) -> Arc<Session> {
        let mut rx = self.session.subscribe();
        loop {
            if let Some(s) = rx.borrow_and_update().as_ref().filter(|s| s.alive()) {
                return s.clone();
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as self; unreachable in practice.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn wait_until_lost(session: &Session) {
    let mut events = session.connection.events_listener();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            event = events.next() => {
                if let Some(lapin::Event::Error(e)) = event {
                    tracing::warn!(error = %e, "RabbitMQ connection error");
                }
            }
            _ = tick.tick() => {}
            _ = session.given_up.cancelled() => {}
        }
        if !session.alive() {
            return;
        }
    }
}

fn redact(message: &str, url: &str) -> String {
    message.replace(url, "<broker.url>")
}

/// Channels the queues are declared on at once: with hundreds of subscribers the topology
/// holds a thousand queues, and one round trip after the other would keep the hub from being
/// ready for many seconds.
const DECLARING_CHANNELS: usize = 8;

/// Declares the exchanges, then the queues and their bindings over [`DECLARING_CHANNELS`]
/// channels at once (a queue's bindings name only exchanges, declared before).
async fn declare(connection: &Connection, topology: &Topology) -> Result<(), BrokerError> {
    let channel = connection.create_channel().await.map_err(unavailable)?;
    for ex in &topology.exchanges {
        let kind = match ex.kind {
            ExchangeKind::Topic => lapin::ExchangeKind::Topic,
            ExchangeKind::Direct => lapin::ExchangeKind::Direct,
            ExchangeKind::Fanout => lapin::ExchangeKind::Fanout,
            ExchangeKind::Headers => lapin::ExchangeKind::Headers,
        };
        let mut args = FieldTable::default();
        if let Some(alt) = &ex.alternate {
            args.insert("alternate-exchange".into(), text(alt));
        }
        let options = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(ex.name.as_str().into(), kind, options, args)
            .await
            .map_err(|e| unavailable(format!("declaring exchange {}: {e}", ex.name)))?;
    }
    let _ = channel.close(200, "declared".into()).await;
    let groups = (0..DECLARING_CHANNELS).map(|group| async move {
        let channel = connection.create_channel().await.map_err(unavailable)?;
        let queues = topology
            .queues
            .iter()
            .skip(group)
            .step_by(DECLARING_CHANNELS);
        for q in queues {
            declare_queue(&channel, q).await?;
        }
        let _ = channel.close(200, "declared".into()).await;
        Ok::<(), BrokerError>(())
    });
    futures::future::try_join_all(groups).await?;
    Ok(())
}

async fn declare_queue(channel: &Channel, q: &QueueSpec) -> Result<(), BrokerError> {
    let args = queue_arguments(q);
    let options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(q.name.as_str().into(), options, args)
        .await
        .map_err(|e| unavailable(format!("declaring queue {}: {e}", q.name)))?;
    for b in &q.bindings {
        let mut args = FieldTable::default();
        if !b.headers.is_empty() {
            args.insert("x-match".into(), text("all"));
            for (k, v) in &b.headers {
                args.insert(k.as_str().into(), text(v));
            }
        }
        channel
            .queue_bind(
                q.name.as_str().into(),
                b.exchange.as_str().into(),
                b.routing_key.as_str().into(),
                QueueBindOptions::default(),
                args,
            )
            .await
            .map_err(|e| unavailable(format!("binding {} to {}: {e}", q.name, b.exchange)))?;
    }
    Ok(())
}

/// A text argument of a declaration.
fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(s.into())
}

/// The arguments a queue is declared with: quorum, and its dead-lettering, delivery limit and
/// TTL.
pub fn queue_arguments(q: &QueueSpec) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), text("quorum"));
    if let Some((exchange, key)) = &q.dead_letter {
        args.insert("x-dead-letter-exchange".into(), text(exchange));
        if let Some(key) = key {
            args.insert("x-dead-letter-routing-key".into(), text(key));
        }
        // Dead-lettering that cannot lose a message on the way (quorum queues).
        args.insert("x-dead-letter-strategy".into(), text("at-least-once"));
        args.insert("x-overflow".into(), text("reject-publish"));
    }
    if let Some(limit) = q.delivery_limit {
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(limit)),
        );
    }
    if let Some(ttl) = q.message_ttl {
        let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ms));
    }
    args
}

/// The AMQP properties of a message the hub publishes; taken by value, so that its strings
/// move into lapin's instead of being copied.
fn to_amqp(p: Properties) -> BasicProperties {
    let mut headers = FieldTable::default();
    // `x-` headers are the broker's (x-death, x-first-death-*, x-delivery-count and the
    // flattened DEATH_* ones): they describe an earlier delivery and are never republished.
    for (key, value) in p.headers.into_iter().filter(|(k, _)| !k.starts_with("x-")) {
        let value = match value {
            HeaderValue::Text(s) => AMQPValue::LongString(s.into()),
            HeaderValue::Int(i) => AMQPValue::LongLongInt(i),
        };
        headers.insert(key.into(), value);
    }
    let mut props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(PERSISTENT)
        .with_app_id("verenigingsloket-hub".into())
        .with_headers(headers);
    if let Some(id) = p.message_id {
        props = props.with_message_id(id.into());
    }
    if let Some(t) = p.message_type {
        props = props.with_type(t.into());
    }
    if let Some(c) = p.correlation_id {
        props = props.with_correlation_id(c.into());
    }
    if let Some(ts) = p.timestamp {
        props = props.with_timestamp(ts);
    }
    props
}

fn from_amqp(p: &BasicProperties) -> Properties {
    let mut headers = BTreeMap::new();
    if let Some(table) = p.headers() {
        for (key, value) in table.inner() {
            let value = match value {
                AMQPValue::LongString(s) => HeaderValue::Text(s.to_string()),
                AMQPValue::ShortString(s) => HeaderValue::Text(s.to_string()),
                AMQPValue::LongLongInt(i) => HeaderValue::Int(*i),
                AMQPValue::LongInt(i) => HeaderValue::Int(i64::from(*i)),
                AMQPValue::LongUInt(i) => HeaderValue::Int(i64::from(*i)),
                AMQPValue::ShortInt(i) => HeaderValue::Int(i64::from(*i)),
                AMQPValue::ShortUInt(i) => HeaderValue::Int(i64::from(*i)),
                AMQPValue::ShortShortInt(i) => HeaderValue::Int(i64::from(*i)),
                AMQPValue::ShortShortUInt(i) => HeaderValue::Int(i64::from(*i)),
                AMQPValue::FieldArray(deaths) if key.as_str() == "x-death" => {
                    flatten_death(deaths.as_slice(), &mut headers);
                    continue;
                }
                // Other tables and types are not needed by the hub.
                _ => continue,
            };
            headers.insert(key.to_string(), value);
        }
    }
    Properties {
        message_id: p.message_id().as_ref().map(|s| s.to_string()),
        message_type: p.kind().as_ref().map(|s| s.to_string()),
        correlation_id: p.correlation_id().as_ref().map(|s| s.to_string()),
        timestamp: *p.timestamp(),
        headers,
    }
}

/// The newest `x-death` entry (RabbitMQ keeps the most recent first) as `DEATH_*` headers.
fn flatten_death(deaths: &[AMQPValue], headers: &mut BTreeMap<String, HeaderValue>) {
    let Some(AMQPValue::FieldTable(newest)) = deaths.first() else {
        return;
    };
    let text_of = |v: &AMQPValue| match v {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    };
    let int = |v: &AMQPValue| match v {
        AMQPValue::LongLongInt(i) => Some(*i),
        AMQPValue::LongInt(i) => Some(i64::from(*i)),
        AMQPValue::LongUInt(i) => Some(i64::from(*i)),
        AMQPValue::Timestamp(t) => i64::try_from(*t).ok(),
        _ => None,
    };
    for (key, value) in newest.inner() {
        let flat = match key.as_str() {
            "reason" => text_of(value).map(|s| (DEATH_REASON, HeaderValue::Text(s))),
            "queue" => text_of(value).map(|s| (DEATH_QUEUE, HeaderValue::Text(s))),
            "exchange" => text_of(value).map(|s| (DEATH_EXCHANGE, HeaderValue::Text(s))),
            "routing-keys" => match value {
                AMQPValue::FieldArray(keys) => keys
                    .as_slice()
                    .first()
                    .and_then(text_of)
                    .map(|s| (DEATH_ROUTING_KEY, HeaderValue::Text(s))),
                _ => None,
            },
            "time" => int(value).map(|t| (DEATH_TIME, HeaderValue::Int(t))),
            "count" => int(value).map(|c| (DEATH_COUNT, HeaderValue::Int(c))),
            _ => None,
        };
        if let Some((name, value)) = flat {
            headers.insert(name.to_owned(), value);
        }
    }
}

#[async_trait]
impl Broker for RabbitBroker {
    fn is_ready(&self) -> bool {
        self.session.borrow().as_ref().is_some_and(|s| s.alive())
    }

    async fn publish(&self, messages: Vec<Outgoing>) -> Result<(), BrokerError> {
        if let Some(m) = messages
            .iter()
            .find(|m| m.body.len() > self.max_message_bytes)
        {
            return Err(BrokerError::Refused(format!(
                "a message of {} bytes for {:?} is larger than broker.max_message_bytes ({})",
                m.body.len(),
                m.routing_key,
                self.max_message_bytes
            )));
        }
        let session = self.current().await;
        let publishing = publish_on(&session, messages);
        within(&session, self.round_trip_timeout, "publishing", publishing).await
    }

    async fn queue_depth(&self, queue: &str) -> Result<u32, BrokerError> {
        let session = self.current().await;
        // A passive declare on a channel of its own: it closes the channel if the queue is gone.
        let channel = session
            .connection
            .create_channel()
            .await
            .map_err(unavailable)?;
        let depth = ready_messages(&channel, queue).await.map_err(unavailable)?;
        let _ = channel.close(200, "depth read".into()).await;
        Ok(depth)
    }

    /// One channel for the whole sweep (with hundreds of subscribers the hub has a thousand
    /// queues); a queue that is gone closes it, and the sweep goes on on a new one.
    async fn queue_depths(&self, queues: &[String]) -> Vec<(String, u32)> {
        let session = self.current().await;
        let mut depths = Vec::with_capacity(queues.len());
        let mut channel: Option<Channel> = None;
        for queue in queues {
            let open = match channel.take() {
                Some(c) if c.status().connected() => c,
                _ => match session.connection.create_channel().await {
                    Ok(c) => c,
                    Err(_) => break,
                },
            };
            if let Ok(depth) = ready_messages(&open, queue).await {
                depths.push((queue.clone(), depth));
            }
            channel = Some(open);
        }
        if let Some(c) = channel.filter(|c| c.status().connected()) {
            let _ = c.close(200, "depths read".into()).await;
        }
        depths
    }

    async fn consume(
        &self,
        queue: &str,
        prefetch: u16,
    ) -> Result<BoxStream<'static, Incoming>, BrokerError> {
        let session = self.current().await;
        let consuming = consume_on(&session.connection, queue, prefetch, |_| {});
        let timeout = self.round_trip_timeout;
        let stream = within(&session, timeout, "starting a consumer", consuming).await?;
        let given_up = session.given_up.clone().cancelled_owned();
        Ok(stream.take_until(given_up).boxed())
    }
}

/// The messages ready in the existing queue `queue`, by a passive declare on `channel` (which
/// RabbitMQ closes if the queue is gone).
pub async fn ready_messages(channel: &Channel, queue: &str) -> Result<u32, lapin::Error> {
    let options = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let declared = channel
        .queue_declare(queue.into(), options, FieldTable::default())
        .await?;
    Ok(declared.message_count())
}

/// Publishes `messages` on the session's confirming channel and waits for their confirms.
async fn publish_on(session: &Session, messages: Vec<Outgoing>) -> Result<(), BrokerError> {
    let options = BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    // The routing keys and bodies stay here (for the errors, and lapin borrows the body);
    // the exchange and the properties move into lapin's types.
    let mut keys = Vec::with_capacity(messages.len());
    let mut bodies = Vec::with_capacity(messages.len());
    let mut heads = Vec::with_capacity(messages.len());
    for m in messages {
        keys.push(m.routing_key);
        bodies.push(m.body);
        heads.push((m.exchange, to_amqp(m.properties)));
    }
    let mut sends: Vec<_> = heads
        .into_iter()
        .zip(keys.iter().zip(&bodies))
        .map(|((exchange, properties), (key, body))| {
            Box::pin(maybe_done(session.publisher.basic_publish(
                exchange.into(),
                key.as_str().into(),
                options,
                body,
                properties,
            )))
        })
        .collect();
    // lapin queues a publish's frames on its first poll and then waits for the write:
    // polling each once, in order, keeps the messages' order on the channel while their
    // writes overlap (awaiting one publish after the other costs a round trip through
    // lapin's I/O thread per message).
    for send in &mut sends {
        let _ = futures::poll!(send.as_mut());
    }
    join_all(sends.iter_mut().map(|send| send.as_mut())).await;
    let mut confirms = Vec::with_capacity(keys.len());
    for (send, key) in sends.iter_mut().zip(&keys) {
        let confirm = send
            .as_mut()
            .take_output()
            .ok_or_else(|| unavailable("a publish did not complete"))?
            .map_err(publish_error)?;
        confirms.push((confirm, key));
    }
    for (confirm, key) in confirms {
        match confirm.await.map_err(publish_error)? {
            Confirmation::Ack(None) => {}
            Confirmation::Ack(Some(_)) => return Err(BrokerError::Unroutable(key.clone())),
            Confirmation::Nack(_) => return Err(BrokerError::Refused(format!("nack for {key}"))),
            Confirmation::NotRequested => {
                return Err(BrokerError::Refused("confirms are off".into()))
            }
        }
    }
    Ok(())
}

/// Consumes `queue` on a new channel of `connection`. The stream ends when the channel or
/// connection does; `on_error` sees the error that ended it.
async fn consume_on(
    connection: &Connection,
    queue: &str,
    prefetch: u16,
    on_error: impl Fn(&lapin::Error) + Send + 'static,
) -> Result<BoxStream<'static, Incoming>, BrokerError> {
    let channel = connection.create_channel().await.map_err(unavailable)?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .map_err(unavailable)?;
    let consumer = channel
        .basic_consume(
            queue.into(),
            format!("hub-{}", uuid::Uuid::new_v4()).as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(unavailable)?;
    let acks = Arc::new(ChannelAcks::default());
    let stream = consumer
        .take_while(move |d| {
            if let Err(e) = d {
                on_error(e);
            }
            futures::future::ready(d.is_ok())
        })
        .filter_map(move |delivery| {
            // The channel lives as long as the stream.
            let _channel = &channel;
            futures::future::ready(delivery.ok().map(|d| {
                acks.delivered(d.delivery_tag);
                Incoming {
                    exchange: d.exchange.into(),
                    routing_key: d.routing_key.into(),
                    redelivered: d.redelivered,
                    properties: from_amqp(&d.properties),
                    body: d.data,
                    settle: Box::new(RabbitSettle {
                        acker: d.acker,
                        tag: d.delivery_tag,
                        acks: acks.clone(),
                    }),
                }
            }))
        });
    Ok(stream.boxed())
}

/// Why an isolated connection was lost, as a metric label.
fn loss_reason(e: &lapin::Error) -> &'static str {
    match e.kind() {
        lapin::ErrorKind::ParsingError(_) => "unparseable_frame",
        lapin::ErrorKind::ProtocolError(_) => "closed_by_broker",
        _ => "connection_lost",
    }
}

/// Consumes partner-facing queues, each on a connection of its own, and leaves everything
/// else to the hub's main [`RabbitBroker`] (publishing, depth, readiness).
///
/// A frame lapin cannot parse ends that one connection: the queue's consumer connects again
/// at once, gets the same message again, and after `broker.delivery_limit` deliveries the
/// broker moves it to the quarantine. Nothing else shares the connection, and the queue's
/// consumer runs with a prefetch of one, so no other delivery is returned with it (a returned
/// delivery counts towards its own delivery limit).
pub struct IsolatedConsumer {
    url: SecretString,
    main: Arc<RabbitBroker>,
    /// Connections lost, by queue and reason (`hub_intake_connections_lost_total`).
    lost: prometheus::IntCounterVec,
}

/// A connection that closes when its consumer's stream is dropped.
struct OwnConnection(Option<Connection>);

impl Drop for OwnConnection {
    fn drop(&mut self) {
        if let (Some(connection), Ok(runtime)) =
            (self.0.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(tracing::Instrument::in_current_span(async move {
                let _ = connection.close(200, "consumer done".into()).await;
            }));
        }
    }
}

/// The largest frame of an isolated consumer's connection: AMQP's smallest. lapin buffers 32
/// frames each way per connection (8 MiB at RabbitMQ's default of 128 KiB): with a connection
/// per partner-facing queue, 300 municipalities held 2.5 GB. Commands and status messages are
/// a few KB; a larger one arrives in more frames.
const ISOLATED_FRAME_MAX: u32 = 4096;

/// Between two connections of one queue's consumer, when the last one failed at once.
const ISOLATED_RECONNECT_PAUSE: Duration = Duration::from_millis(100);

impl IsolatedConsumer {
    pub fn new(main: Arc<RabbitBroker>, lost: prometheus::IntCounterVec) -> Arc<Self> {
        Arc::new(IsolatedConsumer {
            url: main.url.clone(),
            main,
            lost,
        })
    }
}

#[async_trait]
impl Broker for IsolatedConsumer {
    fn is_ready(&self) -> bool {
        self.main.is_ready()
    }

    async fn publish(&self, messages: Vec<Outgoing>) -> Result<(), BrokerError> {
        self.main.publish(messages).await
    }

    async fn queue_depth(&self, queue: &str) -> Result<u32, BrokerError> {
        self.main.queue_depth(queue).await
    }

    async fn queue_depths(&self, queues: &[String]) -> Vec<(String, u32)> {
        self.main.queue_depths(queues).await
    }

    /// `prefetch` is ignored: one delivery at a time, so that a connection lost over a frame
    /// returns no delivery but the one that could not be parsed.
    async fn consume(
        &self,
        queue: &str,
        _prefetch: u16,
    ) -> Result<BoxStream<'static, Incoming>, BrokerError> {
        let prefetch = 1;
        // The main connection declares the topology: wait for it.
        let _ = self.main.current().await;
        let properties = ConnectionProperties::default()
            .with_connection_name(format!("verenigingsloket-hub {queue}").into());
        let mut uri: lapin::uri::AMQPUri = self
            .url
            .expose_secret()
            .parse()
            .map_err(|_| unavailable("broker.url is not an AMQP URI"))?;
        uri.query.frame_max = Some(ISOLATED_FRAME_MAX);
        let connection = tokio::time::timeout(
            Duration::from_secs(10),
            Connection::connect_uri(uri, properties),
        )
        .await
        .map_err(|_| unavailable("connection attempt timed out"))?
        .map_err(|e| unavailable(redact(&e.to_string(), self.url.expose_secret())))?;
        let lost = self.lost.clone();
        let name = queue.to_owned();
        let started = Instant::now();
        let consuming = consume_on(&connection, queue, prefetch, move |e| {
            let reason = loss_reason(e);
            lost.with_label_values(&[&name, reason]).inc();
            if reason == "unparseable_frame" {
                tracing::error!(queue = %name, error = %e,
                    "a message the AMQP client cannot parse arrived; its connection is lost and the \
                     broker quarantines the message after broker.delivery_limit deliveries");
            } else {
                tracing::warn!(queue = %name, error = %e, "lost the consumer's connection");
            }
        });
        let started_consuming = tokio::time::timeout(self.main.round_trip_timeout, consuming).await;
        // Closed when dropped: also when the consumer could not be started.
        let own = OwnConnection(Some(connection));
        let stream = started_consuming
            .map_err(|_| unavailable("starting a consumer: no answer in time"))??;
        let stream = stream
            .map(Some)
            .chain(futures::stream::once(async move {
                // Keeps the connection open as long as the stream; pauses before the next
                // one when this one failed at once (the same frame will fail it again).
                if started.elapsed() < Duration::from_secs(1) {
                    tokio::time::sleep(ISOLATED_RECONNECT_PAUSE).await;
                }
                drop(own);
                None
            }))
            .filter_map(futures::future::ready);
        Ok(stream.boxed())
    }
}

struct RabbitSettle {
    acker: lapin::Acker,
    tag: u64,
    acks: Arc<ChannelAcks>,
}

#[async_trait]
impl Settle for RabbitSettle {
    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        self.acks.ack(self.tag, self.acker).await
    }
    async fn requeue(self: Box<Self>) -> Result<(), BrokerError> {
        self.acks.requeue(self.tag, self.acker).await
    }
}

/// The acknowledgements of one consumer channel: an [`AckBook`] and the frames it decides,
/// sent in the order decided.
#[derive(Default)]
struct ChannelAcks {
    state: std::sync::Mutex<AckState>,
    /// Held while frames are decided and sent: a `multiple` frame must not overtake a single
    /// one for a delivery it covers.
    sending: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct AckState {
    book: AckBook<lapin::Acker>,
    /// A task will send what waits too long.
    flush_scheduled: bool,
}

impl ChannelAcks {
    fn state(&self) -> std::sync::MutexGuard<'_, AckState> {
        // The book stays consistent whatever panicked while holding it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn delivered(&self, tag: u64) {
        self.state().book.delivered(tag);
    }

    async fn ack(self: &Arc<Self>, tag: u64, acker: lapin::Acker) -> Result<(), BrokerError> {
        let _order = self.sending.lock().await;
        let frames = {
            let mut state = self.state();
            let frames = state.book.ack(tag, acker, Instant::now());
            if state.book.has_deferred() && !state.flush_scheduled {
                state.flush_scheduled = true;
                self.clone().flush_later();
            }
            frames
        };
        send(frames).await
    }

    async fn requeue(&self, tag: u64, acker: lapin::Acker) -> Result<(), BrokerError> {
        let _order = self.sending.lock().await;
        let frames = self.state().book.requeue(tag, acker);
        send(frames).await
    }

    /// Sends, one by one, the acknowledgements that waited [`LONGEST_DEFERRAL`] for an
    /// older delivery, until none waits.
    fn flush_later(self: Arc<Self>) {
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            let mut due = Instant::now() + LONGEST_DEFERRAL;
            loop {
                tokio::time::sleep_until(due.into()).await;
                let _order = self.sending.lock().await;
                let (frames, more) = {
                    let mut state = self.state();
                    let now = Instant::now();
                    let frames = state
                        .book
                        .flush(now.checked_sub(LONGEST_DEFERRAL).unwrap_or(now));
                    let more = match state.book.oldest_deferral() {
                        Some(since) => {
                            due = since + LONGEST_DEFERRAL;
                            true
                        }
                        None => {
                            state.flush_scheduled = false;
                            false
                        }
                    };
                    (frames, more)
                };
                if let Err(e) = send(frames).await {
                    // The channel is gone: its deliveries come again on the next one.
                    tracing::debug!(error = %e, "deferred acknowledgements lost with their channel");
                }
                if !more {
                    return;
                }
            }
        }));
    }
}

async fn send(frames: Vec<Frame<lapin::Acker>>) -> Result<(), BrokerError> {
    for frame in frames {
        match frame {
            Frame::AckUpTo(acker) => acker.ack(BasicAckOptions { multiple: true }).await,
            Frame::Ack(acker) => acker.ack(BasicAckOptions::default()).await,
            Frame::Requeue(acker) => {
                let options = BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                };
                acker.nack(options).await
            }
        }
        .map_err(unavailable)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn death(queue: &str, reason: &str, exchange: &str, key: &str, time: u64) -> AMQPValue {
        let mut t = FieldTable::default();
        t.insert("count".into(), AMQPValue::LongLongInt(1));
        t.insert("reason".into(), text(reason));
        t.insert("queue".into(), text(queue));
        t.insert("time".into(), AMQPValue::Timestamp(time));
        t.insert("exchange".into(), text(exchange));
        t.insert(
            "routing-keys".into(),
            AMQPValue::FieldArray(vec![text(key)].into()),
        );
        AMQPValue::FieldTable(t)
    }

    #[test]
    fn the_newest_death_is_flattened_and_x_headers_are_never_published() {
        let mut table = FieldTable::default();
        table.insert("vCode".into(), text("V0001001"));
        table.insert("x-first-death-reason".into(), text("expired"));
        table.insert(
            "x-death".into(),
            AMQPValue::FieldArray(
                vec![
                    death(
                        "hub.deliver.aalst",
                        "delivery_limit",
                        "hub.associations",
                        "association.changed",
                        1_740_830_000,
                    ),
                    death("hub.retry.100ms", "expired", "hub.retry", "100ms", 1),
                ]
                .into(),
            ),
        );
        let received = from_amqp(&BasicProperties::default().with_headers(table));
        assert_eq!(received.header_text(DEATH_REASON), Some("delivery_limit"));
        assert_eq!(received.header_text(DEATH_QUEUE), Some("hub.deliver.aalst"));
        assert_eq!(
            received.header_text(DEATH_EXCHANGE),
            Some("hub.associations")
        );
        assert_eq!(
            received.header_text(DEATH_ROUTING_KEY),
            Some("association.changed")
        );
        assert_eq!(received.header_int(DEATH_TIME), Some(1_740_830_000));
        assert_eq!(received.header_int(DEATH_COUNT), Some(1));

        let sent = to_amqp(received);
        let headers = sent.headers().clone().unwrap_or_default();
        let names: Vec<&str> = headers.inner().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec!["vCode"]);
    }
}
