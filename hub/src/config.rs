//! Layered configuration: `config/default.toml`, then the environment's file
//! (`config/<HUB_ENV>.toml`, optional), then an explicit `--config FILE`, then `HUB__SECTION__KEY`
//! environment variables, then programmatic overrides (tests).
//!
//! How it is read. The `config` crate merges the layers into one tree; each section of it is
//! then deserialised on its own with serde: `[http]` into [`HttpSettings`], `[retry]` into
//! [`RetrySettings`], each `[[subscribers]]` entry into a private entry type, and so on. Every
//! type refuses unknown keys (`deny_unknown_fields`). A key is one field: its doc comment,
//! its default (`#[default(...)]`, the same value as in `default.toml`; a URL or credential
//! has none, and `load_with` reports it `missing`) and its rule (`deserialize_with = "de::positive"`,
//! the functions in `de`). A `kind`-tagged table (a channel, `[providers.<name>]`) is read
//! in two steps: `kind` picks the type the rest of the table deserialises into.
//!
//! Every problem is reported at once, each with its key path (`register.poll_interval`,
//! `subscribers[0].channel.timeout`). serde stops at a section's first error, so
//! `Problems::collect` reports it where `serde_path_to_error` places it, prunes the value
//! that caused it and deserialises the section again: one bad value hides neither the other
//! sections' problems nor the rest of its own. A validation pass then checks what no single
//! field can: names unique across both lists, territories not empty, `base` not above `cap`,
//! services naming declared providers. Secrets are read into `SecretString` and never
//! appear in a message.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use adapter_subscriber::{FieldPolicy, Selector};

use crate::features::applications::catalogue::{
    is_code, ProviderRef, ServiceCatalogue, ServiceDefinition,
};
use crate::features::applications::providers::{ProviderInstance, ProviderKinds};
use crate::features::register_sync::channels::{ChannelInstance, ChannelKinds, Owner};
use config::{Config, Environment, File, Map, Value, ValueKind};
use contracts::ids::IdError;
use contracts::territory::{Territory, TerritoryPart};
use contracts::{OvoCode, Postcode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use smart_default::SmartDefault;

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub register: RegisterSettings,
    pub subscribers: Vec<SubscriberSettings>,
    /// `[retry]`: the default of every consumer (subscribers and municipalities may
    /// override it).
    pub retry: RetrySettings,
    /// The service catalogue (`[[services]]`).
    pub services: ServiceCatalogue,
    /// The provider instances (`[providers.<name>]`, each of a kind).
    pub providers: ProviderSettings,
    pub applications: ApplicationSettings,
    /// How long a stopping hub waits for in-flight work before it returns it.
    pub shutdown_grace: Duration,
}

impl Settings {
    /// The subscribers that are municipalities (with a territory, commands and replies).
    pub fn municipalities(&self) -> impl Iterator<Item = &SubscriberSettings> {
        self.subscribers.iter().filter(|s| s.municipality.is_some())
    }
}

/// `[http]`.
#[derive(Debug, Clone, SmartDefault, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    #[default(SocketAddr::from(([127, 0, 0, 1], 8080)))]
    #[serde(deserialize_with = "de::parsed")]
    pub listen: SocketAddr,
    /// When set, `/admin/*` requires `Authorization: Bearer <token>`.
    #[serde(deserialize_with = "de::optional_secret")]
    pub admin_token: Option<SecretString>,
    /// A client must send a request's whole head (request line and headers) within this,
    /// or the connection is closed (idle keep-alive connections included).
    #[default(Duration::from_secs(10))]
    #[serde(deserialize_with = "de::duration")]
    pub header_read_timeout: Duration,
    /// A request (its body read and its answer made) taking longer gets 503.
    #[default(Duration::from_secs(30))]
    #[serde(deserialize_with = "de::duration")]
    pub request_timeout: Duration,
    /// A request body larger than this gets 413.
    #[default(1024 * 1024)]
    #[serde(deserialize_with = "de::positive")]
    pub max_body_bytes: usize,
    /// Requests handled at once (health, readiness and metrics not counted); more get 503.
    #[default(256)]
    #[serde(deserialize_with = "de::positive")]
    pub max_concurrent_requests: usize,
}

/// `[database]`.
#[derive(Debug, Clone, SmartDefault, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Required (no default): `postgres://` or `postgresql://`.
    #[serde(deserialize_with = "de::postgres_url")]
    pub url: SecretString,
    #[default(10)]
    #[serde(deserialize_with = "de::positive")]
    pub max_connections: u32,
    #[default(Duration::from_secs(5))]
    #[serde(deserialize_with = "de::duration")]
    pub connect_timeout: Duration,
    /// Published outbox messages, inbox entries and resolved dead letters are deleted
    /// after this long.
    #[default(Duration::from_secs(7 * 24 * 3600))]
    #[serde(deserialize_with = "de::duration")]
    pub outbox_retention: Duration,
}

/// `[broker]`.
#[derive(Debug, Clone, SmartDefault, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrokerSettings {
    /// Required (no default): `amqp://` or `amqps://`.
    #[serde(deserialize_with = "de::amqp_url")]
    pub url: SecretString,
    /// Unacknowledged deliveries per consumer.
    #[default(500)]
    #[serde(deserialize_with = "de::positive")]
    pub prefetch: u16,
    /// Unacknowledged deliveries of all subscriber consumers together (see
    /// [`BrokerSettings::subscriber_prefetch`]).
    #[default(10_000)]
    #[serde(deserialize_with = "de::positive")]
    pub prefetch_budget: u32,
    /// Upper bound of the wait between reconnection attempts.
    #[default(Duration::from_secs(30))]
    #[serde(deserialize_with = "de::duration")]
    pub reconnect_max_delay: Duration,
    /// Deliveries of one message after which the broker dead-letters it (a consumer that
    /// crashes on it every time cannot loop forever).
    #[default(20)]
    #[serde(deserialize_with = "de::positive")]
    pub delivery_limit: u32,
    /// The largest message body the hub publishes; a larger one is refused before the
    /// broker sees it (and set aside by the relays).
    #[default(16 * 1024 * 1024)]
    #[serde(deserialize_with = "de::positive")]
    pub max_message_bytes: usize,
    /// How long a publish waits for its confirms, and a consumer's set-up for its replies,
    /// before the hub takes the connection for lost and connects again.
    #[default(Duration::from_secs(30))]
    #[serde(deserialize_with = "de::duration")]
    pub round_trip_timeout: Duration,
    /// RabbitMQ's management API (`http://user:password@host:15672`), through which
    /// `hub quarantine` reads the quarantine; `None` (left out or empty): listing is
    /// unavailable.
    #[serde(deserialize_with = "de::management_url")]
    pub management_url: Option<SecretString>,
}

