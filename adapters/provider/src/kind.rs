//! Provider kinds: what the hub needs to configure and build an adapter, in the shape
//! Vector gives its sinks (a configuration type per component, `validate`, `build`).
//!
//! A configuration names each provider instance and its kind:
//!
//! ```toml
//! [providers.uldk]          # the instance's name, which services reference
//! kind = "uldk"             # a ProviderKind::name
//! url = "http://127.0.0.1:8084"
//! timeout = "10s"
//! ```
//!
//! The hub reads `kind`, deserialises the rest of the table into the kind's
//! [`ProviderKind::Config`] (unknown keys refused), reports every problem
//! [`ProviderKind::validate`] finds with its key path (`providers.uldk.timeout`) and, when
//! it starts, [`ProviderKind::build`]s the adapter. The hub lists its kinds in one place
//! (`hub::features::applications::providers::ProviderKinds::standard`); adding a provider is an adapter crate with
//! its kind, a simulator, and one line in that list.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::Provider;

/// One problem with an instance's settings: at a key of its table (`url`, `timeout`), or
/// at the table itself when `key` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    pub key: String,
    pub message: String,
}

impl SettingProblem {
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        SettingProblem {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A kind of service provider.
pub trait ProviderKind: Send + Sync + 'static {
    /// One instance's settings as configured (the instance's table without `kind`). Refuse
    /// unknown keys (`#[serde(deny_unknown_fields)]`).
    type Config: DeserializeOwned + fmt::Debug + Clone + Send + Sync + 'static;

    /// What a configuration writes as `kind`: lower-case letters, digits and `-`.
    fn name(&self) -> &'static str;

    /// Every problem of one instance's settings, each at its key (see [`SettingProblem`]).
    fn validate(&self, config: &Self::Config) -> Vec<SettingProblem>;

    /// The adapter of an instance whose settings [`ProviderKind::validate`] accepted.
    fn build(&self, config: &Self::Config) -> Result<Arc<dyn Provider>, String>;

    /// The HTTP endpoint the instance calls, if it has one (`hub demo` starts the kind's
    /// simulator there).
    fn endpoint<'a>(&self, config: &'a Self::Config) -> Option<&'a str> {
        let _ = config;
        None
    }
}

/// The timeout of a provider's calls when its settings give none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The settings of a provider reached at one HTTP endpoint: `url` (http or https) and an
/// optional `timeout` (a duration such as `"10s"`, default [`DEFAULT_TIMEOUT`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSettings {
    pub url: String,
    pub timeout: Option<String>,
}

impl EndpointSettings {
    /// A `url` that is not http(s) and a `timeout` that is not a duration above zero.
    pub fn validate(&self) -> Vec<SettingProblem> {
        let mut problems: Vec<SettingProblem> =
            check_http_url("url", &self.url).into_iter().collect();
        problems.extend(check_timeout("timeout", self.timeout.as_deref()));
        problems
    }

    /// The timeout given, or [`DEFAULT_TIMEOUT`] (also for one that does not parse, which
    /// [`EndpointSettings::validate`] reports).
    pub fn timeout(&self) -> Duration {
        timeout(self.timeout.as_deref())
    }
}

/// A kind whose settings are plain [`EndpointSettings`]: its name and how to build its
/// adapter are all it says; checking the settings and naming the endpoint are shared.
pub trait EndpointKind: Send + Sync + 'static {
    /// See [`ProviderKind::name`].
    const NAME: &'static str;

    /// The adapter calling `url` with `timeout`.
    fn build_at(&self, url: &str, timeout: Duration) -> Result<Arc<dyn Provider>, String>;
}

impl<K: EndpointKind> ProviderKind for K {
    type Config = EndpointSettings;

    fn name(&self) -> &'static str {
        K::NAME
    }

    fn validate(&self, config: &EndpointSettings) -> Vec<SettingProblem> {
        config.validate()
    }

    fn build(&self, config: &EndpointSettings) -> Result<Arc<dyn Provider>, String> {
        self.build_at(&config.url, config.timeout())
    }

    fn endpoint<'a>(&self, config: &'a EndpointSettings) -> Option<&'a str> {
        Some(&config.url)
    }
}

/// A problem at `key` unless `url` starts with `http://` or `https://`.
pub fn check_http_url(key: &str, url: &str) -> Option<SettingProblem> {
    (!(url.starts_with("http://") || url.starts_with("https://")))
        .then(|| SettingProblem::at(key, format!("{url:?} must start with http:// or https://")))
}

/// A problem at `key` unless `raw` is absent or a duration above zero (`"500ms"`, `"10s"`).
pub fn check_timeout(key: &str, raw: Option<&str>) -> Option<SettingProblem> {
    parse_timeout(raw?)
        .err()
        .map(|message| SettingProblem::at(key, message))
}

/// `raw` as a duration, [`DEFAULT_TIMEOUT`] when absent or invalid (see [`check_timeout`]).
pub fn timeout(raw: Option<&str>) -> Duration {
    raw.and_then(|raw| parse_timeout(raw).ok())
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn parse_timeout(raw: &str) -> Result<Duration, String> {
    match humantime::parse_duration(raw) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be greater than zero".to_owned()),
        Err(e) => Err(format!("{raw:?} is not a duration ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str, timeout: Option<&str>) -> EndpointSettings {
        EndpointSettings {
            url: url.to_owned(),
            timeout: timeout.map(str::to_owned),
        }
    }

    #[test]
    fn endpoint_settings_are_checked_key_by_key() {
        assert_eq!(endpoint("https://x", Some("2s")).validate(), vec![]);
        assert_eq!(
            endpoint("https://x", Some("2s")).timeout(),
            Duration::from_secs(2)
        );
        assert_eq!(endpoint("http://x", None).timeout(), DEFAULT_TIMEOUT);
        let problems = endpoint("ftp://x", Some("soon")).validate();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["url", "timeout"]);
        assert_eq!(
            problems[0].message,
            "\"ftp://x\" must start with http:// or https://"
        );
        assert!(problems[1]
            .message
            .starts_with("\"soon\" is not a duration"));
        assert_eq!(
            endpoint("http://x", Some("0s")).validate(),
            vec![SettingProblem::at("timeout", "must be greater than zero")]
        );
    }
}
