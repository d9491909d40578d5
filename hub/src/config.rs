//! Layered configuration: `config/default.toml`, then the environment's file
//! (`config/<HUB_ENV>.toml`, optional), then an explicit `--config FILE`, then `HUB__SECTION__KEY`
//! environment variables, then programmatic overrides (tests).
//!
//! Loading checks every key and reports every problem at once, each with its key path.
//! Secrets are read into `SecretString` and never appear in a message.

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use adapter_subscriber::{FieldPolicy, Selector};

use crate::features::applications::catalogue::{
    is_code, ProviderRef, ServiceCatalogue, ServiceDefinition,
};
use crate::features::applications::providers::{ProviderInstance, ProviderKinds};
use config::{Config, Environment, File, Value};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

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

#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    /// When set, `/admin/*` requires `Authorization: Bearer <token>`.
    pub admin_token: Option<SecretString>,
    /// A client must send a request's whole head (request line and headers) within this,
    /// or the connection is closed (idle keep-alive connections included).
    pub header_read_timeout: Duration,
    /// A request (its body read and its answer made) taking longer gets 503.
    pub request_timeout: Duration,
    /// A request body larger than this gets 413.
    pub max_body_bytes: usize,
    /// Requests handled at once (health, readiness and metrics not counted); more get 503.
    pub max_concurrent_requests: usize,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// Published outbox messages, inbox entries and resolved dead letters are deleted
    /// after this long.
    pub outbox_retention: Duration,
}

#[derive(Debug, Clone)]
pub struct BrokerSettings {
    pub url: SecretString,
    /// Unacknowledged deliveries per consumer.
    pub prefetch: u16,
    /// Unacknowledged deliveries of all subscriber consumers together (see
    /// [`BrokerSettings::subscriber_prefetch`]).
    pub prefetch_budget: u32,
    /// Upper bound of the wait between reconnection attempts.
    pub reconnect_max_delay: Duration,
    /// Deliveries of one message after which the broker dead-letters it (a consumer that
    /// crashes on it every time cannot loop forever).
    pub delivery_limit: u32,
    /// The largest message body the hub publishes; a larger one is refused before the
    /// broker sees it (and set aside by the relays).
    pub max_message_bytes: usize,
    /// RabbitMQ's management API (`http://user:password@host:15672`), through which
    /// `hub quarantine` reads the quarantine; `None`: listing is unavailable.
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

#[derive(Debug, Clone)]
pub struct RegisterSettings {
    pub base_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub scope: String,
    pub poll_interval: Duration,
    /// `None`: no scheduled full resync (it can still be triggered).
    pub resync_interval: Option<Duration>,
    /// Detail documents fetched at once.
    pub concurrency: usize,
    /// Changes committed per database transaction.
    pub batch_size: usize,
    pub timeout: Duration,
}

/// One adapter instance that receives association data: a generic subscriber
/// (`[[subscribers]]`) or a municipality (`[[municipalities]]`).
#[derive(Debug, Clone)]
pub struct SubscriberSettings {
    pub name: String,
    pub selector: Selector,
    pub fields: FieldPolicy,
    pub channel: Channel,
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

/// The `Afzender` of the hub's SOAP publications unless a channel sets `sender`.
pub const DEFAULT_SOAP_SENDER: &str = "kbbj.vlaanderen.be/verenigingsloket-hub";

/// How a subscriber receives its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// JSON on its own durable queue.
    Queue { queue: String },
    /// JSON `POST`ed to its endpoint, one message per request.
    Http { url: String, timeout: Duration },
    /// MAGDA-style SOAP 1.1 publications `POST`ed to its endpoint, one per message.
    Soap(SoapChannel),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapChannel {
    pub url: String,
    pub timeout: Duration,
    /// `Afzender/Identificatie`: the hub.
    pub sender: String,
    /// `Ontvanger/Identificatie`: the back office (default: the municipality's OVO code).
    pub receiver: String,
    /// A client certificate for mutual TLS, when the back office asks for one.
    pub tls: Option<ClientTlsFiles>,
}

/// PEM files of a client certificate (the private key file is the secret: keep it out of
/// the repository and readable by the hub only).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsFiles {
    /// The client certificate (chain), PEM.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub private_key: PathBuf,
    /// An extra root to trust for the back office's server certificate, PEM.
    pub ca: Option<PathBuf>,
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

#[derive(Debug, Clone)]
pub struct ApplicationSettings {
    /// How often the leader asks the providers where open applications stand.
    pub poll_interval: Duration,
}

/// Retries with exponential backoff and full jitter: attempt `n` waits a random time up
/// to `min(cap, base * 2^(n-1))`; after `max_attempts` the message is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
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

/// Every problem found, in key order of discovery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Problem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} configuration problem(s):", self.0.len())?;
        for p in &self.0 {
            writeln!(f, "  {}: {}", p.key, p.message)?;
        }
        Ok(())
    }
}