/// The smallest prefetch a subscriber consumer gets, however many subscribers share the
/// budget: below it batches get too small to amortise their transaction.
pub const MIN_SUBSCRIBER_PREFETCH: u16 = 16;

impl BrokerSettings {
    /// Each of `subscribers` consumers' prefetch: an equal share of the budget, at most
    /// `prefetch`, at least [`MIN_SUBSCRIBER_PREFETCH`]. Bounds the deliveries (whole
    /// snapshots) held in memory at once, whatever the number of subscribers.
    pub fn subscriber_prefetch(&self, subscribers: usize) -> u16 {
        let share = self.prefetch_budget / u32::try_from(subscribers.max(1)).unwrap_or(u32::MAX);
        u16::try_from(share).unwrap_or(u16::MAX).clamp(
            MIN_SUBSCRIBER_PREFETCH,
            self.prefetch.max(MIN_SUBSCRIBER_PREFETCH),
        )
    }
}

/// `[register]`.
#[derive(Debug, Clone, SmartDefault, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterSettings {
    /// Required (no default), http(s).
    #[serde(deserialize_with = "de::http_url")]
    pub base_url: String,
    /// Required (no default), http(s).
    #[serde(deserialize_with = "de::http_url")]
    pub token_url: String,
    /// Required (no default).
    #[serde(deserialize_with = "de::non_empty")]
    pub client_id: String,
    /// Required (no default).
    #[serde(deserialize_with = "de::secret")]
    pub client_secret: SecretString,
    pub scope: String,
    #[default(Duration::from_secs(5))]
    #[serde(deserialize_with = "de::duration")]
    pub poll_interval: Duration,
    /// `None` (`"off"`): no scheduled full resync (it can still be triggered).
    #[default(Some(Duration::from_secs(24 * 3600)))]
    #[serde(deserialize_with = "de::optional_duration")]
    pub resync_interval: Option<Duration>,
    /// Detail documents fetched at once.
    #[default(8)]
    #[serde(deserialize_with = "de::positive")]
    pub concurrency: usize,
    /// Changes committed per database transaction.
    #[default(100)]
    #[serde(deserialize_with = "de::positive")]
    pub batch_size: usize,
    #[default(Duration::from_secs(10))]
    #[serde(deserialize_with = "de::duration")]
    pub timeout: Duration,
}

/// One adapter instance that receives association data: a generic subscriber
/// (`[[subscribers]]`) or a municipality (`[[municipalities]]`).
#[derive(Debug, Clone)]
pub struct SubscriberSettings {
    pub name: String,
    pub selector: Selector,
    pub fields: FieldPolicy,
    pub channel: ChannelInstance,
    pub retry: RetrySettings,
    /// Set for a municipality: it is told when an association enters or leaves its
    /// territory, and may send commands to the register.
    pub municipality: Option<MunicipalitySettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MunicipalitySettings {
    /// Acts as `VR-Initiator` on the municipality's commands to the register.
    pub ovo_code: String,
}

/// The provider instances configured (`[providers.<name>]`); a service may only name a
/// configured one. In the order of the kinds' list, instances of one kind by name.
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    instances: Vec<ProviderInstance>,
}

impl ProviderSettings {
    /// The instances' names.
    pub fn names(&self) -> Vec<String> {
        self.instances.iter().map(|p| p.name.clone()).collect()
    }

    pub fn get(&self, name: &str) -> Option<&ProviderInstance> {
        self.instances.iter().find(|p| p.name == name)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ProviderInstance> {
        self.instances.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }
}

/// `[applications]`.
#[derive(Debug, Clone, SmartDefault, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationSettings {
    /// How often the leader asks the providers where open applications stand.
    #[default(Duration::from_secs(30))]
    #[serde(deserialize_with = "de::duration")]
    pub poll_interval: Duration,
}

/// Retries with exponential backoff and full jitter: attempt `n` waits a random time up
/// to `min(cap, base * 2^(n-1))`; after `max_attempts` the message is dead-lettered.
/// `[retry]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, SmartDefault, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    #[default(Duration::from_millis(500))]
    #[serde(deserialize_with = "de::duration")]
    pub base: Duration,
    #[default(Duration::from_secs(60))]
    #[serde(deserialize_with = "de::duration")]
    pub cap: Duration,
    #[default(8)]
    #[serde(deserialize_with = "de::positive")]
    pub max_attempts: u32,
}

/// The top level's own keys (the sections are read apart).
#[derive(SmartDefault, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TopLevel {
    #[default(Duration::from_secs(10))]
    #[serde(deserialize_with = "de::duration")]
    shutdown_grace: Duration,
}

/// A `[[subscribers]]` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriberEntry {
    name: String,
    /// Required; optional here so that a bad one is pruned without losing the entry's
    /// other problems.
    #[serde(default)]
    selector: Option<SelectorEntry>,
    #[serde(default)]
    fields: FieldPolicy,
    /// Read by [`channel`], through the channel kinds.
    #[serde(default)]
    channel: Option<Value>,
    #[serde(default)]
    retry: RetryOverride,
}

/// A `[[municipalities]]` entry. Its OVO code and territory are optional here so that a
/// bad one is pruned without losing the entry's other problems; leaving one out is a
/// problem of the validation pass.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MunicipalityEntry {
    name: String,
    #[serde(default, deserialize_with = "de::some_from_str")]
    ovo_code: Option<OvoCode>,
    #[serde(default)]
    territory: Option<Territory>,
    #[serde(default)]
    fields: FieldPolicy,
    /// Read by [`channel`], through the channel kinds.
    #[serde(default)]
    channel: Option<Value>,
    #[serde(default)]
    retry: RetryOverride,
}

/// A subscriber's selector as configured ([`Selector`], its postcodes checked).
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum SelectorEntry {
    // A struct variant, so that serde refuses other keys beside `kind`.
    All {},
    Postcodes {
        #[serde(default)]
        postcodes: Postcodes,
    },
    Territory {
        #[serde(default)]
        postcodes: Postcodes,
        #[serde(default)]
        werkingsgebieden: Vec<String>,
    },
}

