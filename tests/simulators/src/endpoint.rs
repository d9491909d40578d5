//! [`EndpointSim`]: a subscriber's back office that receives the hub's messages by HTTP
//! (a webhook receiver).
//!
//! The hub POSTs each message body as JSON to `/messages` with `Content-Type:
//! application/json`, `X-Message-Id`, `X-Correlation-Id` and `X-Message-Type`. The simulator
//! records every such request (arrival time, headers, parsed body, the status it answers) and
//! answers `200 {"received": true}` unless told otherwise: a burst of failures
//! ([`EndpointSim::fail_next`]), a message that always fails ([`EndpointSim::fail_message`],
//! [`EndpointSim::fail_when_body_contains`]) or a slow answer ([`EndpointSim::set_delay`]).
//! The same behaviours can be set over HTTP with `POST /_sim/behaviour` (see the README).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use partner_sims::EndpointSim;
//! let sim = EndpointSim::start("127.0.0.1:0".parse().unwrap()).await?;
//! sim.fail_next(3, 503);                 // the next three requests answer 503
//! // ... point the hub at sim.url() ...
//! let delivered = sim.accepted();        // every request answered 2xx
//! sim.shutdown();
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::control::{
    self, burst, header_str, take_one, valid_status, ControlJson, InFlightCounter,
};
use crate::server::{Recorded, SimHandle, Simulator};

/// One request to `POST /messages`, as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// When the request arrived (before any delay).
    pub at: Instant,
    /// `X-Message-Id`.
    pub message_id: Option<String>,
    /// `X-Correlation-Id`.
    pub correlation_id: Option<String>,
    /// `X-Message-Type`.
    pub message_type: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The parsed JSON body; `Value::Null` when the body is not JSON (answered 400).
    pub body: Value,
    /// The status the simulator answers (decided on arrival).
    pub status: u16,
    /// The answer was handed to the server: false while a delay is running, and for good when
    /// the client gave up (closed the connection) before the delay was over.
    pub completed: bool,
}

impl RecordedRequest {
    /// Answered (or being answered) with a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The simulator's current behaviour, as `GET /_sim/behaviour` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    /// `(count, status)`: the next `count` requests answer `status`.
    pub fail_next: Option<(u32, u16)>,
    /// Message id → status, until cleared.
    pub fail_messages: HashMap<String, u16>,
    /// (substring of the raw body, status), until cleared.
    pub fail_bodies: Vec<(String, u16)>,
    /// Every request to `/messages` is answered only after this long.
    pub delay_ms: u64,
}

/// What the endpoint simulator keeps behind its lock: the requests and the behaviour.
pub type EndpointState = Recorded<RecordedRequest, Behaviour>;

impl EndpointState {
    /// The status for a request: a pending burst first (consuming one), then the
    /// per-message rules, else 200.
    fn decide(&mut self, message_id: Option<&str>, raw_body: &str) -> u16 {
        let b = &mut self.behaviour;
        if let Some(status) = take_one(&mut b.fail_next) {
            return status;
        }
        if let Some(&status) = message_id.and_then(|id| b.fail_messages.get(id)) {
            return status;
        }
        if let Some((_, status)) = b.fail_bodies.iter().find(|(s, _)| raw_body.contains(s)) {
            return *status;
        }
        200
    }
}

/// What a running endpoint simulator shares with its server.
pub struct Shared {
    started: Instant,
    state: Mutex<EndpointState>,
    in_flight: InFlightCounter,
}

impl Simulator for Shared {
    const NAME: &'static str = "EndpointSim";
    type State = EndpointState;
    fn state(&self) -> MutexGuard<'_, EndpointState> {
        control::lock(&self.state)
    }
}

/// A running endpoint simulator (see [`SimHandle`] for the methods every simulator has).
pub type EndpointSim = SimHandle<Shared>;

