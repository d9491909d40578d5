//! [`UldkSim`]: a realistic fake of ULDK (Uitleendienst Kampeermateriaal), the Department of
//! Culture, Youth and Media's tent lending service, speaking the hub project's REST contract
//! (`contracts/uldk.md`). Works on `serde_json::Value` only: it knows nothing of the hub's
//! Rust types.
//!
//! - `POST /v1/reservaties` with `Idempotency-Key: <aanvraagId>`: the body is validated against
//!   `contracts/schemas/uldk.reservation.v1.json` (draft 2020-12, formats checked) and the
//!   rules a schema cannot say (`periode.tot` not before `periode.van`, `ophaling.datum` not
//!   after `periode.van`); invalid → `422 application/problem+json` with every error. A new
//!   reservation → `201` with `Location` and `{reservatieId, status: "aangevraagd"}`; the same
//!   key with the same body → `200` with the reservation as it stands (recorded as a
//!   duplicate; the association's descriptive members may differ, as the register may have
//!   changed in between); the same key asking for something else → `409`. No key, a key that is not the body's
//!   `aanvraagId`, or a body that is not JSON → `400`; not `application/json` → `415`.
//! - `GET /v1/reservaties/{reservatieId}` → `200` `{reservatieId, status, toewijzing?, reden?}`;
//!   unknown → `404`.
//!
//! A reservation is `aangevraagd`, `in_behandeling` once [`UldkSimConfig::treatment_after`]
//! has passed since it was made, and decided once [`UldkSimConfig::decision_after`] has passed
//! (lazily, on the next request or accessor call, in the order the reservations were made), by
//! ULDK's allocation rule:
//!
//! 1. refused with the configured reason when its raw body contains a substring given to
//!    [`UldkSim::refuse_when_body_contains`];
//! 2. refused when the lending, from `ophaling.datum` to `periode.tot`, does not fall within
//!    one lending season, 15 March – 15 November (inclusive) of one year;
//! 3. the tents asked for are capped by the members: seniortents (sleeping 8) first, at most
//!    `ceil(aantalLeden / 8)`; then patrouilletents (sleeping 5) for the members left, at most
//!    `ceil(rest / 5)`; never more than asked;
//! 4. each type is further capped by the stock ([`UldkSimConfig::stock`]) minus the tents
//!    allocated to earlier reservations whose lending overlaps; when nothing is left of either
//!    type the reservation is refused (stock exhausted), otherwise `toegewezen` with
//!    `toewijzing {tenten, ophaalpunt: ophaling.plaats, ophaaldatum: ophaling.datum}`.
//!
//! Test controls (Rust methods, or `POST /_sim/behaviour` with JSON, see [`BehaviourChange`]):
//! [`UldkSim::fail_next`], [`UldkSim::set_down`] (`503` with `Retry-After: 1` while down),
//! [`UldkSim::set_delay`] (the request is processed at once, its answer sent later: a client
//! that times out may have made a reservation), [`UldkSim::refuse_when_body_contains`],
//! [`UldkSim::huge_answer_when_body_contains`] (the answer padded with `"opvulling"`),
//! [`UldkSim::reset`]. Faults concern the `/v1` routes only, are answered before the request
//! is processed, and are problem+json. `GET /_sim/behaviour`, `GET /_sim/requests` and
//! `GET /_sim/reservations` show the state.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use partner_sims::uldk::{UldkSim, UldkSimConfig};
//! let sim = UldkSim::start(UldkSimConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! sim.fail_next(2, 503);                  // the next two /v1 requests answer 503
//! // ... point the ULDK adapter at sim.base_url() ...
//! let made = sim.submissions();           // every POST that made a reservation
//! sim.shutdown();
//! # Ok(()) }
//! ```
//!
//! ```sh
//! B=http://127.0.0.1:8084
//! curl -si -X POST -H 'content-type: application/json' \
//!      -H 'Idempotency-Key: 0b6c7d2e-4f1a-4c3b-9e8d-2a1f5c6b7d80' \
//!      -d @contracts/examples/uldk/uldk.reservation.json $B/v1/reservaties
//! curl -s $B/v1/reservaties/R-100001
//! curl -s -X POST -H 'content-type: application/json' \
//!      -d '{"failNext": {"count": 3, "status": 503}, "delayMs": 200}' $B/_sim/behaviour
//! curl -s -X POST -H 'content-type: application/json' \
//!      -d '{"refuseWhenBodyContains": {"substring": "V0002041", "reden": "Geen JGDW-vereniging."}}' $B/_sim/behaviour
//! curl -s -X POST -H 'content-type: application/json' -d '{"reset": true}' $B/_sim/behaviour
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Date, Month};

use crate::control::{self, header_str, valid_status};
use crate::server::{Recorded, SimHandle, Simulator};

