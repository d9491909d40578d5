//! The hub's HTTP surface: metrics, health, readiness and operator endpoints.

use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Set once migrations ran; not ready before.
    pub started: Arc<AtomicBool>,
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

async fn resync(State(s): State<HttpState>) -> Response {
    s.resync_request.notify_one();
    (StatusCode::ACCEPTED, Json(json!({ "resync": "requested" }))).into_response()
}
