//! The register's write side (the beheer API), as the hub calls it for a municipality.
//!
//! A `Write` is one HTTP command (`PATCH /v1/verenigingen/{vCode}`,
//! `POST|PATCH|DELETE /v1/verenigingen/{vCode}/contactgegevens[/{id}]`,
//! `…/locaties[/{id}]`); `RegisterClient::write` sends it with `VR-Initiator`,
//! `X-Correlation-Id` and `If-Match: W/"<version>"` and returns a `WriteOutcome`.
//!
//! The pure pieces of that exchange live here: the request path ([`Write::path`]), reading a
//! `202`'s headers ([`parse_accepted`]) and reading a problem document ([`parse_problem`]).

use contracts::VCode;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WriteMethod {
    Post,
    Patch,
    Delete,
}

impl WriteMethod {
    /// `POST`, `PATCH` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMethod::Post => "POST",
            WriteMethod::Patch => "PATCH",
            WriteMethod::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for WriteMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One command for the register's beheer API.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub method: WriteMethod,
    pub v_code: VCode,
    /// Below `/v1/verenigingen/{vCode}`: empty for the association itself (basisgegevens),
    /// else e.g. `contactgegevens`, `contactgegevens/3`, `locaties/2`.
    pub sub_path: String,
    /// The JSON body as the register expects it; `None` for a DELETE.
    pub body: Option<serde_json::Value>,
    /// The acting organisation's OVO code (`VR-Initiator`).
    pub initiator: String,
    /// Sent as `X-Correlation-Id`; the register echoes it.
    pub correlation_id: Uuid,
    /// Sent as `If-Match: W/"<version>"`: the version the change was made against.
    pub if_match: Option<u64>,
}

impl Write {
    /// The request path: `/v1/verenigingen/{vCode}`, then `/{sub_path}` when there is one
    /// (surrounding `/` of `sub_path` ignored).
    pub fn path(&self) -> String {
        let sub = self.sub_path.trim_matches('/');
        if sub.is_empty() {
            format!("/v1/verenigingen/{}", self.v_code.as_str())
        } else {
            format!("/v1/verenigingen/{}/{sub}", self.v_code.as_str())
        }
    }
}

/// One field error of a `400` problem document (`validationErrors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The register's field path, e.g. `contactgegeven.waarde`.
    pub field: String,
    pub code: String,
    pub reason: String,
}

/// What the register answered to a `Write` (a transport failure or 5xx is a
/// `RegisterError` instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// `202`: applied; the association's new version (`ETag`) and the change's sequence
    /// (`VR-Sequence`).
    Accepted { version: u64, sequence: u64 },
    /// `200`: nothing to change (the association already looked like that).
    Unchanged,
    /// `412`: the association changed since `if_match`.
    Conflict,
    /// `400` (or `422`): the register refused the command; `title`/`detail` of the problem
    /// document and its field errors.
    Rejected {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// `404`: no such association (or sub-entity).
    NotFound { detail: String },
}

/// A `202`'s `ETag: W/"<version>"` and `VR-Sequence: <sequence>` → `Accepted`; the reason
/// when either is missing or garbled.
pub fn parse_accepted(etag: Option<&str>, sequence: Option<&str>) -> Result<WriteOutcome, String> {
    let etag = etag.ok_or("202 without an ETag")?;
    let version =
        crate::translate::etag_version(etag).ok_or_else(|| format!("202 with ETag `{etag}`"))?;
    let sequence = sequence.ok_or("202 without VR-Sequence")?;
    let sequence = sequence
        .trim()
        .parse()
        .map_err(|_| format!("202 with VR-Sequence `{sequence}`"))?;
    Ok(WriteOutcome::Accepted { version, sequence })
}

/// Longest `detail` kept from an answer that is not a problem document.
const MAX_DETAIL: usize = 300;

/// Reads a problem document (`application/problem+json`): its `detail` (else `title`, else the
/// start of the body's text) and its field errors. Field errors are read from
/// `validationErrors` (`{"field": [{"code", "reason"}]}`; plain strings are taken as reasons),
/// or ASP.NET's `errors` (`{"field": ["reason"]}`); a document without either, or a body that
/// is not JSON, has none.
pub fn parse_problem(body: &[u8]) -> (String, Vec<FieldError>) {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (text_start(body), Vec::new());
    };
    let text = |key: &str| {
        doc.get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let detail = text("detail")
        .or_else(|| text("title"))
        .unwrap_or_else(|| text_start(body));
    let errors = ["validationErrors", "errors"]
        .iter()
        .find_map(|k| doc.get(*k).filter(|v| !v.is_null()))
        .map(field_errors)
        .unwrap_or_default();
    (detail, errors)
}

fn text_start(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_DETAIL) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

