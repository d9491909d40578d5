//! Dead-letter tooling: every replica drains the dead-letter queue (`hub.dead-letters`, one
//! for every consumed queue; the routing key names the queue a message died in) into the
//! `dead_letter` table, where operators list, inspect, replay or discard them
//! (`hub dlq ...`, `/admin/dlq`), every action recorded in `operator_action`.
//!
//! Two kinds of message arrive there:
//! - the consumer runtime's own dead letters (`consume.rs`): headers `hub-failure`
//!   (`permanent` | `exhausted`), `hub-attempt`, `hub-last-error`, `hub-original-exchange`,
//!   `hub-original-routing-key`, `hub-dead-lettered-at`;
//! - the broker's, without a `hub-failure` header: a delivery redelivered more often than
//!   the queue's `x-delivery-limit` (or a consumer's nack without requeue). The transport
//!   flattens the newest `x-death` entry into the `x-death-*` headers
//!   ([`crate::runtime::broker::DEATH_REASON`] etc.), which give the reason, time and first routing.
//!
//! Invariants: a dead letter is acknowledged on its queue only after its row committed (a
//! database error is retried, never skipped); a replay goes to the origin queue only (the
//! default exchange, routing key = queue), keeps the message id and waits for the broker's
//! confirm before the row is marked `replayed`; the status change and its audit row commit
//! together.

mod feature;
pub mod http;

pub use feature::DeadLetters;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::runtime::broker::topology::{ATTEMPT, LAST_ERROR, ORIGIN_QUEUE};
use crate::runtime::broker::{
    Broker, BrokerError, Incoming, Outgoing, Properties, DEATH_EXCHANGE, DEATH_REASON,
    DEATH_ROUTING_KEY, DEATH_TIME,
};
use crate::runtime::consume::{DEAD_LETTERED_AT, FAILURE, ORIGINAL_EXCHANGE, ORIGINAL_ROUTING_KEY};
use crate::runtime::metrics::Metrics;
use crate::runtime::store::dead_letters::{
    DeadLetterStatus, DeadLetterStore, NewDeadLetter, Resolution, ResolveError, Resolved,
};
use crate::runtime::store::StoreError;

/// Prefix of a per-queue dead-letter queue's name (`hub.dead.<queue>`), as earlier versions
/// declared them and tests still may.
pub const DEAD_LETTER_QUEUE_PREFIX: &str = "hub.dead.";
/// Unsettled deliveries per dead-letter queue while draining.
const DRAIN_PREFETCH: u16 = 20;
/// How long a replay waits for the broker (a session and the confirm).
pub const REPLAY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("no dead letter {0}")]
    NotFound(i64),
    #[error(
        "dead letter {id} is {status}, not dead: only a dead one can be replayed or discarded"
    )]
    NotDead { id: i64, status: DeadLetterStatus },
    #[error("invalid operator: {0}")]
    InvalidActor(String),
    #[error("queue {queue:?} does not exist (any more): nothing to replay into")]
    Unroutable { queue: String },
    #[error("{0}")]
    Broker(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ResolveError> for DlqError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::NotFound(id) => DlqError::NotFound(id),
            ResolveError::NotDead { id, status } => DlqError::NotDead { id, status },
            ResolveError::Store(e) => DlqError::Store(e),
        }
    }
}

/// The queue a per-queue dead-letter queue belongs to: `hub.dead.hub.deliver.aalst` →
/// `hub.deliver.aalst`; any other name is the origin itself.
pub fn origin_queue(dead_letter_queue: &str) -> &str {
    dead_letter_queue
        .strip_prefix(DEAD_LETTER_QUEUE_PREFIX)
        .unwrap_or(dead_letter_queue)
}

