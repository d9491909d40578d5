//! The register's write side (the beheer API), behind the same bearer-token check as the reads.
//!
//! # Commands
//!
//! | method and path (below `/v1/verenigingen/{vCode}`) | body |
//! |---|---|
//! | `PATCH` (basisgegevens) | `naam`, `korteNaam`, `korteBeschrijving`, `startdatum` (yyyy-MM-dd or null), `doelgroep {minimumleeftijd, maximumleeftijd}`, `hoofdactiviteitenVerenigingsloket` (codes), `werkingsgebieden` (codes) |
//! | `POST /stop` | `{einddatum}` |
//! | `POST /contactgegevens` | `{"contactgegeven": {contactgegeventype, waarde, beschrijving, isPrimair}}` |
//! | `PATCH /contactgegevens/{id}` | `{"contactgegeven": {waarde?, beschrijving?, isPrimair?}}` |
//! | `DELETE /contactgegevens/{id}` | none |
//! | `POST /locaties` | `{"locatie": {locatietype, isPrimair, naam, adres{straatnaam, huisnummer, busnummer, postcode, gemeente, land}, adresId?}}` |
//! | `PATCH /locaties/{id}` | `{"locatie": {…}}`, every member optional; `adres` members merge into the current address (which then loses its `adresId` unless one is given) |
//! | `DELETE /locaties/{id}` | none |
//!
//! In the basisgegevens, a member that is absent or `null` is left as it is, except
//! `startdatum: null`, which clears the date; a `doelgroep` member that is absent keeps its
//! current value. Hoofdactiviteiten and werkingsgebieden replace the list (the same set in
//! another order changes nothing).
//!
//! # Answers, in the order they are decided
//!
//! 1. `VR-Initiator` (`OVO` + 6 digits) and `X-Correlation-Id` (a GUID) are required and the
//!    body must be JSON: else **400** (validation problem, listing the header errors).
//! 2. Unknown (or removed) vCode: **404** problem.
//! 3. `If-Match` (`W/"<n>"`, `"<n>"`, a list of them or `*`), when present, must name the
//!    current version: else **412** problem.
//! 4. Unknown `contactgegevenId`/`locatieId`: **404** problem.
//! 5. Every field error of the command at once: **400** `application/problem+json`
//!    `{"type": "urn:be.vlaanderen.basisregisters.api:validation", "title": "Validatie mislukt",
//!    "detail", "status": 400, "instance": <path>, "validationErrors": {"<field path>":
//!    [{"code", "reason"}]}}`. Field paths are the body's (`naam`,
//!    `contactgegeven.waarde`, `locatie.adres.postcode`, `hoofdactiviteitenVerenigingsloket[1]`,
//!    `request` for the body as a whole, `VR-Initiator`, …). Codes: `required`, `notEmpty`,
//!    `invalidType`, `invalidFormat`, `invalidJson`, `unknownField`, `unknownCode`, `emptyRequest`,
//!    `outOfRange`, `inFuture`, `invalidRange`, `duplicate`, `multiplePrimary`,
//!    `multipleCorrespondentie`, `notCombinable`, `notAllowed`, `readOnly`.
//!    Besides types and formats the register's rules apply: at most one primary contact per
//!    type, no second contact with the same type and waarde, at most one primary location, at
//!    most one `Correspondentie` location, no duplicate location, the `Maatschappelijke zetel
//!    volgens KBO` is read-only, `NVT` is not combined with other werkingsgebieden, dates are not
//!    in the future and `einddatum` is not before `startdatum`.
//! 6. A command that changes the document bumps the association's version and gives it a new
//!    global sequence (it shows in `mutaties`): **202**, empty body, `Location:
//!    /v1/verenigingen/{vCode}`, `ETag: W/"<version>"`, `VR-Sequence: <sequence>`. One that
//!    changes nothing: **200**, empty body, none of those headers.
//!
//! Every answer echoes the request's `X-Correlation-Id`. New contacts and locations get the
//! next integer id (never reusing a deleted one) and JSON-LD `@id`/`@type` like the seed;
//! `adresvoorstelling` is recomputed.
//!
//! # Test hooks
//!
//! On [`crate::RegisterSim`] and under `/_sim/`:
//! - `writes()` / `GET /_sim/writes` (`DELETE` clears): every beheer request received as a
//!   [`WriteRecord`] (method, path, `VR-Initiator`, `X-Correlation-Id`, `If-Match`, body,
//!   status answered), including those refused by the token check or an injected fault;
//! - `fail_writes(n, status)` / `POST /_sim/write-faults {"status", "count"}`: the next `n`
//!   beheer requests answer `status` (a problem) without being applied; faults come before the
//!   token check, like the reads' `fail_next` (which does not touch beheer requests);
//! - `delay_write_answers(d)` / `POST /_sim/write-delay {"millis"}`: beheer requests are
//!   applied (and recorded) at once, and their answer is sent `d` later, as when a client
//!   times out after the register committed. Zero turns it off.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{patch, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::macros::format_description;
use time::Date;

use crate::data::{
    concept, is_date, normalize_vcode, werkingsgebied_naam, CONTACT_TYPES, HOOFDACTIVITEITEN,
    LOCATIE_TYPES,
};
use crate::http::{json_response, problem, unauthorized, AppState};
use crate::ordered::ADRES_FIELDS;
use crate::state::IdHighWater;

/// One beheer request as the simulator received it (see [`crate::RegisterSim::writes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteRecord {
    /// `PATCH`, `POST` or `DELETE`.
    pub method: String,
    /// E.g. `/v1/verenigingen/V0001001/contactgegevens/2`.
    pub path: String,
    /// The `VR-Initiator` header, as sent.
    pub initiator: Option<String>,
    /// The `X-Correlation-Id` header, as sent.
    pub correlation_id: Option<String>,
    /// The `If-Match` header, as sent.
    pub if_match: Option<String>,
    /// The body: its JSON, or a JSON string of its text if it is not JSON; `None` if empty.
    pub body: Option<Value>,
    /// The status answered.
    pub status: u16,
}

const VR_INITIATOR: &str = "vr-initiator";
const X_CORRELATION_ID: &str = "x-correlation-id";
const VR_SEQUENCE: &str = "vr-sequence";
const KBO_ZETEL: &str = "Maatschappelijke zetel volgens KBO";
const CORRESPONDENTIE: &str = "Correspondentie";
const MAX_BODY: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// routes and the guard

