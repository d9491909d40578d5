//! The consumer runtime every hub consumer runs on: it takes deliveries in batches, lets a
//! handler say what happened to each, and decides what follows.
//!
//! - `Done` / `Duplicate`: acknowledged.
//! - `Transient` (the partner timed out, answered 5xx or 429, throttled): published to a
//!   retry tier with a delay of exponential backoff and full jitter, then acknowledged; the
//!   tier's TTL returns it to the origin queue. The attempt count travels in a header. After
//!   the configured attempts it is dead-lettered instead. A failing message thus never holds
//!   up the ones behind it.
//! - `Permanent` (invalid payload, business refusal): dead-lettered at once with its reason.
//! - `Unavailable` (the hub's own database or broker is away): nothing is acknowledged; the
//!   batch is handled again in place after a pause, until it succeeds or the hub stops
//!   (then the deliveries return to the queue). Attempts are not spent on the hub's own
//!   outages, and the pause stops intake, since the prefetch stays full.
//!
//! A delivery is acknowledged only after its effect is committed, or after its retry or
//! dead letter was confirmed by the broker.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use rand::Rng;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::RetrySettings;
use crate::runtime::broker::topology::{self, ATTEMPT, DEAD, LAST_ERROR, ORIGIN_QUEUE, RETRY};
use crate::runtime::broker::{Broker, Incoming, Outgoing};
use crate::runtime::metrics::Metrics;

/// Why a message could not be handled; the handler says which, the runtime decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The partner side failed in a way that may pass: retry later.
    Transient(String),
    /// The message can never succeed: dead-letter it now.
    Permanent(String),
    /// The hub's own dependency (database, broker) is away: handle again when it is back.
    Unavailable(String),
}

/// The hub's database failing: away (hold and handle again), holding data that does not
/// read back, or refusing this message's data (nothing will change either: dead-letter).
impl From<crate::runtime::store::StoreError> for Failure {
    fn from(e: crate::runtime::store::StoreError) -> Self {
        match e {
            crate::runtime::store::StoreError::Unavailable { reason, .. } => {
                Failure::Unavailable(reason)
            }
            crate::runtime::store::StoreError::Corrupt { reason, .. } => {
                Failure::Permanent(format!("stored state is corrupt: {reason}"))
            }
            e @ crate::runtime::store::StoreError::Rejected { .. } => {
                Failure::Permanent(e.to_string())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Applied before (same message id): acknowledged without effect.
    Duplicate,
    Failed(Failure),
}

#[async_trait]
pub trait BatchHandler: Send + Sync + 'static {
    /// Handles a batch; returns one outcome per delivery, in order.
    async fn handle(&self, batch: &[Incoming]) -> Vec<Outcome>;
}

/// A handler that takes a batch's deliveries one at a time, in order: for work that waits on
/// a partner per message (commands, applications) and gains nothing from batching.
#[async_trait]
pub trait MessageHandler: Send + Sync + 'static {
    async fn handle_one(&self, incoming: &Incoming) -> Outcome;
}

#[async_trait]
impl<T: MessageHandler> BatchHandler for T {
    async fn handle(&self, batch: &[Incoming]) -> Vec<Outcome> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for incoming in batch {
            outcomes.push(self.handle_one(incoming).await);
        }
        outcomes
    }
}

/// How a delivery leaves the consumer once its outcome is dealt with.
enum Settlement {
    Ack,
    /// Back to the queue (its retry or dead-letter copy could not be published).
    Requeue,
}

/// Header: why a message was dead-lettered (`permanent` or `exhausted`).
pub const FAILURE: &str = "hub-failure";
pub const ORIGINAL_EXCHANGE: &str = "hub-original-exchange";
pub const ORIGINAL_ROUTING_KEY: &str = "hub-original-routing-key";
pub const DEAD_LETTERED_AT: &str = "hub-dead-lettered-at";

