//! The HTTP side: OAuth2 token endpoint, the register's public `/v1` routes (reads here, the
//! beheer commands in `beheer`) and `/_sim/`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Form, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use time::macros::format_description;

use crate::data::normalize_vcode;
use crate::state::{Bump, Entry, Shared, SimError, State as RegisterState};
use crate::{beheer, ordered, DETAIL_CONTEXT};

pub(crate) type AppState = Arc<Shared>;

pub(crate) fn router(shared: AppState) -> Router {
    let v1 = Router::new()
        .route("/v1/verenigingen/mutaties", get(mutaties))
        .route("/v1/verenigingen/{vcode}", get(detail))
        .route_layer(middleware::from_fn_with_state(shared.clone(), v1_guard));
    let beheer = beheer::routes().route_layer(middleware::from_fn_with_state(
        shared.clone(),
        beheer::guard,
    ));
    let sim = Router::new()
        .route("/_sim/verenigingen", get(sim_list))
        .route(
            "/_sim/verenigingen/{vcode}",
            get(sim_get)
                .put(sim_put)
                .patch(sim_patch)
                .delete(sim_delete),
        )
        .route("/_sim/verenigingen/{vcode}/stop", post(sim_stop))
        .route("/_sim/verenigingen/{vcode}/malformed", post(sim_malformed))
        .route("/_sim/verenigingen/{vcode}/huge", post(sim_huge))
        .route(
            "/_sim/faults",
            faults_endpoint(
                "/_sim/faults",
                "expected {\"status\": 500, \"count\": 3}",
                RegisterState::set_fault,
            ),
        )
        .route("/_sim/tokens/expire", post(sim_expire))
        .route("/_sim/stats", get(sim_stats))
        .route("/_sim/writes", get(sim_writes).delete(sim_clear_writes))
        .route(
            "/_sim/write-faults",
            faults_endpoint(
                "/_sim/write-faults",
                "expected {\"status\": 503, \"count\": 2}",
                RegisterState::set_write_fault,
            ),
        )
        .route("/_sim/write-delay", post(sim_write_delay));
    Router::new()
        .route("/oauth2/token", post(token))
        .merge(v1)
        .merge(beheer)
        .merge(sim)
        .fallback(not_found)
        .layer(middleware::from_fn(log_requests))
        .with_state(shared)
}

async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        %method,
        %uri,
        status = resp.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    resp
}

// ---------------------------------------------------------------------------------------------
// responses

/// A JSON response with members in the register's order (see `ordered`).
pub(crate) fn json_response(
    status: StatusCode,
    value: &Value,
    ctx: &str,
    content_type: &'static str,
) -> Response {
    let mut resp = Response::new(Body::from(ordered::to_string(value, ctx)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn ok_json(value: &Value) -> Response {
    json_response(StatusCode::OK, value, "", "application/json")
}

pub(crate) fn problem(
    status: StatusCode,
    kind: &str,
    detail: impl Into<String>,
    instance: &str,
) -> Response {
    let body = json!({
        "type": format!("urn:associationregistry:problem:{kind}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "detail": detail.into(),
        "status": status.as_u16(),
        "instance": instance,
    });
    json_response(status, &body, "", "application/problem+json")
}

/// The 400 problem of a body that is not what the route expects.
fn invalid_body(detail: impl Into<String>, instance: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, "invalid-body", detail, instance)
}

fn sim_error(e: SimError, instance: &str) -> Response {
    match e {
        SimError::NotFound(_) => {
            problem(StatusCode::NOT_FOUND, "not-found", e.to_string(), instance)
        }
        SimError::InvalidVCode(_) => problem(
            StatusCode::BAD_REQUEST,
            "invalid-vcode",
            e.to_string(),
            instance,
        ),
        SimError::InvalidBody(_) => invalid_body(e.to_string(), instance),
    }
}

async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_owned();
    problem(StatusCode::NOT_FOUND, "not-found", "no such route", &path)
}

// ---------------------------------------------------------------------------------------------
// OAuth2

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = json_response(
        status,
        &json!({"error": error, "error_description": description}),
        "",
        "application/json",
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Decodes standard base64 (with or without padding).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `application/x-www-form-urlencoded` decoding (RFC 6749 §2.3.1 encodes Basic credentials so).
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `Authorization: Basic …` → (client_id, client_secret); `Some(None)` if present but broken.
fn basic_credentials(headers: &HeaderMap) -> Option<Option<(String, String)>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let parsed = base64_decode(rest.trim())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            Some((form_decode(id)?, form_decode(secret)?))
        });
    Some(parsed)
}

