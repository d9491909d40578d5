//! The hub's RabbitMQ topology, derived from configuration and declared idempotently on
//! every (re)connection.
//!
//! ```text
//! hub.associations (topic) --association.#--> hub.deliver.<subscriber>   [one per subscriber]
//! hub.subscribers  (direct) --<subscriber>--> <subscriber's queue>        [queue channel]
//! hub.commands     (topic)  --<municipality>.#--> hub.commands.<municipality>   [commands in]
//! hub.replies      (direct) --<municipality>--> municipality.<municipality>.replies
//! unroutable on any of them --> hub.unrouted (fanout) --> hub.unrouted
//! retry:  hub.retry (direct) --<tier>--> hub.retry.<tier> (TTL = tier)
//!           --expired--> hub.retry.return (headers, hub-origin-queue = Q) --> Q
//! dead:   hub.dead (direct) --Q--> hub.dead-letters   (one queue for every consumed Q: the
//!           hub's own dead letters, and the broker's when a delivery of a hub-internal
//!           queue exceeds the delivery limit; the routing key names Q)
//! quarantine: a partner-facing queue's broker dead letters --> hub.quarantine (fanout)
//!           --> hub.quarantine   (never consumed: listed through the management API)
//! ```
//! *Partner-facing* queues are the ones partners can publish into (`hub.commands.<m>`,
//! `hub.applications.intake`, `hub.applications.status.<m>`). What arrives there may be a
//! message the AMQP client cannot even parse; such a message drops the connection it arrives
//! on, so the hub consumes each partner-facing queue on a connection of its own and lets the
//! broker move a message that keeps failing to `hub.quarantine`, which no AMQP consumer of
//! the hub ever reads (see ARCHITECTURE.md, *Hostile input*). Everything in `hub.dead-letters`
//! is published by the hub itself and is safe to drain. Dead letters are drained into
//! PostgreSQL at once, so one queue serves every consumer: a queue per consumer would cost
//! the broker a quorum queue (a Raft group, its files) per consumer for nothing.
//! Every queue is a durable quorum queue. Consuming queues have a delivery limit and
//! at-least-once dead-lettering (which needs `reject-publish` overflow). The retry tiers
//! dead-letter at-least-once too (no delivery limit: nobody consumes them): expiring is
//! their way back to the origin queue.

use std::time::Duration;

use crate::config::Settings;

pub const ASSOCIATIONS: &str = "hub.associations";
pub const SUBSCRIBERS: &str = "hub.subscribers";
/// Municipalities publish their commands here, routing key `<municipality>.<command type>`.
pub const COMMANDS: &str = "hub.commands";
/// The hub's replies to commands, routing key the municipality's name.
pub const REPLIES: &str = "hub.replies";
/// Service applications: `application.submitted` from the loket, `application.status-changed`
/// for the loket, `provider.<provider>` to a provider's queue.
pub const APPLICATIONS: &str = "hub.applications";
/// The hub's queue of submitted applications.
pub const APPLICATION_INTAKE: &str = "hub.applications.intake";
/// Where the loket reads status changes.
pub const LOKET_APPLICATIONS: &str = "loket.applications";
pub const UNROUTED: &str = "hub.unrouted";
pub const DEAD: &str = "hub.dead";
/// The one queue of dead letters, drained into PostgreSQL; the routing key names the origin.
pub const DEAD_LETTERS: &str = "hub.dead-letters";
/// Exchange and queue of what the broker gave up on in a partner-facing queue.
pub const QUARANTINE: &str = "hub.quarantine";
pub const RETRY: &str = "hub.retry";
pub const RETRY_RETURN: &str = "hub.retry.return";

/// Header naming the queue a retried or dead-lettered message came from. Not `x-`
/// prefixed: headers exchanges ignore `x-` headers when matching.
pub const ORIGIN_QUEUE: &str = "hub-origin-queue";
/// Header counting the attempts made so far (absent: none failed yet).
pub const ATTEMPT: &str = "hub-attempt";
/// Header with the last failure's reason.
pub const LAST_ERROR: &str = "hub-last-error";
/// Header on a change's copy for a recipient whose scope it crossed (value [`ENTERED`]).
pub const CROSSING: &str = "hub-crossing";
/// The association was outside the recipient's scope before the change and is inside now.
pub const ENTERED: &str = "entered";

/// The shortest retry delay; tiers double from here up to the longest configured cap.
pub const SHORTEST_TIER: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    Topic,
    Direct,
    Fanout,
    Headers,
}

#[derive(Debug, Clone)]
pub struct ExchangeSpec {
    pub name: String,
    pub kind: ExchangeKind,
    /// Where messages no queue is bound for go instead of vanishing.
    pub alternate: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub exchange: String,
    pub routing_key: String,
    /// Header matches (headers exchanges): all must be equal.
    pub headers: Vec<(String, String)>,
}