const SECTIONS: &[(&str, &[&str])] = &[
    (
        "http",
        &[
            "listen",
            "admin_token",
            "header_read_timeout",
            "request_timeout",
            "max_body_bytes",
            "max_concurrent_requests",
        ],
    ),
    (
        "database",
        &[
            "url",
            "max_connections",
            "connect_timeout",
            "outbox_retention",
        ],
    ),
    (
        "broker",
        &[
            "url",
            "prefetch",
            "prefetch_budget",
            "reconnect_max_delay",
            "delivery_limit",
            "max_message_bytes",
            "management_url",
        ],
    ),
    ("retry", &["base", "cap", "max_attempts"]),
    ("applications", &["poll_interval"]),
    (
        "register",
        &[
            "base_url",
            "token_url",
            "client_id",
            "client_secret",
            "scope",
            "poll_interval",
            "resync_interval",
            "concurrency",
            "batch_size",
            "timeout",
        ],
    ),
];
const TOP_LEVEL: &[&str] = &[
    "providers",
    "subscribers",
    "municipalities",
    "services",
    "shutdown_grace",
];

/// Loads and checks the configuration, with the hub's provider kinds
/// ([`ProviderKinds::standard`]).
pub fn load(sources: &Sources) -> Result<Settings, ConfigErrors> {
    load_with(sources, &ProviderKinds::standard())
}

/// As [`load`], `[providers.<name>]` naming one of `kinds`.
pub fn load_with(sources: &Sources, kinds: &ProviderKinds) -> Result<Settings, ConfigErrors> {
    let config = build(sources)?;
    let mut r = Reader {
        config: &config,
        problems: Vec::new(),
    };
    r.unknown_keys();
    let retry = RetrySettings {
        base: r.duration("retry.base"),
        cap: r.duration("retry.cap"),
        max_attempts: r.positive("retry.max_attempts"),
    };
    let settings = Settings {
        http: HttpSettings {
            listen: r
                .parsed("http.listen")
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))),
            admin_token: r.optional_secret("http.admin_token"),
            header_read_timeout: r.duration("http.header_read_timeout"),
            request_timeout: r.duration("http.request_timeout"),
            max_body_bytes: r.positive("http.max_body_bytes"),
            max_concurrent_requests: r.positive("http.max_concurrent_requests"),
        },
        database: DatabaseSettings {
            url: r.secret_url("database.url", &["postgres://", "postgresql://"]),
            max_connections: r.positive("database.max_connections"),
            connect_timeout: r.duration("database.connect_timeout"),
            outbox_retention: r.duration("database.outbox_retention"),
        },
        broker: BrokerSettings {
            url: r.secret_url("broker.url", &["amqp://", "amqps://"]),
            prefetch: r.positive("broker.prefetch"),
            prefetch_budget: r.positive("broker.prefetch_budget"),
            reconnect_max_delay: r.duration("broker.reconnect_max_delay"),
            delivery_limit: r.positive("broker.delivery_limit"),
            max_message_bytes: r.positive("broker.max_message_bytes"),
            management_url: r
                .optional_secret_url("broker.management_url", &["http://", "https://"]),
        },
        register: RegisterSettings {
            base_url: r.http_url("register.base_url"),
            token_url: r.http_url("register.token_url"),
            client_id: r.non_empty("register.client_id"),
            client_secret: r.secret("register.client_secret"),
            scope: r.get::<String>("register.scope").unwrap_or_default(),
            poll_interval: r.duration("register.poll_interval"),
            resync_interval: r.optional_duration("register.resync_interval"),
            concurrency: r.positive("register.concurrency"),
            batch_size: r.positive("register.batch_size"),
            timeout: r.duration("register.timeout"),
        },
        subscribers: r.subscribers(retry),
        retry,
        providers: ProviderSettings::default(),
        services: ServiceCatalogue::default(),
        applications: ApplicationSettings {
            poll_interval: r.duration("applications.poll_interval"),
        },
        shutdown_grace: r.duration("shutdown_grace"),
    };
    let mut settings = settings;
    let declared_providers;
    (settings.providers, declared_providers) = r.providers(kinds);
    settings.services = r.services(&declared_providers, &settings.subscribers);
    if r.problems.is_empty() {
        Ok(settings)
    } else {
        Err(ConfigErrors(r.problems))
    }
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

