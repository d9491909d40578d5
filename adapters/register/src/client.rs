//! HTTP access to the register's public API (reads) and its beheer API (writes, see
//! [`RegisterClient::write`]), with an OAuth2 client-credentials token that is fetched on
//! demand, cached until shortly before it expires, and fetched again when the register rejects
//! it (expired or revoked early).

use std::time::{Duration, Instant};

use adapter_http::{
    failure_kind, read_limited, read_truncated, ReadError, TooLarge, MAX_ERROR_BODY_BYTES,
};
use contracts::{Mutatie, VCode};
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::{header, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use crate::beheer::{parse_accepted, parse_problem, Write, WriteMethod, WriteOutcome};
use crate::translate::{etag_version, Document};

/// Renew a cached token this long before the register says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

/// The largest detail document read; a larger one becomes [`Document::TooLarge`] (the
/// caller's rejection of that document). Real documents are a few KB.
pub const MAX_DOCUMENT_BYTES: usize = adapter_http::MAX_ANSWER_BYTES;

/// The largest change feed read. The feed is not paged: after `sinds=0` it lists every vCode
/// (about 40 bytes each), so 64 MiB is well over a million associations. A larger feed is
/// [`RegisterError::TooLarge`].
pub const MAX_FEED_BYTES: usize = 64 * 1024 * 1024;

/// The largest beheer or token answer read (a problem document, a token).
pub const MAX_ANSWER_BYTES: usize = adapter_http::MAX_ANSWER_BYTES;

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
    /// The answer to `what` was larger than its limit ([`MAX_FEED_BYTES`], [`MAX_ANSWER_BYTES`]).
    #[error("register's {what} refused: {too_large}")]
    TooLarge {
        what: &'static str,
        too_large: TooLarge,
    },
    /// A `Write` that cannot be sent as it is (e.g. a header value with control characters).
    #[error("write cannot be sent: {0}")]
    InvalidWrite(String),
}

impl RegisterError {
    /// Worth retrying later: the register (or the way to it) is down, slow or busy.
    pub fn is_transient(&self) -> bool {
        match self {
            RegisterError::Unreachable(_) | RegisterError::TokenUnavailable(_) => true,
            RegisterError::Status { status, .. } => {
                *status >= 500 || *status == 429 || *status == 401
            }
            RegisterError::TokenRefused(_)
            | RegisterError::Malformed(_)
            | RegisterError::TooLarge { .. }
            | RegisterError::InvalidWrite(_) => false,
        }
    }
}