/// A list of postcodes. One that is not a postcode is kept aside rather than failing the
/// list, so that the validation pass reports each at the list's key (serde cannot place
/// an error inside a `kind`-tagged selector).
#[derive(Debug, Default)]
struct Postcodes {
    valid: Vec<Postcode>,
    invalid: Vec<IdError>,
}

impl<'de> Deserialize<'de> for Postcodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut list = Postcodes::default();
        for raw in Vec::<String>::deserialize(d)? {
            match raw.parse::<Postcode>() {
                Ok(p) => list.valid.push(p),
                Err(e) => list.invalid.push(e),
            }
        }
        Ok(list)
    }
}

impl Postcodes {
    fn strings(&self) -> Vec<String> {
        self.valid.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

/// A subscriber's `retry`: what it sets of `[retry]`.
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RetryOverride {
    #[serde(deserialize_with = "de::some_duration")]
    base: Option<Duration>,
    #[serde(deserialize_with = "de::some_duration")]
    cap: Option<Duration>,
    #[serde(deserialize_with = "de::some_positive")]
    max_attempts: Option<u32>,
}

/// Where configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Directory holding `default.toml` and the environment files.
    pub dir: PathBuf,
    /// Environment name (`config/<env>.toml`); usually from `HUB_ENV`.
    pub env: Option<String>,
    /// An extra file, applied after the environment's file.
    pub file: Option<PathBuf>,
    /// Key/value overrides applied last (dotted keys, e.g. `database.url`).
    pub overrides: Vec<(String, String)>,
    /// Read `HUB__…` environment variables (off in tests, so the machine cannot leak in).
    pub environment_variables: bool,
}

impl Sources {
    pub fn from_dir(dir: impl Into<PathBuf>) -> Self {
        Sources {
            dir: dir.into(),
            environment_variables: true,
            ..Sources::default()
        }
    }
}

/// One problem, at one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Every problem found, section by section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Problem>);

impl ConfigErrors {
    /// Each problem as (key, message), in the order found.
    pub fn problems(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|p| (p.key.as_str(), p.message.as_str()))
            .collect()
    }

    /// The message of the first problem at `key` ("" when there is none).
    pub fn message(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|p| p.key == key)
            .map_or("", |p| p.message.as_str())
    }

    /// Those of `keys` that no problem is at.
    pub fn unreported<'k>(&self, keys: &[&'k str]) -> Vec<&'k str> {
        keys.iter()
            .copied()
            .filter(|key| !self.0.iter().any(|p| p.key == *key))
            .collect()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} configuration problem(s):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  {}: {}", p.key, p.message)?;
        }
        Ok(())
    }
}

/// Loads and checks the configuration, with the hub's provider kinds
/// ([`ProviderKinds::standard`]).
pub fn load(sources: &Sources) -> Result<Settings, ConfigErrors> {
    load_with(sources, &ProviderKinds::standard())
}

/// As [`load`], `[providers.<name>]` naming one of `kinds`.
pub fn load_with(sources: &Sources, kinds: &ProviderKinds) -> Result<Settings, ConfigErrors> {
    let mut top = build(sources)?
        .try_deserialize::<Map<String, Value>>()
        .map_err(|e| one_problem("(files)", type_problem(&e)))?;
    let mut p = Problems::default();
    let http: HttpSettings = p.section(&mut top, "http");
    let database: DatabaseSettings = p.section(&mut top, "database");
    let broker: BrokerSettings = p.section(&mut top, "broker");
    let register: RegisterSettings = p.section(&mut top, "register");
    let retry: RetrySettings = p.section(&mut top, "retry");
    let applications: ApplicationSettings = p.section(&mut top, "applications");
    p.required("database.url", database.url.expose_secret());
    p.required("broker.url", broker.url.expose_secret());
    p.required("register.base_url", &register.base_url);
    p.required("register.token_url", &register.token_url);
    p.required("register.client_id", &register.client_id);
    p.required(
        "register.client_secret",
        register.client_secret.expose_secret(),
    );
    let subscribers = subscribers(
        &mut p,
        top.remove("subscribers"),
        top.remove("municipalities"),
        retry,
    );
    let (providers, declared) = providers(&mut p, top.remove("providers"), kinds);
    let services = services(&mut p, top.remove("services"), &declared, &subscribers);
    // What is left is the top level's own keys, and unknown ones.
    let top_level: TopLevel = p
        .collect("", Value::new(None, ValueKind::Table(top)))
        .unwrap_or_default();
    if !p.0.is_empty() {
        return Err(ConfigErrors(p.0));
    }
    Ok(Settings {
        http,
        database,
        broker,
        register,
        subscribers,
        retry,
        services,
        providers,
        applications,
        shutdown_grace: top_level.shutdown_grace,
    })
}

