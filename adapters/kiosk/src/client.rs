//! [`KioskProvider`]: the hub's [`Provider`] for KIOSK, one SOAP 1.1 `POST` per call. The
//! crate's only I/O; what the envelopes hold and what the answers mean is [`soap`]'s.
//! Retrying, dead-lettering and the application's state machine are the hub's business.

use std::time::Duration;

use adapter_provider::{Decision, Provider, ProviderError, Submitted};
use adapter_soap::fault::unreadable_is_transient;
use adapter_soap::http::{self, chain, PostError, SoapClient};
use adapter_soap::text::short;
use async_trait::async_trait;
use contracts::applications::EnrichedApplication;

use crate::soap::{self, Operation};

/// The most of an answer that is read; a bigger one is not a reply to these operations.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// KIOSK's SOAP endpoint, e.g. `https://kiosk.cjm.vlaanderen.be/Kiosk-01.00/soap/WebService`.
#[derive(Debug, Clone)]
pub struct KioskProvider {
    endpoint: SoapClient,
}

impl KioskProvider {
    /// `url` must be `http` or `https`; `timeout` bounds connecting and the whole exchange.
    /// Redirects are not followed (a redirected POST would lose its body): a 3xx is a
    /// permanent failure.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        http::http_url(url, "KIOSK endpoint")?;
        let client = http::client_builder(timeout)
            .build()
            .map_err(|e| format!("cannot set up the KIOSK client: {}", chain(&e)))?;
        Ok(KioskProvider {
            endpoint: SoapClient::new(client, url),
        })
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        self.endpoint.url()
    }

    /// Posts one envelope with `Content-Type` [`soap::CONTENT_TYPE`] and the operation's
    /// quoted `SOAPAction`; answers the HTTP status and the body (lossily UTF-8). A timeout,
    /// a failed connection and a connection lost while reading are transient; an answer
    /// larger than [`MAX_REPLY_BYTES`] is not a reply.
    async fn call(&self, op: Operation, envelope: String) -> Result<(u16, String), ProviderError> {
        let posted = self
            .endpoint
            .post(op.soap_action(), envelope, MAX_REPLY_BYTES)
            .await;
        posted.map_err(|e| match e {
            PostError::Send(e) => ProviderError::Transient(describe(op, e)),
            PostError::TooLarge { status, too_large } => {
                let reason = format!("{}: HTTP {status}, {too_large}", op.name());
                if unreadable_is_transient(status) {
                    ProviderError::Transient(reason)
                } else {
                    ProviderError::Permanent(reason)
                }
            }
            PostError::Read { status, error } => ProviderError::Transient(short(&format!(
                "HTTP {status}, reading the answer failed: {}",
                describe(op, error)
            ))),
        })
    }
}

#[async_trait]
impl Provider for KioskProvider {
    /// `DienAanvraagIn`. Safe to repeat: KIOSK answers the dossier opened for the
    /// `applicationId` before. An application that cannot be sent as it is (a service field
    /// missing or of the wrong type, ...) fails permanently without a call.
    async fn submit(&self, application: &EnrichedApplication) -> Result<Submitted, ProviderError> {
        let envelope = soap::submit_request(application)?;
        let (status, body) = self.call(Operation::DienAanvraagIn, envelope).await?;
        soap::read_submit_reply(status, &body, application.application_id)
    }

    /// `GeefDossierStatus` for a dossier number `submit` answered.
    async fn status(&self, reference: &str) -> Result<Decision, ProviderError> {
        let envelope = soap::status_request(reference)?;
        let (status, body) = self.call(Operation::GeefDossierStatus, envelope).await?;
        soap::read_status_reply(status, &body, reference)
    }
}

/// A request failure, without the URL (it may carry credentials), with its causes.
fn describe(op: Operation, e: reqwest::Error) -> String {
    short(&format!("{}: {}", op.name(), http::describe(e)))
}