/// The lists the beheer API manages one entry at a time: (kind, add, change, remove).
type ListOps = (&'static str, Op, fn(String) -> Op, fn(String) -> Op);

pub(crate) fn routes() -> Router<AppState> {
    let lists: [ListOps; 2] = [
        (
            "contactgegevens",
            Op::AddContact,
            Op::ChangeContact,
            Op::RemoveContact,
        ),
        (
            "locaties",
            Op::AddLocatie,
            Op::ChangeLocatie,
            Op::RemoveLocatie,
        ),
    ];
    let router = Router::new()
        .route(
            "/v1/verenigingen/{vcode}",
            patch(on(Op::Basisgegevens, String::new())),
        )
        .route(
            "/v1/verenigingen/{vcode}/stop",
            post(on(Op::Stop, "/stop".to_owned())),
        );
    lists
        .into_iter()
        .fold(router, |router, (kind, add, change, remove)| {
            router
                .route(
                    &format!("/v1/verenigingen/{{vcode}}/{kind}"),
                    post(on(add, format!("/{kind}"))),
                )
                .route(
                    &format!("/v1/verenigingen/{{vcode}}/{kind}/{{id}}"),
                    patch(on_one(change, kind)).delete(on_one(remove, kind)),
                )
        })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Counts and records every beheer request, serves injected write faults, checks the token,
/// echoes `X-Correlation-Id` and holds the answer back when a write delay is set.
pub(crate) async fn guard(State(shared): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await;
    let recorded_body = match &bytes {
        Ok(b) if b.is_empty() => None,
        Ok(b) => Some(
            serde_json::from_slice(b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
        ),
        Err(_) => Some(Value::String("<unreadable or too large body>".into())),
    };
    let mut record = WriteRecord {
        method: parts.method.to_string(),
        path: path.clone(),
        initiator: header_text(&parts.headers, VR_INITIATOR),
        correlation_id: header_text(&parts.headers, X_CORRELATION_ID),
        if_match: header_text(&parts.headers, header::IF_MATCH.as_str()),
        body: recorded_body,
        status: 0,
    };
    let echo = parts.headers.get(X_CORRELATION_ID).cloned();
    let (fault, delay) = {
        let mut st = shared.lock();
        st.stats.write_requests += 1;
        (st.take_write_fault(), st.write_delay)
    };
    let mut resp = if let Some(status) = fault {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        problem(
            status,
            "injected-fault",
            "fault injected by register-sim",
            &path,
        )
    } else if let Some(resp) = unauthorized(&shared, &parts.headers, &path) {
        resp
    } else {
        match bytes {
            Ok(b) => next.run(Request::from_parts(parts, Body::from(b))).await,
            Err(_) => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid-body",
                "the body is unreadable or larger than 1 MiB",
                &path,
            ),
        }
    };
    if let Some(id) = echo {
        resp.headers_mut()
            .insert(HeaderName::from_static(X_CORRELATION_ID), id);
    }
    record.status = resp.status().as_u16();
    shared.lock().writes.push(record);
    crate::control::pause(delay).await;
    resp
}

// ---------------------------------------------------------------------------------------------
// handlers

/// A beheer command, with the sub-entity id from the path where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    Basisgegevens,
    Stop,
    AddContact,
    ChangeContact(String),
    RemoveContact(String),
    AddLocatie,
    ChangeLocatie(String),
    RemoveLocatie(String),
}

impl Op {
    fn has_body(&self) -> bool {
        !matches!(self, Op::RemoveContact(_) | Op::RemoveLocatie(_))
    }
}

/// What a beheer handler reads from the request besides its path.
struct Command {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Command {
    type Rejection = BytesRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let method = req.method().clone();
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state).await?;
        Ok(Self {
            method,
            headers,
            body,
        })
    }
}

type Answer = std::future::Ready<Response>;

/// The handler of `op` on `/v1/verenigingen/{vcode}{suffix}`.
fn on(
    op: Op,
    suffix: String,
) -> impl Fn(State<AppState>, Path<String>, Command) -> Answer + Clone + Send + Sync + 'static {
    move |State(s), Path(vcode), c| {
        let instance = format!("/v1/verenigingen/{vcode}{suffix}");
        std::future::ready(execute(&s, op.clone(), &vcode, &c, &instance))
    }
}

/// The handler of `op(id)` on `/v1/verenigingen/{vcode}/{kind}/{id}`.
fn on_one(
    op: fn(String) -> Op,
    kind: &'static str,
) -> impl Fn(State<AppState>, Path<(String, String)>, Command) -> Answer + Clone + Send + Sync + 'static
{
    move |State(s), Path((vcode, id)), c| {
        let instance = format!("/v1/verenigingen/{vcode}/{kind}/{id}");
        std::future::ready(execute(&s, op(id), &vcode, &c, &instance))
    }
}

fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// The 400 validation problem listing `errors`.
fn validation_problem(errors: Errors, instance: &str) -> Response {
    let count = errors.count();
    let body = json!({
        "type": "urn:be.vlaanderen.basisregisters.api:validation",
        "title": "Validatie mislukt",
        "detail": if count == 1 {
            "Er is 1 validatiefout.".to_owned()
        } else {
            format!("Er zijn {count} validatiefouten.")
        },
        "status": 400,
        "instance": instance,
        "validationErrors": errors.into_json(),
    });
    json_response(
        StatusCode::BAD_REQUEST,
        &body,
        "",
        "application/problem+json",
    )
}

/// `VR-Initiator` and `X-Correlation-Id`.
fn check_headers(headers: &HeaderMap, errs: &mut Errors) {
    match headers.get(VR_INITIATOR).map(|v| v.to_str()) {
        None => errs.add(
            "VR-Initiator",
            "required",
            "De header VR-Initiator is verplicht.",
        ),
        Some(Ok(v)) if is_ovo(v.trim()) => {}
        Some(_) => errs.add(
            "VR-Initiator",
            "invalidFormat",
            "VR-Initiator moet een OVO-code zijn (OVO gevolgd door 6 cijfers).",
        ),
    }
    match headers.get(X_CORRELATION_ID).map(|v| v.to_str()) {
        None => errs.add(
            "X-Correlation-Id",
            "required",
            "De header X-Correlation-Id is verplicht.",
        ),
        Some(Ok(v)) if uuid::Uuid::parse_str(v.trim()).is_ok() => {}
        Some(_) => errs.add(
            "X-Correlation-Id",
            "invalidFormat",
            "X-Correlation-Id moet een GUID zijn.",
        ),
    }
}