/// Where the request schema is read from when the simulator starts.
pub const RESERVATION_SCHEMA_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../contracts/schemas/uldk.reservation.v1.json"
);

/// How many people a seniortent sleeps.
pub const SENIORTENT_SLEEPS: u64 = 8;
/// How many people a patrouilletent sleeps.
pub const PATROUILLETENT_SLEEPS: u64 = 5;

/// The first reservation id handed out is `R-100001`.
const FIRST_ID: u32 = 100_001;

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// Tents ULDK has to lend, per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TentStock {
    pub seniortent: u64,
    pub patrouilletent: u64,
}

impl Default for TentStock {
    /// 3000 seniortents and 2600 patrouilletents (ULDK lends about 5,600 tents).
    fn default() -> Self {
        TentStock {
            seniortent: 3000,
            patrouilletent: 2600,
        }
    }
}

/// How a [`UldkSim`] starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UldkSimConfig {
    /// A reservation moves from `aangevraagd` to `in_behandeling` this long after it was made.
    pub treatment_after: Duration,
    /// A reservation is decided (`toegewezen` or `geweigerd`) this long after it was made.
    pub decision_after: Duration,
    /// The tents to allocate.
    pub stock: TentStock,
}

impl Default for UldkSimConfig {
    /// In treatment after 1 s, decided after 2 s, the default stock.
    fn default() -> Self {
        UldkSimConfig {
            treatment_after: Duration::from_secs(1),
            decision_after: Duration::from_secs(2),
            stock: TentStock::default(),
        }
    }
}

/// Where a reservation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UldkStatus {
    Aangevraagd,
    InBehandeling,
    Toegewezen,
    Geweigerd,
}

impl UldkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UldkStatus::Aangevraagd => "aangevraagd",
            UldkStatus::InBehandeling => "in_behandeling",
            UldkStatus::Toegewezen => "toegewezen",
            UldkStatus::Geweigerd => "geweigerd",
        }
    }

    pub fn is_decided(self) -> bool {
        matches!(self, UldkStatus::Toegewezen | UldkStatus::Geweigerd)
    }
}

/// A reservation as ULDK holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct UldkReservation {
    /// `R-` and six digits.
    pub reservatie_id: String,
    /// The body's `aanvraagId` (= the Idempotency-Key).
    pub aanvraag_id: String,
    /// The request body that made it.
    pub body: Value,
    /// When it was made.
    pub created: Instant,
    pub status: UldkStatus,
    /// `toegewezen` only: `{tenten: [{type, aantal}], ophaalpunt, ophaaldatum}`.
    pub toewijzing: Option<Value>,
    /// `geweigerd` only.
    pub reden: Option<String>,
}

impl UldkReservation {
    /// The document `GET /v1/reservaties/{reservatieId}` answers.
    pub fn representation(&self) -> Value {
        let mut doc = json!({
            "reservatieId": self.reservatie_id,
            "status": self.status.as_str(),
        });
        if let Some(t) = &self.toewijzing {
            doc["toewijzing"] = t.clone();
        }
        if let Some(r) = &self.reden {
            doc["reden"] = json!(r);
        }
        doc
    }
}

/// One request to a `/v1` route, as the simulator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct UldkRequest {
    /// When it arrived (before any delay).
    pub at: Instant,
    /// `POST` or `GET`.
    pub method: String,
    /// E.g. `/v1/reservaties` or `/v1/reservaties/R-100001`.
    pub path: String,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// The parsed JSON body; `Value::Null` without one or when it is not JSON.
    pub body: Value,
    /// The request passed every check (content type, JSON, key, schema, rules). Checked also
    /// when a fault was answered instead; always true for a `GET`.
    pub valid: bool,
    /// What failed those checks: `"<JSON pointer>: <message>"` for the body's errors.
    pub errors: Vec<String>,
    /// The status answered.
    pub status: u16,
    /// A replay of a known Idempotency-Key, answered 200 with the existing reservation.
    pub duplicate: bool,
    /// The reservation made, replayed or read.
    pub reservatie_id: Option<String>,
}

/// `{count, status}`: the next `count` `/v1` requests answer `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailNext {
    pub count: u32,
    pub status: u16,
}

/// `{substring, reden}`: a reservation whose raw body contains `substring` is refused with
/// `reden` when it is decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalRule {
    pub substring: String,
    pub reden: String,
}

/// The simulator's current behaviour, as `GET /_sim/behaviour` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UldkBehaviour {
    pub fail_next: Option<FailNext>,
    /// Every `/v1` request answers 503 while true.
    pub down: bool,
    /// Every `/v1` answer is sent this long after the request was processed.
    pub delay_ms: u64,
    pub refuse_when_body_contains: Vec<RefusalRule>,
    /// Requests whose body contains a rule's substring are handled as usual, but the answer
    /// carries an extra member `"opvulling"` of the rule's `bytes` characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub huge_answer_when_body_contains: Vec<HugeAnswerRule>,
}

