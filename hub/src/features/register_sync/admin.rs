//! The register sync's operator endpoints: `GET /admin/rejections` (what the register sent
//! that the hub refused) and `POST /admin/resync` (a full resync now, recorded as operator
//! action `resync`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;

use crate::runtime::http::{operator, Missing, Problem};
use crate::runtime::store::dead_letters::{DeadLetterStore, NewAction};
use crate::runtime::store::Store;

#[derive(Clone)]
pub struct AdminState {
    pub store: Arc<dyn Store>,
    /// Where operator actions are recorded (`operator_action`).
    pub audit: Arc<dyn DeadLetterStore>,
    pub resync_request: Arc<Notify>,
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/admin/rejections", get(rejections))
        .route("/admin/resync", post(resync))
        .with_state(state)
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn rejections(State(s): State<AdminState>, Query(q): Query<Limit>) -> Response {
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
async fn resync(State(s): State<AdminState>, headers: HeaderMap) -> Result<Response, Problem> {
    // Optional here, so that callers predating the header keep working.
    let actor = match operator(&headers) {
        Ok(actor) => actor,
        Err(Missing::Absent) => "unknown".to_owned(),
        Err(Missing::Invalid(e)) => return Err(Problem::bad_request("Invalid X-Operator", e)),
    };
    s.audit
        .record_action(NewAction {
            actor: &actor,
            action: "resync",
            target: "register",
            detail: json!({}),
        })
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
