//! What the hub asks of a service provider's adapter, whatever the provider's protocol.
//!
//! The hub hands an adapter an [`EnrichedApplication`] (already eligible, already holding
//! only the association data the service may receive) and later asks where it stands. The
//! adapter translates to and from the provider's own protocol and classifies failures; the
//! hub's runtime retries, dead-letters and keeps the application's state machine.
//!
//! Invariant: an adapter never sees the broker or the store, and `submit` is safe to call
//! again for the same application (providers get the `applicationId` as their idempotency
//! key, or the adapter makes the call idempotent itself).
//!
//! [`kind`]: how a provider kind's instances are configured, checked and built
//! ([`ProviderKind`]); each adapter crate defines its kind next to its adapter.

pub mod kind;

use async_trait::async_trait;
use contracts::applications::EnrichedApplication;

pub use kind::{EndpointKind, EndpointSettings, ProviderKind, SettingProblem};

/// Why a call to a provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Timeout, connection refused, 5xx, 429, throttling: try again later.
    #[error("transient: {0}")]
    Transient(String),
    /// The provider will never accept this call as it is (invalid payload, unknown
    /// reference): an operator must look.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Where the provider says an application stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Registered, not yet treated.
    Received,
    InTreatment,
    /// Granted; `detail` is what the loket should show (an amount, an allocation).
    Approved {
        detail: Option<String>,
    },
    /// Refused, with the provider's reason (a business decision, not a failure).
    Refused {
        reason: String,
    },
}

/// The provider's answer to a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The provider's own reference: dossier number, reservation id, erkenningsnummer.
    pub reference: String,
    /// Where it stands right away (a provider that decides at once says so here).
    pub decision: Decision,
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Submits an application. Calling it again for the same `application_id` must not
    /// create a second dossier.
    async fn submit(&self, application: &EnrichedApplication) -> Result<Submitted, ProviderError>;

    /// Where an earlier submission stands now.
    async fn status(&self, reference: &str) -> Result<Decision, ProviderError>;
}