fn build(sources: &Sources) -> Result<Config, ConfigErrors> {
    let mut builder = Config::builder().add_source(File::from(sources.dir.join("default.toml")));
    if let Some(env) = &sources.env {
        builder =
            builder.add_source(File::from(sources.dir.join(format!("{env}.toml"))).required(false));
    }
    if let Some(file) = &sources.file {
        builder = builder.add_source(File::from(file.clone()));
    }
    if sources.environment_variables {
        builder = builder.add_source(
            Environment::with_prefix("HUB")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
    }
    for (key, value) in &sources.overrides {
        builder = builder
            .set_override(key.as_str(), value.as_str())
            .map_err(|e| one_problem(key, e.to_string()))?;
    }
    builder
        .build()
        .map_err(|e| one_problem("(files)", e.to_string()))
}

fn one_problem(key: &str, message: String) -> ConfigErrors {
    ConfigErrors(vec![Problem {
        key: key.to_owned(),
        message,
    }])
}

/// The problems found so far, and the deserialisation that finds them.
#[derive(Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.into(),
            message: message.into(),
        });
    }

    /// Whether a problem was reported at `key` or below it.
    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|p| is_at_or_below(&p.key, key))
    }

    /// "missing" unless `value` is set.
    fn required(&mut self, key: &str, value: &str) {
        if value.is_empty() {
            self.missing(key);
        }
    }

    /// "missing", unless the key has a problem already (its value was refused).
    fn missing(&mut self, key: &str) {
        if !self.has(key) {
            self.push(key, "missing");
        }
    }

    /// Section `name` of the top level, taken out of it (absent: the type's defaults).
    fn section<T: DeserializeOwned + Default>(
        &mut self,
        top: &mut Map<String, Value>,
        name: &str,
    ) -> T {
        match top.remove(name) {
            Some(value) => self.collect(name, value).unwrap_or_default(),
            None => T::default(),
        }
    }

    /// `value` (at key `at`) deserialised into `T`, every problem reported. A serde error
    /// stops at the first one, so each round reports it where `serde_path_to_error` places
    /// it, prunes the value that caused it (a missing field: the table that lacks it; an
    /// array's element: the array, so that later indices stay right) and tries again; each
    /// round removes a node, so it ends. `None` when even the pruned value fails (a
    /// required field missing at the top of `value`).
    pub(crate) fn collect<T: DeserializeOwned>(&mut self, at: &str, mut value: Value) -> Option<T> {
        let mut found: Vec<Problem> = Vec::new();
        let result = loop {
            let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
                Ok(v) => break Some(v),
                Err(e) => e,
            };
            let message = type_problem(error.inner());
            // A step serde_path_to_error could not name (a non-string key): report at `at`.
            let Some(mut path) = error
                .path()
                .iter()
                .map(Step::of)
                .collect::<Option<Vec<_>>>()
            else {
                found.push(Problem {
                    key: at.to_owned(),
                    message,
                });
                break None;
            };
            let missing = match error.inner() {
                // config's own word for a missing field, the field after the keys it passed.
                config::ConfigError::NotFound(field) => field.rsplit(['.', ']']).next(),
                _ => missing_field(&message),
            };
            let (key, message, prune) = if let Some(field) = missing {
                let mut key = path.clone();
                key.push(Step::Key(field.to_owned()));
                (key, "missing".to_owned(), path)
            } else if let Some(field) = unknown_field(&message) {
                // Inside a `kind`-tagged table serde places the error at the table.
                if path.last() != Some(&Step::Key(field.to_owned())) {
                    path.push(Step::Key(field.to_owned()));
                }
                (path.clone(), "unknown key".to_owned(), path)
            } else {
                let key = path.clone();
                if matches!(path.last(), Some(Step::Index(_))) {
                    path.pop();
                }
                (key, message, path)
            };
            let key = join(at, &key);
            if !found.iter().any(|p| is_at_or_below(&p.key, &key)) {
                found.push(Problem { key, message });
            }
            if prune.is_empty() || !remove(&mut value, &prune) {
                break None;
            }
        };
        // The tables' key order is the merge's (a hash map): report in key order.
        found.sort_by(|a, b| a.key.cmp(&b.key));
        self.0.extend(found);
        result
    }

    /// The entries of an array of tables (`subscribers`), each with its key
    /// (`subscribers[0]`).
    fn entries(&mut self, array: &str, value: Option<Value>) -> Vec<(String, Value)> {
        let Some(value) = value else {
            return Vec::new();
        };
        self.collect::<Vec<Value>>(array, value)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, entry)| (format!("{array}[{i}]"), entry))
            .collect()
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl Step {
    fn of(segment: &serde_path_to_error::Segment) -> Option<Step> {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { variant } => Some(Step::Key(variant.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        }
    }
}

fn join(at: &str, path: &[Step]) -> String {
    let mut key = at.to_owned();
    for step in path {
        match step {
            Step::Key(k) if key.is_empty() => key.push_str(k),
            Step::Key(k) => {
                key.push('.');
                key.push_str(k);
            }
            Step::Index(i) => key.push_str(&format!("[{i}]")),
        }
    }
    key
}

/// `key` is `at` or a key inside it (`at.x`, `at[0]`).
fn is_at_or_below(key: &str, at: &str) -> bool {
    key.strip_prefix(at)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// Removes what `path` leads to; false if it leads nowhere.
fn remove(value: &mut Value, path: &[Step]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for step in parents {
        let next = match (step, &mut node.kind) {
            (Step::Key(k), ValueKind::Table(table)) => table.get_mut(k),
            (Step::Index(i), ValueKind::Array(array)) => array.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return false,
        }
    }
    match (last, &mut node.kind) {
        (Step::Key(k), ValueKind::Table(table)) => table.remove(k).is_some(),
        (Step::Index(i), ValueKind::Array(array)) if *i < array.len() => {
            array.remove(*i);
            true
        }
        _ => false,
    }
}

/// serde's own wording for a missing field (`missing field `x``).
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

/// serde's own wording for an unknown field (`unknown field `x`, expected ...`).
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// config's own messages repeat the key and the file; keep what is wrong.
pub(crate) fn type_problem(e: &config::ConfigError) -> String {
    let text = match e {
        config::ConfigError::Type {
            unexpected,
            expected,
            ..
        } => format!("invalid type: {unexpected}, expected {expected}"),
        _ => e.to_string(),
    };
    let text = match text.split_once(" for key") {
        Some((head, _)) => head.to_owned(),
        None => text,
    };
    // The types are the hub's business: "expected struct HttpSettings" is a table.
    match text.split_once(", expected struct ") {
        Some((head, _)) => format!("{head}, expected a table"),
        None => text,
    }
}

/// `[[subscribers]]` and `[[municipalities]]`: one list of adapter instances, names
/// unique across both.
fn subscribers(
    p: &mut Problems,
    subscribers: Option<Value>,
    municipalities: Option<Value>,
    default_retry: RetrySettings,
) -> Vec<SubscriberSettings> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (key, entry) in p.entries("subscribers", subscribers) {
        let Some(entry) = p.collect::<SubscriberEntry>(&key, entry) else {
            continue;
        };
        adapter_name(p, &key, &entry.name, &mut seen);
        let selector = match entry.selector {
            None => {
                p.missing(&format!("{key}.selector"));
                Selector::All
            }
            Some(SelectorEntry::All {}) => Selector::All,
            Some(SelectorEntry::Postcodes { postcodes }) => {
                let at = format!("{key}.selector.postcodes");
                if postcodes.valid.is_empty() && postcodes.invalid.is_empty() && !p.has(&at) {
                    p.push(&at, "must list at least one postcode");
                }
                invalid_postcodes(p, &at, &postcodes);
                Selector::Postcodes {
                    postcodes: postcodes.strings(),
                }
            }
            Some(SelectorEntry::Territory {
                postcodes,
                werkingsgebieden,
            }) => {
                invalid_postcodes(p, &format!("{key}.selector.postcodes"), &postcodes);
                Selector::Territory(Territory {
                    postcodes: postcodes.strings(),
                    werkingsgebieden,
                })
            }
        };
        let owner = Owner {
            name: &entry.name,
            ovo_code: None,
        };
        let channel = channel(p, &key, owner, entry.channel);
        let retry = retry(p, &key, default_retry, entry.retry);
        out.push(SubscriberSettings {
            name: entry.name,
            selector,
            fields: entry.fields,
            channel,
            retry,
            municipality: None,
        });
    }
    for (key, entry) in p.entries("municipalities", municipalities) {
        let Some(entry) = p.collect::<MunicipalityEntry>(&key, entry) else {
            continue;
        };
        adapter_name(p, &key, &entry.name, &mut seen);
        let ovo_code = match entry.ovo_code {
            Some(code) => code.as_str().to_owned(),
            None => {
                p.missing(&format!("{key}.ovo_code"));
                String::new()
            }
        };
        let territory = match entry.territory {
            Some(territory) => territory,
            None => {
                p.missing(&format!("{key}.territory"));
                Territory::default()
            }
        };
        let at = format!("{key}.territory");
        for problem in territory.problems() {
            match problem.at {
                // Not when the territory itself was refused (or is missing).
                TerritoryPart::Whole if p.has(&at) => {}
                TerritoryPart::Whole => p.push(&at, problem.message),
                TerritoryPart::Postcode(_) => p.push(format!("{at}.postcodes"), problem.message),
                TerritoryPart::Werkingsgebied(_) => {
                    p.push(format!("{at}.werkingsgebieden"), problem.message)
                }
            }
        }
        let owner = Owner {
            name: &entry.name,
            ovo_code: Some(&ovo_code),
        };
        let channel = channel(p, &key, owner, entry.channel);
        let retry = retry(p, &key, default_retry, entry.retry);
        out.push(SubscriberSettings {
            name: entry.name,
            selector: Selector::Territory(territory),
            fields: entry.fields,
            channel,
            retry,
            municipality: Some(MunicipalitySettings { ovo_code }),
        });
    }
    out
}

fn invalid_postcodes(p: &mut Problems, key: &str, postcodes: &Postcodes) {
    for e in &postcodes.invalid {
        p.push(key, e.to_string());
    }
}

fn adapter_name(p: &mut Problems, key: &str, name: &str, seen: &mut HashSet<String>) {
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        p.push(
            format!("{key}.name"),
            format!("{name:?} must be lower-case letters, digits and '-'"),
        );
    }
    if !seen.insert(name.to_owned()) {
        p.push(
            format!("{key}.name"),
            format!("{name:?} is used by an earlier subscriber or municipality"),
        );
    }
}

