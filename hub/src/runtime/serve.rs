//! The HTTP server and the limits every route gets, so that no client (slow, hostile or
//! just broken) can hold the hub's listener, memory or handlers.
//!
//! - [`serve`]: the accept loop (hyper's HTTP/1 server, as `axum::serve` but with a timer):
//!   a client must send a request's whole head within `http.header_read_timeout`, or its
//!   connection is closed (an idle keep-alive connection too). Stopping stops accepting and
//!   lets the connections finish their requests.
//! - [`guarded`] wraps the routes: more than `http.max_concurrent_requests` requests at once
//!   get 503 at once (`/healthz`, `/readyz` and `/metrics` are not counted, so probes keep
//!   answering under load); a request not answered within `http.request_timeout` (its body
//!   read included) gets 503; a body declared (`Content-Length`) or found larger than
//!   `http.max_body_bytes` gets 413 (extractors are limited to it: the JSON routes answer
//!   413 through [`crate::features::applications::api::json_body`]). Every refusal is `application/problem+json`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::config::HttpSettings;
use crate::features::applications::api::problem;

/// Paths answered whatever the load: probes and scraping must not be shed.
const UNCOUNTED: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// The limits of [`guarded`], from `[http]`.
#[derive(Clone)]
struct Limits {
    request_timeout: Duration,
    max_body_bytes: usize,
    in_flight: Arc<Semaphore>,
    max_concurrent_requests: usize,
}

/// `routes` with the concurrency limit, the request timeout and the body limit (see the
/// module documentation).
pub fn guarded(routes: Router, http: &HttpSettings) -> Router {
    let limits = Limits {
        request_timeout: http.request_timeout,
        max_body_bytes: http.max_body_bytes,
        in_flight: Arc::new(Semaphore::new(http.max_concurrent_requests)),
        max_concurrent_requests: http.max_concurrent_requests,
    };
    // Layers run outside in: the last added first.
    routes
        .layer(DefaultBodyLimit::max(http.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            limits.clone(),
            refuse_declared_oversize,
        ))
        .layer(middleware::from_fn_with_state(limits.clone(), time_limit))
        .layer(middleware::from_fn_with_state(limits, shed_load))
}

/// 503 when `max_concurrent_requests` are being handled already.
async fn shed_load(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    if UNCOUNTED.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Ok(_permit) = limits.in_flight.clone().try_acquire_owned() else {
        let mut answer = problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many requests in progress",
            &format!(
                "the hub is handling {} requests (http.max_concurrent_requests); try again shortly",
                limits.max_concurrent_requests
            ),
            &[],
        );
        answer
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return answer;
    };
    next.run(request).await
}

/// 503 when the request is not answered within `request_timeout`.
async fn time_limit(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(answer) => answer,
        Err(_) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Request timed out",
            &format!(
                "not answered within {} (http.request_timeout)",
                humantime::format_duration(limits.request_timeout)
            ),
            &[],
        ),
    }
}

/// 413 before reading anything when `Content-Length` is above `max_body_bytes`.
async fn refuse_declared_oversize(
    State(limits): State<Limits>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limits.max_body_bytes as u64 => {
            too_large(limits.max_body_bytes, &format!("Content-Length {length}"))
        }
        _ => next.run(request).await,
    }
}

/// The 413 problem for a body over `max_body_bytes`; `seen` says how it was noticed.
pub fn too_large(max_body_bytes: usize, seen: &str) -> Response {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body too large",
        &format!("the body is larger than {max_body_bytes} bytes (http.max_body_bytes; {seen})"),
        &[],
    )
}

/// Serves `routes` on `listener` until `cancel`, with `header_read_timeout` per request
/// head; then waits for open connections to finish (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    routes: Router,
    header_read_timeout: Duration,
    cancel: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // e.g. out of file descriptors: wait instead of spinning
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = cancel.cancelled() => break,
        };
        let service = TowerToHyperService::new(routes.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        }));
    }
    drop(listener);
    graceful.shutdown().await;
}