/// See [`UldkBehaviour::huge_answer_when_body_contains`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HugeAnswerRule {
    pub substring: String,
    pub bytes: usize,
}

/// The body of `POST /_sim/behaviour`; every member optional, `reset` applied first.
/// E.g. `{"reset": true, "failNext": {"count": 2, "status": 503}, "down": false,
/// "delayMs": 300, "refuseWhenBodyContains": {"substring": "V0002041", "reden": "…"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BehaviourChange {
    #[serde(default)]
    pub reset: bool,
    pub fail_next: Option<FailNext>,
    pub down: Option<bool>,
    pub delay_ms: Option<u64>,
    pub refuse_when_body_contains: Option<RefusalRule>,
    pub huge_answer_when_body_contains: Option<HugeAnswerRule>,
}

/// What a checked reservation asks for.
#[derive(Debug, Clone)]
struct Asked {
    seniortent: u64,
    patrouilletent: u64,
    leden: u64,
    tot: Date,
    ophaaldatum: Date,
    ophaalpunt: String,
}

#[derive(Debug, Clone)]
struct Entry {
    public: UldkReservation,
    raw: String,
    asked: Asked,
    /// (seniortents, patrouilletents) allocated.
    allocated: Option<(u64, u64)>,
}

impl Entry {
    /// The days the tents are away: from collection to the camp's last day.
    fn overlaps(&self, other: &Asked) -> bool {
        self.asked.ophaaldatum <= other.tot && other.ophaaldatum <= self.asked.tot
    }
}

/// What the ULDK simulator keeps behind its lock: the requests, the behaviour and the
/// reservations.
pub type SimState = Recorded<UldkRequest, UldkBehaviour, Reservations>;

/// The reservations the ULDK simulator made.
pub struct Reservations {
    reservations: Vec<Entry>,
    by_key: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    next_id: u32,
}

impl Default for Reservations {
    /// None yet; the first gets [`FIRST_ID`].
    fn default() -> Self {
        Self {
            reservations: Vec::new(),
            by_key: HashMap::new(),
            by_id: HashMap::new(),
            next_id: FIRST_ID,
        }
    }
}

impl SimState {
    /// Moves every undecided reservation on, in the order they were made.
    fn advance(&mut self, now: Instant, config: &UldkSimConfig) {
        for i in 0..self.books.reservations.len() {
            let entry = &self.books.reservations[i];
            if entry.public.status.is_decided() {
                continue;
            }
            let age = now.saturating_duration_since(entry.public.created);
            if age >= config.decision_after {
                self.decide(i, config);
            } else if age >= config.treatment_after {
                self.books.reservations[i].public.status = UldkStatus::InBehandeling;
            }
        }
    }

    fn decide(&mut self, i: usize, config: &UldkSimConfig) {
        let entry = &self.books.reservations[i];
        let asked = &entry.asked;
        let refusal = self
            .behaviour
            .refuse_when_body_contains
            .iter()
            .find(|r| entry.raw.contains(&r.substring))
            .map(|r| r.reden.clone());
        let outcome = if let Some(reden) = refusal {
            Err(reden)
        } else if !in_season(asked.ophaaldatum, asked.tot) {
            Err(format!(
                "De uitleenperiode ({} tot {}) valt buiten het uitleenseizoen van 15 maart tot 15 november.",
                fmt_date(asked.ophaaldatum),
                fmt_date(asked.tot)
            ))
        } else {
            let (want_s, want_p) = capped_by_members(asked);
            let (mut used_s, mut used_p) = (0u64, 0u64);
            for (j, other) in self.books.reservations.iter().enumerate() {
                if j == i || !other.overlaps(asked) {
                    continue;
                }
                if let Some((s, p)) = other.allocated {
                    used_s = used_s.saturating_add(s);
                    used_p = used_p.saturating_add(p);
                }
            }
            let s = want_s.min(config.stock.seniortent.saturating_sub(used_s));
            let p = want_p.min(config.stock.patrouilletent.saturating_sub(used_p));
            if s + p == 0 {
                Err("Er zijn voor deze periode geen tenten meer beschikbaar: de voorraad is uitgeput."
                    .to_owned())
            } else {
                Ok((s, p))
            }
        };
        let entry = &mut self.books.reservations[i];
        match outcome {
            Ok((s, p)) => {
                let mut tenten = Vec::new();
                if s > 0 {
                    tenten.push(json!({"type": "seniortent", "aantal": s}));
                }
                if p > 0 {
                    tenten.push(json!({"type": "patrouilletent", "aantal": p}));
                }
                entry.allocated = Some((s, p));
                entry.public.status = UldkStatus::Toegewezen;
                entry.public.toewijzing = Some(json!({
                    "tenten": tenten,
                    "ophaalpunt": entry.asked.ophaalpunt,
                    "ophaaldatum": fmt_date(entry.asked.ophaaldatum),
                }));
            }
            Err(reden) => {
                entry.public.status = UldkStatus::Geweigerd;
                entry.public.reden = Some(reden);
            }
        }
    }