fn is_ovo(s: &str) -> bool {
    s.strip_prefix("OVO")
        .is_some_and(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether an `If-Match` value names `version` (`*` names every version).
pub(crate) fn if_match_ok(value: &str, version: u64) -> bool {
    value.split(',').map(str::trim).any(|tag| {
        if tag == "*" {
            return true;
        }
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag.trim_matches('"').parse::<u64>().ok() == Some(version)
    })
}

fn execute(shared: &AppState, op: Op, raw_vcode: &str, c: &Command, instance: &str) -> Response {
    let (method, headers, body) = (&c.method, &c.headers, &c.body[..]);
    let mut errs = Errors::default();
    check_headers(headers, &mut errs);
    let body: Option<Value> = if !op.has_body() || body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => Some(v),
            Err(e) => {
                errs.add(
                    "request",
                    "invalidJson",
                    format!("De body is geen geldige JSON: {e}."),
                );
                None
            }
        }
    };
    if !errs.is_empty() {
        return validation_problem(errs, instance);
    }
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let today = time::OffsetDateTime::now_utc().date();

    let mut st = shared.lock();
    let not_found = || {
        problem(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("De gevraagde vereniging {raw_vcode} werd niet gevonden."),
            instance,
        )
    };
    let Some(key) = normalize_vcode(raw_vcode) else {
        return not_found();
    };
    let Some(entry) = st.entries.get(&key).filter(|e| !e.removed) else {
        return not_found();
    };
    if let Some(if_match) = if_match {
        if !if_match_ok(&if_match, entry.version) {
            return problem(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                format!(
                    "De vereniging {key} heeft versie {}, niet de verwachte ({if_match}).",
                    entry.version
                ),
                instance,
            );
        }
    }
    let mut ids = entry.ids;
    let new = match apply(&op, body.as_ref(), &entry.vereniging, &mut ids, today) {
        Ok(new) => new,
        Err(Refusal::NotFound(detail)) => {
            return problem(StatusCode::NOT_FOUND, "not-found", detail, instance)
        }
        Err(Refusal::Invalid(errs)) => return validation_problem(errs, instance),
    };
    if new == entry.vereniging {
        tracing::debug!(%method, instance, "beheer command changed nothing");
        return empty(StatusCode::OK);
    }
    let bumped = st.bump(&key, |e| {
        e.vereniging = new;
        e.malformed = false;
        e.padding = 0;
        e.ids = ids;
    });
    let Ok((sequence, version)) = bumped else {
        return not_found();
    };
    drop(st);
    let mut resp = empty(StatusCode::ACCEPTED);
    let h = resp.headers_mut();
    for (name, value) in [
        (header::LOCATION, format!("/v1/verenigingen/{key}")),
        (header::ETAG, format!("W/\"{version}\"")),
        (HeaderName::from_static(VR_SEQUENCE), sequence.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            h.insert(name, value);
        }
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// validation errors

/// Field errors by field path; each `(code, reason)`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Errors(BTreeMap<String, Vec<(&'static str, String)>>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, code: &'static str, reason: impl Into<String>) {
        self.0
            .entry(field.into())
            .or_default()
            .push((code, reason.into()));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn count(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    fn into_json(self) -> Value {
        let map: Map<String, Value> = self
            .0
            .into_iter()
            .map(|(field, errs)| {
                let list = errs
                    .into_iter()
                    .map(|(code, reason)| json!({"code": code, "reason": reason}))
                    .collect();
                (field, Value::Array(list))
            })
            .collect();
        Value::Object(map)
    }

    #[cfg(test)]
    fn fields(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .flat_map(|(f, es)| es.iter().map(move |(c, _)| (f.as_str(), *c)))
            .collect()
    }
}

/// Why a command was refused (besides the checks before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// An unknown sub-entity; the problem's detail.
    NotFound(String),
    Invalid(Errors),
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn whole(path: &str) -> &str {
    if path.is_empty() {
        "request"
    } else {
        path
    }
}

/// The object at `path`, reporting a wrong type and every member not in `allowed`.
fn object<'v>(
    errs: &mut Errors,
    path: &str,
    v: &'v Value,
    allowed: &[&str],
) -> Option<&'v Map<String, Value>> {
    let Some(o) = v.as_object() else {
        errs.add(whole(path), "invalidType", "Moet een object zijn.");
        return None;
    };
    for k in o.keys() {
        if !allowed.contains(&k.as_str()) {
            errs.add(
                join(path, k),
                "unknownField",
                format!("Het veld '{k}' is onbekend."),
            );
        }
    }
    Some(o)
}

fn present<'v>(o: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    o.get(key).filter(|v| !v.is_null())
}

/// An optional string member (`null` counts as absent).
fn string(errs: &mut Errors, prefix: &str, o: &Map<String, Value>, key: &str) -> Option<String> {
    match present(o, key)? {
        Value::String(s) => Some(s.clone()),
        _ => {
            errs.add(join(prefix, key), "invalidType", "Moet een tekst zijn.");
            None
        }
    }
}

/// A required, non-empty string member, trimmed.
fn required_text(
    errs: &mut Errors,
    prefix: &str,
    o: &Map<String, Value>,
    key: &str,
) -> Option<String> {
    if present(o, key).is_none() {
        errs.add(
            join(prefix, key),
            "required",
            format!("'{key}' is verplicht."),
        );
        return None;
    }
    text(errs, prefix, o, key)
}

/// An optional string member that must not be blank when given, trimmed.
fn text(errs: &mut Errors, prefix: &str, o: &Map<String, Value>, key: &str) -> Option<String> {
    let s = string(errs, prefix, o, key);
    non_empty(errs, prefix, key, s)
}

fn non_empty(errs: &mut Errors, prefix: &str, key: &str, s: Option<String>) -> Option<String> {
    let s = s?;
    let t = s.trim();
    if t.is_empty() {
        errs.add(
            join(prefix, key),
            "notEmpty",
            format!("'{key}' mag niet leeg zijn."),
        );
        return None;
    }
    Some(t.to_owned())
}

fn boolean(errs: &mut Errors, prefix: &str, o: &Map<String, Value>, key: &str) -> Option<bool> {
    match present(o, key)? {
        Value::Bool(b) => Some(*b),
        _ => {
            errs.add(join(prefix, key), "invalidType", "Moet true of false zijn.");
            None
        }
    }
}

fn age(errs: &mut Errors, prefix: &str, o: &Map<String, Value>, key: &str) -> Option<u64> {
    let v = present(o, key)?;
    match v.as_i64() {
        Some(n) if (0..=150).contains(&n) => u64::try_from(n).ok(),
        Some(_) => {
            errs.add(
                join(prefix, key),
                "outOfRange",
                "Moet tussen 0 en 150 liggen.",
            );
            None
        }
        None => {
            errs.add(
                join(prefix, key),
                "invalidType",
                "Moet een geheel getal zijn.",
            );
            None
        }
    }
}

fn parse_date(s: &str) -> Option<Date> {
    if !is_date(s) {
        return None;
    }
    Date::parse(s, format_description!("[year]-[month]-[day]")).ok()
}

fn date_in(doc: &Map<String, Value>, key: &str) -> Option<Date> {
    doc.get(key).and_then(Value::as_str).and_then(parse_date)
}

// ---------------------------------------------------------------------------------------------
// value checks

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && is_host(domain)
}

fn is_host(h: &str) -> bool {
    h.contains('.')
        && h.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    };
    !s.chars().any(char::is_whitespace) && is_host(host)
}

fn is_phone(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let allowed = s
        .char_indices()
        .all(|(i, c)| c.is_ascii_digit() || " ./-()".contains(c) || (c == '+' && i == 0));
    allowed && (8..=15).contains(&digits)
}

