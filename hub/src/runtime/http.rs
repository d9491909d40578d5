//! The hub's HTTP surface: metrics, health and readiness, and the features' routes
//! ([`crate::runtime::Routes`]), their admin routes behind `http.admin_token` when it is set.
//!
//! Operator actions (`POST /admin/dlq/{id}/replay`, `.../discard`, `POST /admin/resync`) are
//! recorded in `operator_action` with the actor named by the `X-Operator` header
//! ([`operator`]). Errors of the admin endpoints are `application/problem+json` (RFC 9457,
//! [`Problem`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::runtime::broker::Broker;
use crate::runtime::metrics::Metrics;
use crate::runtime::store::Store;
use crate::runtime::Routes;

/// The header naming the operator who asks for an action.
pub const OPERATOR_HEADER: &str = "x-operator";

#[derive(Clone)]
pub struct HttpState {
    pub metrics: Metrics,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    /// Set once migrations ran; not ready before.
    pub started: Arc<AtomicBool>,
    /// Required as a bearer token on `/admin/*` when set.
    pub admin_token: Option<SecretString>,
}

/// The runtime's routes and the features'.
pub fn router(state: HttpState, features: Vec<Routes>) -> Router {
    let (mut public, mut admin) = (Router::new(), Router::new());
    for routes in features {
        public = public.merge(routes.public);
        admin = admin.merge(routes.admin);
    }
    let admin = admin.route_layer(middleware::from_fn_with_state(
        state.admin_token.clone(),
        require_admin_token,
    ));
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(public)
        .merge(admin)
}

/// With `http.admin_token` set, the admin endpoints need it as a bearer token.
async fn require_admin_token(
    State(token): State<Option<SecretString>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = &token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let matches: bool = given
        .as_bytes()
        .ct_eq(expected.expose_secret().as_bytes())
        .into();
    if matches {
        return next.run(request).await;
    }
    let body = json!({
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "the admin endpoints need the configured bearer token",
    });
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::WWW_AUTHENTICATE, "Bearer"),
            (header::CONTENT_TYPE, "application/problem+json"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn metrics(State(s): State<HttpState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// Whether RabbitMQ and PostgreSQL are reachable (and the gauges that say so).
pub async fn readiness(s: &HttpState) -> (bool, bool) {
    let rabbitmq = s.broker.is_ready();
    let postgres = matches!(
        tokio::time::timeout(Duration::from_secs(2), s.store.ping()).await,
        Ok(Ok(()))
    );
    let gauge = &s.metrics.dependency_up;
    gauge
        .with_label_values(&["rabbitmq"])
        .set(i64::from(rabbitmq));
    gauge
        .with_label_values(&["postgres"])
        .set(i64::from(postgres));
    (rabbitmq, postgres)
}

/// Ready only while both RabbitMQ and PostgreSQL are reachable and migrations ran.
async fn readyz(State(s): State<HttpState>) -> Response {
    let (rabbitmq, postgres) = readiness(&s).await;
    let started = s.started.load(Ordering::SeqCst);
    let word = |up: bool| if up { "up" } else { "down" };
    let status = if rabbitmq && postgres && started {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body =
        json!({ "rabbitmq": word(rabbitmq), "postgres": word(postgres), "started": started });
    (status, Json(body)).into_response()
}

/// An `application/problem+json` answer (RFC 9457).
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
}

impl Problem {
    pub fn bad_request(title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            title,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": "about:blank",
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// Why no operator could be read from `X-Operator`.
pub enum Missing {
    Absent,
    Invalid(String),
}

/// The operator named by `X-Operator` (see [`operator_name`]).
pub fn operator(headers: &HeaderMap) -> Result<String, Missing> {
    let raw = headers.get(OPERATOR_HEADER).ok_or(Missing::Absent)?;
    let text = std::str::from_utf8(raw.as_bytes())
        .map_err(|_| Missing::Invalid("X-Operator is not UTF-8".into()))?;
    operator_name(text).map_err(Missing::Invalid)
}

/// Longest operator name recorded with an action.
const MAX_OPERATOR_LEN: usize = 200;

/// Checks an operator's name: trimmed, not empty, at most 200 characters, no control
/// characters.
pub fn operator_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("the operator's name is empty".into());
    }
    if name.chars().count() > MAX_OPERATOR_LEN {
        return Err(format!(
            "the operator's name is longer than {MAX_OPERATOR_LEN} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the operator's name holds control characters".into());
    }
    Ok(name.to_owned())
}

/// The operator of an action that needs one: `X-Operator` is required.
pub fn required_operator(headers: &HeaderMap) -> Result<String, Problem> {
    operator(headers).map_err(|m| match m {
        Missing::Absent => Problem::bad_request(
            "X-Operator required",
            "name the operator in the X-Operator header; every action is recorded with it",
        ),
        Missing::Invalid(e) => Problem::bad_request("Invalid X-Operator", e),
    })
}