/// A subscriber's channel (`<key>.channel`), of a kind from [`ChannelKinds::standard`]; its
/// own queue when it names none (or when its table has problems, which are reported).
fn channel(p: &mut Problems, key: &str, owner: Owner<'_>, entry: Option<Value>) -> ChannelInstance {
    let kinds = ChannelKinds::standard();
    let at = format!("{key}.channel");
    entry
        .and_then(|value| kind_tagged(p, &at, value, "channel kind", &kinds.names()))
        .and_then(|(kind, settings)| kinds.configure(p, &at, &kind, settings, owner))
        .unwrap_or_else(|| kinds.default_channel(owner))
}

/// A table at `at` tagged by its `kind`, one of `kinds`: the kind and the rest of the
/// table. Problems (not a table, `kind` missing, not a string or unknown) are reported.
fn kind_tagged(
    p: &mut Problems,
    at: &str,
    value: Value,
    what: &str,
    kinds: &[&str],
) -> Option<(String, Value)> {
    let Ok(mut table) = value.into_table() else {
        p.push(at, "must be a table");
        return None;
    };
    let key = format!("{at}.kind");
    let known = kinds.join(", ");
    let kind = match table.remove("kind").map(Value::into_string) {
        Some(Ok(kind)) => kind,
        Some(Err(_)) => {
            p.push(key, format!("must be a string: one of {known}"));
            return None;
        }
        None => {
            p.push(key, format!("missing: one of {known}"));
            return None;
        }
    };
    if !kinds.contains(&kind.as_str()) {
        p.push(
            key,
            format!("unknown {what} {kind:?}: expected one of {known}"),
        );
        return None;
    }
    Some((kind, Value::new(None, ValueKind::Table(table))))
}

/// `[retry]` with what the subscriber overrides.
fn retry(
    p: &mut Problems,
    key: &str,
    default_retry: RetrySettings,
    entry: RetryOverride,
) -> RetrySettings {
    let retry = RetrySettings {
        base: entry.base.unwrap_or(default_retry.base),
        cap: entry.cap.unwrap_or(default_retry.cap),
        max_attempts: entry.max_attempts.unwrap_or(default_retry.max_attempts),
    };
    if retry.base > retry.cap {
        p.push(format!("{key}.retry"), "base must not exceed cap");
    }
    retry
}

/// `[providers.<name>]`: each a provider instance of the kind it names (`kind`), with
/// the kind's own keys, checked by the kind. Also the names of every instance declared,
/// valid or not (a service naming one with problems gets no problem of its own).
fn providers(
    p: &mut Problems,
    value: Option<Value>,
    kinds: &ProviderKinds,
) -> (ProviderSettings, Vec<String>) {
    let Some(value) = value else {
        return Default::default();
    };
    let Ok(table) = value.into_table() else {
        p.push("providers", "must be a table");
        return Default::default();
    };
    let mut entries: Vec<(String, Value)> = table.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let declared = entries.iter().map(|(name, _)| name.clone()).collect();
    let mut instances = Vec::new();
    for (name, value) in entries {
        let key = format!("providers.{name}");
        if !is_code(&name) {
            p.push(
                &key,
                format!("{name:?} must be lower-case letters, digits and '-'"),
            );
            continue;
        }
        let Some((kind, settings)) = kind_tagged(p, &key, value, "provider kind", &kinds.names())
        else {
            continue;
        };
        match kinds.configure(&name, &kind, settings) {
            Some(Ok(instance)) => instances.push(instance),
            Some(Err(problems)) => {
                for problem in problems {
                    let at = if problem.key.is_empty() {
                        key.clone()
                    } else {
                        format!("{key}.{}", problem.key)
                    };
                    p.push(at, problem.message);
                }
            }
            // kind_tagged checked the name.
            None => p.push(format!("{key}.kind"), "unknown provider kind"),
        }
    }
    instances.sort_by_key(|p| kinds.position(p.kind));
    (ProviderSettings { instances }, declared)
}