pub struct Consumer<H: ?Sized> {
    /// The queue consumed.
    pub queue: String,
    /// Metrics label (the subscriber's name).
    pub adapter: String,
    pub handler: Arc<H>,
    pub broker: Arc<dyn Broker>,
    pub metrics: Metrics,
    pub prefetch: u16,
    pub retry: RetrySettings,
    pub tiers: Vec<Duration>,
    /// Shared by consumers whose handler holds a database connection while it works (the
    /// subscribers' distributors): a batch waits for a slot instead of for the pool, so that
    /// hundreds of consumers queue for a bounded number of connections, fairly, and the
    /// pool's timeout keeps meaning that the database is away.
    pub slots: Option<Arc<Semaphore>>,
}

/// Batches in flight per consumer; with the prefetch this bounds in-flight work.
const BATCHES_IN_FLIGHT: usize = 4;

impl<H: BatchHandler + ?Sized> Consumer<H> {
    #[tracing::instrument(name = "consumer", skip_all, fields(queue = %self.queue))]
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let batch_size = usize::from(self.prefetch)
            .div_ceil(BATCHES_IN_FLIGHT)
            .max(1);
        let mut in_flight = JoinSet::new();
        'connection: loop {
            let consumed = tokio::select! {
                _ = cancel.cancelled() => break,
                c = self.broker.consume(&self.queue, self.prefetch) => c,
            };
            let mut deliveries = match consumed {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(queue = %self.queue, error = %e, "cannot consume; retrying");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            loop {
                while in_flight.len() >= BATCHES_IN_FLIGHT {
                    in_flight.join_next().await;
                }
                let first = tokio::select! {
                    _ = cancel.cancelled() => break 'connection,
                    d = deliveries.next() => d,
                };
                let Some(first) = first else {
                    // Connection lost: in-flight batches settle or fail; consume again.
                    continue 'connection;
                };
                let mut batch = vec![first];
                // Take what is already there, without waiting for more.
                while batch.len() < batch_size {
                    match deliveries.next().now_or_never() {
                        Some(Some(d)) => batch.push(d),
                        _ => break,
                    }
                }
                let this = self.clone();
                let stop = cancel.clone();
                in_flight.spawn(tracing::Instrument::in_current_span(async move {
                    this.process(batch, stop).await
                }));
            }
        }
        // Finish (or return, on a lost connection) what is in flight.
        while in_flight.join_next().await.is_some() {}
    }

    async fn process(&self, batch: Vec<Incoming>, cancel: CancellationToken) {
        let redelivered = batch.iter().filter(|d| d.redelivered).count() as u64;
        if redelivered > 0 {
            self.metrics
                .redeliveries
                .with_label_values(&[&self.adapter])
                .inc_by(redelivered);
        }
        let mut pending = batch;
        let mut pause = Duration::from_millis(200);
        while !pending.is_empty() {
            let slot = match &self.slots {
                Some(slots) => tokio::select! {
                    // Stopping: the deliveries return to the queue with the channel.
                    _ = cancel.cancelled() => return,
                    permit = slots.acquire() => permit.ok(),
                },
                None => None,
            };
            let outcomes = {
                let _t = self.metrics.time("deliver_batch");
                self.handler.handle(&pending).await
            };
            drop(slot);
            let mut outcomes = outcomes.into_iter();
            let mut unavailable = Vec::new();
            let mut reason = String::new();
            // In the batch's order; a failed delivery's settlement is decided below.
            let mut settled = Vec::with_capacity(pending.len());
            let mut failed = Vec::new();
            for incoming in pending {
                // A handler owes one outcome per delivery; a missing one is held, not lost.
                let missing = || Outcome::Failed(Failure::Unavailable("no outcome".into()));
                match outcomes.next().unwrap_or_else(missing) {
                    Outcome::Failed(Failure::Unavailable(r)) => {
                        reason = r;
                        unavailable.push(incoming);
                    }
                    Outcome::Done => settled.push((incoming, Settlement::Ack)),
                    Outcome::Duplicate => {
                        self.metrics
                            .duplicates
                            .with_label_values(&[&self.adapter])
                            .inc();
                        settled.push((incoming, Settlement::Ack));
                    }
                    Outcome::Failed(failure) => {
                        failed.push((settled.len(), failure));
                        // Until its retry or dead letter is confirmed.
                        settled.push((incoming, Settlement::Requeue));
                    }
                }
            }
            // Retry and dead-letter copies are round trips to the broker: overlap them.
            let (positions, failures): (Vec<usize>, Vec<Failure>) = failed.into_iter().unzip();
            let decided = futures::future::join_all(
                positions
                    .iter()
                    .zip(failures)
                    .map(|(&at, failure)| self.settle(&settled[at].0, failure)),
            )
            .await;
            for (at, settlement) in positions.into_iter().zip(decided) {
                settled[at].1 = settlement;
            }
            // Newest first: the transport can then fold the batch's acknowledgements into
            // one (see `broker::acks`).
            for (incoming, settlement) in settled.into_iter().rev() {
                let done = match settlement {
                    Settlement::Ack => incoming.ack().await,
                    Settlement::Requeue => incoming.requeue().await,
                };
                if let Err(e) = done {
                    // Not acknowledged: the delivery returns to the queue with the lost channel.
                    tracing::warn!(queue = %self.queue, error = %e, "could not settle a delivery");
                }
            }
            pending = unavailable;
            if !pending.is_empty() {
                tracing::warn!(queue = %self.queue, %reason, pause_ms = pause.as_millis() as u64, held = pending.len(),
                    "dependency unavailable; holding the batch and trying again");
                self.metrics
                    .messages_failed
                    .with_label_values(&[&self.adapter, "unavailable"])
                    .inc();
                tokio::select! {
                    // Stopping: the held deliveries return to the queue with the channel.
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }

    /// What follows a failure, short of the acknowledgement itself: a retry or dead-letter
    /// copy is published (and confirmed) first; if that fails, the delivery goes back.
    async fn settle(&self, incoming: &Incoming, failure: Failure) -> Settlement {
        match failure {
            Failure::Permanent(reason) => self.dead_letter(incoming, "permanent", &reason).await,
            Failure::Transient(reason) => {
                let attempt = attempts_so_far(incoming) + 1;
                if attempt >= self.retry.max_attempts {
                    self.dead_letter(incoming, "exhausted", &reason).await
                } else {
                    self.retry_later(incoming, attempt, &reason).await
                }
            }
            Failure::Unavailable(_) => Settlement::Requeue,
        }
    }

    async fn retry_later(&self, incoming: &Incoming, attempt: u32, reason: &str) -> Settlement {
        let delay = full_jitter(&self.retry, attempt, &mut rand::rng());
        let tier = pick_tier(&self.tiers, delay);
        let mut properties = incoming.properties.clone();
        properties.set_text(ORIGIN_QUEUE, self.queue.clone());
        properties.set_int(ATTEMPT, i64::from(attempt));
        properties.set_text(LAST_ERROR, contracts::text::truncate(reason, 500));
        remember_first_routing(&mut properties, incoming);
        let message_id = properties.message_id.clone().unwrap_or_default();
        let retry = Outgoing {
            exchange: RETRY.to_owned(),
            routing_key: topology::tier_key(tier),
            properties,
            body: incoming.body.clone(),
        };
        match self.broker.publish(vec![retry]).await {
            Ok(()) => {
                tracing::info!(queue = %self.queue, %message_id, attempt, delay_ms = tier.as_millis() as u64, %reason, "retrying later");
                self.metrics
                    .retries
                    .with_label_values(&[&self.adapter])
                    .inc();
                self.metrics
                    .retry_delay
                    .with_label_values(&[&self.adapter, &attempt.to_string()])
                    .observe(tier.as_secs_f64());
                Settlement::Ack
            }
            Err(e) => {
                tracing::warn!(queue = %self.queue, error = %e, "cannot schedule a retry; returning the message");
                Settlement::Requeue
            }
        }
    }

    async fn dead_letter(&self, incoming: &Incoming, failure: &str, reason: &str) -> Settlement {
        let mut properties = incoming.properties.clone();
        let attempts = attempts_so_far(incoming) + 1;
        properties.set_text(ORIGIN_QUEUE, self.queue.clone());
        properties.set_int(ATTEMPT, i64::from(attempts));
        properties.set_text(LAST_ERROR, contracts::text::truncate(reason, 2000));
        properties.set_text(FAILURE, failure);
        remember_first_routing(&mut properties, incoming);
        let now = time::OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        properties.set_text(DEAD_LETTERED_AT, now);
        let message_id = properties.message_id.clone().unwrap_or_default();
        let dead = Outgoing {
            exchange: DEAD.to_owned(),
            routing_key: self.queue.clone(),
            properties,
            body: incoming.body.clone(),
        };
        match self.broker.publish(vec![dead]).await {
            Ok(()) => {
                tracing::error!(queue = %self.queue, %message_id, failure, attempts, %reason, "dead-lettered a message");
                self.metrics
                    .dead_letters
                    .with_label_values(&[&self.adapter, failure])
                    .inc();
                Settlement::Ack
            }
            Err(e) => {
                tracing::warn!(queue = %self.queue, error = %e, "cannot dead-letter; returning the message");
                Settlement::Requeue
            }
        }
    }
}

/// Where the message was first routed; kept across retries (a retried message arrives
/// through the retry exchanges), so a dead letter shows its real origin.
fn remember_first_routing(
    properties: &mut crate::runtime::broker::Properties,
    incoming: &Incoming,
) {
    if properties.header_text(ORIGINAL_EXCHANGE).is_none() {
        properties.set_text(ORIGINAL_EXCHANGE, incoming.exchange.clone());
        properties.set_text(ORIGINAL_ROUTING_KEY, incoming.routing_key.clone());
    }
}

fn attempts_so_far(incoming: &Incoming) -> u32 {
    incoming
        .properties
        .header_int(ATTEMPT)
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(0)
}

/// Exponential backoff with full jitter: a uniform delay in `[0, min(cap, base * 2^(n-1))]`.
pub fn full_jitter(retry: &RetrySettings, attempt: u32, rng: &mut impl Rng) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let ceiling = retry.base.saturating_mul(1u32 << exponent).min(retry.cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

/// The longest tier not longer than `delay` (the shortest if all are longer).
pub fn pick_tier(tiers: &[Duration], delay: Duration) -> Duration {
    tiers
        .iter()
        .copied()
        .filter(|t| *t <= delay)
        .max()
        .or_else(|| tiers.first().copied())
        .unwrap_or(topology::SHORTEST_TIER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn retry() -> RetrySettings {
        RetrySettings {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_attempts: 8,
        }
    }

    #[test]
    fn full_jitter_stays_under_the_growing_ceiling() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..=10 {
            let ceiling =
                Duration::from_millis(500 * (1 << (attempt - 1))).min(Duration::from_secs(8));
            let delays: Vec<Duration> = (0..200)
                .map(|_| full_jitter(&retry(), attempt, &mut rng))
                .collect();
            assert!(delays.iter().all(|d| *d <= ceiling), "attempt {attempt}");
            // Full jitter spreads over the whole range.
            assert!(
                delays.iter().any(|d| *d < ceiling / 4)
                    && delays.iter().any(|d| *d > ceiling * 3 / 4)
            );
        }
    }

    #[test]
    fn the_average_delay_grows_with_the_attempts() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mean = |attempt| {
            let total: Duration = (0..500)
                .map(|_| full_jitter(&retry(), attempt, &mut rng))
                .sum();
            total / 500
        };
        let means: Vec<Duration> = (1..=5).map(mean).collect();
        assert!(means.windows(2).all(|w| w[0] < w[1]), "{means:?}");
    }

    #[test]
    fn picks_the_longest_tier_not_longer_than_the_delay() {
        let tiers = topology::retry_tiers(Duration::from_secs(2));
        assert_eq!(
            pick_tier(&tiers, Duration::from_millis(50)),
            Duration::from_millis(100)
        );
        assert_eq!(
            pick_tier(&tiers, Duration::from_millis(450)),
            Duration::from_millis(400)
        );
        assert_eq!(
            pick_tier(&tiers, Duration::from_secs(60)),
            Duration::from_millis(3200)
        );
    }
}