    /// The status of an injected fault for the next `/v1` request, if any (consuming one of
    /// a burst).
    fn fault(&mut self) -> Option<(StatusCode, &'static str)> {
        if self.behaviour.down {
            return Some((StatusCode::SERVICE_UNAVAILABLE, "down"));
        }
        let fail = self.behaviour.fail_next.take()?;
        if fail.count > 1 {
            self.behaviour.fail_next = Some(FailNext {
                count: fail.count - 1,
                status: fail.status,
            });
        }
        let status = StatusCode::from_u16(fail.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Some((status, "simulated-fault"))
    }

    fn delay(&self) -> Duration {
        Duration::from_millis(self.behaviour.delay_ms)
    }
}

/// seniortents first, at most enough for the members; then patrouilletents for the rest.
fn capped_by_members(asked: &Asked) -> (u64, u64) {
    let s = asked
        .seniortent
        .min(asked.leden.div_ceil(SENIORTENT_SLEEPS));
    let rest = asked
        .leden
        .saturating_sub(s.saturating_mul(SENIORTENT_SLEEPS));
    let p = asked
        .patrouilletent
        .min(rest.div_ceil(PATROUILLETENT_SLEEPS));
    (s, p)
}

/// From `start` to `end` within 15 March – 15 November of one year.
fn in_season(start: Date, end: Date) -> bool {
    let year = start.year();
    let (Ok(first), Ok(last)) = (
        Date::from_calendar_date(year, Month::March, 15),
        Date::from_calendar_date(year, Month::November, 15),
    ) else {
        return false;
    };
    end.year() == year && start >= first && end <= last
}

fn fmt_date(d: Date) -> String {
    d.format(DATE).unwrap_or_else(|_| d.to_string())
}

/// What a running ULDK simulator shares with its server.
pub struct Shared {
    config: UldkSimConfig,
    validator: jsonschema::Validator,
    started: Instant,
    state: Mutex<SimState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        crate::control::lock(&self.state)
    }
}

impl Simulator for Shared {
    const NAME: &'static str = "UldkSim";
    type State = SimState;
    /// Moves the reservations on first, so that the handle sees them as they stand now.
    fn state(&self) -> MutexGuard<'_, SimState> {
        let mut state = self.lock();
        state.advance(Instant::now(), &self.config);
        state
    }
}

/// A running ULDK simulator (see [`SimHandle`] for the methods every simulator has); the API
/// is under `base_url()` + `/v1`.
pub type UldkSim = SimHandle<Shared>;

