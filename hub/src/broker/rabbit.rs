//! RabbitMQ through lapin: one supervised connection, re-established with backoff whenever
//! it is lost; the topology is declared again on each connection.
//!
//! Consumers and publishers never keep a channel across connections: they ask for the
//! current session, and when it goes away their operations fail and they ask again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::stream::{BoxStream, StreamExt};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::topology::{ExchangeKind, Topology};
use super::{Broker, BrokerError, HeaderValue, Incoming, Outgoing, Properties, Settle};

/// Persistent delivery mode (AMQP 0-9-1).
const PERSISTENT: u8 = 2;

struct Session {
    connection: Connection,
    publisher: Channel,
}

impl Session {
    fn alive(&self) -> bool {
        self.connection.status().connected() && self.publisher.status().connected()
    }
}

pub struct RabbitBroker {
    url: SecretString,
    topology: Topology,
    reconnect_max_delay: Duration,
    session: watch::Sender<Option<Arc<Session>>>,
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

impl RabbitBroker {
    pub fn new(url: SecretString, topology: Topology, reconnect_max_delay: Duration) -> Arc<Self> {
        Arc::new(RabbitBroker {
            url,
            topology,
            reconnect_max_delay,
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
            match self.connect().await {
                Ok(session) => {
                    tracing::info!("connected to RabbitMQ; topology declared");
                    delays = backoff();
                    let session = Arc::new(session);
                    self.session.send_replace(Some(session.clone()));
                    tokio::select! {
                        _ = cancel.cancelled() => {
                            self.session.send_replace(None);
                            let _ = session.connection.close(200, "hub stopping".into()).await;
                            return;
                        }
                        _ = wait_until_lost(&session) => {
                            self.session.send_replace(None);
                            tracing::warn!("lost the RabbitMQ connection; reconnecting");
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
        let channel = connection.create_channel().await.map_err(unavailable)?;
        declare(&channel, &self.topology).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        Ok(Session {
            connection,
            publisher: channel,
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
        }
        if !session.alive() {
            return;
        }
    }
}

fn redact(message: &str, url: &str) -> String {
    message.replace(url, "<broker.url>")
}

async fn declare(channel: &Channel, topology: &Topology) -> Result<(), BrokerError> {
    let text = |s: &str| AMQPValue::LongString(s.into());
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
    for q in &topology.queues {
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
    }
    Ok(())
}

fn to_amqp(p: &Properties) -> BasicProperties {
    let mut headers = FieldTable::default();
    for (key, value) in &p.headers {
        let value = match value {
            HeaderValue::Text(s) => AMQPValue::LongString(s.as_str().into()),
            HeaderValue::Int(i) => AMQPValue::LongLongInt(*i),
        };
        headers.insert(key.as_str().into(), value);
    }
    let mut props = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(PERSISTENT)
        .with_app_id("verenigingsloket-hub".into())
        .with_headers(headers);
    if let Some(id) = &p.message_id {
        props = props.with_message_id(id.as_str().into());
    }
    if let Some(t) = &p.message_type {
        props = props.with_type(t.as_str().into());
    }
    if let Some(c) = &p.correlation_id {
        props = props.with_correlation_id(c.as_str().into());
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
                // x-death and other broker tables are not needed by the hub.
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

#[async_trait]
impl Broker for RabbitBroker {
    fn is_ready(&self) -> bool {
        self.session.borrow().as_ref().is_some_and(|s| s.alive())
    }

    async fn publish(&self, messages: Vec<Outgoing>) -> Result<(), BrokerError> {
        let session = self.current().await;
        let mut confirms = Vec::with_capacity(messages.len());
        for m in &messages {
            let confirm = session
                .publisher
                .basic_publish(
                    m.exchange.as_str().into(),
                    m.routing_key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    &m.body,
                    to_amqp(&m.properties),
                )
                .await
                .map_err(unavailable)?;
            confirms.push((confirm, &m.routing_key));
        }
        for (confirm, key) in confirms {
            match confirm.await.map_err(unavailable)? {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(_)) => return Err(BrokerError::Unroutable(key.clone())),
                Confirmation::Nack(_) => {
                    return Err(BrokerError::Refused(format!("nack for {key}")))
                }
                Confirmation::NotRequested => {
                    return Err(BrokerError::Refused("confirms are off".into()))
                }
            }
        }
        Ok(())
    }

    async fn queue_depth(&self, queue: &str) -> Result<u32, BrokerError> {
        let session = self.current().await;
        // A passive declare on a channel of its own: it closes the channel if the queue is gone.
        let channel = session
            .connection
            .create_channel()
            .await
            .map_err(unavailable)?;
        let options = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
            .map_err(unavailable)?;
        let _ = channel.close(200, "depth read".into()).await;
        Ok(declared.message_count())
    }

    async fn consume(
        &self,
        queue: &str,
        prefetch: u16,
    ) -> Result<BoxStream<'static, Incoming>, BrokerError> {
        let session = self.current().await;
        let channel = session
            .connection
            .create_channel()
            .await
            .map_err(unavailable)?;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        let consumer = channel
            .basic_consume(
                queue.into(),
                LongString::from(format!("hub-{}", uuid::Uuid::new_v4()))
                    .to_string()
                    .as_str()
                    .into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        let stream = consumer
            .take_while(|d| futures::future::ready(d.is_ok()))
            .filter_map(move |delivery| {
                // The channel lives as long as the stream.
                let _channel = &channel;
                futures::future::ready(delivery.ok().map(|d| Incoming {
                    exchange: d.exchange.to_string(),
                    routing_key: d.routing_key.to_string(),
                    redelivered: d.redelivered,
                    properties: from_amqp(&d.properties),
                    body: d.data,
                    settle: Box::new(RabbitSettle { acker: d.acker }),
                }))
            });
        Ok(stream.boxed())
    }
}

struct RabbitSettle {
    acker: lapin::Acker,
}

#[async_trait]
impl Settle for RabbitSettle {
    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        self.acker
            .ack(BasicAckOptions::default())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
    async fn requeue(self: Box<Self>) -> Result<(), BrokerError> {
        let options = BasicNackOptions {
            requeue: true,
            ..Default::default()
        };
        self.acker
            .nack(options)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
    async fn dead_letter(self: Box<Self>) -> Result<(), BrokerError> {
        let options = BasicNackOptions {
            requeue: false,
            ..Default::default()
        };
        self.acker
            .nack(options)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