/// What `GET /v1/verenigingen/{vCode}` answered.
#[derive(Debug)]
pub enum Detail {
    Found {
        /// Unparsed, or what refused it ([`MAX_DOCUMENT_BYTES`]): [`crate::parse_detail`]
        /// turns either into a `Vereniging` or a rejection reason.
        body: Document,
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
    token_http: TokenHttp,
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
            token_http: TokenHttp(build(reqwest::redirect::Policy::none())?),
            token: Mutex::new(None),
            config,
        })
    }

    /// `GET /v1/verenigingen/mutaties?sinds=N`: every vCode changed after `sinds`, with its
    /// latest sequence, in sequence order.
    pub async fn mutaties(&self, sinds: u64) -> Result<Vec<Mutatie>, RegisterError> {
        let url = format!("{}/v1/verenigingen/mutaties?sinds={sinds}", self.base());
        let response = self.get("change feed", &url).await?;
        let body = read(response, MAX_FEED_BYTES, "change feed").await?;
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
        let body = match read(response, MAX_DOCUMENT_BYTES, "detail").await {
            Ok(body) => Document::Read(body),
            Err(RegisterError::TooLarge { too_large, .. }) => Document::TooLarge(too_large),
            Err(e) => return Err(e),
        };
        Ok(Detail::Found { body, version })
    }

    /// Sends one beheer command: `{method} {base_url}/v1/verenigingen/{vCode}[/{sub_path}]`
    /// with `VR-Initiator`, `X-Correlation-Id`, `If-Match: W/"<n>"` (when set) and the JSON
    /// body (when set). A 401 drops the token and sends once more with a new one (the register
    /// applied nothing).
    ///
    /// `202` → `Accepted` (version from `ETag`, sequence from `VR-Sequence`; either missing or
    /// garbled is `Malformed`), `200`/`204` → `Unchanged`, `412` → `Conflict`, `400`/`422` →
    /// `Rejected` (the problem document's detail and field errors), `404` → `NotFound`. Any
    /// other status is `RegisterError::Status` (5xx, 429 and a repeated 401 transient), a
    /// timeout or failed connection `Unreachable`: the command may or may not have been
    /// applied then, and the register has no idempotency key, so a caller that retries must
    /// check first.
    pub async fn write(&self, w: &Write) -> Result<WriteOutcome, RegisterError> {
        const WHAT: &str = "write";
        let url = format!("{}{}", self.base(), w.path());
        let method = match w.method {
            WriteMethod::Post => reqwest::Method::POST,
            WriteMethod::Patch => reqwest::Method::PATCH,
            WriteMethod::Delete => reqwest::Method::DELETE,
        };
        let initiator = header::HeaderValue::from_str(w.initiator.trim()).map_err(|_| {
            RegisterError::InvalidWrite("VR-Initiator is not a header value".into())
        })?;
        let body = w
            .body
            .as_ref()
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| RegisterError::InvalidWrite(format!("body: {e}")))?;
        for attempt in 0..2 {
            let token = self.token().await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose_secret())
                .header(header::ACCEPT, "application/json, application/problem+json")
                .header("VR-Initiator", initiator.clone())
                .header(
                    "X-Correlation-Id",
                    w.correlation_id.hyphenated().to_string(),
                );
            if let Some(version) = w.if_match {
                request = request.header(header::IF_MATCH, format!("W/\"{version}\""));
            }
            if let Some(body) = &body {
                request = request
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = request
                .send()
                .await
                .map_err(|e| RegisterError::Unreachable(without_url(e)))?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                tracing::info!(
                    what = WHAT,
                    "register rejected the token; fetching a new one"
                );
                *self.token.lock().await = None;
                continue;
            }
            return write_outcome(response).await;
        }
        Err(RegisterError::Status {
            status: 401,
            what: WHAT,
            detail: "a freshly issued token was rejected too".into(),
        })
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
                let detail = read_truncated(response, MAX_ERROR_BODY_BYTES).await;
                return Err(RegisterError::Status {
                    status: status.as_u16(),
                    what,
                    detail: contracts::text::truncate(&detail, 300),
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

/// Maps the register's answer to a beheer command (see [`RegisterClient::write`]).
async fn write_outcome(response: reqwest::Response) -> Result<WriteOutcome, RegisterError> {
    let status = response.status();
    let header_text = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match status.as_u16() {
        202 => parse_accepted(
            header_text(header::ETAG.as_str()).as_deref(),
            header_text("vr-sequence").as_deref(),
        )
        .map_err(RegisterError::Malformed),
        200 | 204 => Ok(WriteOutcome::Unchanged),
        412 => Ok(WriteOutcome::Conflict),
        400 | 404 | 422 => {
            let body = read(response, MAX_ANSWER_BYTES, "write answer").await?;
            let (detail, errors) = parse_problem(&body);
            Ok(if status == StatusCode::NOT_FOUND {
                WriteOutcome::NotFound { detail }
            } else {
                WriteOutcome::Rejected { detail, errors }
            })
        }
        _ => {
            let detail = read_truncated(response, MAX_ERROR_BODY_BYTES).await;
            Err(RegisterError::Status {
                status: status.as_u16(),
                what: "write",
                detail: contracts::text::truncate(&detail, 300),
            })
        }
    }
}

/// `response`'s body up to `limit`: too large is [`RegisterError::TooLarge`], a connection lost
/// while reading [`RegisterError::Unreachable`].
async fn read(
    response: reqwest::Response,
    limit: usize,
    what: &'static str,
) -> Result<bytes::Bytes, RegisterError> {
    read_limited(response, limit).await.map_err(|e| match e {
        ReadError::TooLarge(too_large) => RegisterError::TooLarge { what, too_large },
        ReadError::Read(e) => RegisterError::Unreachable(without_url(e)),
    })
}

/// Why the token endpoint could not be asked (oauth2 wants an `Error`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TokenCallError(String);

/// oauth2's HTTP client for the token endpoint: reqwest with the answer read up to
/// [`MAX_ANSWER_BYTES`] (oauth2's own reqwest client reads it whole).
struct TokenHttp(reqwest::Client);

type TokenFuture<'c> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, TokenCallError>> + Send + 'c>,
>;

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = TokenCallError;
    type Future = TokenFuture<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(token_call(&self.0, request))
    }
}

