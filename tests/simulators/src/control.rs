//! The pieces of the `/_sim/...` control API and the request log that the simulators share:
//! JSON errors, statuses a test may ask for, failure bursts, milliseconds, header values,
//! waiting for a condition, resolving the address to bind, picking recorded requests and
//! counting the requests in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::server::{Recording, Simulator};

/// The control routes every simulator serves, `GET|POST /_sim/behaviour` and
/// `GET /_sim/requests`, with the fallback [`no_such_route`].
pub(crate) fn control_routes<S, P, PT, L, LT>(set_behaviour: P, list_requests: L) -> Router<Arc<S>>
where
    S: Simulator,
    S::State: Recording,
    <S::State as Recording>::Behaviour: Serialize,
    P: Handler<PT, Arc<S>>,
    L: Handler<LT, Arc<S>>,
    PT: 'static,
    LT: 'static,
{
    Router::new()
        .route(
            "/_sim/behaviour",
            get(get_behaviour::<S>).post(set_behaviour),
        )
        .route("/_sim/requests", get(list_requests))
        .fallback(no_such_route)
}

/// `GET /_sim/behaviour`: the current behaviour.
async fn get_behaviour<S>(State(shared): State<Arc<S>>) -> Json<<S::State as Recording>::Behaviour>
where
    S: Simulator,
    S::State: Recording,
{
    Json(shared.state().behaviour().clone())
}

/// `{"fail_next": {"count", "status"}}` of a `POST /_sim/behaviour`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FailNext {
    pub(crate) count: u32,
    pub(crate) status: u16,
}

/// The fallback of the simulators' routers: 404 `{"error": "no such route"}`.
pub(crate) async fn no_such_route() -> (StatusCode, Json<Value>) {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "no such route"})),
    )
}

/// 400 `{"error": message}`.
pub(crate) fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// A control request's JSON body (`POST /_sim/...`); one that does not parse is answered
/// 400 `{"error": …}`.
pub(crate) struct ControlJson<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ControlJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&body)
            .map(ControlJson)
            .map_err(|e| bad_request(e.to_string()))
    }
}

/// An HTTP error status the simulator can answer; anything else becomes 500.
pub(crate) fn error_status(status: u16) -> u16 {
    if StatusCode::from_u16(status).is_ok() && (400..=599).contains(&status) {
        status
    } else {
        500
    }
}

/// An HTTP status the simulator can answer; anything else becomes 500.
pub(crate) fn valid_status(status: u16) -> u16 {
    if StatusCode::from_u16(status).is_ok() && (100..=599).contains(&status) {
        status
    } else {
        500
    }
}

/// A `(count, value)` burst, none for a count of 0.
pub(crate) fn burst<T>(count: u32, value: T) -> Option<(u32, T)> {
    (count > 0).then_some((count, value))
}

/// Takes one from a `(count, value)` burst.
pub(crate) fn take_one<T: Clone>(slot: &mut Option<(u32, T)>) -> Option<T> {
    let (count, value) = slot.take()?;
    if count > 1 {
        *slot = Some((count - 1, value.clone()));
    }
    Some(value)
}

/// Locks a simulator's state; a test that panicked while holding it does not poison it
/// for the others.
pub(crate) fn lock<T>(state: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits `delay` (nothing when zero): a slow answer.
pub(crate) async fn pause(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// `GET /_sim/requests`: the JSON array of `item` of every recorded request.
pub(crate) fn json_list<T>(records: &[T], item: impl Fn(&T) -> Value) -> Json<Value> {
    Json(Value::Array(records.iter().map(item).collect()))
}

/// The recorded requests `keep` answers true for, in arrival order.
pub(crate) fn matching<R: Clone>(records: &[R], keep: impl Fn(&R) -> bool) -> Vec<R> {
    records.iter().filter(|r| keep(r)).cloned().collect()
}

/// How many requests a simulator is handling right now, and the most it handled at once.
#[derive(Debug, Default)]
pub(crate) struct InFlightCounter {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlightCounter {
    /// Counts a request in flight until the guard is dropped (also when the client gives up
    /// and the handler is dropped); also answers how many are in flight now, this one
    /// included.
    pub(crate) fn enter(&self) -> (InFlight<'_>, usize) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        (InFlight(self), now)
    }

    /// Requests being handled right now.
    pub(crate) fn current(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    /// The largest number of requests handled at once so far.
    pub(crate) fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// One request in flight (see [`InFlightCounter::enter`]).
pub(crate) struct InFlight<'a>(&'a InFlightCounter);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whole milliseconds (saturating).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `msSinceStart` of a recorded request.
pub(crate) fn ms_since(started: Instant, at: Instant) -> u64 {
    millis(at.duration_since(started))
}

/// A header's value, when it is text.
pub(crate) fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Asks `check` every 20 ms until it answers something; None after `timeout`.
pub(crate) async fn wait_for<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`wait_for`] a condition: false after `timeout`.
pub(crate) async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    wait_for(timeout, || done().then_some(())).await.is_some()
}

/// The first address `addr` resolves to.
pub(crate) async fn resolve(
    addr: impl tokio::net::ToSocketAddrs,
) -> std::io::Result<std::net::SocketAddr> {
    tokio::net::lookup_host(addr).await?.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    })
}
