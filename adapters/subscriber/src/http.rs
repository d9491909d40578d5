//! The HTTP channel: one JSON message per `POST` to the subscriber's endpoint. The answer
//! is classified here, where its meaning is known; the hub's runtime decides what follows.
//! Of an error answer at most [`MAX_ERROR_BODY_BYTES`] are read (300 characters kept); a
//! success's body is never read.

use std::time::Duration;

use adapter_http::{read_truncated, MAX_ERROR_BODY_BYTES};
use reqwest::StatusCode;

/// How a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// Timeout, connection refused, 5xx, 429, 408: worth retrying later.
    #[error("transient: {0}")]
    Transient(String),
    /// Any other 4xx: the endpoint refuses this message; retrying cannot help.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// What travels in HTTP headers besides the JSON body.
#[derive(Debug, Clone, Default)]
pub struct PostHeaders {
    pub message_id: String,
    pub correlation_id: String,
    pub message_type: String,
}

#[derive(Clone)]
pub struct HttpEndpoint {
    client: reqwest::Client,
    url: String,
}

impl HttpEndpoint {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("verenigingsloket-hub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpEndpoint {
            client,
            url: url.to_owned(),
        })
    }

    pub async fn post(&self, headers: &PostHeaders, body: Vec<u8>) -> Result<(), PostError> {
        let response = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Message-Id", &headers.message_id)
            .header("X-Correlation-Id", &headers.correlation_id)
            .header("X-Message-Type", &headers.message_type)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    "timed out"
                } else {
                    "request failed"
                };
                PostError::Transient(format!("{kind}: {}", e.without_url()))
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let detail = read_truncated(response, MAX_ERROR_BODY_BYTES).await;
        let detail: String = detail.chars().take(300).collect();
        Err(classify(status, detail))
    }
}

fn classify(status: StatusCode, detail: String) -> PostError {
    let message = format!("endpoint answered {status}: {detail}");
    let retryable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    if retryable {
        PostError::Transient(message)
    } else {
        PostError::Permanent(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers() {
        let t = |s: u16| {
            matches!(
                classify(StatusCode::from_u16(s).expect("status"), String::new()),
                PostError::Transient(_)
            )
        };
        assert!(t(500) && t(503) && t(429) && t(408));
        assert!(!t(400) && !t(404) && !t(422));
    }
}