impl EndpointSim {
    /// Binds `addr` (port 0 picks a free port) and serves in a background task.
    pub async fn start(addr: SocketAddr) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            started: Instant::now(),
            state: Mutex::new(EndpointState::default()),
            in_flight: InFlightCounter::default(),
        });
        Self::serve(addr, shared, router).await
    }

    /// Where the hub posts messages: `base_url() + "/messages"`.
    pub fn url(&self) -> String {
        format!("{}/messages", self.base_url())
    }

    /// The next `count` requests to `/messages` answer `status`, whatever they carry (a 5xx
    /// burst); 0 ends a burst. A `status` that is not a valid HTTP status becomes 500.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().behaviour.fail_next = burst(count, valid_status(status));
    }

    /// Every request with `X-Message-Id: message_id` answers `status` until [`Self::clear`]
    /// (a poison or always-failing message).
    pub fn fail_message(&self, message_id: &str, status: u16) {
        self.state()
            .behaviour
            .fail_messages
            .insert(message_id.to_owned(), valid_status(status));
    }

    /// Every request whose raw body contains `substring` (e.g. a vCode) answers `status`
    /// until [`Self::clear`].
    pub fn fail_when_body_contains(&self, substring: &str, status: u16) {
        self.state()
            .behaviour
            .fail_bodies
            .push((substring.to_owned(), valid_status(status)));
    }

    /// Every request to `/messages` is answered only after `delay` (zero: at once).
    pub fn set_delay(&self, delay: Duration) {
        self.state().behaviour.delay_ms = control::millis(delay);
    }

    /// Back to answering 200 at once: ends a burst, forgets the failing messages and the delay.
    /// The recorded requests are kept.
    pub fn clear(&self) {
        self.state().behaviour = Behaviour::default();
    }

    /// The requests answered with a 2xx status (and not given up by the client during a
    /// delay), in arrival order.
    pub fn accepted(&self) -> Vec<RecordedRequest> {
        self.requests_where(|r| r.is_success() && r.completed)
    }

    /// Arrival times of every request for this message id, whatever it was answered.
    pub fn attempts(&self, message_id: &str) -> Vec<Instant> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.message_id.as_deref() == Some(message_id))
            .map(|r| r.at)
            .collect()
    }

    /// The largest number of requests to `/messages` handled at once so far.
    pub fn max_in_flight(&self) -> usize {
        self.shared.in_flight.max()
    }

    /// Requests to `/messages` being handled right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.current()
    }

    /// Waits until at least `n` requests were accepted; false after `timeout`.
    pub async fn wait_for_accepted(&self, n: usize, timeout: Duration) -> bool {
        control::wait_until(timeout, || self.accepted().len() >= n).await
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

type AppState = Arc<Shared>;

fn router(shared: AppState) -> Router {
    control::control_routes(set_behaviour, list_requests)
        .route("/messages", post(receive))
        .with_state(shared)
}

async fn receive(State(shared): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (_in_flight, _) = shared.in_flight.enter();
    let at = Instant::now();
    let raw = String::from_utf8_lossy(&body);
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let message_id = header_str(&headers, "x-message-id");
    let (index, status, delay) = {
        let mut state = shared.state();
        let status = match parsed {
            Some(_) => state.decide(message_id.as_deref(), &raw),
            None => 400,
        };
        state.requests.push(RecordedRequest {
            at,
            message_id,
            correlation_id: header_str(&headers, "x-correlation-id"),
            message_type: header_str(&headers, "x-message-type"),
            content_type: header_str(&headers, header::CONTENT_TYPE),
            body: parsed.clone().unwrap_or(Value::Null),
            status,
            completed: false,
        });
        let delay = Duration::from_millis(state.behaviour.delay_ms);
        (state.requests.len() - 1, status, delay)
    };
    crate::control::pause(delay).await;
    if let Some(r) = shared.state().requests.get_mut(index) {
        r.completed = true;
    }
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let answer = match (parsed.is_some(), code.is_success()) {
        (false, _) => json!({"received": false, "error": "the body is not JSON"}),
        (true, true) => json!({"received": true}),
        (true, false) => json!({"received": false, "error": "simulated failure"}),
    };
    (code, Json(answer)).into_response()
}

/// `POST /_sim/behaviour`: every member optional; `clear` is applied first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourRequest {
    #[serde(default)]
    clear: bool,
    fail_next: Option<control::FailNext>,
    fail_message: Option<FailMessage>,
    fail_when_body_contains: Option<FailBody>,
    delay_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailMessage {
    message_id: String,
    status: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailBody {
    substring: String,
    status: u16,
}

async fn set_behaviour(
    State(shared): State<AppState>,
    ControlJson(request): ControlJson<BehaviourRequest>,
) -> Response {
    let mut state = shared.state();
    let b = &mut state.behaviour;
    if request.clear {
        *b = Behaviour::default();
    }
    if let Some(f) = request.fail_next {
        b.fail_next = burst(f.count, valid_status(f.status));
    }
    if let Some(f) = request.fail_message {
        b.fail_messages.insert(f.message_id, valid_status(f.status));
    }
    if let Some(f) = request.fail_when_body_contains {
        b.fail_bodies.push((f.substring, valid_status(f.status)));
    }
    if let Some(ms) = request.delay_ms {
        b.delay_ms = ms;
    }
    Json(b.clone()).into_response()
}

/// `GET /_sim/requests`: what arrived (milliseconds since the simulator started), without
/// bodies.
async fn list_requests(State(shared): State<AppState>) -> Json<Value> {
    control::json_list(&shared.state().requests, |r| {
        json!({
            "msSinceStart": control::ms_since(shared.started, r.at),
            "messageId": r.message_id,
            "messageType": r.message_type,
            "status": r.status,
            "completed": r.completed,
        })
    })
}