/// What a message taken off `dead_letter_queue` says about its death. Pure.
///
/// A message with a `hub-failure` header is the runtime's own dead letter; any other is the
/// broker's: `delivery_limit` (the reason when the broker gives none), `rejected`, or the
/// broker's reason as it is (`expired`, `maxlen`).
pub fn describe(
    dead_letter_queue: &str,
    properties: &Properties,
    body: Vec<u8>,
    received_at: OffsetDateTime,
) -> NewDeadLetter {
    let p = properties;
    let text = |key: &str| p.header_text(key).map(str::to_owned);
    let death_time = p
        .header_int(DEATH_TIME)
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok());
    let attempts = p
        .header_int(ATTEMPT)
        .and_then(|a| u32::try_from(a).ok())
        .unwrap_or(0);
    let (failure, last_error, dead_lettered_at) = match p.header_text(FAILURE) {
        Some(failure) => (
            failure.to_owned(),
            text(LAST_ERROR).unwrap_or_default(),
            p.header_text(DEAD_LETTERED_AT)
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                .or(death_time),
        ),
        None => {
            let (failure, what) = match p.header_text(DEATH_REASON) {
                None | Some("delivery_limit") => (
                    "delivery_limit",
                    "redelivered more than the delivery limit".to_owned(),
                ),
                Some("rejected") => (
                    "rejected",
                    "rejected by a consumer without requeue".to_owned(),
                ),
                Some(other) => (other, format!("dead-lettered by the broker ({other})")),
            };
            // A message retried before carries the handler's last error.
            let last_error = match p.header_text(LAST_ERROR) {
                Some(e) => format!("{what}; last handler error: {e}"),
                None => what,
            };
            (failure.to_owned(), last_error, death_time)
        }
    };
    NewDeadLetter {
        queue: origin_queue(dead_letter_queue).to_owned(),
        message_id: p.message_id.clone(),
        message_type: p.message_type.clone(),
        original_exchange: text(ORIGINAL_EXCHANGE).or_else(|| text(DEATH_EXCHANGE)),
        original_routing_key: text(ORIGINAL_ROUTING_KEY).or_else(|| text(DEATH_ROUTING_KEY)),
        properties: p.clone(),
        body,
        attempts,
        failure,
        last_error,
        // Without either header (not expected) the time of receipt: such a row is not
        // deduplicated if its delivery comes again, but it is never lost.
        dead_lettered_at: dead_lettered_at.unwrap_or(received_at),
    }
}

/// The properties a replay publishes: the original ones and message id, without the
/// failure headers (`hub-failure`, `hub-last-error`, `hub-dead-lettered-at`,
/// `hub-origin-queue`), without `hub-attempt` (a fresh retry budget) and without the
/// broker's `x-` headers. `hub-original-exchange` / `-routing-key` are set to the first
/// routing when known, so that a replayed message that fails again is recorded with it
/// rather than with the default exchange. Pure.
pub fn replay_properties(
    stored: &Properties,
    original_exchange: Option<&str>,
    original_routing_key: Option<&str>,
) -> Properties {
    let mut p = stored.clone();
    p.headers.retain(|k, _| {
        !k.starts_with("x-")
            && ![FAILURE, LAST_ERROR, DEAD_LETTERED_AT, ORIGIN_QUEUE, ATTEMPT].contains(&k.as_str())
    });
    if let (Some(exchange), Some(key)) = (original_exchange, original_routing_key) {
        p.set_text(ORIGINAL_EXCHANGE, exchange);
        p.set_text(ORIGINAL_ROUTING_KEY, key);
    }
    p
}

/// Checks an operator's name (see [`crate::runtime::http::operator_name`]).
pub fn actor(raw: &str) -> Result<String, DlqError> {
    crate::runtime::http::operator_name(raw).map_err(DlqError::InvalidActor)
}

/// Drains every dead-letter queue in `queues` (the hub has one, `hub.dead-letters`) into the
/// store, one task per queue, until `cancel`. Runs on every replica.
pub async fn drain(
    broker: Arc<dyn Broker>,
    store: Arc<dyn DeadLetterStore>,
    queues: Vec<String>,
    metrics: Metrics,
    cancel: CancellationToken,
) {
    let mut tasks = JoinSet::new();
    for queue in queues {
        let span = tracing::info_span!("drain", queue = %queue);
        tasks.spawn(tracing::Instrument::instrument(
            drain_queue(
                broker.clone(),
                store.clone(),
                queue,
                metrics.clone(),
                cancel.clone(),
            ),
            span,
        ));
    }
    while tasks.join_next().await.is_some() {}
}

