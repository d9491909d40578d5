//! The SOAP channel: each message as a MAGDA-style `OntvangPublicatie` `POST`ed to the back
//! office, optionally with a client certificate (see `adapter_municipality::soap` and
//! `endpoint`).

use adapter_municipality::endpoint::{ClientTls, SoapEndpoint, SoapError};
use adapter_municipality::soap::{self, Parties};
use async_trait::async_trait;

use super::{each_message, Channel};
use crate::config::ClientTlsFiles;
use crate::features::register_sync::distribute::Plan;
use crate::runtime::consume::Failure;

pub struct SoapChannel {
    pub endpoint: SoapEndpoint,
    pub parties: Parties,
}

#[async_trait]
impl Channel for SoapChannel {
    async fn deliver(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        Ok(each_message(plans, |outbound| async move {
            let envelope = soap::request(
                &outbound.publication(),
                &self.parties,
                time::OffsetDateTime::now_utc(),
            );
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
pub fn read_tls(files: &ClientTlsFiles) -> Result<ClientTls, String> {
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
