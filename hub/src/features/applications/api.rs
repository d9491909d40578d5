//! The loket's HTTP API (JSON): application intake and follow-up, and queries over the
//! projection.
//!
//! | Route | |
//! |---|---|
//! | `POST /applications` | 202 `{applicationId, status}` with `Location: /applications/{id}`; 400 problem+json with every field error (a string holding U+0000: code `nul-character`); 409 an applicationId reused for another application; 422 data the database refused, field unknown |
//! | `GET /applications/{id}` | the application and its timeline |
//! | `POST /applications/{id}/withdraw` | `ingetrokken` (409 once decided) |
//! | `GET /associations?naam=&postcode=&hoofdactiviteit=&limit=&offset=` | search |
//! | `GET /associations/{vCode}` | the snapshot |
//! | `GET /associations/{vCode}/services` | every service with whether the association may apply, and why not |
//! | `GET /associations/{vCode}/history?limit=&offset=` | register changes, deliveries, application transitions, newest first |
//!
//! Snapshots leave the hub here without any INSZ, like every subscriber without the grant.
//!
//! A JSON body is read by [`json_body`]: 415 unless its `Content-Type` is `application/json`
//! or `application/*+json`, 413 above `http.max_body_bytes`, 400 when it is not UTF-8 or not
//! JSON (nesting deeper than serde_json's 128 levels included: it stops there, so no stack
//! is at risk). Every error is `application/problem+json`. The server's own limits (timeouts,
//! concurrency) are in [`crate::runtime::serve`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use contracts::applications::ApplicationStatus;
use contracts::{VCode, Vereniging};
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::features::applications::{Applications, FieldError, IntakeError};
use crate::runtime::store::applications::{AssociationQuery, Move, Moved};
use crate::runtime::store::StoreError;

#[derive(Clone)]
pub struct ApiState {
    pub applications: Arc<Applications>,
    /// `http.max_body_bytes`, named in a 413.
    pub max_body_bytes: usize,
}

pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/applications", post(submit))
        .route("/applications/{id}", get(application))
        .route("/applications/{id}/withdraw", post(withdraw))
        .route("/associations", get(search))
        .route("/associations/{v_code}", get(association))
        .route("/associations/{v_code}/services", get(services))
        .route("/associations/{v_code}/history", get(history))
        .with_state(state)
}

/// 400 for a query string the route cannot read.
fn invalid_query(e: &QueryRejection) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "Invalid query",
        &e.body_text(),
        &[],
    )
}

/// `application/problem+json` (RFC 9457), with field errors when there are any.
pub(crate) fn problem(
    status: StatusCode,
    title: &str,
    detail: &str,
    errors: &[FieldError],
) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if !errors.is_empty() {
        body["errors"] = json!(errors);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn store_problem(e: &StoreError) -> Response {
    match e {
        StoreError::Unavailable { .. } => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Database unavailable",
            "try again later",
            &[],
        ),
        StoreError::Corrupt { reason: m, .. } => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Stored data is corrupt",
            m,
            &[],
        ),
        // The request's data, not the database: the field is unknown here (submissions are
        // checked for what the store refuses before, with the field named).
        StoreError::Rejected { .. } => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Refused by the database",
            &e.to_string(),
            &[],
        ),
    }
}

/// Whether `Content-Type` is `application/json` or `application/*+json` (parameters such as
/// `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

/// A JSON request body, or the problem answer for it (see the module documentation); a 400
/// carries one `invalid-json` field error at ``.
// The large `Err` is the finished answer.
#[allow(clippy::result_large_err)]
pub(crate) fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    max_body_bytes: usize,
) -> Result<Value, Response> {
    if !is_json(headers) {
        let given = headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let given = given.map_or("none".to_owned(), |g| format!("{g:?}"));
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            &format!("the body must be JSON (Content-Type application/json); given: {given}"),
            &[],
        ));
    }
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(crate::runtime::serve::too_large(
                max_body_bytes,
                "read so far",
            ));
        }
        Err(e) => return Err(problem(e.status(), "Unreadable body", &e.body_text(), &[])),
    };
    let invalid = |detail: String| {
        problem(
            StatusCode::BAD_REQUEST,
            "Invalid JSON",
            &detail,
            &[FieldError {
                field: String::new(),
                code: "invalid-json".to_owned(),
                reason: detail.clone(),
            }],
        )
    };
    let text = std::str::from_utf8(&body).map_err(|e| {
        invalid(format!(
            "the body is not UTF-8: invalid byte at offset {}",
            e.valid_up_to()
        ))
    })?;
    serde_json::from_str(text).map_err(|e| invalid(format!("the body is not valid JSON: {e}")))
}

