//! The dead letters' and the quarantine's operator endpoints: `GET /admin/dlq`,
//! `GET /admin/dlq/{id}`, `POST /admin/dlq/{id}/replay`, `POST /admin/dlq/{id}/discard`
//! (`X-Operator` required, every action recorded) and `GET /admin/quarantine`.

use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::DlqError;
use crate::runtime::broker::Broker;
use crate::runtime::http::{required_operator, Problem};
use crate::runtime::management::{Management, ManagementError};
use crate::runtime::store::dead_letters::{DeadLetterFilter, DeadLetterStatus, DeadLetterStore};
use crate::runtime::store::StoreError;

#[derive(Clone)]
pub struct DlqState {
    pub broker: Arc<dyn Broker>,
    pub dead_letters: Arc<dyn DeadLetterStore>,
    /// `None` when `broker.management_url` is not set.
    pub quarantine: Option<Arc<Management>>,
}

pub fn router(state: DlqState) -> Router {
    Router::new()
        .route("/admin/dlq", get(dlq_list))
        .route("/admin/dlq/{id}", get(dlq_show))
        .route("/admin/dlq/{id}/replay", post(dlq_replay))
        .route("/admin/dlq/{id}/discard", post(dlq_discard))
        .route("/admin/quarantine", get(quarantine_list))
        .with_state(state)
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
    State(s): State<DlqState>,
    query: Result<Query<DlqQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = read_query(query)?;
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

/// The query string, or a 400 naming what is wrong with it.
fn read_query<Q>(query: Result<Query<Q>, QueryRejection>) -> Result<Q, Problem> {
    query
        .map(|Query(q)| q)
        .map_err(|e| Problem::bad_request("Invalid query", e.body_text()))
}

fn dead_letter_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, Problem> {
    path.map(|Path(id)| id)
        .map_err(|e| Problem::bad_request("Invalid dead letter id", e.body_text()))
}

/// The dead letter and the operator (`X-Operator`) of a replay or discard.
fn operator_action(
    path: Result<Path<i64>, PathRejection>,
    headers: &HeaderMap,
) -> Result<(i64, String), Problem> {
    Ok((dead_letter_id(path)?, required_operator(headers)?))
}

/// `GET /admin/dlq/{id}`: the dead letter with its properties, headers and body.
async fn dlq_show(
    State(s): State<DlqState>,
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
    State(s): State<DlqState>,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, actor) = operator_action(path, &headers)?;
    let done = super::replay(&*s.broker, &*s.dead_letters, id, &actor).await?;
    Ok(Json(done).into_response())
}

/// `POST /admin/dlq/{id}/discard` (X-Operator required).
async fn dlq_discard(
    State(s): State<DlqState>,
    path: Result<Path<i64>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (id, actor) = operator_action(path, &headers)?;
    let done = super::discard(&*s.dead_letters, id, &actor).await?;
    Ok(Json(done).into_response())
}

#[derive(Deserialize)]
struct QuarantineQuery {
    limit: Option<u32>,
}

/// `GET /admin/quarantine?limit=`: what the broker gave up on in a partner-facing queue,
/// oldest first (limit 100 by default, at most 1000); nothing is removed.
async fn quarantine_list(
    State(s): State<DlqState>,
    query: Result<Query<QuarantineQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let q = read_query(query)?;
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
