//! [`InsuranceProvider`]: the hub's [`Provider`] for the volunteer insurance, posting the
//! [`soap`] messages to the service and classifying its answers. The crate's only I/O.

use std::time::Duration;

use adapter_provider::{Decision, Provider, ProviderError, Submitted};
use adapter_soap::http::{self, chain, PostError, SoapClient};
use async_trait::async_trait;
use contracts::applications::EnrichedApplication;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::soap::{self, Operation, Parties};

/// The most of an answer that is read; a bigger one is not an answer of this service.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The volunteer-insurance service (Steunpunt Vrijwilligerswerk) as a [`Provider`]:
/// `submit` asks for a recognition (`VraagErkenningAan`, decided at once), `status` consults
/// one (`GeefErkenning`).
#[derive(Debug, Clone)]
pub struct InsuranceProvider {
    endpoint: SoapClient,
    parties: Parties,
}

impl InsuranceProvider {
    /// `url` is the service's SOAP endpoint (http or https); `timeout` bounds connecting and
    /// each whole call; `parties` are the hub's and the service's identifications
    /// (`Afzender`/`Ontvanger`). Redirects are not followed. The error names what is wrong.
    pub fn new(url: &str, timeout: Duration, parties: Parties) -> Result<Self, String> {
        http::http_url(url, "insurance service")?;
        if timeout.is_zero() {
            return Err("the insurance service timeout must be above zero".to_owned());
        }
        parties.check()?;
        let client = http::client_builder(timeout)
            .build()
            .map_err(|e| format!("cannot set up the insurance client: {}", chain(&e)))?;
        Ok(InsuranceProvider {
            endpoint: SoapClient::new(client, url),
            parties,
        })
    }

    /// The service's URL.
    pub fn url(&self) -> &str {
        self.endpoint.url()
    }

    /// Who talks to whom.
    pub fn parties(&self) -> &Parties {
        &self.parties
    }

    /// Posts one envelope for `operation`; the HTTP status and (at most
    /// [`MAX_ANSWER_BYTES`] of) the body. Timeouts, failed connections and connections lost
    /// while reading are transient; a bigger answer is classified by its status.
    async fn call(
        &self,
        operation: Operation,
        envelope: String,
    ) -> Result<(u16, String), ProviderError> {
        let posted = self
            .endpoint
            .post(operation.soap_action(), envelope, MAX_ANSWER_BYTES)
            .await;
        posted.map_err(|e| match e {
            PostError::Send(e) => ProviderError::Transient(describe(e)),
            PostError::TooLarge { status, too_large } => {
                let reason = format!("HTTP {status}: {too_large}");
                if soap::status_is_transient(status) {
                    ProviderError::Transient(reason)
                } else {
                    ProviderError::Permanent(reason)
                }
            }
            PostError::Read { status, error } => ProviderError::Transient(clip(&format!(
                "HTTP {status}, reading the answer failed: {}",
                describe(error)
            ))),
        })
    }
}

#[async_trait]
impl Provider for InsuranceProvider {
    /// `VraagErkenningAan` with the `applicationId` as `Referte`: the service answers a
    /// repeated `Referte` as it answered the first time, so calling again is safe. A grant is
    /// `Approved` (reference: the erkenningsnummer), a refusal `Refused` (reference: the
    /// `Referte`), both in `Ok`.
    async fn submit(&self, application: &EnrichedApplication) -> Result<Submitted, ProviderError> {
        let envelope =
            soap::vraag_erkenning_aan(application, &self.parties, OffsetDateTime::now_utc())?;
        let referte = application.application_id.to_string();
        let (status, body) = self.call(Operation::VraagErkenningAan, envelope).await?;
        soap::read_submitted(
            status,
            &body,
            &referte,
            application.vereniging.v_code.as_str(),
        )
    }

    /// `GeefErkenning` for `reference`, which must be an erkenningsnummer (a refused
    /// application has none: [`ProviderError::Permanent`] without a call).
    async fn status(&self, reference: &str) -> Result<Decision, ProviderError> {
        let erkenningsnummer = reference.trim();
        if !soap::is_erkenningsnummer(erkenningsnummer) {
            return Err(ProviderError::Permanent(clip(&format!(
                "{erkenningsnummer:?} is not an erkenningsnummer (VV-yyyy-nnnnn): \
                 only a granted recognition can be consulted"
            ))));
        }
        let referte = Uuid::new_v4();
        let envelope = soap::geef_erkenning(
            erkenningsnummer,
            referte,
            &self.parties,
            OffsetDateTime::now_utc(),
        )?;
        let (status, body) = self.call(Operation::GeefErkenning, envelope).await?;
        soap::read_decision(status, &body, &referte.to_string(), erkenningsnummer)
    }
}

fn clip(s: &str) -> String {
    s.chars().take(soap::MAX_REASON_CHARS).collect()
}

/// A request failure, without the URL (it may carry credentials), with its causes.
fn describe(e: reqwest::Error) -> String {
    clip(&http::describe(e))
}
