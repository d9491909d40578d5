//! [`EchoKind`]: a provider kind defined outside the hub (`kind = "test"`), with which the
//! hub's tests and the end-to-end tests show that a kind plugs in through
//! `ProviderKinds::with`. Its adapters accept every application as `<prefix>-<applicationId>`
//! and decide it at the first follow-up as `verdict` says.

use std::sync::{Arc, Mutex};

use adapter_provider::{
    Decision, Provider, ProviderError, ProviderKind, SettingProblem, Submitted,
};
use async_trait::async_trait;
use contracts::applications::EnrichedApplication;
use serde::Deserialize;

/// An instance `echo` of the kind and a service `echo-attest` it provides, with one required
/// field `projectnaam`.
pub const CONFIG: &str = r#"
[providers.echo]
kind = "test"

[[services]]
code = "echo-attest"
name = "Attest van de echo"
provider = "echo"
data = ["basisgegevens", "locaties"]
fields = [{ name = "projectnaam", type = "string", required = true }]
"#;

/// `kind = "test"`; clones share what their adapters received.
#[derive(Clone, Default)]
pub struct EchoKind {
    received: Arc<Mutex<Vec<EnrichedApplication>>>,
}

impl EchoKind {
    /// The applications its adapters received, in order.
    pub fn received(&self) -> Vec<EnrichedApplication> {
        self.received.lock().unwrap().clone()
    }
}

/// `[providers.<name>]` of kind `test`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoSettings {
    /// `approve` (default) or `refuse`.
    #[serde(default = "default_verdict")]
    pub verdict: String,
    /// The references' prefix, default `ECHO`.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The approval's detail, default `echoed`.
    #[serde(default = "default_detail")]
    pub detail: String,
}

fn default_verdict() -> String {
    "approve".to_owned()
}

fn default_prefix() -> String {
    "ECHO".to_owned()
}

fn default_detail() -> String {
    "echoed".to_owned()
}

impl ProviderKind for EchoKind {
    type Config = EchoSettings;

    fn name(&self) -> &'static str {
        "test"
    }

    fn validate(&self, config: &EchoSettings) -> Vec<SettingProblem> {
        let mut problems = Vec::new();
        if !matches!(config.verdict.as_str(), "approve" | "refuse") {
            problems.push(SettingProblem::at(
                "verdict",
                format!("{:?} is neither approve nor refuse", config.verdict),
            ));
        }
        for (key, value) in [("prefix", &config.prefix), ("detail", &config.detail)] {
            if value.is_empty() {
                problems.push(SettingProblem::at(key, "must not be empty"));
            }
        }
        problems
    }

    fn build(&self, config: &EchoSettings) -> Result<Arc<dyn Provider>, String> {
        Ok(Arc::new(EchoProvider {
            settings: config.clone(),
            received: self.received.clone(),
        }))
    }
}

struct EchoProvider {
    settings: EchoSettings,
    received: Arc<Mutex<Vec<EnrichedApplication>>>,
}

#[async_trait]
impl Provider for EchoProvider {
    async fn submit(&self, application: &EnrichedApplication) -> Result<Submitted, ProviderError> {
        self.received.lock().unwrap().push(application.clone());
        Ok(Submitted {
            reference: format!("{}-{}", self.settings.prefix, application.application_id),
            decision: Decision::Received,
        })
    }

    async fn status(&self, reference: &str) -> Result<Decision, ProviderError> {
        if !reference.starts_with(&self.settings.prefix) {
            return Err(ProviderError::Permanent(format!(
                "unknown reference {reference}"
            )));
        }
        Ok(match self.settings.verdict.as_str() {
            "approve" => Decision::Approved {
                detail: Some(self.settings.detail.clone()),
            },
            _ => Decision::Refused {
                reason: "the echo refuses".into(),
            },
        })
    }
}
