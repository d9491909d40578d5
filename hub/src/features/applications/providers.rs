//! The provider kinds the hub knows, and the provider instances a configuration declares.
//!
//! A kind ([`adapter_provider::ProviderKind`], defined by its adapter crate) brings its
//! settings type, their checks and the adapter's `build`. [`ProviderKinds::standard`] is
//! the one list of the kinds the hub ships: adding a provider is an adapter crate with its
//! kind, a simulator (`partner_sims::providers`) and one line there. A configuration
//! declares instances, each `[providers.<name>]` with `kind = "<kind>"` and the kind's own
//! keys; `config.rs` reads them through [`ProviderKinds::configure`] and services name an
//! instance (`provider = "<name>"`).
//!
//! Invariant: nothing outside this list names a provider kind; the rest of the hub sees
//! [`ProviderInstance`]s (a name, a kind's name, settings that passed the kind's checks)
//! and the [`Provider`]s built from them.

use std::fmt;
use std::sync::Arc;

use adapter_provider::{Provider, ProviderKind, SettingProblem};

use crate::runtime::registry::Registry;

/// The kinds a configuration may name.
#[derive(Clone)]
pub struct ProviderKinds {
    kinds: Registry<dyn AnyKind>,
}

impl ProviderKinds {
    /// The kinds the hub ships. **The one list a new provider kind is added to.**
    pub fn standard() -> Self {
        ProviderKinds::none()
            .with(adapter_kiosk::KioskKind)
            .with(adapter_uldk::UldkKind)
            .with(adapter_insurance::InsuranceKind)
    }

    /// No kinds at all.
    pub fn none() -> Self {
        ProviderKinds {
            kinds: Registry::new(),
        }
    }

    /// These kinds and `kind` (which replaces one of the same name).
    pub fn with<K: ProviderKind>(mut self, kind: K) -> Self {
        self.kinds
            .insert(kind.name(), Arc::new(Kind(Arc::new(kind))));
        self
    }

    /// The kinds' names, in list order.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.names()
    }

    /// The kind's place in the list (instances are listed in that order).
    pub(crate) fn position(&self, kind: &str) -> Option<usize> {
        self.kinds.position(kind)
    }

    /// Instance `name` of `kind` from its settings (the instance's table without `kind`):
    /// deserialised into the kind's settings type and checked by the kind. `None` for an
    /// unknown kind; problems carry keys relative to the instance's table.
    pub(crate) fn configure(
        &self,
        name: &str,
        kind: &str,
        settings: config::Value,
    ) -> Option<Result<ProviderInstance, Vec<SettingProblem>>> {
        let (kind, found) = self.kinds.get(kind)?;
        Some(found.configure(settings).map(|settings| ProviderInstance {
            name: name.to_owned(),
            kind,
            settings,
        }))
    }
}

impl Default for ProviderKinds {
    fn default() -> Self {
        ProviderKinds::standard()
    }
}

impl fmt::Debug for ProviderKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kinds.fmt(f)
    }
}

/// One configured provider: `[providers.<name>]`, of a known kind, its settings checked.
#[derive(Clone, Debug)]
pub struct ProviderInstance {
    /// What services name (`provider = "<name>"`); also names its queue
    /// `hub.provider.<name>`.
    pub name: String,
    /// Its kind's [`ProviderKind::name`].
    pub kind: &'static str,
    settings: Arc<dyn Configured>,
}

impl ProviderInstance {
    /// The instance's adapter.
    pub fn build(&self) -> Result<Arc<dyn Provider>, String> {
        self.settings.build()
    }

    /// The HTTP endpoint it calls, if its kind has one.
    pub fn endpoint(&self) -> Option<&str> {
        self.settings.endpoint()
    }
}

/// A [`ProviderKind`] with its settings type erased.
trait AnyKind: Send + Sync {
    fn configure(
        &self,
        settings: config::Value,
    ) -> Result<Arc<dyn Configured>, Vec<SettingProblem>>;
}

/// One instance's checked settings, with the kind that reads them.
trait Configured: fmt::Debug + Send + Sync {
    fn build(&self) -> Result<Arc<dyn Provider>, String>;
    fn endpoint(&self) -> Option<&str>;
}

struct Kind<K>(Arc<K>);

impl<K: ProviderKind> AnyKind for Kind<K> {
    fn configure(
        &self,
        settings: config::Value,
    ) -> Result<Arc<dyn Configured>, Vec<SettingProblem>> {
        let config: K::Config = settings
            .try_deserialize()
            .map_err(|e| vec![SettingProblem::at("", crate::config::type_problem(&e))])?;
        let problems = self.0.validate(&config);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Arc::new(Instance {
            kind: self.0.clone(),
            config,
        }))
    }
}

struct Instance<K: ProviderKind> {
    kind: Arc<K>,
    config: K::Config,
}

impl<K: ProviderKind> Configured for Instance<K> {
    fn build(&self) -> Result<Arc<dyn Provider>, String> {
        self.kind.build(&self.config)
    }

    fn endpoint(&self) -> Option<&str> {
        self.kind.endpoint(&self.config)
    }
}

impl<K: ProviderKind> fmt::Debug for Instance<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.config.fmt(f)
    }
}
