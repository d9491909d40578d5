//! [`UldkKind`]: `kind = "uldk"`, with `url` (ULDK's base URL) and `timeout`.

use std::sync::Arc;

use adapter_provider::{EndpointSettings, Provider, ProviderKind, SettingProblem};

use crate::UldkProvider;

/// ULDK as a provider kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct UldkKind;

impl ProviderKind for UldkKind {
    type Config = EndpointSettings;

    fn name(&self) -> &'static str {
        "uldk"
    }

    fn validate(&self, config: &EndpointSettings) -> Vec<SettingProblem> {
        config.validate()
    }

    fn build(&self, config: &EndpointSettings) -> Result<Arc<dyn Provider>, String> {
        Ok(Arc::new(UldkProvider::new(&config.url, config.timeout())?))
    }

    fn endpoint<'a>(&self, config: &'a EndpointSettings) -> Option<&'a str> {
        Some(&config.url)
    }
}