/// `[[services]]`: the catalogue, every service naming a declared provider.
fn services(
    p: &mut Problems,
    value: Option<Value>,
    providers: &[String],
    subscribers: &[SubscriberSettings],
) -> ServiceCatalogue {
    let mut entries = Vec::new();
    for (key, entry) in p.entries("services", value) {
        if let Some(service) = p.collect::<ServiceDefinition>(&key, entry) {
            entries.push((key, service));
        }
    }
    for (key, service) in &entries {
        let known = match &service.provider {
            ProviderRef::Municipality(name) => {
                let exists = subscribers
                    .iter()
                    .any(|s| &s.name == name && s.municipality.is_some());
                if !exists {
                    p.push(
                        format!("{key}.provider"),
                        format!("there is no municipality named {name:?}"),
                    );
                }
                true
            }
            ProviderRef::Named(name) => providers.contains(name),
        };
        if !known {
            p.push(
                format!("{key}.provider"),
                format!("{} is not configured under [providers]", service.provider),
            );
        }
    }
    match ServiceCatalogue::from_entries(entries) {
        Ok(catalogue) => catalogue,
        Err(problems) => {
            for (key, problem) in problems {
                p.push(key, problem);
            }
            ServiceCatalogue::default()
        }
    }
}

/// The rules of single keys, as `deserialize_with` functions: each refuses a value with
/// the message reported at its key. A secret's message never holds its value.
pub(crate) mod de {
    use std::fmt::Display;
    use std::str::FromStr;
    use std::time::Duration;

    use secrecy::{ExposeSecret, SecretString};
    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    /// Anything with a `FromStr`, from a string (a socket address).
    pub fn parsed<'de, D: Deserializer<'de>, T: FromStr>(d: D) -> Result<T, D::Error>
    where
        T::Err: Display,
    {
        let raw = String::deserialize(d)?;
        raw.parse()
            .map_err(|e| D::Error::custom(format!("{raw:?} is not valid: {e}")))
    }

    /// Anything with a `FromStr` whose error says what is wrong (an OVO code), given
    /// (absent: `None`, through the field's default).
    pub fn some_from_str<'de, D: Deserializer<'de>, T: FromStr>(d: D) -> Result<Option<T>, D::Error>
    where
        T::Err: Display,
    {
        let raw = String::deserialize(d)?;
        raw.parse().map(Some).map_err(D::Error::custom)
    }

    /// A number above zero.
    pub fn positive<'de, D, T>(d: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default + PartialOrd,
    {
        let value = T::deserialize(d)?;
        if value > T::default() {
            Ok(value)
        } else {
            Err(D::Error::custom("must be greater than zero"))
        }
    }

    /// A number above zero, given (absent: `None`, through the field's default).
    pub fn some_positive<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Default + PartialOrd,
    {
        positive(d).map(Some)
    }