async fn submit(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match json_body(&headers, body, s.max_body_bytes) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    match s.applications.submit(&body).await {
        Ok(intake) => {
            let location = format!("/applications/{}", intake.application_id);
            (
                StatusCode::ACCEPTED,
                [(header::LOCATION, location.clone())],
                Json(json!({
                    "applicationId": intake.application_id,
                    "status": intake.status,
                    "location": location,
                })),
            )
                .into_response()
        }
        Err(IntakeError::Invalid(errors)) => problem(
            StatusCode::BAD_REQUEST,
            "Invalid application",
            &format!("{} field error(s); nothing was stored", errors.len()),
            &errors,
        ),
        Err(IntakeError::Conflict(id)) => problem(
            StatusCode::CONFLICT,
            "applicationId already used",
            &format!("{id} was submitted before with other content"),
            &[],
        ),
        Err(IntakeError::Store(e)) => store_problem(&e),
    }
}

/// A value from the path, or the 400 `title`, `detail` to give instead.
// Handlers return early with a finished answer: the large `Err` is the response itself.
#[allow(clippy::result_large_err)]
fn from_path<T: std::str::FromStr>(raw: &str, title: &str, detail: &str) -> Result<T, Response> {
    raw.parse()
        .map_err(|_| problem(StatusCode::BAD_REQUEST, title, detail, &[]))
}

#[allow(clippy::result_large_err)]
fn application_id(raw: &str) -> Result<Uuid, Response> {
    from_path(raw, "Invalid applicationId", "must be a UUID")
}

async fn application(State(s): State<ApiState>, Path(raw): Path<String>) -> Response {
    let id = match application_id(&raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let store = &s.applications.store;
    let row = match store.application(id).await {
        Ok(Some(row)) => row,
        Ok(None) => return problem(StatusCode::NOT_FOUND, "Unknown application", &raw, &[]),
        Err(e) => return store_problem(&e),
    };
    let timeline = match store.timeline(id).await {
        Ok(t) => t,
        Err(e) => return store_problem(&e),
    };
    let mut body = json!(row);
    body["applicant"] = row.submitted["applicant"].clone();
    body["fields"] = row.submitted["fields"].clone();
    body["timeline"] = json!(timeline);
    Json(body).into_response()
}

#[derive(Deserialize, Default)]
struct Withdrawal {
    reason: Option<String>,
}

async fn withdraw(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let id = match application_id(&raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    // The body is optional: none at all (and no Content-Type) is a withdrawal without reason.
    let empty =
        headers.get(header::CONTENT_TYPE).is_none() && body.as_ref().is_ok_and(|b| b.is_empty());
    let withdrawal = if empty {
        Withdrawal::default()
    } else {
        let value = match json_body(&headers, body, s.max_body_bytes) {
            Ok(value) => value,
            Err(answer) => return answer,
        };
        match serde_json::from_value::<Withdrawal>(value) {
            Ok(w) => w,
            Err(e) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "Invalid withdrawal",
                    &format!("expected {{\"reason\": \"...\"}}: {e}"),
                    &[],
                )
            }
        }
    };
    let reason = withdrawal
        .reason
        .unwrap_or_else(|| "withdrawn by the association".to_owned());
    let step = Move {
        to: ApplicationStatus::Ingetrokken,
        reason: Some(reason),
        provider_reference: None,
    };
    match s.applications.transition(id, step).await {
        Ok(Some(Moved::Applied { .. })) => {
            Json(json!({"applicationId": id, "status": ApplicationStatus::Ingetrokken}))
                .into_response()
        }
        Ok(Some(Moved::Refused { current })) => problem(
            StatusCode::CONFLICT,
            "Cannot withdraw",
            &format!("the application is {}", current.as_str()),
            &[],
        ),
        Ok(Some(Moved::NotFound)) | Ok(None) => {
            problem(StatusCode::NOT_FOUND, "Unknown application", &raw, &[])
        }
        Err(e) => store_problem(&e),
    }
}

#[derive(Deserialize)]
struct SearchQuery {
    naam: Option<String>,
    postcode: Option<String>,
    hoofdactiviteit: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// A page (`limit`, `offset`; 50 and 0 by default) checked, or the 400 to give instead.
#[allow(clippy::result_large_err)]
fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), Response> {
    let limit = limit.unwrap_or(50);
    let offset = offset.unwrap_or(0);
    if !(1..=500).contains(&limit) || offset < 0 {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            "Invalid paging",
            "limit must be 1..=500 and offset not negative",
            &[],
        ));
    }
    Ok((limit, offset))
}

#[allow(clippy::result_large_err)]
fn v_code_of(raw: &str) -> Result<VCode, Response> {
    from_path(raw, "Invalid vCode", "V followed by 7 digits")
}

/// A snapshot as the loket may show it: never an INSZ.
fn without_insz(mut snapshot: Value) -> Value {
    if let Some(reps) = snapshot
        .get_mut("vertegenwoordigers")
        .and_then(Value::as_array_mut)
    {
        for rep in reps {
            if let Some(rep) = rep.as_object_mut() {
                rep.remove("insz");
            }
        }
    }
    snapshot
}

