//! [`InsuranceKind`]: `kind = "insurance"`, with `url` (the service's SOAP endpoint),
//! `timeout`, and the MAGDA parties `sender` and `receiver`.

use std::sync::Arc;

use adapter_provider::kind::{check_http_url, check_timeout, timeout};
use adapter_provider::{Provider, ProviderKind, SettingProblem};
use serde::Deserialize;

use crate::{InsuranceProvider, Parties};

/// `Afzender/Identificatie` when the settings give no `sender`: the hub (the same identity
/// as the hub's SOAP publications, `hub::features::register_sync::channels::soap::DEFAULT_SENDER`).
pub const DEFAULT_SENDER: &str = "kbbj.vlaanderen.be/verenigingsloket-hub";

/// `Ontvanger/Identificatie` when the settings give no `receiver`: the Steunpunt
/// Vrijwilligerswerk.
pub const DEFAULT_RECEIVER: &str = "vrijwilligersverzekering.vlaanderen.be";

/// The volunteer insurance as a provider kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct InsuranceKind;

/// `[providers.<name>]` of kind `insurance`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsuranceSettings {
    pub url: String,
    /// Default [`adapter_provider::kind::DEFAULT_TIMEOUT`].
    pub timeout: Option<String>,
    /// Default [`DEFAULT_SENDER`].
    pub sender: Option<String>,
    /// Default [`DEFAULT_RECEIVER`].
    pub receiver: Option<String>,
}

impl InsuranceSettings {
    pub fn parties(&self) -> Parties {
        Parties {
            sender: self
                .sender
                .clone()
                .unwrap_or_else(|| DEFAULT_SENDER.to_owned()),
            receiver: self
                .receiver
                .clone()
                .unwrap_or_else(|| DEFAULT_RECEIVER.to_owned()),
        }
    }
}

impl ProviderKind for InsuranceKind {
    type Config = InsuranceSettings;

    fn name(&self) -> &'static str {
        "insurance"
    }

    fn validate(&self, config: &InsuranceSettings) -> Vec<SettingProblem> {
        check_http_url("url", &config.url)
            .into_iter()
            .chain(check_timeout("timeout", config.timeout.as_deref()))
            .collect()
    }

    fn build(&self, config: &InsuranceSettings) -> Result<Arc<dyn Provider>, String> {
        let provider = InsuranceProvider::new(
            &config.url,
            timeout(config.timeout.as_deref()),
            config.parties(),
        )?;
        Ok(Arc::new(provider))
    }

    fn endpoint<'a>(&self, config: &'a InsuranceSettings) -> Option<&'a str> {
        Some(&config.url)
    }
}