async fn drain_queue(
    broker: Arc<dyn Broker>,
    store: Arc<dyn DeadLetterStore>,
    queue: String,
    metrics: Metrics,
    cancel: CancellationToken,
) {
    loop {
        let consumed = tokio::select! {
            _ = cancel.cancelled() => return,
            c = broker.consume(&queue, DRAIN_PREFETCH) => c,
        };
        let mut deliveries = match consumed {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(%queue, error = %e, "cannot consume a dead-letter queue; retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            let delivery = tokio::select! {
                _ = cancel.cancelled() => return,
                d = deliveries.next() => d,
            };
            // None: the connection was lost; unacknowledged ones come back. Consume again.
            let Some(delivery) = delivery else { break };
            if !record(&*store, &queue, delivery, &metrics, &cancel).await {
                return;
            }
        }
    }
}

/// Records one dead letter, retrying the database until it answers; acks only then.
/// Returns false when stopped first (the delivery returns to its queue).
async fn record(
    store: &dyn DeadLetterStore,
    queue: &str,
    delivery: Incoming,
    metrics: &Metrics,
    cancel: &CancellationToken,
) -> bool {
    // Dead-lettered through `hub.dead` with the origin queue as routing key (the runtime's
    // and the broker's alike); a per-queue dead-letter queue's name says it too.
    let origin = match delivery.routing_key.as_str() {
        "" => origin_queue(queue),
        key => key,
    };
    let letter = describe(
        origin,
        &delivery.properties,
        delivery.body.clone(),
        OffsetDateTime::now_utc(),
    );
    let mut pause = Duration::from_millis(200);
    loop {
        match store.record(&letter).await {
            Ok(Some(id)) => {
                tracing::info!(id, queue = %letter.queue, message_id = ?letter.message_id,
                    failure = %letter.failure, "recorded a dead letter");
                // The runtime counts its own dead letters; the broker's are counted here.
                if delivery.properties.header_text(FAILURE).is_none() {
                    let adapter = letter
                        .queue
                        .strip_prefix("hub.deliver.")
                        .unwrap_or(&letter.queue);
                    metrics
                        .dead_letters
                        .with_label_values(&[adapter, &letter.failure])
                        .inc();
                }
                break;
            }
            Ok(None) => {
                tracing::debug!(queue = %letter.queue, message_id = ?letter.message_id,
                    "dead letter recorded before (redelivered)");
                break;
            }
            Err(e) => {
                tracing::warn!(%queue, error = %e, retry_in_ms = pause.as_millis() as u64,
                    "cannot record a dead letter; keeping it on its queue and trying again");
                tokio::select! {
                    _ = cancel.cancelled() => return false,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
    if let Err(e) = delivery.ack().await {
        // It comes back with the lost channel; recording it again changes nothing.
        tracing::warn!(%queue, error = %e, "could not acknowledge a recorded dead letter");
    }
    true
}

/// What a replay or discard did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResolvedLetter {
    pub id: i64,
    pub status: DeadLetterStatus,
    /// The origin queue the message was republished to.
    pub queue: String,
    pub message_id: Option<String>,
}

/// Republishes dead letter `id` to its origin queue only (default exchange, routing key =
/// the queue), with its original properties and message id and a fresh retry budget (see
/// [`replay_properties`]); after the broker's confirm marks it `replayed` by `actor` and
/// records `dlq.replay`, in one transaction. The row stays locked meanwhile, so a
/// concurrent replay or discard of the same dead letter waits and is then refused.
///
/// Refused: an unknown id (`NotFound`), a dead letter not `dead` (`NotDead`), an origin
/// queue that no longer exists (`Unroutable`). If the database fails after the confirm,
/// the message was republished but the row stays `dead` (at least once: a second replay
/// publishes the same message id again, which the consumer's inbox absorbs if the first
/// was applied).
pub async fn replay(
    broker: &dyn Broker,
    store: &dyn DeadLetterStore,
    id: i64,
    actor: &str,
) -> Result<ResolvedLetter, DlqError> {
    let (actor, resolution) = begin(store, id, actor).await?;
    let letter = resolution.letter().clone();
    let queue = letter.summary.queue.clone();
    let message = Outgoing {
        exchange: String::new(),
        routing_key: queue.clone(),
        properties: replay_properties(
            &letter.properties,
            letter.original_exchange.as_deref(),
            letter.original_routing_key.as_deref(),
        ),
        body: letter.body.clone(),
    };
    match tokio::time::timeout(REPLAY_TIMEOUT, broker.publish(vec![message])).await {
        Ok(Ok(())) => {}
        Ok(Err(BrokerError::Unroutable(_))) => return Err(DlqError::Unroutable { queue }),
        Ok(Err(e)) => return Err(DlqError::Broker(e.to_string())),
        Err(_) => {
            return Err(DlqError::Broker(format!(
                "the broker did not confirm within {}s",
                REPLAY_TIMEOUT.as_secs()
            )))
        }
    }
    let done = commit(resolution, id, Resolved::Replayed, &actor).await?;
    tracing::info!(id, queue = %done.queue, message_id = ?done.message_id, %actor, "replayed a dead letter");
    Ok(done)
}

/// Marks dead letter `id` `discarded` by `actor` and records `dlq.discard`, in one
/// transaction. The message itself stays in the table.
pub async fn discard(
    store: &dyn DeadLetterStore,
    id: i64,
    actor: &str,
) -> Result<ResolvedLetter, DlqError> {
    let (actor, resolution) = begin(store, id, actor).await?;
    let done = commit(resolution, id, Resolved::Discarded, &actor).await?;
    tracing::info!(id, queue = %done.queue, %actor, "discarded a dead letter");
    Ok(done)
}

/// The start of a replay or a discard: `actor` checked, then dead letter `id` locked (refused
/// unless it is `dead`).
async fn begin(
    store: &dyn DeadLetterStore,
    id: i64,
    actor: &str,
) -> Result<(String, Box<dyn Resolution>), DlqError> {
    let actor = self::actor(actor)?;
    Ok((actor, store.begin_resolve(id).await?))
}

/// The end of a replay or a discard: the dead letter marked `resolved` by `actor`, with the
/// audit row recording its queue, message id and failure (never its body).
async fn commit(
    resolution: Box<dyn Resolution>,
    id: i64,
    resolved: Resolved,
    actor: &str,
) -> Result<ResolvedLetter, DlqError> {
    let summary = resolution.letter().summary.clone();
    let detail = json!({
        "queue": summary.queue,
        "message_id": summary.message_id,
        "failure": summary.failure,
    });
    resolution.commit(resolved, actor, detail).await?;
    Ok(ResolvedLetter {
        id,
        status: resolved.status(),
        queue: summary.queue,
        message_id: summary.message_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::broker::{DEATH_COUNT, DEATH_QUEUE};
    use time::macros::datetime;

    const DLQ: &str = "hub.dead.hub.deliver.aalst";
    const NOW: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);

    fn original() -> Properties {
        let mut p = Properties {
            message_id: Some("0190-m".into()),
            message_type: Some("association.changed".into()),
            correlation_id: Some("0190-c".into()),
            timestamp: Some(1_740_000_000),
            ..Properties::default()
        };
        p.set_text("vCode", "V0001001");
        p.set_int("sequence", 12);
        p.set_int("schemaVersion", 1);
        p
    }

    fn hub_dead_letter() -> Properties {
        let mut p = original();
        p.set_text(ORIGIN_QUEUE, "hub.deliver.aalst");
        p.set_int(ATTEMPT, 8);
        p.set_text(LAST_ERROR, "partner answered 503");
        p.set_text(FAILURE, "exhausted");
        p.set_text(ORIGINAL_EXCHANGE, "hub.associations");
        p.set_text(ORIGINAL_ROUTING_KEY, "association.changed");
        p.set_text(DEAD_LETTERED_AT, "2025-03-01T11:59:58.123456789Z");
        // Broker headers from the retry tiers' expiries.
        p.set_text(DEATH_REASON, "expired");
        p.set_text(DEATH_EXCHANGE, "hub.retry");
        p.set_int(DEATH_TIME, 1_740_830_000);
        p
    }

    #[test]
    fn the_runtimes_dead_letter_is_read_from_its_headers() {
        let d = describe(DLQ, &hub_dead_letter(), b"{}".to_vec(), NOW);
        assert_eq!(d.queue, "hub.deliver.aalst");
        assert_eq!(d.failure, "exhausted");
        assert_eq!(d.attempts, 8);
        assert_eq!(d.last_error, "partner answered 503");
        assert_eq!(d.original_exchange.as_deref(), Some("hub.associations"));
        assert_eq!(
            d.original_routing_key.as_deref(),
            Some("association.changed")
        );
        assert_eq!(
            d.dead_lettered_at,
            datetime!(2025-03-01 11:59:58.123456789 UTC)
        );
        assert_eq!(d.message_id.as_deref(), Some("0190-m"));
        assert_eq!(d.message_type.as_deref(), Some("association.changed"));
        assert_eq!(d.properties, hub_dead_letter());
    }

    #[test]
    fn the_brokers_dead_letter_is_a_delivery_limit_failure() {
        let mut p = original();
        p.set_text(DEATH_REASON, "delivery_limit");
        p.set_text(DEATH_QUEUE, "hub.deliver.aalst");
        p.set_text(DEATH_EXCHANGE, "hub.associations");
        p.set_text(DEATH_ROUTING_KEY, "association.changed");
        p.set_int(DEATH_TIME, 1_740_830_000);
        p.set_int(DEATH_COUNT, 1);
        let d = describe(DLQ, &p, b"{}".to_vec(), NOW);
        assert_eq!(d.queue, "hub.deliver.aalst");
        assert_eq!(d.failure, "delivery_limit");
        assert_eq!(d.last_error, "redelivered more than the delivery limit");
        assert_eq!(d.attempts, 0);
        assert_eq!(d.original_exchange.as_deref(), Some("hub.associations"));
        assert_eq!(
            d.original_routing_key.as_deref(),
            Some("association.changed")
        );
        assert_eq!(
            Some(d.dead_lettered_at),
            OffsetDateTime::from_unix_timestamp(1_740_830_000).ok()
        );
    }

    #[test]
    fn a_broker_dead_letter_without_death_headers_is_still_recorded() {
        let mut p = original();
        p.set_int(ATTEMPT, 3);
        p.set_text(LAST_ERROR, "timed out");
        let d = describe(DLQ, &p, Vec::new(), NOW);
        assert_eq!(d.failure, "delivery_limit");
        assert_eq!(
            d.last_error,
            "redelivered more than the delivery limit; last handler error: timed out"
        );
        assert_eq!(d.attempts, 3);
        assert_eq!(d.original_exchange, None);
        assert_eq!(d.dead_lettered_at, NOW);
    }

    #[test]
    fn a_rejected_message_is_named_so() {
        let mut p = original();
        p.set_text(DEATH_REASON, "rejected");
        let d = describe(DLQ, &p, Vec::new(), NOW);
        assert_eq!(d.failure, "rejected");
        assert_eq!(d.last_error, "rejected by a consumer without requeue");
    }

    #[test]
    fn a_replay_carries_the_original_without_the_failure() {
        let replayed = replay_properties(
            &hub_dead_letter(),
            Some("hub.associations"),
            Some("association.changed"),
        );
        let mut expected = original();
        expected.set_text(ORIGINAL_EXCHANGE, "hub.associations");
        expected.set_text(ORIGINAL_ROUTING_KEY, "association.changed");
        assert_eq!(replayed, expected);
        // Nothing known about the first routing: nothing invented.
        let mut broker = original();
        broker.set_text(DEATH_REASON, "delivery_limit");
        assert_eq!(replay_properties(&broker, None, None), original());
    }

    #[test]
    fn origin_queue_strips_the_prefix() {
        assert_eq!(origin_queue(DLQ), "hub.deliver.aalst");
        assert_eq!(origin_queue("elsewhere"), "elsewhere");
    }

    #[test]
    fn an_actor_must_be_named() {
        assert_eq!(actor("  alice ").ok().as_deref(), Some("alice"));
        assert!(actor("   ").is_err());
        assert!(actor("a\nb").is_err());
        assert!(actor(&"x".repeat(201)).is_err());
    }
}