fn check_waarde(errs: &mut Errors, field: &str, typ: &str, waarde: &str) {
    let (ok, what) = match typ {
        "E-mail" => (is_email(waarde), "geldig e-mailadres"),
        "Telefoon" => (is_phone(waarde), "geldig telefoonnummer"),
        "Website" => (is_url(waarde), "geldige URL (http:// of https://)"),
        "SocialMedia" => (is_url(waarde), "geldige URL (http:// of https://)"),
        _ => (true, ""),
    };
    if !ok {
        errs.add(
            field,
            "invalidFormat",
            format!("'{waarde}' is geen {what} voor type {typ}."),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// the commands

/// Applies `op` to a copy of `current` (a `vereniging` object) and answers the new document,
/// equal to `current` when the command changes nothing. `ids` is advanced for new entities.
pub(crate) fn apply(
    op: &Op,
    body: Option<&Value>,
    current: &Value,
    ids: &mut IdHighWater,
    today: Date,
) -> Result<Value, Refusal> {
    let mut new = current.clone();
    let Some(doc) = new.as_object_mut() else {
        let mut errs = Errors::default();
        errs.add(
            "vereniging",
            "invalidType",
            "De opgeslagen vereniging is geen object.",
        );
        return Err(Refusal::Invalid(errs));
    };
    let empty_body = Value::Null;
    let body = match body {
        Some(b) => b,
        None if op.has_body() => {
            let mut errs = Errors::default();
            errs.add("request", "required", "Een body is verplicht.");
            return Err(Refusal::Invalid(errs));
        }
        None => &empty_body,
    };
    let mut errs = Errors::default();
    match op {
        Op::Basisgegevens => basisgegevens_cmd(&mut errs, body, doc, today),
        Op::Stop => stop_cmd(&mut errs, body, doc, today),
        Op::AddContact => add_contact_cmd(&mut errs, body, doc, &mut ids.contactgegeven),
        Op::ChangeContact(id) => {
            let i = find(doc, "contactgegevens", "contactgegevenId", id).ok_or_else(|| {
                Refusal::NotFound(format!("Het contactgegeven {id} werd niet gevonden."))
            })?;
            change_contact_cmd(&mut errs, body, doc, i);
        }
        Op::RemoveContact(id) => {
            let i = find(doc, "contactgegevens", "contactgegevenId", id).ok_or_else(|| {
                Refusal::NotFound(format!("Het contactgegeven {id} werd niet gevonden."))
            })?;
            if let Some(Value::Array(list)) = doc.get_mut("contactgegevens") {
                list.remove(i);
            }
        }
        Op::AddLocatie => add_locatie_cmd(&mut errs, body, doc, &mut ids.locatie),
        Op::ChangeLocatie(id) => {
            let i = find(doc, "locaties", "locatieId", id)
                .ok_or_else(|| Refusal::NotFound(format!("De locatie {id} werd niet gevonden.")))?;
            change_locatie_cmd(&mut errs, body, doc, i);
        }
        Op::RemoveLocatie(id) => {
            let i = find(doc, "locaties", "locatieId", id)
                .ok_or_else(|| Refusal::NotFound(format!("De locatie {id} werd niet gevonden.")))?;
            if list(doc, "locaties")[i]["locatietype"] == KBO_ZETEL {
                errs.add(
                    "locatie",
                    "readOnly",
                    "De maatschappelijke zetel volgens KBO kan niet verwijderd worden.",
                );
            } else if let Some(Value::Array(list)) = doc.get_mut("locaties") {
                list.remove(i);
            }
        }
    }
    if errs.is_empty() {
        Ok(new)
    } else {
        Err(Refusal::Invalid(errs))
    }
}

/// The array member `key` (empty when absent or not an array).
fn list<'d>(doc: &'d Map<String, Value>, key: &str) -> &'d [Value] {
    doc.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The array member `key`, made an (empty) array first when absent or not an array.
fn list_mut<'d>(doc: &'d mut Map<String, Value>, key: &str) -> Option<&'d mut Vec<Value>> {
    let slot = doc
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
}

/// The index of the element of `doc[key]` whose `id_key` equals the path's `id`.
fn find(doc: &Map<String, Value>, key: &str, id_key: &str, id: &str) -> Option<usize> {
    let id: u64 = id.trim().parse().ok()?;
    list(doc, key)
        .iter()
        .position(|e| e[id_key].as_u64() == Some(id))
}

fn next_id(doc: &Map<String, Value>, key: &str, id_key: &str, high_water: &mut u64) -> u64 {
    let max = list(doc, key)
        .iter()
        .filter_map(|e| e[id_key].as_u64())
        .max()
        .unwrap_or(0);
    let id = max.max(*high_water) + 1;
    *high_water = id;
    id
}

fn json_ld_id(prefix: &str) -> String {
    format!("{prefix}:{}", uuid::Uuid::new_v4())
}

const BASIS_FIELDS: [&str; 7] = [
    "naam",
    "korteNaam",
    "korteBeschrijving",
    "startdatum",
    "doelgroep",
    "hoofdactiviteitenVerenigingsloket",
    "werkingsgebieden",
];

fn basisgegevens_cmd(errs: &mut Errors, body: &Value, doc: &mut Map<String, Value>, today: Date) {
    let Some(o) = object(errs, "", body, &BASIS_FIELDS) else {
        return;
    };
    if o.is_empty() {
        errs.add("request", "emptyRequest", "Een request mag niet leeg zijn.");
        return;
    }
    if let Some(naam) = text(errs, "", o, "naam") {
        doc.insert("naam".into(), Value::String(naam));
    }
    for key in ["korteNaam", "korteBeschrijving"] {
        if let Some(s) = string(errs, "", o, key) {
            doc.insert(key.into(), Value::String(s.trim().to_owned()));
        }
    }
    match o.get("startdatum") {
        None => {}
        Some(Value::Null) => {
            doc.insert("startdatum".into(), Value::Null);
        }
        Some(Value::String(s)) => match parse_date(s) {
            None => errs.add(
                "startdatum",
                "invalidFormat",
                "Startdatum moet een datum zijn in de vorm yyyy-MM-dd.",
            ),
            Some(d) if d > today => errs.add(
                "startdatum",
                "inFuture",
                "Startdatum mag niet in de toekomst liggen.",
            ),
            Some(d) if date_in(doc, "einddatum").is_some_and(|e| d > e) => errs.add(
                "startdatum",
                "invalidRange",
                "Startdatum mag niet na de einddatum liggen.",
            ),
            Some(_) => {
                doc.insert("startdatum".into(), Value::String(s.clone()));
            }
        },
        Some(_) => errs.add(
            "startdatum",
            "invalidType",
            "Moet een datum (yyyy-MM-dd) of null zijn.",
        ),
    }
    if let Some(d) = present(o, "doelgroep") {
        doelgroep(errs, d, doc);
    }
    if let Some(v) = present(o, "hoofdactiviteitenVerenigingsloket") {
        let field = "hoofdactiviteitenVerenigingsloket";
        if let Some(codes) = codes(errs, field, v, |c| {
            HOOFDACTIVITEITEN
                .iter()
                .find(|(code, _)| *code == c)
                .map(|(_, n)| *n)
        }) {
            replace_concepts(doc, field, "HoofdactiviteitVerenigingsloket", codes);
        }
    }
    if let Some(v) = present(o, "werkingsgebieden") {
        let field = "werkingsgebieden";
        if let Some(codes) = codes(errs, field, v, werkingsgebied_naam) {
            if codes.len() > 1 && codes.iter().any(|(c, _)| c == "NVT") {
                errs.add(
                    field,
                    "notCombinable",
                    "NVT kan niet gecombineerd worden met andere werkingsgebieden.",
                );
            } else {
                replace_concepts(doc, field, "Werkingsgebied", codes);
            }
        }
    }
}

fn doelgroep(errs: &mut Errors, v: &Value, doc: &mut Map<String, Value>) {
    let Some(o) = object(
        errs,
        "doelgroep",
        v,
        &["minimumleeftijd", "maximumleeftijd"],
    ) else {
        return;
    };
    let n = errs.count();
    let min = age(errs, "doelgroep", o, "minimumleeftijd");
    let max = age(errs, "doelgroep", o, "maximumleeftijd");
    if errs.count() > n {
        return;
    }
    let mut current = match doc.get("doelgroep") {
        Some(Value::Object(d)) => d.clone(),
        _ => {
            let mut d = Map::new();
            d.insert("@id".into(), Value::String(json_ld_id("doel")));
            d.insert("@type".into(), json!("verenigingen_ext:Doelgroep"));
            d
        }
    };
    let min = min.or_else(|| current.get("minimumleeftijd").and_then(Value::as_u64));
    let max = max.or_else(|| current.get("maximumleeftijd").and_then(Value::as_u64));
    let (min, max) = (min.unwrap_or(0), max.unwrap_or(150));
    if min > max {
        errs.add(
            "doelgroep",
            "invalidRange",
            "De minimumleeftijd mag niet groter zijn dan de maximumleeftijd.",
        );
        return;
    }
    current.insert("minimumleeftijd".into(), json!(min));
    current.insert("maximumleeftijd".into(), json!(max));
    doc.insert("doelgroep".into(), Value::Object(current));
}