async fn token(
    State(shared): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    shared.lock().stats.token_requests += 1;
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected an application/x-www-form-urlencoded body",
        );
    };
    let basic = basic_credentials(&headers);
    let used_basic = basic.is_some();
    let creds = match basic {
        Some(c) => c,
        None => form.client_id.clone().zip(form.client_secret.clone()),
    };
    let client_ok =
        creds.is_some_and(|(id, secret)| id == shared.client_id && secret == shared.client_secret);
    if !client_ok {
        let mut resp = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
        if used_basic {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"register-sim\""),
            );
        }
        return resp;
    }
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is missing",
            )
        }
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            )
        }
    }
    let token = shared.lock().issue_token(shared.token_ttl);
    let mut resp = ok_json(&json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": shared.token_ttl.as_secs(),
        "scope": form.scope.unwrap_or_default(),
    }));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

// ---------------------------------------------------------------------------------------------
// /v1

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The 401 to answer when the request carries no valid bearer token (counted in
/// `stats.unauthorized`); `None` when the token is valid.
pub(crate) fn unauthorized(shared: &Shared, headers: &HeaderMap, path: &str) -> Option<Response> {
    let mut st = shared.lock();
    if bearer(headers).is_some_and(|t| st.token_valid(t)) {
        return None;
    }
    st.stats.unauthorized += 1;
    drop(st);
    let mut resp = problem(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid bearer token is required",
        path,
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    Some(resp)
}

/// Counts, serves injected faults, then checks the bearer token (the reads; the beheer
/// routes have `beheer::guard`).
async fn v1_guard(
    State(shared): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    {
        let mut st = shared.lock();
        if matched.is_some_and(|m| m.as_str().ends_with("/mutaties")) {
            st.stats.mutaties_requests += 1;
        } else {
            st.stats.detail_requests += 1;
        }
        if let Some(status) = st.take_fault() {
            drop(st);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return problem(
                status,
                "injected-fault",
                "fault injected by register-sim",
                &path,
            );
        }
    }
    if let Some(resp) = unauthorized(&shared, req.headers(), &path) {
        return resp;
    }
    next.run(req).await
}

async fn mutaties(
    State(shared): State<AppState>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let instance = "/v1/verenigingen/mutaties";
    let Ok(Query(query)) = query else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            "unreadable query string",
            instance,
        );
    };
    let sinds = match query.get("sinds").map(|s| s.trim()) {
        None | Some("") => 0,
        Some(s) => match s.parse::<u64>() {
            Ok(n) => n,
            Err(_) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid-sinds",
                    format!("sinds must be a non-negative integer, got `{s}`"),
                    instance,
                )
            }
        },
    };
    let list: Value = shared
        .lock()
        .mutaties(sinds)
        .into_iter()
        .map(|(v, s)| json!({"vCode": v, "sequence": s}))
        .collect();
    ok_json(&list)
}

/// A 200 answer the hub cannot parse: valid JSON, wrong types.
fn malformed(mut vereniging: Value) -> Value {
    if let Some(o) = vereniging.as_object_mut() {
        o.insert("naam".into(), json!(42));
        o.insert("locaties".into(), json!("nope"));
        o.insert("contactgegevens".into(), json!({"oeps": true}));
    }
    vereniging
}

/// The detail document of a live entry. Rendered straight from the stored association (no
/// copy of it) unless the entry is to be malformed or padded: a bench's hundreds of thousands
/// of reads should measure the hub, not the simulator.
fn detail_document(e: &Entry) -> String {
    let date = e
        .modified
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    if !e.malformed && e.padding == 0 {
        return format!(
            "{{\"@context\":{},\"vereniging\":{},\"metadata\":{{\"datumLaatsteAanpassing\":{}}}}}",
            Value::from(DETAIL_CONTEXT),
            ordered::to_string(&e.vereniging, "vereniging"),
            Value::from(date),
        );
    }
    let mut vereniging = if e.malformed {
        malformed(e.vereniging.clone())
    } else {
        e.vereniging.clone()
    };
    if let (Some(o), true) = (vereniging.as_object_mut(), e.padding > 0) {
        o.insert("opvulling".into(), Value::String("x".repeat(e.padding)));
    }
    let body = json!({
        "@context": DETAIL_CONTEXT,
        "vereniging": vereniging,
        "metadata": {"datumLaatsteAanpassing": date},
    });
    ordered::to_string(&body, "")
}