impl UldkSim {
    /// Reads and compiles the request schema ([`RESERVATION_SCHEMA_PATH`]), binds `addr` (port
    /// 0 picks a free port) and serves in a background task.
    pub async fn start(config: UldkSimConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(RESERVATION_SCHEMA_PATH)?;
        let schema: Value = serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{RESERVATION_SCHEMA_PATH}: {e}"),
            )
        })?;
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{RESERVATION_SCHEMA_PATH}: {e}"),
                )
            })?;
        let shared = Arc::new(Shared {
            config,
            validator,
            started: Instant::now(),
            state: Mutex::new(SimState::default()),
        });
        Self::serve(addr, shared, router).await
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &UldkSimConfig {
        &self.shared.config
    }

    /// The next `count` `/v1` requests answer `status` (problem+json) without being
    /// processed; 0 ends a burst. A `status` that is not a valid HTTP status becomes 500.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().behaviour.fail_next = (count > 0).then_some(FailNext {
            count,
            status: valid_status(status),
        });
    }

    /// While `down`, every `/v1` request answers 503 with `Retry-After: 1`, unprocessed.
    pub fn set_down(&self, down: bool) {
        self.state().behaviour.down = down;
    }

    /// Every `/v1` request is processed at once and answered `delay` later (zero: at once).
    pub fn set_delay(&self, delay: Duration) {
        self.state().behaviour.delay_ms = control::millis(delay);
    }

    /// A reservation whose raw request body contains `substring` (e.g. a vCode) is refused
    /// with `reden` when it is decided (also one made before this call, if not yet decided).
    /// Requests whose body contains `substring` are handled as usual, but their answer gets
    /// an extra member `"opvulling"` of `bytes` characters (a partner answering too much).
    pub fn huge_answer_when_body_contains(&self, substring: &str, bytes: usize) {
        self.state()
            .behaviour
            .huge_answer_when_body_contains
            .push(HugeAnswerRule {
                substring: substring.to_owned(),
                bytes,
            });
    }

    pub fn refuse_when_body_contains(&self, substring: &str, reden: &str) {
        self.state()
            .behaviour
            .refuse_when_body_contains
            .push(RefusalRule {
                substring: substring.to_owned(),
                reden: reden.to_owned(),
            });
    }

    /// Back to normal: no fault burst, up, no delay, no refusal rules. The reservations and
    /// the recorded requests are kept.
    pub fn reset(&self) {
        self.state().behaviour = UldkBehaviour::default();
    }

    /// Applies a behaviour change as `POST /_sim/behaviour` does.
    pub fn change_behaviour(&self, change: BehaviourChange) -> UldkBehaviour {
        let mut state = self.state();
        apply(&mut state.behaviour, change);
        state.behaviour.clone()
    }

    /// Every reservation, in the order they were made, as they stand now.
    pub fn reservations(&self) -> Vec<UldkReservation> {
        self.state()
            .books
            .reservations
            .iter()
            .map(|e| e.public.clone())
            .collect()
    }

    /// One reservation as it stands now.
    pub fn reservation(&self, reservatie_id: &str) -> Option<UldkReservation> {
        let state = self.state();
        let i = *state.books.by_id.get(reservatie_id)?;
        state.books.reservations.get(i).map(|e| e.public.clone())
    }

    /// The `POST`s that made a reservation (valid, not a replay), in arrival order.
    pub fn submissions(&self) -> Vec<UldkRequest> {
        self.requests_where(|r| r.method == "POST" && r.status == 201)
    }

    /// Waits until the reservation is decided; its final state, or None after `timeout` (or
    /// when it does not exist).
    pub async fn wait_for_decision(
        &self,
        reservatie_id: &str,
        timeout: Duration,
    ) -> Option<UldkReservation> {
        // Some(None): the reservation does not exist, no use waiting.
        control::wait_for(timeout, || match self.reservation(reservatie_id) {
            Some(r) if !r.status.is_decided() => None,
            found => Some(found),
        })
        .await
        .flatten()
    }
}

