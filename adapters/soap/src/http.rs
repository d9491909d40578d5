//! The one piece of I/O the adapters share: a reqwest client set up the same way for every
//! SOAP partner, and one SOAP 1.1 `POST` whose answer is read up to a bound (also as a
//! partner's [`SoapClient`]). What the answer means stays with each adapter.

use std::error::Error;
use std::fmt;
use std::time::Duration;

use adapter_http::{failure_kind, read_limited, ReadError, TooLarge};

use crate::CONTENT_TYPE;

/// The `User-Agent` the hub's adapters send.
pub const USER_AGENT: &str = concat!("verenigingsloket-hub/", env!("CARGO_PKG_VERSION"));

/// A client builder with rustls, `timeout` for connecting and for each whole call, no
/// redirects (a redirected POST would lose its body: a 3xx is the caller's to classify) and
/// the hub's [`USER_AGENT`]. Add TLS identities or roots before building.
pub fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
}

/// An error and its sources, `: `-separated (a source already in the text is skipped).
pub fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A request failure, without the URL (it may carry credentials), with its causes:
/// `timed out: …`, `connection failed: …` or `request failed: …`. Not shortened.
pub fn describe(e: reqwest::Error) -> String {
    let kind = failure_kind(&e);
    format!("{kind}: {}", chain(&e.without_url()))
}

/// How [`post`] failed. The errors it holds carry no URL (it may carry credentials).
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// No answer: timeout, failed connection, refused TLS handshake.
    #[error("{}", chain(.0))]
    Send(reqwest::Error),
    /// The answer (with this HTTP status) was larger than the bound.
    #[error("HTTP {status}: {too_large}")]
    TooLarge { status: u16, too_large: TooLarge },
    /// The connection was lost while reading the answer (with this HTTP status).
    #[error("HTTP {status}, reading the answer failed: {}", chain(.error))]
    Read { status: u16, error: reqwest::Error },
}

/// Posts one SOAP 1.1 envelope to `url` with `Content-Type` [`CONTENT_TYPE`] and the
/// quoted `SOAPAction`; answers the HTTP status and the body (lossily UTF-8), read up to
/// `max_bytes` ([`adapter_http::read_limited`]).
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    soap_action: &str,
    envelope: String,
    max_bytes: usize,
) -> Result<(u16, String), PostError> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .header("SOAPAction", format!("\"{soap_action}\""))
        .body(envelope)
        .send()
        .await
        .map_err(|e| PostError::Send(e.without_url()))?;
    let status = response.status().as_u16();
    match read_limited(response, max_bytes).await {
        Ok(body) => Ok((status, String::from_utf8_lossy(&body).into_owned())),
        Err(ReadError::TooLarge(too_large)) => Err(PostError::TooLarge { status, too_large }),
        Err(ReadError::Read(error)) => Err(PostError::Read { status, error }),
    }
}

/// Checks that `url` is an `http` or `https` URL; the error names the endpoint as `what`
/// (`invalid KIOSK endpoint URL: …`).
pub fn http_url(url: &str, what: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("invalid {what} URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported {what} URL scheme {:?}",
            parsed.scheme()
        ));
    }
    Ok(parsed)
}

/// A partner's SOAP endpoint: its URL and the client that [`post`]s to it. `Debug` shows the
/// URL only.
#[derive(Clone)]
pub struct SoapClient {
    client: reqwest::Client,
    url: String,
}

impl fmt::Debug for SoapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoapClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SoapClient {
    /// `client` (see [`client_builder`]) posting to `url`, which the caller checked.
    pub fn new(client: reqwest::Client, url: &str) -> Self {
        SoapClient {
            client,
            url: url.to_owned(),
        }
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// [`post`]s one envelope to the endpoint.
    pub async fn post(
        &self,
        soap_action: &str,
        envelope: String,
        max_bytes: usize,
    ) -> Result<(u16, String), PostError> {
        post(&self.client, &self.url, soap_action, envelope, max_bytes).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);

    impl fmt::Display for E {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for E {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as &(dyn Error + 'static))
        }
    }

    #[test]
    fn chains_name_every_new_cause() {
        let e = E(
            "request failed: dns",
            Some(Box::new(E("dns", Some(Box::new(E("no such host", None)))))),
        );
        assert_eq!(chain(&e), "request failed: dns: no such host");
        assert_eq!(chain(&E("alone", None)), "alone");
    }

    #[test]
    fn only_http_and_https_urls_are_endpoints() {
        assert!(http_url("https://kiosk.example/soap", "KIOSK endpoint").is_ok());
        assert!(http_url("http://127.0.0.1:8080/", "KIOSK endpoint").is_ok());
        assert_eq!(
            http_url("ftp://kiosk.example/", "KIOSK endpoint"),
            Err("unsupported KIOSK endpoint URL scheme \"ftp\"".to_owned())
        );
        let invalid = http_url("kiosk", "KIOSK endpoint").expect_err("not a URL");
        assert!(
            invalid.starts_with("invalid KIOSK endpoint URL: "),
            "{invalid}"
        );
    }

    #[test]
    fn the_client_builds() {
        assert!(client_builder(Duration::from_secs(1)).build().is_ok());
        assert!(USER_AGENT.starts_with("verenigingsloket-hub/"));
    }
}