/// A list of known codes → (code, naam); every bad element reported.
fn codes(
    errs: &mut Errors,
    field: &str,
    v: &Value,
    naam: impl Fn(&str) -> Option<&'static str>,
) -> Option<Vec<(String, &'static str)>> {
    let Some(items) = v.as_array() else {
        errs.add(field, "invalidType", "Moet een lijst van codes zijn.");
        return None;
    };
    let n = errs.count();
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{field}[{i}]");
        let Some(code) = item.as_str() else {
            errs.add(path, "invalidType", "Moet een code (tekst) zijn.");
            continue;
        };
        match naam(code) {
            None => errs.add(
                path,
                "unknownCode",
                format!("De code '{code}' is onbekend."),
            ),
            Some(_) if out.iter().any(|(c, _)| c == code) => errs.add(
                path,
                "duplicate",
                format!("De code '{code}' komt meer dan eens voor."),
            ),
            Some(n) => out.push((code.to_owned(), n)),
        }
    }
    (errs.count() == n).then_some(out)
}

/// Replaces the concept list `field` unless it already holds the same set of codes.
fn replace_concepts(
    doc: &mut Map<String, Value>,
    field: &str,
    scheme: &str,
    codes: Vec<(String, &'static str)>,
) {
    let mut old: Vec<&str> = list(doc, field)
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    let mut new: Vec<&str> = codes.iter().map(|(c, _)| c.as_str()).collect();
    old.sort_unstable();
    new.sort_unstable();
    if old == new && list(doc, field).len() == codes.len() {
        return;
    }
    let items = codes
        .into_iter()
        .map(|(code, naam)| concept(scheme, &code, naam))
        .collect();
    doc.insert(field.into(), Value::Array(items));
}

fn stop_cmd(errs: &mut Errors, body: &Value, doc: &mut Map<String, Value>, today: Date) {
    let Some(o) = object(errs, "", body, &["einddatum"]) else {
        return;
    };
    let Some(einddatum) = required_text(errs, "", o, "einddatum") else {
        return;
    };
    let Some(d) = parse_date(&einddatum) else {
        errs.add(
            "einddatum",
            "invalidFormat",
            "Einddatum moet een datum zijn in de vorm yyyy-MM-dd.",
        );
        return;
    };
    if d > today {
        errs.add(
            "einddatum",
            "inFuture",
            "Einddatum mag niet in de toekomst liggen.",
        );
    }
    if date_in(doc, "startdatum").is_some_and(|s| d < s) {
        errs.add(
            "einddatum",
            "invalidRange",
            "Einddatum mag niet voor de startdatum liggen.",
        );
    }
    if errs.is_empty() {
        doc.insert("status".into(), json!("Gestopt"));
        doc.insert("einddatum".into(), Value::String(einddatum));
    }
}

const CONTACT_FIELDS: [&str; 4] = ["contactgegeventype", "waarde", "beschrijving", "isPrimair"];
const CONTACT_CHANGE_FIELDS: [&str; 3] = ["waarde", "beschrijving", "isPrimair"];

/// `body.<key>`: a required object with the `allowed` members.
fn wrapped<'v>(
    errs: &mut Errors,
    body: &'v Value,
    key: &str,
    allowed: &[&str],
) -> Option<&'v Map<String, Value>> {
    let o = object(errs, "", body, &[key])?;
    let Some(inner) = present(o, key) else {
        errs.add(key, "required", format!("'{key}' is verplicht."));
        return None;
    };
    object(errs, key, inner, allowed)
}

fn same_waarde(a: &Value, b: &str) -> bool {
    a.as_str()
        .is_some_and(|a| a.trim().eq_ignore_ascii_case(b.trim()))
}

/// The entries of `list` but the one at `skip` (the entry being changed, if any).
fn except(list: &[Value], skip: Option<usize>) -> impl Iterator<Item = &Value> {
    list.iter()
        .enumerate()
        .filter(move |(i, _)| Some(*i) != skip)
        .map(|(_, v)| v)
}

/// Duplicate and primary checks of a contact against the others (`skip`: its own index).
fn check_contact_rules(
    errs: &mut Errors,
    others: &[Value],
    skip: Option<usize>,
    typ: &str,
    waarde: &str,
    primair: bool,
) {
    let others = || except(others, skip);
    if others().any(|c| c["contactgegeventype"] == typ && same_waarde(&c["waarde"], waarde)) {
        errs.add(
            "contactgegeven.waarde",
            "duplicate",
            format!("Er bestaat al een contactgegeven van type {typ} met waarde '{waarde}'."),
        );
    }
    if primair && others().any(|c| c["contactgegeventype"] == typ && c["isPrimair"] == true) {
        errs.add(
            "contactgegeven.isPrimair",
            "multiplePrimary",
            format!("Er is al een primair contactgegeven van type {typ}."),
        );
    }
}

/// Adds a contactgegeven; `ids` is the highest `contactgegevenId` ever handed out.
fn add_contact_cmd(errs: &mut Errors, body: &Value, doc: &mut Map<String, Value>, ids: &mut u64) {
    let p = "contactgegeven";
    let Some(c) = wrapped(errs, body, p, &CONTACT_FIELDS) else {
        return;
    };
    let typ = required_text(errs, p, c, "contactgegeventype");
    let typ = typ.filter(|t| {
        let known = CONTACT_TYPES.contains(&t.as_str());
        if !known {
            errs.add(
                "contactgegeven.contactgegeventype",
                "unknownCode",
                format!(
                    "Het contactgegeventype '{t}' is onbekend (E-mail, Telefoon, Website, SocialMedia)."
                ),
            );
        }
        known
    });
    let waarde = required_text(errs, p, c, "waarde");
    let beschrijving = string(errs, p, c, "beschrijving").unwrap_or_default();
    let primair = boolean(errs, p, c, "isPrimair").unwrap_or(false);
    let (Some(typ), Some(waarde)) = (typ, waarde) else {
        return;
    };
    check_waarde(errs, "contactgegeven.waarde", &typ, &waarde);
    check_contact_rules(
        errs,
        list(doc, "contactgegevens"),
        None,
        &typ,
        &waarde,
        primair,
    );
    if !errs.is_empty() {
        return;
    }
    let id = next_id(doc, "contactgegevens", "contactgegevenId", ids);
    let Some(contacts) = list_mut(doc, "contactgegevens") else {
        return;
    };
    contacts.push(json!({
        "@id": json_ld_id("cont"),
        "@type": "schema:ContactPoint",
        "contactgegevenId": id,
        "contactgegeventype": typ,
        "waarde": waarde,
        "beschrijving": beschrijving.trim(),
        "isPrimair": primair,
    }));
}

