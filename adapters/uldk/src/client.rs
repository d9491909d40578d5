//! ULDK over HTTP: `POST /v1/reservaties` (with `Idempotency-Key: <applicationId>`) and
//! `GET /v1/reservaties/{reservatieId}`. The answers are classified here, where their meaning
//! is known; the hub's runtime decides what follows.
//!
//! | Outcome | Classification |
//! |---|---|
//! | 201, 200 with a reservation document | success |
//! | timeout, failed connection, body cut off, 5xx, 429, 408 | [`ProviderError::Transient`] |
//! | 400, 422 (problem+json with field errors), 409 (conflicting reuse of the key), 404, any other status | [`ProviderError::Permanent`] |
//! | 2xx whose body breaks the contract | [`ProviderError::Permanent`] |
//! | an answer larger than [`MAX_ANSWER_BYTES`] (a 5xx's only cut short) | [`ProviderError::Permanent`] |
//!
//! Redirects are not followed (a 3xx is permanent): the contract has none.

use std::time::Duration;

use adapter_http::{read_limited, read_truncated, ReadError, MAX_ERROR_BODY_BYTES};
use adapter_provider::{Decision, Provider, ProviderError, Submitted};
use async_trait::async_trait;
use contracts::applications::EnrichedApplication;
use reqwest::{header, StatusCode, Url};

use crate::translate;

/// The header that makes `POST /v1/reservaties` idempotent; its value is the applicationId.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The largest answer read whole; a larger one is a permanent failure of that call. ULDK's
/// reservation documents and problem answers are a few KB.
pub const MAX_ANSWER_BYTES: usize = adapter_http::MAX_ANSWER_BYTES;

/// ULDK as a [`Provider`].
#[derive(Debug, Clone)]
pub struct UldkProvider {
    client: reqwest::Client,
    /// The base URL, its path ending in `/`.
    base: Url,
}

impl UldkProvider {
    /// `base_url`: where ULDK's API lives, e.g. `https://uldk.example/api` (the adapter adds
    /// `/v1/reservaties`); `timeout`: for connecting and for each whole request.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, String> {
        let mut base =
            Url::parse(base_url.trim()).map_err(|e| format!("ULDK base URL {base_url:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(format!(
                "ULDK base URL {base_url:?}: must be an http(s) URL"
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(format!(
                "ULDK base URL {base_url:?}: must have no query or fragment"
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("verenigingsloket-hub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(UldkProvider { client, base })
    }

    /// `<base>/v1/reservaties`.
    pub fn reservations_url(&self) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["v1", "reservaties"]);
        }
        url
    }

    /// `<base>/v1/reservaties/{reservatieId}`, the id percent-encoded as one path segment.
    pub fn reservation_url(&self, reservatie_id: &str) -> Url {
        let mut url = self.reservations_url();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(reservatie_id);
        }
        url
    }

    /// Sends a request and reads the answer: whole up to [`MAX_ANSWER_BYTES`] (larger is
    /// permanent), or, for a retryable status, up to [`MAX_ERROR_BODY_BYTES`] for the reason.
    /// Any failure on the way is transient.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<(StatusCode, Option<String>, Vec<u8>), ProviderError> {
        let response = request.send().await.map_err(|e| transport_error(e, what))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if is_retryable(status) {
            let reason = read_truncated(response, MAX_ERROR_BODY_BYTES).await;
            return Ok((status, retry_after, reason.into_bytes()));
        }
        let body = read_limited(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge(too_large) => {
                    ProviderError::Permanent(format!("{what}: answered {status}: {too_large}"))
                }
                ReadError::Read(e) => transport_error(e, what),
            })?;
        Ok((status, retry_after, body.to_vec()))
    }
}

fn transport_error(e: reqwest::Error, what: &str) -> ProviderError {
    if e.is_builder() {
        return ProviderError::Permanent(format!("{what}: cannot build the request: {e}"));
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    ProviderError::Transient(format!("{what} {kind}: {text}"))
}

/// 5xx, 429 and 408: worth asking again.
fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// Classifies an answer that is not a success: 408, 429 and 5xx are transient, anything else
/// permanent (with the problem+json's reason).
pub fn classify(
    status: StatusCode,
    retry_after: Option<&str>,
    body: &[u8],
    what: &str,
) -> ProviderError {
    let text = String::from_utf8_lossy(body);
    let reason = translate::problem_reason(status.as_u16(), &text);
    if is_retryable(status) {
        let retry = retry_after
            .map(|r| format!(" (Retry-After: {r})"))
            .unwrap_or_default();
        return ProviderError::Transient(format!("{what}: {reason}{retry}"));
    }
    let meaning = match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            "ULDK refused the reservation"
        }
        StatusCode::CONFLICT => "the Idempotency-Key was already used for a different reservation",
        StatusCode::NOT_FOUND => "ULDK does not know it",
        _ => "unexpected answer",
    };
    ProviderError::Permanent(format!("{what}: {meaning}: {reason}"))
}

