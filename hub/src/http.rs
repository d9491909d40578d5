//! The hub's HTTP surface: metrics, health, readiness and operator endpoints.
//!
//! Operator actions (`POST /admin/dlq/{id}/replay`, `.../discard`, `POST /admin/resync`) are
//! recorded in `operator_action` with the actor named by the `X-Operator` header (required
//! for the dead-letter actions; `unknown` when a resync request has none). Errors of the
//! dead-letter endpoints are `application/problem+json` (RFC 9457).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::sync::Notify;

use crate::broker::Broker;
use crate::dead_letters::{self, DlqError};
use crate::management::{Management, ManagementError};
use crate::metrics::Metrics;
use crate::store::dead_letters::{DeadLetterFilter, DeadLetterStatus, DeadLetterStore};
use crate::store::{Store, StoreError};

/// The header naming the operator who asks for an action.
pub const OPERATOR_HEADER: &str = "x-operator";

#[derive(Clone)]
pub struct HttpState {
    pub metrics: Metrics,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    pub dead_letters: Arc<dyn DeadLetterStore>,
    pub resync_request: Arc<Notify>,
    /// Set once migrations ran; not ready before.
    pub started: Arc<AtomicBool>,
    /// Required as a bearer token on `/admin/*` when set.
    pub admin_token: Option<SecretString>,
    /// `None` when `broker.management_url` is not set.
    pub quarantine: Option<Arc<Management>>,
}

pub fn router(state: HttpState) -> Router {
    let admin = Router::new()
        .route("/admin/rejections", get(rejections))
        .route("/admin/resync", post(resync))
        .route("/admin/dlq", get(dlq_list))
        .route("/admin/dlq/{id}", get(dlq_show))
        .route("/admin/dlq/{id}/replay", post(dlq_replay))
        .route("/admin/dlq/{id}/discard", post(dlq_discard))
        .route("/admin/quarantine", get(quarantine_list))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_admin_token,
        ));
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(admin)
        .with_state(state)
}

