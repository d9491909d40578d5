//! The channel kinds the hub knows, and a subscriber's configured channel.
//!
//! A kind ([`ChannelKind`]) brings its settings type (the channel's table without `kind`,
//! unknown keys refused), their checks, the queues it needs and its `build`.
//! [`ChannelKinds::standard`] is the one list of them: a new channel kind is a module under
//! `channels/` and one line there. A subscriber names its channel's kind
//! (`channel = { kind = "http", url = "..." }`; none: `queue`), and `config.rs` reads it
//! through [`ChannelKinds::configure`]; the rest of the hub sees a [`ChannelInstance`].

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::Channel;
use crate::config::{Problem, Problems};
use crate::runtime::broker::{Broker, Topology};
use crate::runtime::registry::Registry;

/// Whose channel is configured.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// The subscriber's name.
    pub name: &'a str,
    /// A municipality's OVO code (`None` for a generic subscriber).
    pub ovo_code: Option<&'a str>,
}

/// What a channel is built with: whose it is (the subscriber's name) and the hub's broker.
#[derive(Clone, Copy)]
pub struct Wiring<'a> {
    pub owner: &'a str,
    pub broker: &'a Arc<dyn Broker>,
}

/// A kind of subscriber channel.
pub trait ChannelKind: Send + Sync + 'static {
    /// One channel's settings as configured (its table without `kind`). Refuse unknown keys.
    type Settings: DeserializeOwned + fmt::Debug + Clone + Send + Sync + 'static;

    /// What a configuration writes as `kind`.
    fn name(&self) -> &'static str;

    /// Every problem of the settings, each at its key within the channel's table; fills in
    /// what defaults to the owner (its queue's name, its OVO code).
    fn validate(&self, settings: &mut Self::Settings, owner: Owner<'_>) -> Vec<Problem>;

    /// The queues the channel needs besides the hub's own (declared with the topology).
    fn declare(&self, settings: &Self::Settings, owner: &str, topology: &mut Topology) {
        let _ = (settings, owner, topology);
    }

    /// The channel of settings that [`ChannelKind::validate`] accepted.
    fn build(
        &self,
        settings: &Self::Settings,
        wiring: Wiring<'_>,
    ) -> Result<Arc<dyn Channel>, String>;
}

/// A kind's reading of one channel's table, its settings type erased (see [`configure`]).
type Configure =
    dyn Fn(&mut Problems, &str, config::Value, Owner<'_>) -> Option<ChannelInstance> + Send + Sync;

/// The kinds a configuration may name.
#[derive(Clone)]
pub struct ChannelKinds {
    kinds: Registry<Configure>,
}

impl ChannelKinds {
    /// The kinds the hub ships. **The one list a new channel kind is added to.**
    pub fn standard() -> Self {
        ChannelKinds {
            kinds: Registry::new(),
        }
        .with(super::queue::QueueKind)
        .with(super::http::HttpKind)
        .with(super::soap::SoapKind)
    }

    fn with<K: ChannelKind>(mut self, kind: K) -> Self {
        let name = kind.name();
        let kind = Arc::new(kind);
        let read: Arc<Configure> =
            Arc::new(move |p, at, settings, owner| configure(&kind, p, at, settings, owner));
        self.kinds.insert(name, read);
        self
    }

    /// The kinds' names, in list order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.names()
    }

    /// The channel at key `at` of kind `kind` (a known one) from the rest of its table,
    /// every problem reported to `p`; `None` when it has problems.
    pub(crate) fn configure(
        &self,
        p: &mut Problems,
        at: &str,
        kind: &str,
        settings: config::Value,
        owner: Owner<'_>,
    ) -> Option<ChannelInstance> {
        let (_, read) = self.kinds.get(kind)?;
        read(p, at, settings, owner)
    }

    /// The channel of a subscriber that names none: its own queue.
    pub fn default_channel(&self, owner: Owner<'_>) -> ChannelInstance {
        ChannelInstance::new(
            super::queue::QueueKind,
            super::queue::QueueSettings::of(owner),
        )
    }
}

impl fmt::Debug for ChannelKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kinds.fmt(f)
    }
}

/// A subscriber's channel: of a known kind, its settings checked.
#[derive(Clone, Debug)]
pub struct ChannelInstance {
    /// Its kind's [`ChannelKind::name`].
    pub kind: &'static str,
    settings: Arc<dyn Configured>,
}

impl ChannelInstance {
    /// A channel of `kind` with settings it accepted.
    pub fn new<K: ChannelKind>(kind: K, settings: K::Settings) -> ChannelInstance {
        ChannelInstance::of(Arc::new(kind), settings)
    }

    fn of<K: ChannelKind>(kind: Arc<K>, settings: K::Settings) -> ChannelInstance {
        ChannelInstance {
            kind: kind.name(),
            settings: Arc::new(Instance { kind, settings }),
        }
    }

    /// Declares the queues the channel needs.
    pub fn declare(&self, owner: &str, topology: &mut Topology) {
        self.settings.declare(owner, topology);
    }

    /// The channel, ready to deliver.
    pub fn build(&self, owner: &str, broker: &Arc<dyn Broker>) -> Result<Arc<dyn Channel>, String> {
        self.settings.build(owner, broker)
    }

    /// The settings, when they are of type `T` (the kind's `Settings`).
    pub fn settings<T: 'static>(&self) -> Option<&T> {
        self.settings.as_any().downcast_ref()
    }
}

/// One channel's checked settings, with the kind that reads them.
trait Configured: fmt::Debug + Send + Sync {
    fn declare(&self, owner: &str, topology: &mut Topology);
    fn build(&self, owner: &str, broker: &Arc<dyn Broker>) -> Result<Arc<dyn Channel>, String>;
    fn as_any(&self) -> &dyn Any;
}

/// The channel of `kind` at key `at` from the rest of its table, its settings checked by the
/// kind; `None` when it has problems (reported to `p`).
fn configure<K: ChannelKind>(
    kind: &Arc<K>,
    p: &mut Problems,
    at: &str,
    settings: config::Value,
    owner: Owner<'_>,
) -> Option<ChannelInstance> {
    let mut settings: K::Settings = p.collect(at, settings)?;
    let problems = kind.validate(&mut settings, owner);
    if !problems.is_empty() {
        for problem in problems {
            p.push(format!("{at}.{}", problem.key), problem.message);
        }
        return None;
    }
    Some(ChannelInstance::of(kind.clone(), settings))
}

struct Instance<K: ChannelKind> {
    kind: Arc<K>,
    settings: K::Settings,
}

impl<K: ChannelKind> Configured for Instance<K> {
    fn declare(&self, owner: &str, topology: &mut Topology) {
        self.kind.declare(&self.settings, owner, topology);
    }

    fn build(&self, owner: &str, broker: &Arc<dyn Broker>) -> Result<Arc<dyn Channel>, String> {
        self.kind.build(&self.settings, Wiring { owner, broker })
    }

    fn as_any(&self) -> &dyn Any {
        &self.settings
    }
}

impl<K: ChannelKind> fmt::Debug for Instance<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.settings.fmt(f)
    }
}
