//! HTTP access to the register's public API, with an OAuth2 client-credentials token that
//! is fetched on demand, cached until shortly before it expires, and fetched again when the
//! register rejects it (expired or revoked early).

use std::time::{Duration, Instant};

use bytes::Bytes;
use contracts::{Mutatie, VCode};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::{header, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::translate::etag_version;

/// Renew a cached token this long before the register says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct RegisterClientConfig {
    /// e.g. `https://api.verenigingen.vlaanderen.be` (no trailing `/v1`).
    pub base_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Empty: ask for no particular scope.
    pub scope: String,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("register unreachable: {0}")]
    Unreachable(String),
    #[error("register answered {status} on {what}: {detail}")]
    Status {
        status: u16,
        what: &'static str,
        detail: String,
    },
    #[error("token endpoint refused the hub's client credentials: {0}")]
    TokenRefused(String),
    #[error("token endpoint failed: {0}")]
    TokenUnavailable(String),
    #[error("register answer does not parse: {0}")]
    Malformed(String),
}

impl RegisterError {
    /// Worth retrying later: the register (or the way to it) is down, slow or busy.
    pub fn is_transient(&self) -> bool {
        match self {
            RegisterError::Unreachable(_) | RegisterError::TokenUnavailable(_) => true,
            RegisterError::Status { status, .. } => {
                *status >= 500 || *status == 429 || *status == 401
            }
            RegisterError::TokenRefused(_) | RegisterError::Malformed(_) => false,
        }
    }
}

/// What `GET /v1/verenigingen/{vCode}` answered.
#[derive(Debug)]
pub enum Detail {
    Found {
        body: Bytes,
        version: Option<u64>,
    },
    /// Removed, or left the public stream.
    NotFound,
}

struct CachedToken {
    secret: SecretString,
    renew_at: Instant,
}

pub struct RegisterClient {
    config: RegisterClientConfig,
    http: reqwest::Client,
    /// Separate client for the token endpoint: OAuth2 requires not following redirects.
    token_http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
}

impl RegisterClient {
    pub fn new(config: RegisterClientConfig) -> Result<Self, RegisterError> {
        let build = |redirects| {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .connect_timeout(config.timeout)
                .redirect(redirects)
                .user_agent(concat!("verenigingsloket-hub/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| RegisterError::Unreachable(e.to_string()))
        };
        Ok(RegisterClient {
            http: build(reqwest::redirect::Policy::limited(5))?,
            token_http: build(reqwest::redirect::Policy::none())?,
            token: Mutex::new(None),
            config,
        })
    }

    /// `GET /v1/verenigingen/mutaties?sinds=N`: every vCode changed after `sinds`, with its
    /// latest sequence, in sequence order.
    pub async fn mutaties(&self, sinds: u64) -> Result<Vec<Mutatie>, RegisterError> {
        let url = format!("{}/v1/verenigingen/mutaties?sinds={sinds}", self.base());
        let response = self.get("change feed", &url).await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| RegisterError::Unreachable(e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| RegisterError::Malformed(e.to_string()))
    }

    /// `GET /v1/verenigingen/{vCode}`: the raw detail document and its version. Parsing is
    /// left to the caller so that a malformed document can be recorded with its reason.
    pub async fn detail(&self, v_code: &VCode) -> Result<Detail, RegisterError> {
        let url = format!("{}/v1/verenigingen/{v_code}", self.base());
        let response = match self.get("detail", &url).await {
            Err(RegisterError::Status { status: 404, .. }) => return Ok(Detail::NotFound),
            other => other?,
        };
        let version = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .and_then(etag_version);
        let body = response
            .bytes()
            .await
            .map_err(|e| RegisterError::Unreachable(e.to_string()))?;
        Ok(Detail::Found { body, version })
    }

    fn base(&self) -> &str {
        self.config.base_url.trim_end_matches('/')
    }

    /// A GET with a bearer token; a 401 drops the token and tries once more with a new one.
    async fn get(&self, what: &'static str, url: &str) -> Result<reqwest::Response, RegisterError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let response = self
                .http
                .get(url)
                .bearer_auth(token.expose_secret())
                .header(header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| RegisterError::Unreachable(without_url(e)))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                tracing::info!(what, "register rejected the token; fetching a new one");
                *self.token.lock().await = None;
                continue;
            }
            if !status.is_success() {
                let detail = response.text().await.unwrap_or_default();
                return Err(RegisterError::Status {
                    status: status.as_u16(),
                    what,
                    detail: truncate(&detail, 300),
                });
            }
            return Ok(response);
        }
        Err(RegisterError::Status {
            status: 401,
            what,
            detail: "a freshly issued token was rejected too".into(),
        })
    }

    async fn token(&self) -> Result<SecretString, RegisterError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.secret.clone());
        }
        let token = self.fetch_token().await?;
        let secret = token.secret.clone();
        *cached = Some(token);
        Ok(secret)
    }

    async fn fetch_token(&self) -> Result<CachedToken, RegisterError> {
        let token_url = TokenUrl::new(self.config.token_url.clone())
            .map_err(|e| RegisterError::TokenRefused(format!("token_url: {e}")))?;
        let client = BasicClient::new(ClientId::new(self.config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.config.client_secret.expose_secret().to_owned(),
            ))
            .set_token_uri(token_url);
        let mut request = client.exchange_client_credentials();
        if !self.config.scope.is_empty() {
            request = request.add_scope(Scope::new(self.config.scope.clone()));
        }
        let response = request
            .request_async(&self.token_http)
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    RegisterError::TokenRefused(r.to_string())
                }
                oauth2::RequestTokenError::Request(e) => {
                    RegisterError::TokenUnavailable(e.to_string())
                }
                other => RegisterError::TokenUnavailable(other.to_string()),
            })?;
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(300));
        tracing::debug!(
            lifetime_secs = lifetime.as_secs(),
            "obtained register token"
        );
        Ok(CachedToken {
            secret: SecretString::from(response.access_token().secret().to_owned()),
            renew_at: Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN),
        })
    }
}

/// reqwest errors print the URL; ours carry no secrets, but keep messages short and stable.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match e.url() {
        Some(url) => format!("{kind} ({}{})", url.host_str().unwrap_or(""), url.path()),
        None => kind.to_owned(),
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
