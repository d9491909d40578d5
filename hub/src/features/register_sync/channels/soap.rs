//! The SOAP channel: each message as a MAGDA-style `OntvangPublicatie` `POST`ed to the back
//! office, optionally with a client certificate (see `adapter_municipality::soap` and
//! `endpoint`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use adapter_municipality::endpoint::{ClientTls, SoapEndpoint, SoapError};
use adapter_municipality::soap::{self, Parties};
use async_trait::async_trait;
use serde::Deserialize;

use super::kinds::{ChannelKind, Owner, Wiring};
use super::{each_message, url_problem, Channel};
use crate::config::{de, Problem};
use crate::features::register_sync::distribute::Plan;
use crate::runtime::consume::Failure;

/// The `Afzender` of the hub's SOAP publications unless a channel sets `sender`.
pub const DEFAULT_SENDER: &str = "kbbj.vlaanderen.be/verenigingsloket-hub";

/// `kind = "soap"`: one MAGDA-style SOAP 1.1 publication per message
/// (`contracts/wsdl/publicatie-v1.wsdl`).
pub struct SoapKind;

/// `channel = { kind = "soap", url = "https://...", timeout = "10s", sender = "...",
/// receiver = "...", tls = { ... } }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapSettings {
    pub url: String,
    /// Per request.
    #[serde(default = "super::default_timeout", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// `Afzender/Identificatie`: the hub; empty in the configuration: [`DEFAULT_SENDER`].
    #[serde(default)]
    pub sender: String,
    /// `Ontvanger/Identificatie`: the back office; empty in the configuration: the
    /// municipality's OVO code (or the subscriber's name).
    #[serde(default)]
    pub receiver: String,
    /// A client certificate for mutual TLS, when the back office asks for one.
    #[serde(default)]
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

impl ChannelKind for SoapKind {
    type Settings = SoapSettings;

    fn name(&self) -> &'static str {
        "soap"
    }

    fn validate(&self, settings: &mut SoapSettings, owner: Owner<'_>) -> Vec<Problem> {
        let mut problems: Vec<Problem> = url_problem(&settings.url).into_iter().collect();
        if settings.tls.is_some() && !settings.url.starts_with("https://") {
            problems.push(Problem {
                key: "tls".into(),
                message: "a client certificate needs an https:// url".into(),
            });
        }
        if settings.sender.is_empty() {
            DEFAULT_SENDER.clone_into(&mut settings.sender);
        }
        if settings.receiver.is_empty() {
            let ovo_code = owner.ovo_code.filter(|code| !code.is_empty());
            ovo_code
                .unwrap_or(owner.name)
                .clone_into(&mut settings.receiver);
        }
        problems
    }

    fn build(&self, settings: &SoapSettings, _: Wiring<'_>) -> Result<Arc<dyn Channel>, String> {
        let tls = settings.tls.as_ref().map(read_tls).transpose()?;
        Ok(Arc::new(SoapChannel {
            endpoint: SoapEndpoint::new(&settings.url, settings.timeout, tls.as_ref())?,
            parties: Parties {
                sender: settings.sender.clone(),
                receiver: settings.receiver.clone(),
            },
        }))
    }
}

pub struct SoapChannel {
    pub endpoint: SoapEndpoint,
    pub parties: Parties,
}

#[async_trait]
impl Channel for SoapChannel {
    fn reads_json(&self) -> bool {
        false
    }

    async fn deliver(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        Ok(each_message(plans, |outbound| async move {
            let Some(publication) = outbound.publication() else {
                return Err(Failure::Permanent(
                    "a message written as JSON reached the SOAP channel".into(),
                ));
            };
            let envelope =
                soap::request(&publication, &self.parties, time::OffsetDateTime::now_utc());
            // The back office's warnings (`Uitzondering`s of a success) change nothing here.
            self.endpoint
                .send(envelope)
                .await
                .map(|_warnings| ())
                .map_err(|e| match e {
                    SoapError::Transient(r) => Failure::Transient(r),
                    SoapError::Permanent(r) => Failure::Permanent(r),
                })
        })
        .await)
    }
}

/// A client certificate read from its PEM files.
fn read_tls(files: &ClientTlsFiles) -> Result<ClientTls, String> {
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
    };
    Ok(ClientTls {
        certificate_pem: read(&files.certificate, "client certificate")?,
        private_key_pem: read(&files.private_key, "client private key")?,
        ca_pem: files
            .ca
            .as_deref()
            .map(|ca| read(ca, "CA certificate"))
            .transpose()?,
    })
}