fn change_contact_cmd(errs: &mut Errors, body: &Value, doc: &mut Map<String, Value>, i: usize) {
    let p = "contactgegeven";
    let Some(c) = wrapped(errs, body, p, &CONTACT_CHANGE_FIELDS) else {
        return;
    };
    if !CONTACT_CHANGE_FIELDS
        .iter()
        .any(|k| present(c, k).is_some())
    {
        if c.is_empty() {
            errs.add(
                p,
                "emptyRequest",
                "Geef minstens een van waarde, beschrijving of isPrimair.",
            );
        }
        return;
    }
    let waarde = text(errs, p, c, "waarde");
    let beschrijving = string(errs, p, c, "beschrijving");
    let primair = boolean(errs, p, c, "isPrimair");
    let current = list(doc, "contactgegevens")[i].clone();
    let typ = current["contactgegeventype"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some(w) = &waarde {
        check_waarde(errs, "contactgegeven.waarde", &typ, w);
    }
    if !errs.is_empty() {
        return;
    }
    let waarde =
        waarde.unwrap_or_else(|| current["waarde"].as_str().unwrap_or_default().to_owned());
    let primair = primair.unwrap_or(current["isPrimair"] == true);
    check_contact_rules(
        errs,
        list(doc, "contactgegevens"),
        Some(i),
        &typ,
        &waarde,
        primair,
    );
    if !errs.is_empty() {
        return;
    }
    let contact = list_mut(doc, "contactgegevens").and_then(|l| l.get_mut(i));
    if let Some(Value::Object(contact)) = contact {
        contact.insert("waarde".into(), Value::String(waarde));
        if let Some(b) = beschrijving {
            contact.insert("beschrijving".into(), Value::String(b.trim().to_owned()));
        }
        contact.insert("isPrimair".into(), Value::Bool(primair));
    }
}

const LOCATIE_FIELDS: [&str; 5] = ["locatietype", "isPrimair", "naam", "adres", "adresId"];
const ADRES_REQUIRED: [&str; 5] = ["straatnaam", "huisnummer", "postcode", "gemeente", "land"];

fn adresvoorstelling(adres: &Value) -> String {
    let s = |k: &str| adres[k].as_str().unwrap_or_default().trim().to_owned();
    let mut out = format!("{} {}", s("straatnaam"), s("huisnummer"));
    if !s("busnummer").is_empty() {
        out.push_str(&format!(" bus {}", s("busnummer")));
    }
    out.push_str(&format!(", {} {}", s("postcode"), s("gemeente")));
    let land = s("land");
    if !land.is_empty() && land != "België" {
        out.push_str(&format!(", {land}"));
    }
    out
}

/// A locatietype a client may set.
fn check_locatietype(errs: &mut Errors, t: &str) -> bool {
    if t == KBO_ZETEL {
        errs.add(
            "locatie.locatietype",
            "notAllowed",
            "Een maatschappelijke zetel volgens KBO kan niet via deze API beheerd worden.",
        );
        false
    } else if !LOCATIE_TYPES.contains(&t) {
        errs.add(
            "locatie.locatietype",
            "unknownCode",
            format!("Het locatietype '{t}' is onbekend (Correspondentie, Activiteiten)."),
        );
        false
    } else {
        true
    }
}

/// Merges the `adres` object of a request into `into` (a stored or new adres object); every
/// required member must end up non-empty and the postcode 4 digits.
fn merge_adres(errs: &mut Errors, v: &Value, into: &mut Map<String, Value>) {
    let p = "locatie.adres";
    let Some(a) = object(errs, p, v, ADRES_FIELDS) else {
        return;
    };
    for &k in ADRES_FIELDS {
        if let Some(s) = string(errs, p, a, k) {
            into.insert(k.into(), Value::String(s.trim().to_owned()));
        }
    }
    for k in ADRES_REQUIRED {
        let value = into.get(k).and_then(Value::as_str).unwrap_or_default();
        if value.is_empty() && !errs.0.contains_key(&join(p, k)) {
            let code = if a.contains_key(k) {
                "notEmpty"
            } else {
                "required"
            };
            errs.add(join(p, k), code, format!("'{k}' is verplicht."));
        }
    }
    into.entry("busnummer").or_insert_with(|| json!(""));
    let postcode = into
        .get("postcode")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let four_digits = postcode.len() == 4 && postcode.bytes().all(|b| b.is_ascii_digit());
    if !postcode.is_empty() && !four_digits {
        errs.add(
            "locatie.adres.postcode",
            "invalidFormat",
            format!("De postcode '{postcode}' bestaat niet uit 4 cijfers."),
        );
    }
}

fn adres_id(errs: &mut Errors, v: &Value) -> Option<Value> {
    if v.is_null() {
        return Some(Value::Null);
    }
    let p = "locatie.adresId";
    let o = object(errs, p, v, &["broncode", "bronwaarde"])?;
    let broncode = required_text(errs, p, o, "broncode");
    let bronwaarde = required_text(errs, p, o, "bronwaarde");
    Some(json!({"broncode": broncode?, "bronwaarde": bronwaarde?}))
}

fn location_key(l: &Value) -> Vec<String> {
    let s = |v: &Value| v.as_str().unwrap_or_default().trim().to_lowercase();
    let mut key = vec![s(&l["locatietype"]), s(&l["naam"])];
    key.extend(ADRES_FIELDS.iter().map(|k| s(&l["adres"][*k])));
    key
}

/// Correspondentie, primary and duplicate checks of `loc` against the others.
fn check_locatie_rules(errs: &mut Errors, others: &[Value], skip: Option<usize>, loc: &Value) {
    let others = || except(others, skip);
    if loc["locatietype"] == CORRESPONDENTIE
        && others().any(|l| l["locatietype"] == CORRESPONDENTIE)
    {
        errs.add(
            "locatie.locatietype",
            "multipleCorrespondentie",
            "Er is al een correspondentieadres.",
        );
    }
    if loc["isPrimair"] == true && others().any(|l| l["isPrimair"] == true) {
        errs.add(
            "locatie.isPrimair",
            "multiplePrimary",
            "Er is al een primaire locatie.",
        );
    }
    let key = location_key(loc);
    if others().any(|l| location_key(l) == key) {
        errs.add(
            "locatie",
            "duplicate",
            "Deze locatie bestaat al (zelfde type, naam en adres).",
        );
    }
}

/// Adds a locatie; `ids` is the highest `locatieId` ever handed out.
fn add_locatie_cmd(errs: &mut Errors, body: &Value, doc: &mut Map<String, Value>, ids: &mut u64) {
    let p = "locatie";
    let Some(l) = wrapped(errs, body, p, &LOCATIE_FIELDS) else {
        return;
    };
    let typ = required_text(errs, p, l, "locatietype").filter(|t| check_locatietype(errs, t));
    let primair = boolean(errs, p, l, "isPrimair").unwrap_or(false);
    let naam = string(errs, p, l, "naam").unwrap_or_default();
    let mut adres = Map::new();
    adres.insert("@id".into(), Value::String(json_ld_id("adressen")));
    adres.insert("@type".into(), json!("locn:Address"));
    match present(l, "adres") {
        Some(a) => merge_adres(errs, a, &mut adres),
        None => errs.add("locatie.adres", "required", "'adres' is verplicht."),
    }
    let adres_id = l
        .get("adresId")
        .and_then(|v| adres_id(errs, v))
        .unwrap_or(Value::Null);
    let adres = Value::Object(adres);
    let mut loc = json!({
        "@id": json_ld_id("loc"),
        "@type": "org:Site",
        "locatieId": 0,
        "locatietype": typ.unwrap_or_default(),
        "isPrimair": primair,
        "naam": naam.trim(),
        "adresvoorstelling": adresvoorstelling(&adres),
        "adres": adres,
        "adresId": adres_id,
    });
    check_locatie_rules(errs, list(doc, "locaties"), None, &loc);
    if !errs.is_empty() {
        return;
    }
    let id = next_id(doc, "locaties", "locatieId", ids);
    loc["locatieId"] = json!(id);
    if let Some(locaties) = list_mut(doc, "locaties") {
        locaties.push(loc);
    }
}

fn change_locatie_cmd(errs: &mut Errors, body: &Value, doc: &mut Map<String, Value>, i: usize) {
    let p = "locatie";
    let Some(l) = wrapped(errs, body, p, &LOCATIE_FIELDS) else {
        return;
    };
    let mut loc = list(doc, "locaties")[i].clone();
    if loc["locatietype"] == KBO_ZETEL {
        errs.add(
            "locatie",
            "readOnly",
            "De maatschappelijke zetel volgens KBO kan niet gewijzigd worden.",
        );
        return;
    }
    if l.is_empty() {
        errs.add(
            p,
            "emptyRequest",
            "Geef minstens een van locatietype, isPrimair, naam, adres of adresId.",
        );
        return;
    }
    if let Some(t) = string(errs, p, l, "locatietype") {
        if check_locatietype(errs, &t) {
            loc["locatietype"] = Value::String(t);
        }
    }
    if let Some(b) = boolean(errs, p, l, "isPrimair") {
        loc["isPrimair"] = Value::Bool(b);
    }
    if let Some(n) = string(errs, p, l, "naam") {
        loc["naam"] = Value::String(n.trim().to_owned());
    }
    if let Some(a) = present(l, "adres") {
        let mut adres = match &loc["adres"] {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let before = adres.clone();
        merge_adres(errs, a, &mut adres);
        if adres != before && !l.contains_key("adresId") {
            loc["adresId"] = Value::Null;
        }
        loc["adres"] = Value::Object(adres);
    }
    if let Some(v) = l.get("adresId") {
        if let Some(id) = adres_id(errs, v) {
            loc["adresId"] = id;
        }
    }
    loc["adresvoorstelling"] = Value::String(adresvoorstelling(&loc["adres"]));
    check_locatie_rules(errs, list(doc, "locaties"), Some(i), &loc);
    if errs.is_empty() {
        if let Some(slot) = list_mut(doc, "locaties").and_then(|l| l.get_mut(i)) {
            *slot = loc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2025 - 06 - 15);

    fn seed_one(vcode: &str) -> Value {
        crate::data::seed()
            .into_iter()
            .find(|v| v["vCode"] == vcode)
            .unwrap_or_default()
    }

    fn run(op: Op, body: Value, doc: &Value) -> Result<Value, Refusal> {
        apply(&op, Some(&body), doc, &mut IdHighWater::default(), TODAY)
    }

    fn error_fields(r: Result<Value, Refusal>) -> Vec<(String, String)> {
        match r {
            Err(Refusal::Invalid(e)) => e
                .fields()
                .into_iter()
                .map(|(f, c)| (f.to_owned(), c.to_owned()))
                .collect(),
            other => vec![("unexpected".into(), format!("{other:?}"))],
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn value_checks() {
        assert!(is_email("info@chiro-sj.be"));
        for bad in ["info", "@x.be", "a@b", "a b@c.be", "a@@b.be", "a@b..be"] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_url("https://www.chiro-sj.be/kalender?x=1"));
        assert!(is_url("http://localhost.test:8080"));
        for bad in [
            "www.x.be",
            "ftp://x.be",
            "https://",
            "https://x",
            "https://a b.be",
        ] {
            assert!(!is_url(bad), "{bad}");
        }
        assert!(is_phone("+32 53 21 00 00"));
        assert!(is_phone("053/21.00.00"));
        for bad in ["12345", "+32 53 21 00 00 x", "32+53210000", ""] {
            assert!(!is_phone(bad), "{bad}");
        }
        assert!(if_match_ok("W/\"3\"", 3));
        assert!(if_match_ok("\"2\", W/\"3\"", 3));
        assert!(if_match_ok("*", 9));
        assert!(!if_match_ok("W/\"2\"", 3));
        assert!(!if_match_ok("garbage", 3));
        assert!(is_ovo("OVO002949"));
        assert!(!is_ovo("OVO02949") && !is_ovo("ovo002949") && !is_ovo("OVO00294a"));
    }

    #[test]
    fn basisgegevens_change_and_no_op() {
        let doc = seed_one("V0001001");
        let new = run(
            Op::Basisgegevens,
            json!({"naam": "  Chiro Aalst ", "doelgroep": {"maximumleeftijd": 21},
                   "hoofdactiviteitenVerenigingsloket": ["JGDW", "SPRT"],
                   "werkingsgebieden": ["BE23141002", "BE23444019"], "startdatum": null}),
            &doc,
        )
        .unwrap_or_default();
        assert_eq!(new["naam"], "Chiro Aalst");
        assert_eq!(new["doelgroep"]["minimumleeftijd"], 6);
        assert_eq!(new["doelgroep"]["maximumleeftijd"], 21);
        assert_eq!(new["doelgroep"]["@id"], doc["doelgroep"]["@id"]);
        assert_eq!(new["hoofdactiviteitenVerenigingsloket"][1]["naam"], "Sport");
        assert_eq!(new["werkingsgebieden"][1]["naam"], "Evergem");
        assert_eq!(new["startdatum"], Value::Null);
        assert!(crate::validate_vereniging(&new).is_ok());

        let same = run(
            Op::Basisgegevens,
            json!({"naam": "Chiro Sint-Jozef Aalst", "hoofdactiviteitenVerenigingsloket": ["JGDW"],
                   "doelgroep": {"minimumleeftijd": 6}}),
            &doc,
        );
        assert_eq!(same, Ok(doc.clone()));
    }

    #[test]
    fn basisgegevens_lists_every_error() {
        let doc = seed_one("V0001001");
        let r = run(
            Op::Basisgegevens,
            json!({"naam": " ", "korteNaam": 3, "startdatum": "2999-01-01", "foo": 1,
                   "doelgroep": {"minimumleeftijd": -1, "x": 1},
                   "hoofdactiviteitenVerenigingsloket": ["JGDW", "XXXX", 4, "JGDW"],
                   "werkingsgebieden": ["NVT", "BE23141002"]}),
            &doc,
        );
        assert_eq!(
            error_fields(r),
            pairs(&[
                ("doelgroep.minimumleeftijd", "outOfRange"),
                ("doelgroep.x", "unknownField"),
                ("foo", "unknownField"),
                ("hoofdactiviteitenVerenigingsloket[1]", "unknownCode"),
                ("hoofdactiviteitenVerenigingsloket[2]", "invalidType"),
                ("hoofdactiviteitenVerenigingsloket[3]", "duplicate"),
                ("korteNaam", "invalidType"),
                ("naam", "notEmpty"),
                ("startdatum", "inFuture"),
                ("werkingsgebieden", "notCombinable"),
            ])
        );
        assert_eq!(
            error_fields(run(Op::Basisgegevens, json!({}), &doc)),
            pairs(&[("request", "emptyRequest")])
        );
        assert_eq!(
            error_fields(run(Op::Basisgegevens, json!([1]), &doc)),
            pairs(&[("request", "invalidType")])
        );
        assert_eq!(
            error_fields(run(
                Op::Basisgegevens,
                json!({"doelgroep": {"minimumleeftijd": 30, "maximumleeftijd": 20}}),
                &doc
            )),
            pairs(&[("doelgroep", "invalidRange")])
        );
    }

    #[test]
    fn stop_rules() {
        let doc = seed_one("V0001001");
        let new = run(Op::Stop, json!({"einddatum": "2025-01-31"}), &doc).unwrap_or_default();
        assert_eq!(new["status"], "Gestopt");
        assert_eq!(new["einddatum"], "2025-01-31");
        assert_eq!(
            run(Op::Stop, json!({"einddatum": "2025-01-31"}), &new),
            Ok(new.clone())
        );
        assert_eq!(
            error_fields(run(Op::Stop, json!({"einddatum": "1900-01-01"}), &doc)),
            pairs(&[("einddatum", "invalidRange")])
        );
        assert_eq!(
            error_fields(run(Op::Stop, json!({"einddatum": "31/01/2025"}), &doc)),
            pairs(&[("einddatum", "invalidFormat")])
        );
        assert_eq!(
            error_fields(run(Op::Stop, json!({}), &doc)),
            pairs(&[("einddatum", "required")])
        );
    }

    #[test]
    fn contacts() {
        let doc = seed_one("V0001001");
        let mut ids = IdHighWater::default();
        let body = json!({"contactgegeven": {"contactgegeventype": "Telefoon",
            "waarde": "+32 53 21 00 00", "isPrimair": true}});
        let new = apply(&Op::AddContact, Some(&body), &doc, &mut ids, TODAY).unwrap_or_default();
        let added = &new["contactgegevens"][3];
        assert_eq!(added["contactgegevenId"], 4);
        assert_eq!(added["beschrijving"], "");
        assert_eq!(added["@type"], "schema:ContactPoint");
        assert!(added["@id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("cont:"));
        assert_eq!(ids.contactgegeven, 4);
        // a deleted id is not reused
        let removed =
            apply(&Op::RemoveContact("4".into()), None, &new, &mut ids, TODAY).unwrap_or_default();
        let again =
            apply(&Op::AddContact, Some(&body), &removed, &mut ids, TODAY).unwrap_or_default();
        assert_eq!(again["contactgegevens"][3]["contactgegevenId"], 5);

        // refused: an add with every kind of error, an unknown type, a bad website; a change
        // that makes a second primary, a change of the type
        for (op, body, expected) in [
            (
                Op::AddContact,
                json!({"contactgegeven": {"contactgegeventype": "E-mail",
                       "waarde": "INFO@chiro-sj.be", "isPrimair": true, "foo": 1}}),
                &[
                    ("contactgegeven.foo", "unknownField"),
                    ("contactgegeven.isPrimair", "multiplePrimary"),
                    ("contactgegeven.waarde", "duplicate"),
                ][..],
            ),
            (
                Op::AddContact,
                json!({"contactgegeven": {"contactgegeventype": "Fax", "waarde": "x"}}),
                &[("contactgegeven.contactgegeventype", "unknownCode")],
            ),
            (
                Op::AddContact,
                json!({"contactgegeven": {"contactgegeventype": "Website", "waarde": "www.x.be"}}),
                &[("contactgegeven.waarde", "invalidFormat")],
            ),
            // change: primary moves only when the other is not primary
            (
                Op::ChangeContact("2".into()),
                json!({"contactgegeven": {"isPrimair": true}}),
                &[("contactgegeven.isPrimair", "multiplePrimary")],
            ),
            (
                Op::ChangeContact("1".into()),
                json!({"contactgegeven": {"contactgegeventype": "Telefoon"}}),
                &[("contactgegeven.contactgegeventype", "unknownField")],
            ),
        ] {
            let what = format!("{op:?} {body}");
            assert_eq!(error_fields(run(op, body, &doc)), pairs(expected), "{what}");
        }
        let new = run(
            Op::ChangeContact("1".into()),
            json!({"contactgegeven": {"waarde": "hallo@chiro-sj.be"}}),
            &doc,
        )
        .unwrap_or_default();
        assert_eq!(new["contactgegevens"][0]["waarde"], "hallo@chiro-sj.be");
        assert_eq!(
            run(
                Op::ChangeContact("9".into()),
                json!({"contactgegeven": {"waarde": "x@y.be"}}),
                &doc
            ),
            Err(Refusal::NotFound(
                "Het contactgegeven 9 werd niet gevonden.".into()
            ))
        );
    }

    #[test]
    fn locaties() {
        // V0001003: KBO seat (1) and a primary Activiteiten location (2)
        let doc = seed_one("V0001003");
        let body = json!({"locatie": {"locatietype": "Correspondentie", "naam": "Secretariaat",
            "adres": {"straatnaam": "Kerkstraat", "huisnummer": "1", "busnummer": "2",
                      "postcode": "9300", "gemeente": "Aalst", "land": "België"}}});
        let new = run(Op::AddLocatie, body.clone(), &doc).unwrap_or_default();
        let added = &new["locaties"][2];
        assert_eq!(added["locatieId"], 3);
        assert_eq!(added["adresvoorstelling"], "Kerkstraat 1 bus 2, 9300 Aalst");
        assert_eq!(added["adresId"], Value::Null);
        assert_eq!(added["adres"]["@type"], "locn:Address");
        assert!(crate::validate_vereniging(&new).is_ok());
        // a second Correspondentie, which is also a duplicate
        assert_eq!(
            error_fields(run(Op::AddLocatie, body, &new)),
            pairs(&[
                ("locatie", "duplicate"),
                ("locatie.locatietype", "multipleCorrespondentie"),
            ])
        );
        let r = run(
            Op::AddLocatie,
            json!({"locatie": {"locatietype": "Kantoor", "isPrimair": true,
                "adres": {"straatnaam": "", "huisnummer": "1", "postcode": "930",
                          "gemeente": "Aalst", "land": "België", "x": 1}}}),
            &doc,
        );
        assert_eq!(
            error_fields(r),
            pairs(&[
                ("locatie.adres.postcode", "invalidFormat"),
                ("locatie.adres.straatnaam", "notEmpty"),
                ("locatie.adres.x", "unknownField"),
                ("locatie.isPrimair", "multiplePrimary"),
                ("locatie.locatietype", "unknownCode"),
            ])
        );
        // read-only KBO seat
        for op in [Op::ChangeLocatie("1".into()), Op::RemoveLocatie("1".into())] {
            let r = apply(
                &op,
                Some(&json!({"locatie": {"naam": "x"}})),
                &doc,
                &mut IdHighWater::default(),
                TODAY,
            );
            assert!(matches!(r, Err(Refusal::Invalid(_))), "{op:?}");
        }
        // partial change of the address: adresvoorstelling recomputed, adresId dropped
        let new = run(
            Op::ChangeLocatie("2".into()),
            json!({"locatie": {"adres": {"huisnummer": "99"}}}),
            &doc,
        )
        .unwrap_or_default();
        let loc = &new["locaties"][1];
        assert_eq!(loc["adres"]["huisnummer"], "99");
        assert!(loc["adresvoorstelling"]
            .as_str()
            .unwrap_or_default()
            .contains(" 99"));
        assert_eq!(loc["adresId"], Value::Null);
        assert!(crate::validate_vereniging(&new).is_ok());
        // same values: no change
        let naam = doc["locaties"][1]["naam"].clone();
        assert_eq!(
            run(
                Op::ChangeLocatie("2".into()),
                json!({"locatie": {"naam": naam}}),
                &doc
            ),
            Ok(doc.clone())
        );
        let removed = run(Op::RemoveLocatie("2".into()), Value::Null, &doc).unwrap_or_default();
        assert_eq!(removed["locaties"].as_array().map(Vec::len), Some(1));
        assert!(matches!(
            run(Op::RemoveLocatie("x".into()), Value::Null, &doc),
            Err(Refusal::NotFound(_))
        ));
    }
}