fn field_errors(v: &serde_json::Value) -> Vec<FieldError> {
    use serde_json::Value;
    let str_of = |v: &Value, keys: &[&str]| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned()
    };
    let one = |field: &str, e: &Value| match e {
        Value::String(reason) => FieldError {
            field: field.to_owned(),
            code: String::new(),
            reason: reason.clone(),
        },
        other => FieldError {
            field: field.to_owned(),
            code: str_of(other, &["code", "errorCode"]),
            reason: str_of(other, &["reason", "message", "errorMessage"]),
        },
    };
    match v {
        // {"field": [errors]} or {"field": error}
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(field, errs)| match errs {
                Value::Array(list) => list.iter().map(|e| one(field, e)).collect::<Vec<_>>(),
                e => vec![one(field, e)],
            })
            .collect(),
        // [{"field"|"name"|"propertyName", "code", "reason"}]
        Value::Array(list) => list
            .iter()
            .map(|e| one(&str_of(e, &["field", "name", "propertyName"]), e))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(sub_path: &str) -> Write {
        Write {
            method: WriteMethod::Patch,
            v_code: "V0001001".parse().expect("valid vCode"),
            sub_path: sub_path.to_owned(),
            body: Some(json!({"naam": "x"})),
            initiator: "OVO002949".to_owned(),
            correlation_id: Uuid::nil(),
            if_match: Some(3),
        }
    }

    #[test]
    fn paths() {
        assert_eq!(write("").path(), "/v1/verenigingen/V0001001");
        assert_eq!(
            write("contactgegevens/3").path(),
            "/v1/verenigingen/V0001001/contactgegevens/3"
        );
        assert_eq!(
            write("/locaties/").path(),
            "/v1/verenigingen/V0001001/locaties"
        );
        assert_eq!(WriteMethod::Delete.to_string(), "DELETE");
    }

    #[test]
    fn accepted_headers() {
        assert_eq!(
            parse_accepted(Some("W/\"7\""), Some("1234")),
            Ok(WriteOutcome::Accepted {
                version: 7,
                sequence: 1234
            })
        );
        assert_eq!(
            parse_accepted(Some("\"7\""), Some(" 12 ")),
            Ok(WriteOutcome::Accepted {
                version: 7,
                sequence: 12
            })
        );
        assert!(parse_accepted(None, Some("1")).is_err());
        assert!(parse_accepted(Some("W/\"x\""), Some("1")).is_err());
        assert!(parse_accepted(Some("W/\"7\""), None).is_err());
        assert!(parse_accepted(Some("W/\"7\""), Some("-1")).is_err());
    }

    #[test]
    fn problem_with_validation_errors() {
        let body = json!({
            "type": "urn:be.vlaanderen.basisregisters.api:validation",
            "title": "Validatie mislukt",
            "detail": "Er zijn 2 validatiefouten.",
            "status": 400,
            "instance": "/v1/verenigingen/V0001001/contactgegevens",
            "validationErrors": {
                "contactgegeven.foo": [{"code": "unknownField", "reason": "Het veld 'foo' is onbekend."}],
                "contactgegeven.waarde": [
                    {"code": "invalidFormat", "reason": "geen e-mailadres"},
                    {"code": "duplicate", "reason": "bestaat al"}
                ]
            }
        });
        let (detail, errors) = parse_problem(body.to_string().as_bytes());
        assert_eq!(detail, "Er zijn 2 validatiefouten.");
        // Every error whole: its field, its code and its reason.
        let got: Vec<(&str, &str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "contactgegeven.foo",
                    "unknownField",
                    "Het veld 'foo' is onbekend."
                ),
                ("contactgegeven.waarde", "invalidFormat", "geen e-mailadres"),
                ("contactgegeven.waarde", "duplicate", "bestaat al"),
            ]
        );
    }

    #[test]
    fn tolerant_problem_shapes() {
        // no validationErrors: detail, else title
        let (detail, errors) =
            parse_problem(br#"{"title": "Bad Request", "detail": "kapot", "status": 400}"#);
        assert_eq!((detail.as_str(), errors.len()), ("kapot", 0));
        let (detail, _) = parse_problem(br#"{"title": "Bad Request", "detail": ""}"#);
        assert_eq!(detail, "Bad Request");
        // ASP.NET style
        let (_, errors) = parse_problem(br#"{"title": "x", "errors": {"Naam": ["is verplicht"]}}"#);
        assert_eq!(
            errors,
            [FieldError {
                field: "Naam".into(),
                code: String::new(),
                reason: "is verplicht".into()
            }]
        );
        // a list of errors naming their field
        let (_, errors) = parse_problem(
            br#"{"validationErrors": [{"name": "naam", "code": "c", "reason": "r"}]}"#,
        );
        assert_eq!(errors[0].field, "naam");
        assert_eq!(errors[0].code, "c");
        // null validationErrors, odd member types
        let (_, errors) =
            parse_problem(br#"{"detail": "d", "validationErrors": null, "errors": 3}"#);
        assert!(errors.is_empty());
        // not JSON: the start of the text
        let (detail, errors) = parse_problem(b"  <html>Bad gateway</html> ");
        assert_eq!(detail, "<html>Bad gateway</html>");
        assert!(errors.is_empty());
        let long = "x".repeat(1000);
        let (detail, _) = parse_problem(long.as_bytes());
        assert_eq!(detail.chars().count(), 301);
    }
}