// The `Err` is the answer itself (a problem), so that `?` gives it early.
#[allow(clippy::result_large_err)]
async fn search(
    State(s): State<ApiState>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, Response> {
    let Query(q) = query.map_err(|e| invalid_query(&e))?;
    let (limit, offset) = page(q.limit, q.offset)?;
    let query = AssociationQuery {
        naam: q.naam.filter(|n| !n.is_empty()),
        postcode: q.postcode.filter(|p| !p.is_empty()),
        hoofdactiviteit: q.hoofdactiviteit.filter(|h| !h.is_empty()),
        limit,
        offset,
    };
    let found = s
        .applications
        .store
        .search(&query)
        .await
        .map_err(|e| store_problem(&e))?;
    let items: Vec<Value> = found.into_iter().map(without_insz).collect();
    Ok(Json(json!({ "items": items, "limit": limit, "offset": offset })).into_response())
}

/// The projection's snapshot of a vCode, or the answer to give instead.
#[allow(clippy::result_large_err)]
async fn snapshot(s: &ApiState, raw: &str) -> Result<Vereniging, Response> {
    let v_code = v_code_of(raw)?;
    match s
        .applications
        .projection
        .associations(std::slice::from_ref(&v_code))
        .await
    {
        Ok(mut found) => match found.remove(&v_code) {
            Some(stored) => Ok(stored.vereniging),
            None => Err(problem(
                StatusCode::NOT_FOUND,
                "Unknown association",
                raw,
                &[],
            )),
        },
        Err(e) => Err(store_problem(&e)),
    }
}

async fn association(State(s): State<ApiState>, Path(raw): Path<String>) -> Response {
    match snapshot(&s, &raw).await {
        Ok(v) => Json(without_insz(json!(v))).into_response(),
        Err(r) => r,
    }
}

async fn services(State(s): State<ApiState>, Path(raw): Path<String>) -> Response {
    let vereniging = match snapshot(&s, &raw).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let today = OffsetDateTime::now_utc().date();
    let catalogue = &s.applications.catalogue;
    let items: Vec<Value> = catalogue
        .iter()
        .map(|service| {
            let verdict = catalogue.eligibility(service, &vereniging, today);
            let reasons: Vec<Value> = verdict
                .as_ref()
                .err()
                .into_iter()
                .flatten()
                .map(|r| json!({"rule": r.rule, "message": r.message}))
                .collect();
            json!({
                "code": service.code,
                "name": service.name,
                "eligible": verdict.is_ok(),
                "reasons": reasons,
            })
        })
        .collect();
    Json(json!({ "vCode": vereniging.v_code, "services": items })).into_response()
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

#[allow(clippy::result_large_err)]
async fn history(
    State(s): State<ApiState>,
    Path(raw): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, Response> {
    let Query(q) = query.map_err(|e| invalid_query(&e))?;
    let (limit, offset) = page(q.limit, q.offset)?;
    let v_code = v_code_of(&raw)?;
    let entries = s
        .applications
        .store
        .history(v_code.as_str(), limit, offset)
        .await
        .map_err(|e| store_problem(&e))?;
    Ok(Json(json!({
        "vCode": v_code,
        "items": entries,
        "limit": limit,
        "offset": offset,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status and the `application/problem+json` body of an answer.
    async fn read(answer: Response) -> (StatusCode, Value) {
        let status = answer.status();
        let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn a_page_is_50_from_0_unless_given_and_checked() {
        for (case, limit, offset, expected) in [
            ("defaults", None, None, (50, 0)),
            ("given", Some(500), Some(7), (500, 7)),
        ] {
            match page(limit, offset) {
                Ok((limit, offset)) => assert_eq!((limit, offset), expected, "{case}"),
                Err(_) => panic!("{case}: refused"),
            }
        }
        for (case, limit, offset) in [
            ("limit 0", Some(0), None),
            ("limit 501", Some(501), None),
            ("a negative offset", None, Some(-1)),
        ] {
            let Err(answer) = page(limit, offset) else {
                panic!("{case}: accepted");
            };
            let (status, body) = read(answer).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{case}");
            assert_eq!(body["title"], "Invalid paging", "{case}");
        }
    }

    #[tokio::test]
    async fn a_path_value_that_does_not_parse_is_a_400_naming_it() {
        assert!(v_code_of("V0001001").is_ok());
        assert!(application_id("0190a5a0-0000-7000-8000-000000000001").is_ok());
        let refusals = [
            (
                "a vCode",
                v_code_of("X12").err(),
                "Invalid vCode",
                "V followed by 7 digits",
            ),
            (
                "an applicationId",
                application_id("not-a-uuid").err(),
                "Invalid applicationId",
                "must be a UUID",
            ),
        ];
        for (case, answer, title, detail) in refusals {
            let Some(answer) = answer else {
                panic!("{case}: accepted");
            };
            let (status, body) = read(answer).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{case}");
            assert_eq!(body["title"], title, "{case}");
            assert_eq!(body["detail"], detail, "{case}");
        }
    }
}