    /// A humantime duration above zero (`"500ms"`, `"5s"`, `"24h"`).
    pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        optional_duration(d)?
            .ok_or_else(|| D::Error::custom("must be a duration greater than zero, e.g. \"5s\""))
    }

    /// A duration above zero, given (absent: `None`, through the field's default).
    pub fn some_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        duration(d).map(Some)
    }

    /// A humantime duration; `"off"` or zero: none.
    pub fn optional_duration<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let raw = String::deserialize(d)?;
        if raw == "off" {
            return Ok(None);
        }
        match humantime::parse_duration(&raw) {
            Ok(d) if d.is_zero() => Ok(None),
            Ok(d) => Ok(Some(d)),
            Err(e) => Err(D::Error::custom(format!(
                "{raw:?} is not a duration ({e}); write e.g. \"5s\", \"10m\", \"24h\""
            ))),
        }
    }

    /// A string that is not blank.
    pub fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let value = String::deserialize(d)?;
        if value.trim().is_empty() {
            return Err(D::Error::custom("must not be empty"));
        }
        Ok(value)
    }

    /// An `http://` or `https://` URL.
    pub fn http_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let url = non_empty(d)?;
        check_http_url(&url).map_err(D::Error::custom)?;
        Ok(url)
    }

    pub fn check_http_url(url: &str) -> Result<(), String> {
        if url.starts_with("http://") || url.starts_with("https://") {
            Ok(())
        } else {
            Err(format!("{url:?} must start with http:// or https://"))
        }
    }

    /// A secret: any non-empty string.
    pub fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        match optional_secret(d)? {
            Some(secret) => Ok(secret),
            None => Err(D::Error::custom("must not be empty")),
        }
    }

    /// A secret that may be empty (`None` then).
    pub fn optional_secret<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SecretString>, D::Error> {
        // A type error would show the value: say what is expected instead.
        let value = String::deserialize(d).map_err(|_| D::Error::custom("must be a string"))?;
        Ok((!value.is_empty()).then(|| SecretString::from(value)))
    }

    /// A URL that may carry a password, checked for its scheme only.
    fn secret_url<'de, D: Deserializer<'de>>(
        d: D,
        schemes: &[&str],
    ) -> Result<SecretString, D::Error> {
        let secret = secret(d)?;
        schemed(secret, schemes)
    }

    fn schemed<E: Error>(secret: SecretString, schemes: &[&str]) -> Result<SecretString, E> {
        if schemes
            .iter()
            .any(|s| secret.expose_secret().starts_with(s))
        {
            Ok(secret)
        } else {
            Err(E::custom(format!(
                "must start with {}",
                schemes.join(" or ")
            )))
        }
    }

    pub fn postgres_url<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        secret_url(d, &["postgres://", "postgresql://"])
    }

    pub fn amqp_url<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        secret_url(d, &["amqp://", "amqps://"])
    }

    /// RabbitMQ's management API; empty: none.
    pub fn management_url<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SecretString>, D::Error> {
        optional_secret(d)?
            .map(|secret| schemed(secret, &["http://", "https://"]))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::register_sync::channels::soap::{SoapSettings, DEFAULT_SENDER};

    fn sources(overrides: &[(&str, &str)]) -> Sources {
        Sources {
            dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../config")),
            env: None,
            file: None,
            overrides: overrides
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            environment_variables: false,
        }
    }

    #[test]
    fn the_checked_in_defaults_load() {
        let settings = load(&sources(&[])).expect("default.toml is valid");
        assert!(settings.subscribers.iter().any(|s| s.name == "aalst"));
        assert_eq!(settings.register.poll_interval, Duration::from_secs(5));
    }

    #[test]
    fn subscribers_share_the_prefetch_budget() {
        let mut broker = load(&sources(&[])).expect("default.toml is valid").broker;
        broker.prefetch = 500;
        broker.prefetch_budget = 10_000;
        assert_eq!(broker.subscriber_prefetch(3), 500);
        assert_eq!(broker.subscriber_prefetch(40), 250);
        assert_eq!(broker.subscriber_prefetch(300), 33);
        assert_eq!(broker.subscriber_prefetch(5_000), MIN_SUBSCRIBER_PREFETCH);
        assert_eq!(broker.subscriber_prefetch(0), 500);
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let err = load(&sources(&[
            ("http.listen", "not-an-address"),
            ("broker.prefetch", "0"),
            ("register.poll_interval", "soon"),
            ("register.base_url", "ftp://x"),
            ("register.colour", "blue"),
        ]))
        .expect_err("invalid");
        let unreported = err.unreported(&[
            "http.listen",
            "broker.prefetch",
            "register.poll_interval",
            "register.base_url",
            "register.colour",
        ]);
        assert!(unreported.is_empty(), "{unreported:?} missing from {err}");
    }

    #[test]
    fn secrets_never_appear_in_problems() {
        let err = load(&sources(&[
            ("database.url", "mysql://root:hunter2@db/hub"),
            ("register.client_secret", ""),
        ]))
        .expect_err("invalid");
        let text = err.to_string();
        assert!(
            text.contains("database.url") && text.contains("register.client_secret"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        let settings =
            load(&sources(&[("register.client_secret", "s3cr3t-value")])).expect("valid");
        assert!(!format!("{settings:?}").contains("s3cr3t-value"));
    }

    fn with_file(text: &str) -> Result<Settings, ConfigErrors> {
        let path = std::env::temp_dir().join(format!(
            "hub-config-test-{}-{}.toml",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&path, text).expect("temp file");
        let mut s = sources(&[]);
        s.file = Some(path.clone());
        let loaded = load(&s);
        let _ = std::fs::remove_file(path);
        loaded
    }

    #[test]
    fn the_defaults_declare_the_pilot_municipalities_on_their_territories() {
        let settings = load(&sources(&[])).expect("valid");
        let aalst = settings
            .subscribers
            .iter()
            .find(|s| s.name == "aalst")
            .expect("aalst");
        assert_eq!(
            aalst.municipality,
            Some(MunicipalitySettings {
                ovo_code: "OVO002001".into()
            })
        );
        assert!(matches!(&aalst.selector, Selector::Territory(t)
            if t.postcodes == ["9300", "9308", "9310", "9320"]));
        assert!(!aalst.fields.insz, "no INSZ by default");
    }

    #[test]
    fn the_pilot_environment_puts_one_municipality_on_soap() {
        let mut s = sources(&[]);
        s.env = Some("pilot".into());
        let settings = load(&s).expect("pilot.toml is valid");
        let names: Vec<&str> = settings
            .subscribers
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["aalst", "evergem", "beveren"]);
        let beveren = &settings.subscribers[2];
        let Some(soap) = beveren.channel.settings::<SoapSettings>() else {
            panic!("beveren is on soap: {:?}", beveren.channel);
        };
        assert_eq!(soap.receiver, "OVO002003");
        assert_eq!(soap.sender, DEFAULT_SENDER);
        assert!(soap.tls.is_none());
    }

    #[test]
    fn municipality_problems_are_reported_with_their_keys() {
        let err = with_file(
            r#"
[[municipalities]]
name = "aalst"
ovo_code = "OVO12"
territory = { postcodes = ["930"], werkingsgebieden = ["41002"] }
channel = { kind = "soap", url = "http://x/ws", tls = { certificate = "c.pem", private_key = "k.pem" } }

[[municipalities]]
name = "aalst"
ovo_code = "OVO002001"
territory = {}
"#,
        )
        .expect_err("invalid");
        let unreported = err.unreported(&[
            "municipalities[0].ovo_code",
            "municipalities[0].territory.postcodes",
            "municipalities[0].territory.werkingsgebieden",
            "municipalities[0].channel.tls",
            "municipalities[1].name",
            "municipalities[1].territory",
        ]);
        assert!(unreported.is_empty(), "{unreported:?} missing from {err}");
    }

    #[test]
    fn an_empty_array_in_a_later_file_removes_the_municipalities() {
        // (The default catalogue's municipal service goes too: it names aalst.)
        let settings = with_file(
            "municipalities = []\nservices = []\n[[subscribers]]\nname = \"all\"\nselector = { kind = \"all\" }\n",
        )
        .expect("valid");
        let names: Vec<&str> = settings
            .subscribers
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["all"]);
        assert!(settings.subscribers[0].municipality.is_none());
    }

    #[test]
    fn the_defaults_declare_one_provider_of_each_kind() {
        let settings = load(&sources(&[])).expect("valid");
        let providers: Vec<(&str, &str, Option<&str>)> = settings
            .providers
            .iter()
            .map(|p| (p.name.as_str(), p.kind, p.endpoint()))
            .collect();
        assert_eq!(
            providers,
            [
                (
                    "kiosk",
                    "kiosk",
                    Some("http://127.0.0.1:8083/Kiosk-01.00/soap/WebService")
                ),
                ("uldk", "uldk", Some("http://127.0.0.1:8084")),
                (
                    "insurance",
                    "insurance",
                    Some("http://127.0.0.1:8085/Vrijwilligersverzekering-01.00/soap/WebService")
                ),
            ]
        );
        assert_eq!(settings.providers.names(), ["kiosk", "uldk", "insurance"]);
        assert!(settings.providers.iter().all(|p| p.build().is_ok()));
        // The insurance's default sender is the hub's SOAP identity.
        assert_eq!(adapter_insurance::kind::DEFAULT_SENDER, DEFAULT_SENDER);
    }

    #[test]
    fn provider_problems_are_reported_with_their_keys() {
        let err = with_file(
            r#"
[register]
colour = "blue"

[providers.kiosk]
url = "ftp://kiosk"

[providers.uldk]
timeout = "soon"

[providers.insurance]
colour = "blue"

[providers.magda]
kind = "magda"
url = "http://magda"

[providers.nameless]
url = "http://x"

[providers.Grote]
kind = "kiosk"
url = "http://x"

[providers.odd]
kind = 3
"#,
        )
        .expect_err("invalid");
        let unreported = err.unreported(&[
            "register.colour",
            "providers.kiosk.url",
            "providers.uldk.timeout",
            "providers.insurance",
            "providers.magda.kind",
            "providers.nameless.kind",
            "providers.Grote",
            "providers.odd.kind",
        ]);
        assert!(unreported.is_empty(), "{unreported:?} missing from {err}");
        assert_eq!(
            err.message("providers.magda.kind"),
            "unknown provider kind \"magda\": expected one of kiosk, uldk, insurance"
        );
        assert_eq!(
            err.message("providers.nameless.kind"),
            "missing: one of kiosk, uldk, insurance"
        );
        assert!(
            err.message("providers.insurance").contains("colour"),
            "{err}"
        );
    }

    #[test]
    fn an_unconfigured_provider_is_refused() {
        let err = with_file(
            r#"
[[services]]
code = "magda-attest"
name = "Attest"
provider = "magda"
data = ["basisgegevens"]
"#,
        )
        .expect_err("magda is not a configured provider");
        assert!(
            err.0.iter().any(|p| p.key == "services[0].provider"
                && p.message == "magda is not configured under [providers]"),
            "{err}"
        );
    }

    #[test]
    fn a_municipal_service_must_name_a_municipality() {
        let err = with_file(
            r#"
[[services]]
code = "gent-subsidie"
name = "Subsidie"
provider = "municipality:gent"
data = ["basisgegevens"]
"#,
        )
        .expect_err("gent is not a configured municipality");
        assert!(
            err.0.iter().any(|p| p.key == "services[0].provider"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_path() {
        let err = with_file(
            r#"
colour = "red"
services = []

[broker]
colour = "red"

[[subscribers]]
name = "all"
selector = { kind = "all", colour = "red" }
channel = { kind = "http", url = "http://x", colour = "red" }
retry = { colour = "red" }

[[municipalities]]
name = "gent"
ovo_code = "OVO002004"
territory = { postcodes = ["9000"], colour = "red" }
"#,
        )
        .expect_err("unknown keys");
        let mut problems = err.problems();
        problems.sort();
        assert_eq!(
            problems,
            [
                ("broker.colour", "unknown key"),
                ("colour", "unknown key"),
                ("municipalities[0].territory.colour", "unknown key"),
                ("subscribers[0].channel.colour", "unknown key"),
                ("subscribers[0].retry.colour", "unknown key"),
                ("subscribers[0].selector.colour", "unknown key"),
            ],
            "{err}"
        );
    }

    #[test]
    fn problems_in_three_sections_are_reported_at_once() {
        // Each section has a value serde refuses (which stops a plain deserialisation) and
        // one more problem after it.
        let err = with_file(
            r#"
[broker]
prefetch = "many"
delivery_limit = 0

[register]
poll_interval = "soon"
timeout = "0s"

[[subscribers]]
name = "aalst-centrum"
selector = { kind = "postcodes", postcodes = ["93000", "9300"] }
channel = { kind = "http", url = "ftp://x", timeout = "soon" }
"#,
        )
        .expect_err("invalid");
        let problems = err.problems();
        for expected in [
            (
                "broker.prefetch",
                "invalid type: string \"many\", expected an integer",
            ),
            ("broker.delivery_limit", "must be greater than zero"),
            (
                "register.poll_interval",
                "\"soon\" is not a duration (expected number at 0); write e.g. \"5s\", \"10m\", \"24h\"",
            ),
            (
                "register.timeout",
                "must be a duration greater than zero, e.g. \"5s\"",
            ),
            (
                "subscribers[0].selector.postcodes",
                "\"93000\" is not a Belgian postcode (4 digits)",
            ),
            (
                "subscribers[0].channel.url",
                "\"ftp://x\" must start with http:// or https://",
            ),
            (
                "subscribers[0].channel.timeout",
                "\"soon\" is not a duration (expected number at 0); write e.g. \"5s\", \"10m\", \"24h\"",
            ),
        ] {
            assert!(problems.contains(&expected), "{expected:?} not in {err}");
        }
        assert_eq!(problems.len(), 7, "{err}");
    }

    #[test]
    fn a_missing_key_without_a_default_is_reported() {
        let err = with_file(
            r#"
[[subscribers]]
name = "all"

[[municipalities]]
name = "gent"

[[services]]
name = "Zonder code"
provider = "uldk"
data = ["basisgegevens"]
"#,
        )
        .expect_err("invalid");
        let problems = err.problems();
        for expected in [
            ("subscribers[0].selector", "missing"),
            ("municipalities[0].ovo_code", "missing"),
            ("municipalities[0].territory", "missing"),
            ("services[0].code", "missing"),
        ] {
            assert!(problems.contains(&expected), "{expected:?} not in {err}");
        }
    }

    #[test]
    fn the_types_defaults_are_those_of_default_toml() {
        // Only what has no default in the types: the URLs and credentials.
        let dir =
            std::env::temp_dir().join(format!("hub-config-defaults-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(
            dir.join("default.toml"),
            r#"
[database]
url = "postgres://postgres@127.0.0.1:5432/hub"
[broker]
url = "amqp://guest:guest@127.0.0.1:5672/%2f"
management_url = "http://guest:guest@127.0.0.1:15672"
[register]
base_url = "http://127.0.0.1:8081"
token_url = "http://127.0.0.1:8081/oauth2/token"
client_id = "hub"
client_secret = "hub-secret"
"#,
        )
        .expect("default.toml");
        let mut bare = sources(&[]);
        bare.dir = dir.clone();
        let bare = load(&bare);
        let _ = std::fs::remove_dir_all(dir);
        let bare = bare.expect("valid");
        let checked_in = load(&sources(&[])).expect("valid");
        let show = |s: &Settings| {
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                s.http, s.database, s.broker, s.register, s.retry, s.applications, s.shutdown_grace
            )
        };
        assert_eq!(show(&bare), show(&checked_in));
        assert!(bare.subscribers.is_empty() && bare.providers.is_empty());
    }
}