fn apply(b: &mut UldkBehaviour, change: BehaviourChange) {
    if change.reset {
        *b = UldkBehaviour::default();
    }
    if let Some(f) = change.fail_next {
        b.fail_next = (f.count > 0).then_some(FailNext {
            count: f.count,
            status: valid_status(f.status),
        });
    }
    if let Some(down) = change.down {
        b.down = down;
    }
    if let Some(ms) = change.delay_ms {
        b.delay_ms = ms;
    }
    if let Some(rule) = change.refuse_when_body_contains {
        b.refuse_when_body_contains.push(rule);
    }
    if let Some(rule) = change.huge_answer_when_body_contains {
        b.huge_answer_when_body_contains.push(rule);
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

type AppState = Arc<Shared>;

const RESERVATIONS: &str = "/v1/reservaties";

fn router(shared: AppState) -> Router {
    Router::new()
        .route(RESERVATIONS, post(create))
        .route("/v1/reservaties/{id}", get(read))
        .route("/_sim/behaviour", get(get_behaviour).post(set_behaviour))
        .route("/_sim/requests", get(list_requests))
        .route("/_sim/reservations", get(list_reservations))
        .fallback(|uri: axum::http::Uri| async move {
            problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Deze route bestaat niet.",
                uri.path(),
                &[],
            )
        })
        .with_state(shared)
}

/// One error in a problem+json's `errors`.
#[derive(Debug, Clone)]
struct FieldError {
    pointer: String,
    detail: String,
}

impl FieldError {
    fn new(pointer: &str, detail: impl Into<String>) -> Self {
        FieldError {
            pointer: pointer.to_owned(),
            detail: detail.into(),
        }
    }

    fn line(&self) -> String {
        let pointer = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        format!("{pointer}: {}", self.detail)
    }
}

fn json_response(status: StatusCode, body: &Value, content_type: &'static str) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// An `application/problem+json` answer (RFC 9457) with `errors: [{pointer, detail}]` when
/// there are field errors.
fn problem(
    status: StatusCode,
    kind: &str,
    detail: &str,
    instance: &str,
    errors: &[FieldError],
) -> Response {
    let mut body = json!({
        "type": format!("urn:uldk:problem:{kind}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "instance": instance,
    });
    if !errors.is_empty() {
        body["errors"] = errors
            .iter()
            .map(|e| json!({"pointer": e.pointer, "detail": e.detail}))
            .collect();
    }
    let mut resp = json_response(status, &body, "application/problem+json");
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

fn fault_response(status: StatusCode, kind: &str, instance: &str) -> Response {
    let detail = if kind == "down" {
        "ULDK is tijdelijk niet beschikbaar."
    } else {
        "Gesimuleerde fout."
    };
    problem(status, kind, detail, instance, &[])
}

/// `padding`: characters of an extra member `"opvulling"` (0: none).
fn reservation_response(
    status: StatusCode,
    reservation: &UldkReservation,
    padding: usize,
) -> Response {
    let mut body = reservation.representation();
    if let (Some(o), true) = (body.as_object_mut(), padding > 0) {
        o.insert("opvulling".into(), Value::String("x".repeat(padding)));
    }
    let mut resp = json_response(status, &body, "application/json");
    if let Ok(location) =
        HeaderValue::from_str(&format!("{RESERVATIONS}/{}", reservation.reservatie_id))
    {
        resp.headers_mut().insert(header::LOCATION, location);
    }
    resp
}

/// The outcome of checking a `POST`, before faults and idempotency.
struct Checked {
    body: Value,
    /// Refusal: status, problem kind, detail, field errors.
    refusal: Option<(StatusCode, &'static str, String, Vec<FieldError>)>,
    asked: Option<Asked>,
}

fn check_post(shared: &Shared, headers: &HeaderMap, raw: &[u8], key: Option<&str>) -> Checked {
    let refuse = |body: Value, status, kind, detail: String, errors| Checked {
        body,
        refusal: Some((status, kind, detail, errors)),
        asked: None,
    };
    let parsed: Option<Value> = serde_json::from_slice(raw).ok();
    let content_type = header_str(headers, header::CONTENT_TYPE.as_str()).unwrap_or_default();
    let is_json = content_type
        .split(';')
        .next()
        .map(|t| t.trim().eq_ignore_ascii_case("application/json"))
        .unwrap_or(false);
    if !is_json {
        return refuse(
            parsed.unwrap_or(Value::Null),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!("Verwacht Content-Type application/json, niet {content_type:?}."),
            Vec::new(),
        );
    }
    let Some(body) = parsed else {
        return refuse(
            Value::Null,
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "De body is geen JSON.".to_owned(),
            Vec::new(),
        );
    };
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return refuse(
            body,
            StatusCode::BAD_REQUEST,
            "idempotency-key-missing",
            "De header Idempotency-Key (het aanvraagId) ontbreekt.".to_owned(),
            Vec::new(),
        );
    };
    let mut errors: Vec<FieldError> = shared
        .validator
        .iter_errors(&body)
        .map(|e| FieldError::new(&e.instance_path().to_string(), e.to_string()))
        .collect();
    let asked = if errors.is_empty() {
        match read_asked(&body) {
            Ok(asked) => Some(asked),
            Err(rule_errors) => {
                errors = rule_errors;
                None
            }
        }
    } else {
        None
    };
    if !errors.is_empty() {
        let detail = format!(
            "De reservatie is ongeldig: {} fout{}.",
            errors.len(),
            if errors.len() == 1 { "" } else { "en" }
        );
        return refuse(
            body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            detail,
            errors,
        );
    }
    let aanvraag_id = body["aanvraagId"].as_str().unwrap_or_default();
    if !aanvraag_id.eq_ignore_ascii_case(key) {
        return refuse(
            body.clone(),
            StatusCode::BAD_REQUEST,
            "idempotency-key-mismatch",
            format!("Idempotency-Key {key:?} verschilt van aanvraagId {aanvraag_id:?}."),
            Vec::new(),
        );
    }
    Checked {
        body,
        refusal: None,
        asked,
    }
}

/// Reads a schema-valid body and applies the rules a schema cannot express.
fn read_asked(body: &Value) -> Result<Asked, Vec<FieldError>> {
    let date = |pointer: &str| -> Result<Date, FieldError> {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .and_then(|s| Date::parse(s, DATE).ok())
            .ok_or_else(|| FieldError::new(pointer, "geen datum (JJJJ-MM-DD)"))
    };
    let count = |v: &Value| -> u64 {
        v.as_u64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .unwrap_or(0)
    };
    let (van, tot, ophaaldatum) = match (
        date("/periode/van"),
        date("/periode/tot"),
        date("/ophaling/datum"),
    ) {
        (Ok(v), Ok(t), Ok(o)) => (v, t, o),
        (v, t, o) => {
            return Err([v.err(), t.err(), o.err()].into_iter().flatten().collect());
        }
    };
    let mut errors = Vec::new();
    if tot < van {
        errors.push(FieldError::new(
            "/periode/tot",
            "mag niet voor /periode/van liggen",
        ));
    }
    if ophaaldatum > van {
        errors.push(FieldError::new(
            "/ophaling/datum",
            "mag niet na /periode/van liggen: de tenten worden voor het kamp opgehaald",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut asked = Asked {
        seniortent: 0,
        patrouilletent: 0,
        leden: count(&body["aantalLeden"]),
        tot,
        ophaaldatum,
        ophaalpunt: body["ophaling"]["plaats"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    for tent in body["tenten"].as_array().into_iter().flatten() {
        let n = count(&tent["aantal"]);
        match tent["type"].as_str() {
            Some("seniortent") => asked.seniortent = asked.seniortent.saturating_add(n),
            Some("patrouilletent") => asked.patrouilletent = asked.patrouilletent.saturating_add(n),
            _ => {}
        }
    }
    Ok(asked)
}

async fn create(State(shared): State<AppState>, headers: HeaderMap, raw: Bytes) -> Response {
    let at = Instant::now();
    let key = header_str(&headers, "idempotency-key");
    let checked = check_post(&shared, &headers, &raw, key.as_deref());
    let mut record = UldkRequest {
        at,
        method: "POST".to_owned(),
        path: RESERVATIONS.to_owned(),
        idempotency_key: key.clone(),
        body: checked.body.clone(),
        valid: checked.refusal.is_none(),
        errors: checked
            .refusal
            .as_ref()
            .map(|(_, _, detail, errors)| {
                if errors.is_empty() {
                    vec![detail.clone()]
                } else {
                    errors.iter().map(FieldError::line).collect()
                }
            })
            .unwrap_or_default(),
        status: 0,
        duplicate: false,
        reservatie_id: None,
    };
    let (response, delay) = {
        let mut state = shared.lock();
        state.advance(at, &shared.config);
        let padding = state
            .behaviour
            .huge_answer_when_body_contains
            .iter()
            .find(|r| String::from_utf8_lossy(&raw).contains(&r.substring))
            .map_or(0, |r| r.bytes);
        let response = if let Some((status, kind)) = state.fault() {
            fault_response(status, kind, RESERVATIONS)
        } else if let Some((status, kind, detail, errors)) = &checked.refusal {
            problem(*status, kind, detail, RESERVATIONS, errors)
        } else {
            let key = key.unwrap_or_default().trim().to_ascii_lowercase();
            match state.books.by_key.get(&key).copied() {
                Some(i) => {
                    let existing = &state.books.reservations[i].public;
                    record.reservatie_id = Some(existing.reservatie_id.clone());
                    if same_request(&existing.body, &checked.body) {
                        record.duplicate = true;
                        reservation_response(StatusCode::OK, existing, padding)
                    } else {
                        problem(
                            StatusCode::CONFLICT,
                            "idempotency-conflict",
                            &format!(
                                "Idempotency-Key {key} werd al gebruikt voor reservatie {} met een andere inhoud.",
                                existing.reservatie_id
                            ),
                            RESERVATIONS,
                            &[],
                        )
                    }
                }
                None => make(&mut state, key, checked, at, &raw, &mut record, padding),
            }
        };
        record.status = response.status().as_u16();
        state.requests.push(record);
        (response, state.delay())
    };
    crate::control::pause(delay).await;
    response
}

/// A replay asks for the same reservation when everything but the association's descriptive
/// members (`naam`, `hoofdactiviteiten`, `gemeente`, `postcode`, `e-mail`: register data that
/// may change between two attempts) is equal, the vCode included.
fn same_request(first: &Value, again: &Value) -> bool {
    let identity = |body: &Value| {
        let mut b = body.clone();
        b["vereniging"] = json!({"vCode": body["vereniging"]["vCode"]});
        b
    };
    identity(first) == identity(again)
}

/// Stores a new reservation and answers 201.
fn make(
    state: &mut SimState,
    key: String,
    checked: Checked,
    at: Instant,
    raw: &[u8],
    record: &mut UldkRequest,
    padding: usize,
) -> Response {
    let Some(asked) = checked.asked else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "De reservatie kon niet gelezen worden.",
            RESERVATIONS,
            &[],
        );
    };
    if state.books.next_id > 999_999 {
        return problem(
            StatusCode::INSUFFICIENT_STORAGE,
            "no-more-ids",
            "Geen reservatienummers meer beschikbaar.",
            RESERVATIONS,
            &[],
        );
    }
    let reservatie_id = format!("R-{:06}", state.books.next_id);
    state.books.next_id += 1;
    let public = UldkReservation {
        reservatie_id: reservatie_id.clone(),
        aanvraag_id: key.clone(),
        body: checked.body,
        created: at,
        status: UldkStatus::Aangevraagd,
        toewijzing: None,
        reden: None,
    };
    let response = reservation_response(StatusCode::CREATED, &public, padding);
    let index = state.books.reservations.len();
    state.books.reservations.push(Entry {
        public,
        raw: String::from_utf8_lossy(raw).into_owned(),
        asked,
        allocated: None,
    });
    state.books.by_key.insert(key, index);
    state.books.by_id.insert(reservatie_id.clone(), index);
    record.reservatie_id = Some(reservatie_id);
    response
}

async fn read(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let at = Instant::now();
    let path = format!("{RESERVATIONS}/{id}");
    let (response, delay) = {
        let mut state = shared.lock();
        state.advance(at, &shared.config);
        let mut found = None;
        let response = if let Some((status, kind)) = state.fault() {
            fault_response(status, kind, &path)
        } else {
            match state
                .books
                .by_id
                .get(&id)
                .and_then(|i| state.books.reservations.get(*i))
            {
                Some(entry) => {
                    found = Some(entry.public.reservatie_id.clone());
                    reservation_response(StatusCode::OK, &entry.public, 0)
                }
                None => problem(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    &format!("Reservatie {id} bestaat niet."),
                    &path,
                    &[],
                ),
            }
        };
        state.requests.push(UldkRequest {
            at,
            method: "GET".to_owned(),
            path: path.clone(),
            idempotency_key: None,
            body: Value::Null,
            valid: true,
            errors: Vec::new(),
            status: response.status().as_u16(),
            duplicate: false,
            reservatie_id: found,
        });
        (response, state.delay())
    };
    crate::control::pause(delay).await;
    response
}

async fn get_behaviour(State(shared): State<AppState>) -> Response {
    let b = shared.lock().behaviour.clone();
    json_response(
        StatusCode::OK,
        &serde_json::to_value(b).unwrap_or(Value::Null),
        "application/json",
    )
}

async fn set_behaviour(State(shared): State<AppState>, raw: Bytes) -> Response {
    let change: BehaviourChange = match serde_json::from_slice(&raw) {
        Ok(c) => c,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid-behaviour",
                &e.to_string(),
                "/_sim/behaviour",
                &[],
            )
        }
    };
    let b = {
        let mut state = shared.lock();
        apply(&mut state.behaviour, change);
        state.behaviour.clone()
    };
    json_response(
        StatusCode::OK,
        &serde_json::to_value(b).unwrap_or(Value::Null),
        "application/json",
    )
}

async fn list_requests(State(shared): State<AppState>) -> Response {
    let state = shared.lock();
    let list: Vec<Value> = state
        .requests
        .iter()
        .map(|r| {
            json!({
                "msSinceStart": control::ms_since(shared.started, r.at),
                "method": r.method,
                "path": r.path,
                "idempotencyKey": r.idempotency_key,
                "valid": r.valid,
                "errors": r.errors,
                "status": r.status,
                "duplicate": r.duplicate,
                "reservatieId": r.reservatie_id,
            })
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list), "application/json")
}

async fn list_reservations(State(shared): State<AppState>) -> Response {
    let mut state = shared.lock();
    state.advance(Instant::now(), &shared.config);
    let list: Vec<Value> = state
        .books
        .reservations
        .iter()
        .map(|e| {
            let mut doc = e.public.representation();
            doc["aanvraagId"] = json!(e.public.aanvraag_id);
            doc
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list), "application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(s: u64, p: u64, leden: u64) -> Asked {
        Asked {
            seniortent: s,
            patrouilletent: p,
            leden,
            tot: time::macros::date!(2027 - 07 - 11),
            ophaaldatum: time::macros::date!(2027 - 07 - 01),
            ophaalpunt: "Gent".into(),
        }
    }

    #[test]
    fn allocation_is_capped_by_the_members() {
        // 33 members: 3 seniortents sleep 24, 9 left need 2 patrouilletents.
        assert_eq!(capped_by_members(&asked(3, 2, 33)), (3, 2));
        // 28 members: 3 seniortents (24), 4 left: 1 patrouilletent.
        assert_eq!(capped_by_members(&asked(3, 2, 28)), (3, 1));
        // 10 members asking 5 seniortents get 2, and no patrouilletent.
        assert_eq!(capped_by_members(&asked(5, 3, 10)), (2, 0));
        // Only patrouilletents: ceil(18 / 5) = 4.
        assert_eq!(capped_by_members(&asked(0, 6, 18)), (0, 4));
        // Fewer asked than needed: what was asked.
        assert_eq!(capped_by_members(&asked(1, 1, 60)), (1, 1));
        assert_eq!(
            capped_by_members(&asked(u64::MAX, 1, u64::MAX)),
            (u64::MAX / 8 + 1, 0)
        );
    }

    #[test]
    fn the_season_runs_from_15_march_to_15_november() {
        use time::macros::date;
        assert!(in_season(date!(2027 - 03 - 15), date!(2027 - 11 - 15)));
        assert!(!in_season(date!(2027 - 03 - 14), date!(2027 - 04 - 01)));
        assert!(!in_season(date!(2027 - 11 - 10), date!(2027 - 11 - 16)));
        assert!(!in_season(date!(2027 - 10 - 01), date!(2028 - 04 - 01)));
    }
}