impl Binding {
    pub fn key(exchange: &str, routing_key: &str) -> Binding {
        Binding {
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
            headers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct QueueSpec {
    pub name: String,
    pub bindings: Vec<Binding>,
    /// Dead-letter exchange and routing key (`None`: keep the message's own key).
    pub dead_letter: Option<(String, Option<String>)>,
    /// Deliveries after which the broker dead-letters a message it keeps getting back.
    pub delivery_limit: Option<u32>,
    /// Messages expire (and are dead-lettered) after this long.
    pub message_ttl: Option<Duration>,
    /// Partners publish into it: consumed in isolation, broker dead letters quarantined.
    pub partner_facing: bool,
}

/// Who publishes into a consumed queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facing {
    /// Only the hub itself (its relays, retries and replays).
    Hub,
    /// Partners (municipalities, the loket): the input may be hostile.
    Partner,
}

/// How a consumed queue is consumed: its delivery limit, who publishes into it, and the
/// longest retry delay of its consumer (the retry tiers reach it).
#[derive(Debug, Clone, Copy)]
pub struct ConsumedBy {
    pub delivery_limit: u32,
    pub facing: Facing,
    pub retry_cap: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub exchanges: Vec<ExchangeSpec>,
    pub queues: Vec<QueueSpec>,
    /// Retry delay tiers, shortest first.
    pub retry_tiers: Vec<Duration>,
    /// The longest retry cap of the consumers added so far; the tiers reach it.
    pub longest_retry: Duration,
}

/// The hub's own consuming queue for a subscriber.
pub fn delivery_queue(subscriber: &str) -> String {
    format!("hub.deliver.{subscriber}")
}

/// The hub's own consuming queue for a municipality's commands.
pub fn command_queue(municipality: &str) -> String {
    format!("hub.commands.{municipality}")
}

/// The hub's queue of applications for one provider.
pub fn provider_queue(provider: &str) -> String {
    format!("hub.provider.{provider}")
}

/// Where a municipality that provides a service reads its applications.
pub fn municipal_applications_queue(municipality: &str) -> String {
    format!("municipality.{municipality}.applications")
}

/// The hub's queue of a municipality's answers about applications.
pub fn municipal_status_queue(municipality: &str) -> String {
    format!("hub.applications.status.{municipality}")
}

/// Where a municipality reads the replies to its commands.
pub fn reply_queue(municipality: &str) -> String {
    format!("municipality.{municipality}.replies")
}

pub fn retry_queue(tier: Duration) -> String {
    format!("hub.retry.{}", tier_key(tier))
}

pub fn tier_key(tier: Duration) -> String {
    format!("{}ms", tier.as_millis())
}

/// Tiers doubling from [`SHORTEST_TIER`] until one reaches `longest`.
pub fn retry_tiers(longest: Duration) -> Vec<Duration> {
    let mut tiers = vec![SHORTEST_TIER];
    while tiers.last().is_some_and(|t| *t < longest) {
        let next = tiers.last().map(|t| *t * 2).unwrap_or(SHORTEST_TIER);
        tiers.push(next);
    }
    tiers
}

impl Topology {
    /// What the runtime itself needs, whatever the features: the unrouted, dead-letter and
    /// quarantine queues and the retry exchanges. Features add theirs, then [`Topology::finish`]
    /// adds the retry tiers.
    pub fn core(settings: &Settings) -> Topology {
        let mut topology = Topology {
            longest_retry: settings.retry.cap,
            ..Topology::default()
        };
        topology.add_exchange(UNROUTED, ExchangeKind::Fanout);
        topology.add_exchange(DEAD, ExchangeKind::Direct);
        topology.add_exchange(QUARANTINE, ExchangeKind::Fanout);
        topology.add_exchange(RETRY, ExchangeKind::Direct);
        topology.add_exchange(RETRY_RETURN, ExchangeKind::Headers);
        topology.add_queue(UNROUTED, vec![Binding::key(UNROUTED, "")]);
        topology.add_queue(QUARANTINE, vec![Binding::key(QUARANTINE, "")]);
        topology.add_queue(DEAD_LETTERS, Vec::new());
        topology
    }

    /// An exchange; every one but the unrouted and quarantine fanouts sends what no queue
    /// is bound for to `hub.unrouted`.
    pub fn add_exchange(&mut self, name: &str, kind: ExchangeKind) {
        let alternate = name != UNROUTED && name != QUARANTINE;
        self.exchanges.push(ExchangeSpec {
            name: name.to_owned(),
            kind,
            alternate: alternate.then(|| UNROUTED.to_owned()),
        });
    }

    /// A queue the hub does not consume (partners read it, or nobody does).
    pub fn add_queue(&mut self, name: &str, bindings: Vec<Binding>) {
        self.queues.push(QueueSpec {
            name: name.to_owned(),
            bindings,
            ..QueueSpec::default()
        });
    }

    /// Adds the retry tiers, doubling from [`SHORTEST_TIER`] up to the longest retry cap of
    /// every consumer.
    pub fn finish(mut self) -> Topology {
        self.retry_tiers = retry_tiers(self.longest_retry.max(SHORTEST_TIER));
        for tier in self.retry_tiers.clone() {
            self.queues.push(QueueSpec {
                name: retry_queue(tier),
                bindings: vec![Binding::key(RETRY, &tier_key(tier))],
                dead_letter: Some((RETRY_RETURN.to_owned(), None)),
                message_ttl: Some(tier),
                ..QueueSpec::default()
            });
        }
        self
    }

    /// A queue the hub consumes: with a binding of `hub.dead-letters` for its dead letters, a
    /// delivery limit, and a way back from the retry tiers. The broker's dead letters of a
    /// partner-facing queue go to the quarantine instead: they may be unparseable.
    pub fn add_consumer_queue(&mut self, name: &str, consumer: ConsumedBy, source: Binding) {
        self.longest_retry = self.longest_retry.max(consumer.retry_cap);
        let ConsumedBy {
            delivery_limit,
            facing,
            ..
        } = consumer;
        let partner_facing = facing == Facing::Partner;
        let dead_letter_exchange = if partner_facing { QUARANTINE } else { DEAD };
        if !self.queues.iter().any(|q| q.name == DEAD_LETTERS) {
            self.queues.push(QueueSpec {
                name: DEAD_LETTERS.to_owned(),
                ..QueueSpec::default()
            });
        }
        if let Some(dead_letters) = self.queues.iter_mut().find(|q| q.name == DEAD_LETTERS) {
            dead_letters.bindings.push(Binding::key(DEAD, name));
        }
        self.queues.push(QueueSpec {
            name: name.to_owned(),
            bindings: vec![
                source,
                Binding {
                    exchange: RETRY_RETURN.to_owned(),
                    routing_key: String::new(),
                    headers: vec![(ORIGIN_QUEUE.to_owned(), name.to_owned())],
                },
            ],
            dead_letter: Some((dead_letter_exchange.to_owned(), Some(name.to_owned()))),
            delivery_limit: Some(delivery_limit),
            message_ttl: None,
            partner_facing,
        });
    }

    /// Whether partners publish into `queue` (see the module docs).
    pub fn is_partner_facing(&self, queue: &str) -> bool {
        self.queues
            .iter()
            .any(|q| q.name == queue && q.partner_facing)
    }

    /// The queues the hub consumes (each has a binding of `hub.dead-letters`).
    pub fn consumer_queues(&self) -> Vec<String> {
        self.queues
            .iter()
            .filter(|q| q.delivery_limit.is_some())
            .map(|q| q.name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_double_up_to_the_cap() {
        let tiers = retry_tiers(Duration::from_secs(1));
        let ms: Vec<u128> = tiers.iter().map(|t| t.as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1600]);
        assert_eq!(retry_tiers(Duration::from_millis(50)).len(), 1);
    }

    #[test]
    fn partner_facing_queues_quarantine_what_the_broker_gives_up_on() {
        let mut t = Topology::default();
        let by = |facing| ConsumedBy {
            delivery_limit: 5,
            facing,
            retry_cap: Duration::from_secs(1),
        };
        t.add_consumer_queue("in", by(Facing::Partner), Binding::key(COMMANDS, "a.#"));
        t.add_consumer_queue("own", by(Facing::Hub), Binding::key(ASSOCIATIONS, "#"));
        let queue = |name: &str| t.queues.iter().find(|q| q.name == name).cloned();
        let dlx = |name: &str| queue(name).and_then(|q| q.dead_letter).map(|d| d.0);
        assert_eq!(dlx("in").as_deref(), Some(QUARANTINE));
        assert_eq!(dlx("own").as_deref(), Some(DEAD));
        assert!(t.is_partner_facing("in"));
        assert!(!t.is_partner_facing("own"));
        // The hub's own dead letters of both still reach the one dead-letter queue.
        let keys: Vec<String> = queue(DEAD_LETTERS)
            .map(|q| q.bindings.into_iter().map(|b| b.routing_key).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["in", "own"]);
        assert!(!t.queues.iter().any(|q| q.name.starts_with("hub.dead.")));
    }
}