/// Reads keys one by one, remembering every problem instead of stopping at the first.
struct Reader<'a> {
    config: &'a Config,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        match self.config.get::<T>(key) {
            Ok(v) => Some(v),
            Err(config::ConfigError::NotFound(_)) => {
                self.problem(key, "missing");
                None
            }
            Err(e) => {
                self.problem(key, type_problem(&e));
                None
            }
        }
    }

    fn parsed<T: FromStr>(&mut self, key: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        let raw = self.get::<String>(key)?;
        raw.parse()
            .map_err(|e| self.problem(key, format!("{raw:?} is not valid: {e}")))
            .ok()
    }

    fn positive<T: DeserializeOwned + Default + PartialOrd>(&mut self, key: &str) -> T {
        match self.get::<T>(key) {
            Some(v) if v > T::default() => v,
            Some(_) => {
                self.problem(key, "must be greater than zero");
                T::default()
            }
            None => T::default(),
        }
    }

    fn non_empty(&mut self, key: &str) -> String {
        let value = self.get::<String>(key).unwrap_or_default();
        if value.trim().is_empty() && !self.has_problem(key) {
            self.problem(key, "must not be empty");
        }
        value
    }

    fn has_problem(&self, key: &str) -> bool {
        self.problems.iter().any(|p| p.key == key)
    }

    fn duration(&mut self, key: &str) -> Duration {
        self.optional_duration(key).unwrap_or_else(|| {
            if !self.has_problem(key) {
                self.problem(key, "must be a duration greater than zero, e.g. \"5s\"");
            }
            Duration::ZERO
        })
    }

    /// A humantime duration (`"5s"`, `"24h"`); `"off"` or `"0s"` means none.
    fn optional_duration(&mut self, key: &str) -> Option<Duration> {
        let raw = self.get::<String>(key)?;
        if raw == "off" {
            return None;
        }
        match humantime::parse_duration(&raw) {
            Ok(d) if d.is_zero() => None,
            Ok(d) => Some(d),
            Err(e) => {
                self.problem(
                    key,
                    format!("{raw:?} is not a duration ({e}); write e.g. \"5s\", \"10m\", \"24h\""),
                );
                None
            }
        }
    }

    /// An optional humantime duration given inline (inside a table); zero is refused.
    fn humantime(&mut self, key: &str, raw: Option<&str>) -> Option<Duration> {
        let raw = raw?;
        match humantime::parse_duration(raw) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.problem(key, "must be greater than zero");
                None
            }
            Err(e) => {
                self.problem(key, format!("{raw:?} is not a duration ({e})"));
                None
            }
        }
    }

    /// A secret that may be absent or empty (`None` then); never echoed.
    fn optional_secret(&mut self, key: &str) -> Option<SecretString> {
        match self.config.get::<String>(key) {
            Ok(v) if !v.is_empty() => Some(SecretString::from(v)),
            Ok(_) | Err(config::ConfigError::NotFound(_)) => None,
            Err(_) => {
                self.problem(key, "must be a string");
                None
            }
        }
    }

    fn secret(&mut self, key: &str) -> SecretString {
        // Never echo the value: a type error on a secret is reported without it.
        match self.config.get::<String>(key) {
            Ok(v) if !v.is_empty() => SecretString::from(v),
            Ok(_) => {
                self.problem(key, "must not be empty");
                SecretString::from(String::new())
            }
            Err(config::ConfigError::NotFound(_)) => {
                self.problem(key, "missing");
                SecretString::from(String::new())
            }
            Err(_) => {
                self.problem(key, "must be a string");
                SecretString::from(String::new())
            }
        }
    }

    /// A URL that may carry a password: checked for its scheme only, never echoed.
    fn optional_secret_url(&mut self, key: &str, schemes: &[&str]) -> Option<SecretString> {
        let secret = self.optional_secret(key)?;
        if !schemes
            .iter()
            .any(|s| secret.expose_secret().starts_with(s))
        {
            self.problem(key, format!("must start with {}", schemes.join(" or ")));
        }
        Some(secret)
    }

    fn secret_url(&mut self, key: &str, schemes: &[&str]) -> SecretString {
        let secret = self.secret(key);
        let value = secret.expose_secret();
        if !value.is_empty() && !schemes.iter().any(|s| value.starts_with(s)) {
            self.problem(key, format!("must start with {}", schemes.join(" or ")));
        }
        secret
    }

    fn http_url(&mut self, key: &str) -> String {
        let value = self.non_empty(key);
        if !value.is_empty() {
            self.check_http_url(key, &value);
        }
        value
    }

    /// A URL given inline (inside a table) must be http(s).
    fn check_http_url(&mut self, key: &str, url: &str) {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            self.problem(key, format!("{url:?} must start with http:// or https://"));
        }
    }

    fn unknown_keys(&mut self) {
        let Ok(top) = self
            .config
            .clone()
            .try_deserialize::<config::Map<String, Value>>()
        else {
            return;
        };
        let mut keys: Vec<&String> = top.keys().collect();
        keys.sort();
        for key in keys {
            match SECTIONS.iter().find(|(s, _)| s == key) {
                Some((section, known)) => {
                    let Ok(table) = self.config.get_table(section) else {
                        self.problem(section, "must be a table");
                        continue;
                    };
                    let mut inner: Vec<&String> = table.keys().collect();
                    inner.sort();
                    for k in inner.into_iter().filter(|k| !known.contains(&k.as_str())) {
                        self.problem(&format!("{section}.{k}"), "unknown key");
                    }
                }
                None if TOP_LEVEL.contains(&key.as_str()) => {}
                None => self.problem(key, "unknown key"),
            }
        }
    }

    /// `[[subscribers]]` and `[[municipalities]]`: one list of adapter instances, names
    /// unique across both.
    fn subscribers(&mut self, default_retry: RetrySettings) -> Vec<SubscriberSettings> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawSubscriber {
            name: String,
            selector: Selector,
            #[serde(default)]
            fields: FieldPolicy,
            channel: Option<RawChannel>,
            retry: Option<RawRetry>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawMunicipality {
            name: String,
            ovo_code: String,
            territory: RawTerritory,
            #[serde(default)]
            fields: FieldPolicy,
            channel: Option<RawChannel>,
            retry: Option<RawRetry>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawTerritory {
            #[serde(default)]
            postcodes: Vec<String>,
            #[serde(default)]
            werkingsgebieden: Vec<String>,
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (key, raw) in self.entries::<RawSubscriber>("subscribers") {
            let name = self.adapter_name(&key, raw.name, &mut seen);
            if let Selector::Postcodes { postcodes } = &raw.selector {
                if postcodes.is_empty() {
                    self.problem(
                        &format!("{key}.selector.postcodes"),
                        "must list at least one postcode",
                    );
                }
                self.postcodes(&format!("{key}.selector.postcodes"), postcodes);
            }
            let channel = self.channel(&key, &name, &name, raw.channel);
            let retry = self.retry(&key, default_retry, raw.retry);
            out.push(SubscriberSettings {
                name,
                selector: raw.selector,
                fields: raw.fields,
                channel,
                retry,
                municipality: None,
            });
        }
        for (key, raw) in self.entries::<RawMunicipality>("municipalities") {
            let name = self.adapter_name(&key, raw.name, &mut seen);
            if let Err(e) = raw.ovo_code.parse::<contracts::OvoCode>() {
                self.problem(&format!("{key}.ovo_code"), e.to_string());
            }
            let territory = raw.territory;
            if territory.postcodes.is_empty() && territory.werkingsgebieden.is_empty() {
                self.problem(
                    &format!("{key}.territory"),
                    "must list at least one postcode or werkingsgebied",
                );
            }
            self.postcodes(&format!("{key}.territory.postcodes"), &territory.postcodes);
            for w in territory
                .werkingsgebieden
                .iter()
                .filter(|w| w.len() < 3 || !w.starts_with("BE"))
            {
                self.problem(
                    &format!("{key}.territory.werkingsgebieden"),
                    format!("{w:?} is not a NUTS/LAU code (BE...)"),
                );
            }
            let channel = self.channel(&key, &name, &raw.ovo_code, raw.channel);
            let retry = self.retry(&key, default_retry, raw.retry);
            out.push(SubscriberSettings {
                name,
                selector: Selector::Territory {
                    postcodes: territory.postcodes,
                    werkingsgebieden: territory.werkingsgebieden,
                },
                fields: raw.fields,
                channel,
                retry,
                municipality: Some(MunicipalitySettings {
                    ovo_code: raw.ovo_code,
                }),
            });
        }
        out
    }

    /// `[providers.<name>]`: each a provider instance of the kind it names (`kind`), with
    /// the kind's own keys, checked by the kind. Also the names of every instance declared,
    /// valid or not (a service naming one with problems gets no problem of its own).
    fn providers(&mut self, kinds: &ProviderKinds) -> (ProviderSettings, Vec<String>) {
        let table = match self.config.get_table("providers") {
            Ok(table) => table,
            Err(config::ConfigError::NotFound(_)) => return Default::default(),
            Err(_) => {
                self.problem("providers", "must be a table");
                return Default::default();
            }
        };
        let mut entries: Vec<(String, Value)> = table.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let declared = entries.iter().map(|(name, _)| name.clone()).collect();
        let known = || kinds.names().join(", ");
        let mut instances = Vec::new();
        for (name, value) in entries {
            let key = format!("providers.{name}");
            if !is_code(&name) {
                self.problem(
                    &key,
                    format!("{name:?} must be lower-case letters, digits and '-'"),
                );
                continue;
            }
            let Ok(mut settings) = value.into_table() else {
                self.problem(&key, "must be a table");
                continue;
            };
            let kind_key = format!("{key}.kind");
            let kind = match settings.remove("kind").map(Value::into_string) {
                Some(Ok(kind)) => kind,
                Some(Err(_)) => {
                    self.problem(&kind_key, format!("must be a string: one of {}", known()));
                    continue;
                }
                None => {
                    self.problem(&kind_key, format!("missing: one of {}", known()));
                    continue;
                }
            };
            match kinds.configure(&name, &kind, Value::new(None, settings)) {
                Some(Ok(instance)) => instances.push(instance),
                Some(Err(problems)) => {
                    for p in problems {
                        let at = if p.key.is_empty() {
                            key.clone()
                        } else {
                            format!("{key}.{}", p.key)
                        };
                        self.problem(&at, p.message);
                    }
                }
                None => self.problem(
                    &kind_key,
                    format!(
                        "unknown provider kind {kind:?}: expected one of {}",
                        known()
                    ),
                ),
            }
        }
        instances.sort_by_key(|p| kinds.position(p.kind));
        (ProviderSettings { instances }, declared)
    }

    /// `[[services]]`: the catalogue, every service naming a declared provider.
    fn services(
        &mut self,
        providers: &[String],
        subscribers: &[SubscriberSettings],
    ) -> ServiceCatalogue {
        let entries = self.entries::<ServiceDefinition>("services");
        for (key, service) in &entries {
            let known = match &service.provider {
                ProviderRef::Municipality(name) => {
                    let exists = subscribers
                        .iter()
                        .any(|s| &s.name == name && s.municipality.is_some());
                    if !exists {
                        self.problem(
                            &format!("{key}.provider"),
                            format!("there is no municipality named {name:?}"),
                        );
                    }
                    true
                }
                ProviderRef::Named(name) => providers.contains(name),
            };
            if !known {
                self.problem(
                    &format!("{key}.provider"),
                    format!("{} is not configured under [providers]", service.provider),
                );
            }
        }
        match ServiceCatalogue::from_entries(entries) {
            Ok(catalogue) => catalogue,
            Err(problems) => {
                for (key, problem) in problems {
                    self.problem(&key, problem);
                }
                ServiceCatalogue::default()
            }
        }
    }

    /// The entries of an array of tables, each with its key (`subscribers[0]`); entries
    /// that do not deserialise are reported and left out.
    fn entries<T: DeserializeOwned>(&mut self, array: &str) -> Vec<(String, T)> {
        let entries = match self.config.get::<Vec<Value>>(array) {
            Ok(entries) => entries,
            Err(config::ConfigError::NotFound(_)) => return Vec::new(),
            Err(e) => {
                self.problem(array, type_problem(&e));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let key = format!("{array}[{i}]");
            match entry.try_deserialize() {
                Ok(raw) => out.push((key, raw)),
                Err(e) => self.problem(&key, e.to_string()),
            }
        }
        out
    }

    fn adapter_name(&mut self, key: &str, name: String, seen: &mut HashSet<String>) -> String {
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !name_ok {
            self.problem(
                &format!("{key}.name"),
                format!("{name:?} must be lower-case letters, digits and '-'"),
            );
        }
        if !seen.insert(name.clone()) {
            self.problem(
                &format!("{key}.name"),
                format!("{name:?} is used by an earlier subscriber or municipality"),
            );
        }
        name
    }

    fn postcodes(&mut self, key: &str, postcodes: &[String]) {
        for e in postcodes
            .iter()
            .filter_map(|p| p.parse::<contracts::Postcode>().err())
        {
            self.problem(key, e.to_string());
        }
    }

    fn channel(
        &mut self,
        key: &str,
        name: &str,
        default_receiver: &str,
        raw: Option<RawChannel>,
    ) -> Channel {
        match raw {
            None | Some(RawChannel::Queue { queue: None }) => Channel::Queue {
                queue: format!("subscriber.{name}"),
            },
            Some(RawChannel::Queue { queue: Some(queue) }) => Channel::Queue { queue },
            Some(RawChannel::Http { url, timeout }) => {
                self.check_http_url(&format!("{key}.channel.url"), &url);
                let timeout = self
                    .humantime(&format!("{key}.channel.timeout"), timeout.as_deref())
                    .unwrap_or(Duration::from_secs(10));
                Channel::Http { url, timeout }
            }
            Some(RawChannel::Soap {
                url,
                timeout,
                sender,
                receiver,
                tls,
            }) => {
                self.check_http_url(&format!("{key}.channel.url"), &url);
                let timeout = self
                    .humantime(&format!("{key}.channel.timeout"), timeout.as_deref())
                    .unwrap_or(Duration::from_secs(10));
                if tls.is_some() && !url.starts_with("https://") {
                    self.problem(
                        &format!("{key}.channel.tls"),
                        "a client certificate needs an https:// url",
                    );
                }
                Channel::Soap(SoapChannel {
                    url,
                    timeout,
                    sender: sender.unwrap_or_else(|| DEFAULT_SOAP_SENDER.to_owned()),
                    receiver: receiver.unwrap_or_else(|| default_receiver.to_owned()),
                    tls,
                })
            }
        }
    }

    fn retry(
        &mut self,
        key: &str,
        default_retry: RetrySettings,
        raw: Option<RawRetry>,
    ) -> RetrySettings {
        let mut retry = default_retry;
        if let Some(r) = raw {
            let base = self.humantime(&format!("{key}.retry.base"), r.base.as_deref());
            let cap = self.humantime(&format!("{key}.retry.cap"), r.cap.as_deref());
            retry.base = base.unwrap_or(retry.base);
            retry.cap = cap.unwrap_or(retry.cap);
            retry.max_attempts = r.max_attempts.unwrap_or(retry.max_attempts);
            if retry.max_attempts == 0 {
                self.problem(
                    &format!("{key}.retry.max_attempts"),
                    "must be greater than zero",
                );
            }
        }
        if retry.base > retry.cap {
            self.problem(&format!("{key}.retry"), "base must not exceed cap");
        }
        retry
    }
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum RawChannel {
    Queue {
        queue: Option<String>,
    },
    Http {
        url: String,
        timeout: Option<String>,
    },
    Soap {
        url: String,
        timeout: Option<String>,
        sender: Option<String>,
        receiver: Option<String>,
        tls: Option<ClientTlsFiles>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    base: Option<String>,
    cap: Option<String>,
    max_attempts: Option<u32>,
}

/// config's own messages repeat the key; keep the part after it, without values.
pub(crate) fn type_problem(e: &config::ConfigError) -> String {
    let text = e.to_string();
    match text.split_once(" for key") {
        Some((head, _)) => head.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "http.listen",
            "broker.prefetch",
            "register.poll_interval",
            "register.base_url",
            "register.colour",
        ] {
            assert!(keys.contains(&key), "{key} not reported in {err}");
        }
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
        assert!(
            matches!(&aalst.selector, Selector::Territory { postcodes, .. }
            if postcodes == &["9300", "9308", "9310", "9320"])
        );
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
        let Channel::Soap(soap) = &beveren.channel else {
            panic!("beveren is on soap: {:?}", beveren.channel);
        };
        assert_eq!(soap.receiver, "OVO002003");
        assert_eq!(soap.sender, DEFAULT_SOAP_SENDER);
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
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "municipalities[0].ovo_code",
            "municipalities[0].territory.postcodes",
            "municipalities[0].territory.werkingsgebieden",
            "municipalities[0].channel.tls",
            "municipalities[1].name",
            "municipalities[1].territory",
        ] {
            assert!(keys.contains(&key), "{key} not reported in {err}");
        }
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
        assert_eq!(adapter_insurance::kind::DEFAULT_SENDER, DEFAULT_SOAP_SENDER);
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
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for key in [
            "register.colour",
            "providers.kiosk.url",
            "providers.uldk.timeout",
            "providers.insurance",
            "providers.magda.kind",
            "providers.nameless.kind",
            "providers.Grote",
            "providers.odd.kind",
        ] {
            assert!(keys.contains(&key), "{key} not reported in {err}");
        }
        let message = |key: &str| {
            err.0
                .iter()
                .find(|p| p.key == key)
                .map(|p| p.message.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            message("providers.magda.kind"),
            "unknown provider kind \"magda\": expected one of kiosk, uldk, insurance"
        );
        assert_eq!(
            message("providers.nameless.kind"),
            "missing: one of kiosk, uldk, insurance"
        );
        assert!(message("providers.insurance").contains("colour"), "{err}");
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
}
