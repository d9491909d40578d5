//! The hub's HTTP surface: metrics, health, readiness and operator endpoints.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;

use crate::broker::Broker;
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
pub struct HttpState {
    pub metrics: Metrics,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    pub resync_request: Arc<Notify>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/admin/rejections", get(rejections))
        .route("/admin/resync", post(resync))
        .with_state(state)
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

/// Ready only while both RabbitMQ and PostgreSQL are reachable.
async fn readyz(State(s): State<HttpState>) -> Response {
    let rabbitmq = s.broker.is_ready();
    let postgres = matches!(
        tokio::time::timeout(Duration::from_secs(2), s.store.ping()).await,
        Ok(Ok(()))
    );
    s.metrics
        .dependency_up
        .with_label_values(&["rabbitmq"])
        .set(i64::from(rabbitmq));
    s.metrics
        .dependency_up
        .with_label_values(&["postgres"])
        .set(i64::from(postgres));
    let word = |up: bool| if up { "up" } else { "down" };
    let status = if rabbitmq && postgres {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "rabbitmq": word(rabbitmq), "postgres": word(postgres) })),
    )
        .into_response()
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

async fn resync(State(s): State<HttpState>) -> Response {
    s.resync_request.notify_one();
    (StatusCode::ACCEPTED, Json(json!({ "resync": "requested" }))).into_response()
}
