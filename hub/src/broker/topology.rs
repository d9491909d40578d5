//! The hub's RabbitMQ topology, derived from configuration and declared idempotently on
//! every (re)connection.
//!
//! ```text
//! hub.associations (topic) --association.#--> hub.deliver.<subscriber> (quorum)   [one per subscriber]
//! hub.subscribers  (direct) --<subscriber>--> <subscriber's queue>   (quorum)
//! unroutable on either exchange --> hub.unrouted (fanout) --> hub.unrouted (quorum)
//! rejected from hub.deliver.<s> --> hub.dead (direct) --> hub.dead.hub.deliver.<s> (quorum)
//! ```

use crate::config::Settings;

pub const ASSOCIATIONS: &str = "hub.associations";
pub const SUBSCRIBERS: &str = "hub.subscribers";
pub const UNROUTED: &str = "hub.unrouted";
pub const DEAD: &str = "hub.dead";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeKind {
    Topic,
    Direct,
    Fanout,
}

#[derive(Debug, Clone)]
pub struct ExchangeSpec {
    pub name: String,
    pub kind: ExchangeKind,
    /// Where messages no queue is bound for go instead of vanishing.
    pub alternate: Option<String>,
}

#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub name: String,
    pub bindings: Vec<(String, String)>,
    /// Dead-letter exchange and routing key for rejected deliveries.
    pub dead_letter: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub exchanges: Vec<ExchangeSpec>,
    pub queues: Vec<QueueSpec>,
}

/// The hub's own consuming queue for a subscriber.
pub fn delivery_queue(subscriber: &str) -> String {
    format!("hub.deliver.{subscriber}")
}

pub fn dead_letter_queue(queue: &str) -> String {
    format!("hub.dead.{queue}")
}

impl Topology {
    pub fn for_settings(settings: &Settings) -> Topology {
        let exchange = |name: &str, kind, alternate: bool| ExchangeSpec {
            name: name.to_owned(),
            kind,
            alternate: alternate.then(|| UNROUTED.to_owned()),
        };
        let mut topology = Topology {
            exchanges: vec![
                exchange(UNROUTED, ExchangeKind::Fanout, false),
                exchange(DEAD, ExchangeKind::Direct, false),
                exchange(ASSOCIATIONS, ExchangeKind::Topic, true),
                exchange(SUBSCRIBERS, ExchangeKind::Direct, true),
            ],
            queues: vec![QueueSpec {
                name: UNROUTED.to_owned(),
                bindings: vec![(UNROUTED.to_owned(), String::new())],
                dead_letter: None,
            }],
        };
        for s in &settings.subscribers {
            let deliver = delivery_queue(&s.name);
            topology.queues.push(QueueSpec {
                name: dead_letter_queue(&deliver),
                bindings: vec![(DEAD.to_owned(), deliver.clone())],
                dead_letter: None,
            });
            topology.queues.push(QueueSpec {
                name: deliver.clone(),
                bindings: vec![(ASSOCIATIONS.to_owned(), "association.#".to_owned())],
                dead_letter: Some((DEAD.to_owned(), deliver)),
            });
            topology.queues.push(QueueSpec {
                name: s.queue.clone(),
                bindings: vec![(SUBSCRIBERS.to_owned(), s.name.clone())],
                dead_letter: None,
            });
        }
        topology
    }
}
