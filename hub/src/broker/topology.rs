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

use crate::config::{Channel, Settings};

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
    fn key(exchange: &str, routing_key: &str) -> Binding {
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
enum Facing {
    /// Only the hub itself (its relays, retries and replays).
    Hub,
    /// Partners (municipalities, the loket): the input may be hostile.
    Partner,
}

#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub exchanges: Vec<ExchangeSpec>,
    pub queues: Vec<QueueSpec>,
    /// Retry delay tiers, shortest first.
    pub retry_tiers: Vec<Duration>,
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
    pub fn for_settings(settings: &Settings) -> Topology {
        let exchange = |name: &str, kind, alternate: bool| ExchangeSpec {
            name: name.to_owned(),
            kind,
            alternate: alternate.then(|| UNROUTED.to_owned()),
        };
        // Every consumer's cap: the subscribers' own, and `[retry]` (the applications').
        let longest = settings
            .subscribers
            .iter()
            .map(|s| s.retry.cap)
            .chain([settings.retry.cap])
            .max()
            .unwrap_or(SHORTEST_TIER);
        let mut topology = Topology {
            exchanges: vec![
                exchange(UNROUTED, ExchangeKind::Fanout, false),
                exchange(DEAD, ExchangeKind::Direct, true),
                exchange(QUARANTINE, ExchangeKind::Fanout, false),
                exchange(RETRY, ExchangeKind::Direct, true),
                exchange(RETRY_RETURN, ExchangeKind::Headers, true),
                exchange(ASSOCIATIONS, ExchangeKind::Topic, true),
                exchange(SUBSCRIBERS, ExchangeKind::Direct, true),
                exchange(COMMANDS, ExchangeKind::Topic, true),
                exchange(REPLIES, ExchangeKind::Direct, true),
                exchange(APPLICATIONS, ExchangeKind::Topic, true),
            ],
            queues: vec![
                QueueSpec {
                    name: UNROUTED.to_owned(),
                    bindings: vec![Binding::key(UNROUTED, "")],
                    ..QueueSpec::default()
                },
                QueueSpec {
                    name: QUARANTINE.to_owned(),
                    bindings: vec![Binding::key(QUARANTINE, "")],
                    ..QueueSpec::default()
                },
                QueueSpec {
                    name: DEAD_LETTERS.to_owned(),
                    ..QueueSpec::default()
                },
            ],
            retry_tiers: retry_tiers(longest),
        };
        for tier in topology.retry_tiers.clone() {
            topology.queues.push(QueueSpec {
                name: retry_queue(tier),
                bindings: vec![Binding::key(RETRY, &tier_key(tier))],
                dead_letter: Some((RETRY_RETURN.to_owned(), None)),
                message_ttl: Some(tier),
                ..QueueSpec::default()
            });
        }
        for s in &settings.subscribers {
            topology.add_consumer_queue(
                &delivery_queue(&s.name),
                settings.broker.delivery_limit,
                Binding::key(ASSOCIATIONS, "association.#"),
                Facing::Hub,
            );
            if let Channel::Queue { queue } = &s.channel {
                topology.queues.push(QueueSpec {
                    name: queue.clone(),
                    bindings: vec![Binding::key(SUBSCRIBERS, &s.name)],
                    ..QueueSpec::default()
                });
            }
            if s.municipality.is_some() {
                topology.add_consumer_queue(
                    &command_queue(&s.name),
                    settings.broker.delivery_limit,
                    Binding::key(COMMANDS, &format!("{}.#", s.name)),
                    Facing::Partner,
                );
                topology.queues.push(QueueSpec {
                    name: reply_queue(&s.name),
                    bindings: vec![Binding::key(REPLIES, &s.name)],
                    ..QueueSpec::default()
                });
            }
        }
        if !settings.services.is_empty() {
            topology.add_consumer_queue(
                APPLICATION_INTAKE,
                settings.broker.delivery_limit,
                Binding::key(APPLICATIONS, contracts::applications::APPLICATION_SUBMITTED),
                Facing::Partner,
            );
            topology.queues.push(QueueSpec {
                name: LOKET_APPLICATIONS.to_owned(),
                bindings: vec![Binding::key(
                    APPLICATIONS,
                    contracts::applications::APPLICATION_STATUS_CHANGED,
                )],
                ..QueueSpec::default()
            });
            // A municipality providing a service reads its applications from its own queue
            // and answers on hub.applications.
            let mut providing: Vec<&str> = settings
                .services
                .iter()
                .filter_map(|s| match &s.provider {
                    crate::catalogue::ProviderRef::Municipality(name) => Some(name.as_str()),
                    _ => None,
                })
                .collect();
            providing.sort_unstable();
            providing.dedup();
            for name in providing {
                topology.queues.push(QueueSpec {
                    name: municipal_applications_queue(name),
                    bindings: vec![Binding::key(
                        APPLICATIONS,
                        &format!("provider.municipality:{name}"),
                    )],
                    ..QueueSpec::default()
                });
                topology.add_consumer_queue(
                    &municipal_status_queue(name),
                    settings.broker.delivery_limit,
                    Binding::key(
                        APPLICATIONS,
                        &format!("municipality.{name}.application-status"),
                    ),
                    Facing::Partner,
                );
            }
            for provider in settings.providers.names() {
                topology.add_consumer_queue(
                    &provider_queue(&provider),
                    settings.broker.delivery_limit,
                    Binding::key(APPLICATIONS, &format!("provider.{provider}")),
                    Facing::Hub,
                );
            }
        }
        topology
    }

    /// A queue the hub consumes: with a binding of `hub.dead-letters` for its dead letters, a
    /// delivery limit, and a way back from the retry tiers. The broker's dead letters of a
    /// partner-facing queue go to the quarantine instead: they may be unparseable.
    fn add_consumer_queue(
        &mut self,
        name: &str,
        delivery_limit: u32,
        source: Binding,
        facing: Facing,
    ) {
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
        t.add_consumer_queue("in", 5, Binding::key(COMMANDS, "a.#"), Facing::Partner);
        t.add_consumer_queue("own", 5, Binding::key(ASSOCIATIONS, "#"), Facing::Hub);
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