async fn detail(State(shared): State<AppState>, Path(raw): Path<String>) -> Response {
    let instance = format!("/v1/verenigingen/{raw}");
    let Some(vcode) = normalize_vcode(&raw) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid-vcode",
            format!("`{raw}` is not a vCode (V followed by 7 digits)"),
            &instance,
        );
    };
    let found = {
        let st = shared.lock();
        st.entries
            .get(&vcode)
            .filter(|e| !e.removed)
            .map(|e| (detail_document(e), e.version))
    };
    let Some((body, version)) = found else {
        return problem(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("De gevraagde vereniging {vcode} werd niet gevonden."),
            &instance,
        );
    };
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// /_sim

fn bumped(vcode: &str, r: Result<Bump, SimError>, instance: &str) -> Response {
    match r {
        Ok((sequence, version)) => {
            let vcode = normalize_vcode(vcode).unwrap_or_else(|| vcode.to_owned());
            ok_json(&json!({"vCode": vcode, "sequence": sequence, "version": version}))
        }
        Err(e) => sim_error(e, instance),
    }
}

/// The JSON body, or the 400 problem to answer.
fn json_body(
    body: Result<Json<Value>, JsonRejection>,
    instance: &str,
) -> Result<Value, Box<Response>> {
    body.map(|Json(v)| v)
        .map_err(|e| Box::new(invalid_body(e.body_text(), instance)))
}

/// What a `/_sim/verenigingen/{vcode}…` handler works on: the state, the vCode as given and
/// the `instance` of its problem answers (the route with the vCode filled in).
struct SimTarget {
    shared: AppState,
    vcode: String,
    instance: String,
}

impl FromRequestParts<AppState> for SimTarget {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(vcode) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or("/_sim/verenigingen/{vcode}", MatchedPath::as_str);
        Ok(Self {
            shared: state.clone(),
            instance: route.replace("{vcode}", &vcode),
            vcode,
        })
    }
}

impl SimTarget {
    /// What [`bumped`] answers for `change` of the association.
    fn change(
        &self,
        change: impl FnOnce(&mut RegisterState, &str) -> Result<Bump, SimError>,
    ) -> Response {
        let r = change(&mut self.shared.lock(), &self.vcode);
        bumped(&self.vcode, r, &self.instance)
    }

    /// A change made with the request's JSON body: the 400 problem of a body that is not JSON,
    /// else what [`SimTarget::change`] answers.
    fn change_with_body(
        &self,
        body: Result<Json<Value>, JsonRejection>,
        change: impl FnOnce(&mut RegisterState, &str, Value) -> Result<Bump, SimError>,
    ) -> Response {
        match json_body(body, &self.instance) {
            Ok(body) => self.change(|state, vcode| change(state, vcode, body)),
            Err(r) => *r,
        }
    }
}

async fn sim_list(State(shared): State<AppState>) -> Response {
    Json(shared.lock().vcodes()).into_response()
}

async fn sim_get(target: SimTarget) -> Response {
    let SimTarget {
        shared,
        vcode,
        instance,
    } = target;
    let st = shared.lock();
    match normalize_vcode(&vcode) {
        None => sim_error(SimError::InvalidVCode(vcode), &instance),
        Some(_) => match st.get(&vcode) {
            Some(v) => json_response(StatusCode::OK, &v, "vereniging", "application/json"),
            None => sim_error(SimError::NotFound(vcode), &instance),
        },
    }
}

async fn sim_put(target: SimTarget, body: Result<Json<Value>, JsonRejection>) -> Response {
    target.change_with_body(body, |state, vcode, body| state.put(body, Some(vcode)))
}

async fn sim_patch(target: SimTarget, body: Result<Json<Value>, JsonRejection>) -> Response {
    target.change_with_body(body, |state, vcode, body| state.patch(vcode, &body))
}

async fn sim_delete(target: SimTarget) -> Response {
    target.change(RegisterState::remove)
}

async fn sim_stop(target: SimTarget, body: Result<Json<Value>, JsonRejection>) -> Response {
    let body = match json_body(body, &target.instance) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let einddatum = body
        .get("einddatum")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let valid = einddatum.len() == 10
        && time::Date::parse(einddatum, format_description!("[year]-[month]-[day]")).is_ok();
    if !valid {
        return invalid_body("expected {\"einddatum\": \"yyyy-MM-dd\"}", &target.instance);
    }
    target.change(|state, vcode| state.stop(vcode, einddatum))
}