async fn token_call(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TokenCallError> {
    let request = reqwest::Request::try_from(request)
        .map_err(|e| TokenCallError(format!("token request cannot be sent: {e}")))?;
    let response = http
        .execute(request)
        .await
        .map_err(|e| TokenCallError(without_url(e)))?;
    let mut answer = oauth2::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    let body = read_limited(response, MAX_ANSWER_BYTES)
        .await
        .map_err(|e| TokenCallError(format!("token answer: {e}")))?;
    answer
        .body(body.to_vec())
        .map_err(|e| TokenCallError(e.to_string()))
}

/// reqwest errors print the URL; ours carry no secrets, but keep messages short and stable.
fn without_url(e: reqwest::Error) -> String {
    let kind = failure_kind(&e);
    match e.url() {
        Some(url) => format!("{kind} ({}{})", url.host_str().unwrap_or(""), url.path()),
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex as StdMutex};

    use serde_json::json;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;
    use uuid::Uuid;

    use super::*;
    use crate::beheer::FieldError;

    /// One request the fake register received.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    type Answer = (u16, Vec<(&'static str, &'static str)>, String);

    /// A minimal HTTP/1.1 server: `POST /token` always issues a token (`tok-1`, `tok-2`, …);
    /// every other request gets the next scripted answer (and a 500 when the script is done).
    struct Fake {
        base: String,
        seen: Arc<StdMutex<Vec<Seen>>>,
    }

    impl Fake {
        async fn start(script: Vec<Answer>) -> Fake {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("addr"));
            let seen = Arc::new(StdMutex::new(Vec::new()));
            let script = Arc::new(StdMutex::new(VecDeque::from(script)));
            let (seen2, tokens) = (seen.clone(), Arc::new(StdMutex::new(0u32)));
            tokio::spawn(async move {
                while let Ok((mut conn, _)) = listener.accept().await {
                    let (seen, script, tokens) = (seen2.clone(), script.clone(), tokens.clone());
                    tokio::spawn(async move {
                        let Some(req) = read_request(&mut conn).await else {
                            return;
                        };
                        let (status, headers, body) = if req.path == "/token" {
                            let n = {
                                let mut t = tokens.lock().expect("lock");
                                *t += 1;
                                *t
                            };
                            let body = json!({"access_token": format!("tok-{n}"),
                                "token_type": "bearer", "expires_in": 3600});
                            (
                                200,
                                vec![("content-type", "application/json")],
                                body.to_string(),
                            )
                        } else {
                            let next = script.lock().expect("lock").pop_front();
                            next.unwrap_or((500, vec![], "script exhausted".into()))
                        };
                        seen.lock().expect("lock").push(req);
                        let mut out = format!(
                            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                            body.len()
                        );
                        for (n, v) in headers {
                            out.push_str(&format!("{n}: {v}\r\n"));
                        }
                        out.push_str("\r\n");
                        out.push_str(&body);
                        let _ = conn.write_all(out.as_bytes()).await;
                        let _ = conn.shutdown().await;
                    });
                }
            });
            Fake { base, seen }
        }

        fn writes(&self) -> Vec<Seen> {
            self.seen
                .lock()
                .expect("lock")
                .iter()
                .filter(|s| s.path != "/token")
                .cloned()
                .collect()
        }

        fn token_requests(&self) -> usize {
            self.seen
                .lock()
                .expect("lock")
                .iter()
                .filter(|s| s.path == "/token")
                .count()
        }

        fn client(&self) -> RegisterClient {
            client_for(&self.base, Duration::from_secs(5))
        }
    }

    fn client_for(base: &str, timeout: Duration) -> RegisterClient {
        RegisterClient::new(RegisterClientConfig {
            base_url: format!("{base}/"),
            token_url: format!("{base}/token"),
            client_id: "hub".into(),
            client_secret: SecretString::from("hub-secret"),
            scope: "dv_verenigingsregister_beheer".into(),
            timeout,
        })
        .expect("client")
    }

    async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<Seen> {
        let (head, body) = adapter_http::fixtures::read_request(conn).await?;
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Some(Seen {
            method,
            path,
            headers,
            body,
        })
    }

    fn write(method: WriteMethod, sub_path: &str, body: Option<serde_json::Value>) -> Write {
        Write {
            method,
            v_code: "V0001001".parse().expect("vCode"),
            sub_path: sub_path.into(),
            body,
            initiator: "OVO002949".into(),
            correlation_id: Uuid::from_u128(0x2f1b4c0e_7f5a_4e0a_9a57_0c2b1d3e4f50),
            if_match: Some(4),
        }
    }

    fn accepted() -> Answer {
        (
            202,
            vec![("etag", "W/\"5\""), ("vr-sequence", "77")],
            String::new(),
        )
    }

    #[tokio::test]
    async fn write_sends_the_headers_and_reads_a_202() {
        let fake = Fake::start(vec![accepted()]).await;
        let body = json!({"contactgegeven": {"waarde": "info@x.be"}});
        let w = write(WriteMethod::Patch, "contactgegevens/3", Some(body.clone()));
        let outcome = fake.client().write(&w).await.expect("answer");
        assert_eq!(
            outcome,
            WriteOutcome::Accepted {
                version: 5,
                sequence: 77
            }
        );
        let seen = fake.writes();
        assert_eq!(seen.len(), 1);
        let req = &seen[0];
        assert_eq!(req.method, "PATCH");
        assert_eq!(req.path, "/v1/verenigingen/V0001001/contactgegevens/3");
        assert_eq!(req.header("authorization"), Some("Bearer tok-1"));
        assert_eq!(req.header("vr-initiator"), Some("OVO002949"));
        assert_eq!(
            req.header("x-correlation-id"),
            Some("2f1b4c0e-7f5a-4e0a-9a57-0c2b1d3e4f50")
        );
        assert_eq!(req.header("if-match"), Some("W/\"4\""));
        assert_eq!(req.header("content-type"), Some("application/json"));
        let sent: serde_json::Value = serde_json::from_slice(&req.body).expect("JSON body");
        assert_eq!(sent, body);

        // a DELETE without If-Match sends neither body nor If-Match
        let fake = Fake::start(vec![accepted()]).await;
        let mut w = write(WriteMethod::Delete, "locaties/2", None);
        w.if_match = None;
        fake.client().write(&w).await.expect("answer");
        let req = &fake.writes()[0];
        assert_eq!(req.method, "DELETE");
        assert_eq!(req.header("if-match"), None);
        assert!(req.body.is_empty());
    }

    #[tokio::test]
    async fn a_401_fetches_a_new_token_once() {
        let unauthorized: Answer = (401, vec![], String::new());
        let fake = Fake::start(vec![unauthorized.clone(), accepted()]).await;
        let client = fake.client();
        let w = write(
            WriteMethod::Post,
            "stop",
            Some(json!({"einddatum": "2025-01-31"})),
        );
        assert!(matches!(
            client.write(&w).await,
            Ok(WriteOutcome::Accepted { .. })
        ));
        assert_eq!(fake.token_requests(), 2);
        let seen = fake.writes();
        assert_eq!(seen[1].header("authorization"), Some("Bearer tok-2"));

        let fake = Fake::start(vec![unauthorized.clone(), unauthorized]).await;
        let err = fake.client().write(&w).await.expect_err("401 twice");
        assert!(
            matches!(err, RegisterError::Status { status: 401, .. }),
            "{err}"
        );
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn answers_map_to_outcomes() {
        let problem = json!({"type": "urn:be.vlaanderen.basisregisters.api:validation",
            "title": "Validatie mislukt", "detail": "Er is 1 validatiefout.", "status": 400,
            "instance": "/v1/verenigingen/V0001001",
            "validationErrors": {"naam": [{"code": "notEmpty", "reason": "leeg"}]}})
        .to_string();
        let not_found = json!({"title": "Not Found", "detail": "V0001001 werd niet gevonden",
            "status": 404})
        .to_string();
        let script: Vec<Answer> = vec![
            (200, vec![], String::new()),
            (412, vec![], String::new()),
            (
                400,
                vec![("content-type", "application/problem+json")],
                problem,
            ),
            (422, vec![], "not json".into()),
            (404, vec![], not_found),
            (503, vec![], "busy".into()),
            (429, vec![], String::new()),
            (418, vec![], String::new()),
            (202, vec![("etag", "W/\"5\"")], String::new()),
        ];
        let fake = Fake::start(script).await;
        let client = fake.client();
        let w = write(WriteMethod::Patch, "", Some(json!({"naam": ""})));
        let mut results = Vec::new();
        for _ in 0..9 {
            results.push(client.write(&w).await);
        }
        let mut results = results.into_iter();
        let mut next = || results.next().expect("a result");
        assert_eq!(next().expect("200"), WriteOutcome::Unchanged);
        assert_eq!(next().expect("412"), WriteOutcome::Conflict);
        assert_eq!(
            next().expect("400"),
            WriteOutcome::Rejected {
                detail: "Er is 1 validatiefout.".into(),
                errors: vec![FieldError {
                    field: "naam".into(),
                    code: "notEmpty".into(),
                    reason: "leeg".into()
                }]
            }
        );
        assert_eq!(
            next().expect("422"),
            WriteOutcome::Rejected {
                detail: "not json".into(),
                errors: vec![]
            }
        );
        assert_eq!(
            next().expect("404"),
            WriteOutcome::NotFound {
                detail: "V0001001 werd niet gevonden".into()
            }
        );
        for (status, transient) in [(503, true), (429, true), (418, false)] {
            match next() {
                Err(e @ RegisterError::Status { status: s, .. }) if s == status => {
                    assert_eq!(e.is_transient(), transient, "{e}");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
        let err = next().expect_err("202 without VR-Sequence");
        assert!(matches!(err, RegisterError::Malformed(_)), "{err}");
        assert!(!err.is_transient());
    }

    #[tokio::test]
    async fn timeouts_and_refused_connections_are_unreachable() {
        // answers the token, then never answers the write
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut conn).await else {
                        return;
                    };
                    if req.path == "/token" {
                        let body = r#"{"access_token":"t","token_type":"bearer","expires_in":60}"#;
                        let out = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = conn.write_all(out.as_bytes()).await;
                    } else {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                    }
                });
            }
        });
        let client = client_for(&base, Duration::from_millis(300));
        let w = write(WriteMethod::Patch, "", Some(json!({"naam": "x"})));
        let err = client.write(&w).await.expect_err("timeout");
        assert!(matches!(err, RegisterError::Unreachable(_)), "{err}");
        assert!(err.is_transient());

        // nothing listens: the token endpoint is down first
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            l.local_addr().expect("addr")
        };
        let err = client_for(&format!("http://{closed}"), Duration::from_secs(1))
            .write(&w)
            .await
            .expect_err("refused");
        assert!(err.is_transient(), "{err}");
    }

    #[tokio::test]
    async fn oversize_answers_are_refused_and_error_bodies_cut() {
        let huge = "x".repeat(MAX_FEED_BYTES.max(MAX_DOCUMENT_BYTES) + 1);
        let script: Vec<Answer> = vec![
            (200, vec![], huge.clone()),
            (200, vec![], huge.clone()),
            (503, vec![], huge),
        ];
        let fake = Fake::start(script).await;
        let client = fake.client();
        let v_code: VCode = "V0001001".parse().expect("vCode");
        match client.detail(&v_code).await {
            Ok(Detail::Found {
                body: Document::TooLarge(too_large),
                ..
            }) => assert_eq!(too_large.limit(), MAX_DOCUMENT_BYTES),
            other => panic!("{other:?}"),
        }
        let err = client.mutaties(0).await.expect_err("feed too large");
        assert!(
            matches!(err, RegisterError::TooLarge { what: "change feed", too_large }
                if too_large.limit() == MAX_FEED_BYTES),
            "{err}"
        );
        assert!(!err.is_transient());
        let err = client.mutaties(0).await.expect_err("503");
        let RegisterError::Status { status, detail, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(*status, 503);
        assert_eq!(
            detail.chars().count(),
            301,
            "300 characters and the ellipsis"
        );
    }

    #[tokio::test]
    async fn an_unsendable_initiator_is_refused_before_sending() {
        let fake = Fake::start(vec![]).await;
        let mut w = write(WriteMethod::Patch, "", None);
        w.initiator = "OVO\n002949".into();
        let err = fake.client().write(&w).await.expect_err("invalid");
        assert!(matches!(err, RegisterError::InvalidWrite(_)), "{err}");
        assert!(!err.is_transient());
        assert!(fake.writes().is_empty());
    }
}
