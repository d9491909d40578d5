//! [`KioskKind`]: `kind = "kiosk"`, with `url` (KIOSK's SOAP endpoint) and `timeout`.

use std::sync::Arc;

use adapter_provider::{EndpointSettings, Provider, ProviderKind, SettingProblem};

use crate::KioskProvider;

/// KIOSK as a provider kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct KioskKind;

impl ProviderKind for KioskKind {
    type Config = EndpointSettings;

    fn name(&self) -> &'static str {
        "kiosk"
    }

    fn validate(&self, config: &EndpointSettings) -> Vec<SettingProblem> {
        config.validate()
    }

    fn build(&self, config: &EndpointSettings) -> Result<Arc<dyn Provider>, String> {
        Ok(Arc::new(KioskProvider::new(&config.url, config.timeout())?))
    }

    fn endpoint<'a>(&self, config: &'a EndpointSettings) -> Option<&'a str> {
        Some(&config.url)
    }
}