async fn sim_malformed(target: SimTarget) -> Response {
    target.change(RegisterState::make_malformed)
}

#[derive(Debug, Deserialize)]
struct HugeBody {
    bytes: usize,
}

async fn sim_huge(target: SimTarget, body: Result<Json<HugeBody>, JsonRejection>) -> Response {
    let Ok(Json(HugeBody { bytes })) = body else {
        return invalid_body("expected {\"bytes\": n}", &target.instance);
    };
    target.change(|state, vcode| state.make_huge(vcode, bytes))
}

#[derive(Debug, Deserialize)]
struct FaultsBody {
    status: u16,
    count: u32,
}

/// A fault endpoint's body, or why it did not parse.
type FaultsJson = Result<Json<FaultsBody>, JsonRejection>;

/// `POST` to the fault endpoint at `instance`: arms the faults the body asks for with `set`,
/// or answers the problem (`expected` shows the shape).
fn faults_endpoint(
    instance: &'static str,
    expected: &'static str,
    set: fn(&mut RegisterState, u32, u16),
) -> MethodRouter<AppState> {
    post(
        move |State(shared): State<AppState>, body: FaultsJson| async move {
            let Ok(Json(body)) = body else {
                return invalid_body(expected, instance);
            };
            if body.count > 0 && StatusCode::from_u16(body.status).is_err() {
                return invalid_body("status must be 100..=599", instance);
            }
            set(&mut shared.lock(), body.count, body.status);
            ok_json(&json!({"status": body.status, "count": body.count}))
        },
    )
}

async fn sim_expire(State(shared): State<AppState>) -> Response {
    let n = shared.lock().expire_tokens();
    ok_json(&json!({"expired": n}))
}

async fn sim_stats(State(shared): State<AppState>) -> Response {
    Json(shared.lock().stats.clone()).into_response()
}

async fn sim_writes(State(shared): State<AppState>) -> Response {
    Json(shared.lock().writes.clone()).into_response()
}

async fn sim_clear_writes(State(shared): State<AppState>) -> Response {
    let n = std::mem::take(&mut shared.lock().writes).len();
    ok_json(&json!({"count": n}))
}

#[derive(Debug, Deserialize)]
struct DelayBody {
    millis: u64,
}

async fn sim_write_delay(
    State(shared): State<AppState>,
    body: Result<Json<DelayBody>, JsonRejection>,
) -> Response {
    let Ok(Json(body)) = body else {
        return invalid_body("expected {\"millis\": 2000}", "/_sim/write-delay");
    };
    shared.lock().write_delay = Duration::from_millis(body.millis);
    ok_json(&json!({"millis": body.millis}))
}

#[cfg(test)]
mod tests {
    use super::{base64_decode, detail_document, form_decode};

    #[test]
    fn a_detail_document_renders_alike_with_and_without_a_copy() {
        let vereniging = crate::data::synthetic(3, 7)
            .pop()
            .expect("three synthetic associations");
        let mut entry = crate::state::Entry {
            vereniging,
            version: 3,
            sequence: 9,
            removed: false,
            malformed: false,
            padding: 0,
            modified: time::macros::date!(2025 - 03 - 01),
            ids: Default::default(),
        };
        let fast = detail_document(&entry);
        // One byte of padding takes the general path; without it, the documents are equal.
        entry.padding = 1;
        let general = detail_document(&entry).replace(r#","opvulling":"x""#, "");
        assert_eq!(fast, general);
        assert!(fast.starts_with(r#"{"@context":"#), "{fast}");
        let parsed: serde_json::Value = serde_json::from_str(&fast).expect("valid JSON");
        assert_eq!(parsed["metadata"]["datumLaatsteAanpassing"], "2025-03-01");
    }

    #[test]
    fn base64_and_form_decoding() {
        assert_eq!(
            base64_decode("aHViOmh1Yi1zZWNyZXQ=").as_deref(),
            Some(&b"hub:hub-secret"[..])
        );
        assert_eq!(
            base64_decode("aHViOmh1Yi1zZWNyZXQ").as_deref(),
            Some(&b"hub:hub-secret"[..])
        );
        assert_eq!(base64_decode("***"), None);
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
    }
}