#[async_trait]
impl Provider for UldkProvider {
    async fn submit(&self, application: &EnrichedApplication) -> Result<Submitted, ProviderError> {
        let body = translate::reservation_body(application)?;
        let key = application.application_id.to_string();
        let what = format!("POST /v1/reservaties for application {key}");
        let request = self
            .client
            .post(self.reservations_url())
            .header(IDEMPOTENCY_KEY, &key)
            .header(header::ACCEPT, "application/json, application/problem+json")
            .json(&body);
        let (status, retry_after, answer) = self.send(request, &what).await?;
        if status != StatusCode::CREATED && status != StatusCode::OK {
            return Err(classify(status, retry_after.as_deref(), &answer, &what));
        }
        let document = translate::parse_status(&answer)
            .map_err(|e| ProviderError::Permanent(format!("{what}: answered {status}: {e}")))?;
        let decision = translate::decision(&document)?;
        Ok(Submitted {
            reference: document.reservatie_id,
            decision,
        })
    }

    async fn status(&self, reference: &str) -> Result<Decision, ProviderError> {
        let reference = reference.trim();
        if reference.is_empty() {
            return Err(ProviderError::Permanent(
                "an empty ULDK reservation id".to_owned(),
            ));
        }
        let what = format!("GET /v1/reservaties/{reference}");
        let request = self
            .client
            .get(self.reservation_url(reference))
            .header(header::ACCEPT, "application/json, application/problem+json");
        let (status, retry_after, answer) = self.send(request, &what).await?;
        if status != StatusCode::OK {
            return Err(classify(status, retry_after.as_deref(), &answer, &what));
        }
        let document = translate::parse_status(&answer)
            .map_err(|e| ProviderError::Permanent(format!("{what}: {e}")))?;
        if document.reservatie_id != reference {
            return Err(ProviderError::Permanent(format!(
                "{what}: ULDK answered for another reservation ({})",
                document.reservatie_id
            )));
        }
        translate::decision(&document)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn classifies_answers() {
        let transient = |s: u16| {
            matches!(
                classify(StatusCode::from_u16(s).unwrap(), None, b"", "x"),
                ProviderError::Transient(_)
            )
        };
        for s in [500, 502, 503, 504, 429, 408] {
            assert!(transient(s), "{s} should be transient");
        }
        for s in [400, 401, 403, 404, 409, 410, 415, 422, 301, 304] {
            assert!(!transient(s), "{s} should be permanent");
        }
        let e = classify(StatusCode::SERVICE_UNAVAILABLE, Some("1"), b"", "x");
        assert!(e.to_string().contains("Retry-After: 1"), "{e}");
        let e = classify(StatusCode::CONFLICT, None, b"{}", "x");
        assert!(e.to_string().contains("Idempotency-Key"), "{e}");
    }

    #[test]
    fn builds_urls_under_the_base() {
        let p = UldkProvider::new("http://127.0.0.1:8080", Duration::from_secs(1)).unwrap();
        assert_eq!(
            p.reservations_url().as_str(),
            "http://127.0.0.1:8080/v1/reservaties"
        );
        let p = UldkProvider::new("https://uldk.example/api/", Duration::from_secs(1)).unwrap();
        assert_eq!(
            p.reservation_url("R-100001").as_str(),
            "https://uldk.example/api/v1/reservaties/R-100001"
        );
        assert_eq!(
            p.reservation_url("R 1/../x").as_str(),
            "https://uldk.example/api/v1/reservaties/R%201%2F..%2Fx"
        );
        let p = UldkProvider::new("https://uldk.example/api", Duration::from_secs(1)).unwrap();
        assert_eq!(
            p.reservations_url().as_str(),
            "https://uldk.example/api/v1/reservaties"
        );
        for bad in [
            "",
            "not a url",
            "ftp://uldk.example",
            "mailto:x@y.be",
            "http://h/?q=1",
        ] {
            assert!(
                UldkProvider::new(bad, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
    }
}