/// With `http.admin_token` set, the admin endpoints need it as a bearer token.
async fn require_admin_token(State(s): State<HttpState>, request: Request, next: Next) -> Response {
    let Some(expected) = &s.admin_token else {
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

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn rejections(State(s): State<HttpState>, Query(q): Query<Limit>) -> Response {
    match s.store.rejections(q.limit.unwrap_or(100).min(10_000)).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

/// Asks the leader's ingest for a full resync, recorded as operator action `resync`.
async fn resync(State(s): State<HttpState>, headers: HeaderMap) -> Result<Response, Problem> {
    // Optional here, so that callers predating the header keep working.
    let actor = match operator(&headers) {
        Ok(actor) => actor,
        Err(Missing::Absent) => "unknown".to_owned(),
        Err(Missing::Invalid(e)) => return Err(Problem::bad_request("Invalid X-Operator", e)),
    };
    s.dead_letters
        .record_action(&actor, "resync", "register", json!({}))
        .await
        // Every operator action is recorded: none without its audit row.
        .map_err(|e| Problem {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Cannot record the action",
            detail: e.to_string(),
        })?;
    tracing::info!(%actor, "resync requested");
    s.resync_request.notify_one();
    Ok((StatusCode::ACCEPTED, Json(json!({ "resync": "requested" }))).into_response())
}

/// An `application/problem+json` answer (RFC 9457).
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    title: &'static str,
    detail: String,
}

impl Problem {
    fn bad_request(title: &'static str, detail: impl Into<String>) -> Problem {
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

impl From<DlqError> for Problem {
    fn from(e: DlqError) -> Problem {
        let (status, title) = match &e {
            DlqError::NotFound(_) => (StatusCode::NOT_FOUND, "Unknown dead letter"),
            DlqError::NotDead { .. } => (StatusCode::CONFLICT, "Dead letter already resolved"),
            DlqError::InvalidActor(_) => (StatusCode::BAD_REQUEST, "Invalid X-Operator"),
            DlqError::Unroutable { .. } => (StatusCode::CONFLICT, "Origin queue missing"),
            DlqError::Broker(_) => (StatusCode::SERVICE_UNAVAILABLE, "Broker unavailable"),
            DlqError::Store(StoreError::Rejected { .. }) => {
                (StatusCode::BAD_REQUEST, "Refused by the database")
            }
            DlqError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "Database unavailable"),
        };
        Problem {
            status,
            title,
            detail: e.to_string(),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        DlqError::Store(e).into()
    }
}

enum Missing {
    Absent,
    Invalid(String),
}

fn operator(headers: &HeaderMap) -> Result<String, Missing> {
    let raw = headers.get(OPERATOR_HEADER).ok_or(Missing::Absent)?;
    let text = std::str::from_utf8(raw.as_bytes())
        .map_err(|_| Missing::Invalid("X-Operator is not UTF-8".into()))?;
    dead_letters::actor(text).map_err(|e| Missing::Invalid(e.to_string()))
}

/// The operator of a dead-letter action: `X-Operator` is required.
fn required_operator(headers: &HeaderMap) -> Result<String, Problem> {
    operator(headers).map_err(|m| match m {
        Missing::Absent => Problem::bad_request(
            "X-Operator required",
            "name the operator in the X-Operator header; every action is recorded with it",
        ),
        Missing::Invalid(e) => Problem::bad_request("Invalid X-Operator", e),
    })
}

#[derive(Deserialize)]
struct DlqQuery {
    queue: Option<String>,
    /// dead | replayed | discarded | all (default: all).
    status: Option<String>,
    limit: Option<u32>,
    offset: Option<u64>,
}

/// `GET /admin/dlq?queue=&status=&limit=&offset=`: newest first, without bodies.
async fn dlq_list(
    State(s): State<HttpState>,
    query: Result<Query<DlqQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request("Invalid query", e.body_text()))?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None | Some("all") => None,
        Some(raw) => Some(DeadLetterStatus::parse(raw).ok_or_else(|| {
            Problem::bad_request(
                "Invalid query",
                format!("status {raw:?}: use dead, replayed, discarded or all"),
            )
        })?),
    };
    let filter = DeadLetterFilter {
        queue: q.queue.filter(|q| !q.is_empty()),
        status,
        limit: q.limit.unwrap_or(100).min(1000),
        offset: q.offset.unwrap_or(0),
    };
    Ok(Json(s.dead_letters.list(&filter).await?).into_response())
}

fn dead_letter_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, Problem> {
    path.map(|Path(id)| id)
        .map_err(|e| Problem::bad_request("Invalid dead letter id", e.body_text()))
}

/// `GET /admin/dlq/{id}`: the dead letter with its properties, headers and body.
async fn dlq_show(
    State(s): State<HttpState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Response, Problem> {
    let id = dead_letter_id(path)?;
    match s.dead_letters.get(id).await? {
        Some(letter) => Ok(Json(letter).into_response()),
        None => Err(DlqError::NotFound(id).into()),
    }
}

/// `POST /admin/dlq/{id}/replay` (X-Operator required).
async fn dlq_replay(
    State(s): State<HttpState>,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = dead_letter_id(path)?;
    let actor = required_operator(&headers)?;
    let done = dead_letters::replay(&*s.broker, &*s.dead_letters, id, &actor).await?;
    Ok(Json(done).into_response())
}

/// `POST /admin/dlq/{id}/discard` (X-Operator required).
async fn dlq_discard(
    State(s): State<HttpState>,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = dead_letter_id(path)?;
    let actor = required_operator(&headers)?;
    let done = dead_letters::discard(&*s.dead_letters, id, &actor).await?;
    Ok(Json(done).into_response())
}

#[derive(Deserialize)]
struct QuarantineQuery {
    limit: Option<u32>,
}

/// `GET /admin/quarantine?limit=`: what the broker gave up on in a partner-facing queue,
/// oldest first (limit 100 by default, at most 1000); nothing is removed.
async fn quarantine_list(
    State(s): State<HttpState>,
    query: Result<Query<QuarantineQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request("Invalid query", e.body_text()))?;
    let quarantine = s.quarantine.ok_or(ManagementError::NotConfigured)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(quarantine.list(limit).await?).into_response())
}

impl From<ManagementError> for Problem {
    fn from(e: ManagementError) -> Problem {
        let (status, title) = match &e {
            ManagementError::NotConfigured | ManagementError::Vhost(_) => (
                StatusCode::NOT_IMPLEMENTED,
                "Management listing not configured",
            ),
            ManagementError::Unavailable(_) | ManagementError::Refused { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "RabbitMQ management API unavailable",
            ),
        };
        Problem {
            status,
            title,
            detail: e.to_string(),
        }
    }
}
