//! Pure translation between the hub's application and ULDK's REST contract
//! (`contracts/uldk.md`, schemas `contracts/schemas/uldk.reservation.v1.json` and
//! `uldk.reservation-status.v1.json`). No I/O.
//!
//! - [`reservation`]: an [`EnrichedApplication`] → the body of `POST /v1/reservaties`; a
//!   missing or malformed service field is a [`ProviderError::Permanent`] naming the field.
//! - [`parse_status`] and [`decision`]: ULDK's reservation document → the hub's [`Decision`].
//! - [`problem_reason`]: an `application/problem+json` answer → a readable reason.

use adapter_provider::{Decision, ProviderError};
use contracts::applications::{Applicant, EnrichedApplication};
use contracts::json::kind;
use contracts::register::Vereniging;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::Date;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// The service fields the adapter reads from [`EnrichedApplication::fields`].
pub const FIELD_PERIODE: &str = "periode";
pub const FIELD_TENTEN: &str = "tenten";
pub const FIELD_AANTAL_LEDEN: &str = "aantalLeden";
pub const FIELD_OPHALING: &str = "ophaling";

/// A type of tent ULDK lends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TentType {
    /// Sleeps 8.
    Seniortent,
    /// Sleeps 5.
    Patrouilletent,
}

impl TentType {
    pub const ALL: [TentType; 2] = [TentType::Seniortent, TentType::Patrouilletent];

    pub fn as_str(self) -> &'static str {
        match self {
            TentType::Seniortent => "seniortent",
            TentType::Patrouilletent => "patrouilletent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// How many people one tent sleeps.
    pub fn sleeps(self) -> u32 {
        match self {
            TentType::Seniortent => 8,
            TentType::Patrouilletent => 5,
        }
    }
}

/// `{type, aantal}`: a number of tents of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TentAantal {
    #[serde(rename = "type")]
    pub tent_type: TentType,
    pub aantal: u32,
}

/// The body of `POST /v1/reservaties` (`uldk.reservation.v1.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservatie {
    /// The application id, canonical (hyphenated, lower-case).
    pub aanvraag_id: String,
    pub vereniging: ReservatieVereniging,
    pub contactpersoon: Contactpersoon,
    pub periode: Periode,
    pub tenten: Vec<TentAantal>,
    pub aantal_leden: u32,
    pub ophaling: Ophaling,
}

/// What ULDK learns about the association: only what the hub holds and may pass on (absent
/// members are unknown or not shared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservatieVereniging {
    #[serde(rename = "vCode")]
    pub v_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hoofdactiviteiten: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemeente: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(rename = "e-mail", skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contactpersoon {
    pub voornaam: String,
    pub achternaam: String,
    #[serde(rename = "e-mail")]
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telefoon: Option<String>,
}

/// The camp's first and last day (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Periode {
    #[serde(with = "iso_date")]
    pub van: Date,
    #[serde(with = "iso_date")]
    pub tot: Date,
}

/// When and where the tents are collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ophaling {
    #[serde(with = "iso_date")]
    pub datum: Date,
    pub plaats: String,
}

/// The service fields of a `uldk-tentlening` application, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFields {
    pub periode: Periode,
    pub tenten: Vec<TentAantal>,
    pub aantal_leden: u32,
    pub ophaling: Ophaling,
}

fn field_error(path: &str, problem: &str) -> ProviderError {
    ProviderError::Permanent(format!("service field `{path}` {problem}"))
}

fn date_at(value: Option<&Value>, path: &str) -> Result<Date, ProviderError> {
    let Some(value) = value else {
        return Err(field_error(path, "is missing"));
    };
    let text = value
        .as_str()
        .ok_or_else(|| field_error(path, "must be a date (YYYY-MM-DD) as a string"))?;
    Date::parse(text, DATE_FORMAT)
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
        .ok_or_else(|| field_error(path, &format!("is not a date (YYYY-MM-DD): {text:?}")))
}

fn positive_integer(value: &Value, path: &str) -> Result<u32, ProviderError> {
    let n = match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u32::MAX as f64)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| field_error(path, &format!("must be a whole number, not {n}")))?,
        other => {
            return Err(field_error(
                path,
                &format!("must be a whole number, not {}", kind(other)),
            ))
        }
    };
    if n == 0 {
        return Err(field_error(path, "must be at least 1"));
    }
    u32::try_from(n).map_err(|_| field_error(path, &format!("is too large: {n}")))
}

fn object<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a Map<String, Value>, ProviderError> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(field_error(name, "is missing")),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(field_error(
            name,
            &format!("must be an object, not {}", kind(other)),
        )),
    }
}

/// Reads and checks the service fields `periode`, `tenten`, `aantalLeden` and `ophaling`.
/// Unknown fields are ignored (and not passed on).
pub fn service_fields(fields: &Map<String, Value>) -> Result<ServiceFields, ProviderError> {
    let periode = object(fields, FIELD_PERIODE)?;
    let van = date_at(periode.get("van"), "periode.van")?;
    let tot = date_at(periode.get("tot"), "periode.tot")?;
    if tot < van {
        return Err(field_error(
            "periode.tot",
            &format!("({tot}) is before periode.van ({van})"),
        ));
    }

    let tenten = match fields.get(FIELD_TENTEN) {
        None | Some(Value::Null) => return Err(field_error(FIELD_TENTEN, "is missing")),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(field_error(
                FIELD_TENTEN,
                &format!("must be an array, not {}", kind(other)),
            ))
        }
    };
    if tenten.is_empty() {
        return Err(field_error(FIELD_TENTEN, "must ask for at least one tent"));
    }
    let mut asked: Vec<TentAantal> = Vec::with_capacity(tenten.len());
    for (i, item) in tenten.iter().enumerate() {
        let path = format!("tenten[{i}]");
        let Value::Object(item) = item else {
            return Err(field_error(
                &path,
                &format!("must be an object {{type, aantal}}, not {}", kind(item)),
            ));
        };
        let type_path = format!("{path}.type");
        let tent_type = match item.get("type") {
            None | Some(Value::Null) => return Err(field_error(&type_path, "is missing")),
            Some(Value::String(s)) => TentType::parse(s).ok_or_else(|| {
                field_error(
                    &type_path,
                    &format!("must be \"seniortent\" or \"patrouilletent\", not {s:?}"),
                )
            })?,
            Some(other) => {
                return Err(field_error(
                    &type_path,
                    &format!("must be a string, not {}", kind(other)),
                ))
            }
        };
        let aantal_path = format!("{path}.aantal");
        let aantal = match item.get("aantal") {
            None | Some(Value::Null) => return Err(field_error(&aantal_path, "is missing")),
            Some(v) => positive_integer(v, &aantal_path)?,
        };
        if asked.iter().any(|t| t.tent_type == tent_type) {
            return Err(field_error(
                &type_path,
                &format!("lists {} a second time", tent_type.as_str()),
            ));
        }
        asked.push(TentAantal { tent_type, aantal });
    }

    let aantal_leden = match fields.get(FIELD_AANTAL_LEDEN) {
        None | Some(Value::Null) => return Err(field_error(FIELD_AANTAL_LEDEN, "is missing")),
        Some(v) => positive_integer(v, FIELD_AANTAL_LEDEN)?,
    };

    let ophaling = object(fields, FIELD_OPHALING)?;
    let datum = date_at(ophaling.get("datum"), "ophaling.datum")?;
    if datum > van {
        return Err(field_error(
            "ophaling.datum",
            &format!("({datum}) is after periode.van ({van}): tents are collected before the camp"),
        ));
    }
    let plaats = match ophaling.get("plaats") {
        None | Some(Value::Null) => return Err(field_error("ophaling.plaats", "is missing")),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::String(_)) => return Err(field_error("ophaling.plaats", "is empty")),
        Some(other) => {
            return Err(field_error(
                "ophaling.plaats",
                &format!("must be a string, not {}", kind(other)),
            ))
        }
    };

    Ok(ServiceFields {
        periode: Periode { van, tot },
        tenten: asked,
        aantal_leden,
        ophaling: Ophaling { datum, plaats },
    })
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The association as ULDK sees it: the vCode, and whatever of naam, hoofdactiviteiten, the
/// first location with an address, and the e-mail address the hub holds (nothing invented).
pub fn vereniging(v: &Vereniging) -> ReservatieVereniging {
    let mut hoofdactiviteiten: Vec<String> = Vec::new();
    for code in v
        .hoofdactiviteiten_verenigingsloket
        .iter()
        .filter_map(|h| non_empty(&h.code))
    {
        if !hoofdactiviteiten.contains(&code) {
            hoofdactiviteiten.push(code);
        }
    }
    let adres = v.locaties.iter().find_map(|l| {
        l.adres
            .as_ref()
            .filter(|a| !a.gemeente.trim().is_empty() || !a.postcode.trim().is_empty())
    });
    let mails = || {
        v.contactgegevens
            .iter()
            .filter(|c| c.contactgegeventype.eq_ignore_ascii_case("E-mail"))
            .filter(|c| !c.waarde.trim().is_empty())
    };
    let email = mails()
        .find(|c| c.is_primair)
        .or_else(|| mails().next())
        .and_then(|c| non_empty(&c.waarde));
    ReservatieVereniging {
        v_code: v.v_code.as_str().to_owned(),
        naam: non_empty(&v.naam),
        hoofdactiviteiten,
        gemeente: adres.and_then(|a| non_empty(&a.gemeente)),
        postcode: adres.and_then(|a| non_empty(&a.postcode)),
        email,
    }
}

/// The applicant as ULDK's contact person; first name, surname and e-mail are required.
pub fn contactpersoon(applicant: &Applicant) -> Result<Contactpersoon, ProviderError> {
    let required = |value: &str, name: &str| {
        non_empty(value).ok_or_else(|| {
            ProviderError::Permanent(format!("applicant.{name} is empty: ULDK needs it"))
        })
    };
    Ok(Contactpersoon {
        voornaam: required(&applicant.voornaam, "voornaam")?,
        achternaam: required(&applicant.achternaam, "achternaam")?,
        email: required(&applicant.email, "e-mail")?,
        telefoon: non_empty(&applicant.telefoon),
    })
}

/// The reservation for an application.
pub fn reservation(application: &EnrichedApplication) -> Result<Reservatie, ProviderError> {
    let fields = service_fields(&application.fields)?;
    Ok(Reservatie {
        aanvraag_id: application.application_id.to_string(),
        vereniging: vereniging(&application.vereniging),
        contactpersoon: contactpersoon(&application.applicant)?,
        periode: fields.periode,
        tenten: fields.tenten,
        aantal_leden: fields.aantal_leden,
        ophaling: fields.ophaling,
    })
}

/// The JSON body of `POST /v1/reservaties` for an application.
pub fn reservation_body(application: &EnrichedApplication) -> Result<Value, ProviderError> {
    let body = reservation(application)?;
    serde_json::to_value(&body)
        .map_err(|e| ProviderError::Permanent(format!("cannot write the reservation: {e}")))
}

// ---------------------------------------------------------------------------------------------
// ULDK's answers

/// ULDK's reservation document (`uldk.reservation-status.v1.json`), read tolerantly: unknown
/// members are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservatieStatus {
    pub reservatie_id: String,
    pub status: String,
    #[serde(default)]
    pub toewijzing: Option<Toewijzing>,
    #[serde(default)]
    pub reden: Option<String>,
}

/// What ULDK allocated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Toewijzing {
    #[serde(default)]
    pub tenten: Vec<ToegewezenTenten>,
    #[serde(default)]
    pub ophaalpunt: Option<String>,
    #[serde(default)]
    pub ophaaldatum: Option<String>,
}

/// `{type, aantal}` in an allocation (the type kept as ULDK wrote it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ToegewezenTenten {
    #[serde(rename = "type")]
    pub tent_type: String,
    pub aantal: u32,
}

/// Reads ULDK's reservation document; a body that breaks the contract is permanent (an
/// operator must look: retrying gets the same answer).
pub fn parse_status(body: &[u8]) -> Result<ReservatieStatus, ProviderError> {
    let status: ReservatieStatus = serde_json::from_slice(body).map_err(|e| {
        ProviderError::Permanent(format!(
            "ULDK's reservation document breaks the contract: {e}; body: {}",
            excerpt(&String::from_utf8_lossy(body), 200)
        ))
    })?;
    if status.reservatie_id.trim().is_empty() {
        return Err(ProviderError::Permanent(
            "ULDK's reservation document has an empty reservatieId".to_owned(),
        ));
    }
    Ok(status)
}

/// ULDK's status as the hub's decision: `aangevraagd` → Received, `in_behandeling` →
/// InTreatment, `toegewezen` → Approved (with the allocation as detail), `geweigerd` →
/// Refused (with ULDK's reason). Any other status is a contract violation (permanent).
pub fn decision(status: &ReservatieStatus) -> Result<Decision, ProviderError> {
    match status.status.as_str() {
        "aangevraagd" => Ok(Decision::Received),
        "in_behandeling" => Ok(Decision::InTreatment),
        "toegewezen" => Ok(Decision::Approved {
            detail: status.toewijzing.as_ref().and_then(allocation_detail),
        }),
        "geweigerd" => Ok(Decision::Refused {
            reason: status
                .reden
                .as_deref()
                .and_then(non_empty)
                .unwrap_or_else(|| "geweigerd door ULDK (geen reden opgegeven)".to_owned()),
        }),
        other => Err(ProviderError::Permanent(format!(
            "ULDK answered an unknown reservation status {other:?} for {}",
            status.reservatie_id
        ))),
    }
}

/// `3 seniortenten, 1 patrouilletent; ophalen 2027-07-01 in Gent`; None when the allocation
/// says nothing.
pub fn allocation_detail(toewijzing: &Toewijzing) -> Option<String> {
    let tents: Vec<String> = toewijzing
        .tenten
        .iter()
        .filter(|t| t.aantal > 0)
        .map(|t| {
            let name = t.tent_type.trim();
            let name = match (TentType::parse(name), t.aantal) {
                (Some(_), 1) | (None, _) => name.to_owned(),
                (Some(_), _) => format!("{name}en"),
            };
            format!("{} {name}", t.aantal)
        })
        .collect();
    let datum = toewijzing.ophaaldatum.as_deref().and_then(non_empty);
    let punt = toewijzing.ophaalpunt.as_deref().and_then(non_empty);
    let pickup = match (datum, punt) {
        (Some(d), Some(p)) => Some(format!("ophalen {d} in {p}")),
        (Some(d), None) => Some(format!("ophalen {d}")),
        (None, Some(p)) => Some(format!("ophalen in {p}")),
        (None, None) => None,
    };
    let mut parts = Vec::new();
    if !tents.is_empty() {
        parts.push(tents.join(", "));
    }
    parts.extend(pickup);
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A readable reason from an error answer: the problem+json's `title`, `detail` and every
/// `errors[]` entry (`pointer: detail`), else the start of the body.
pub fn problem_reason(status: u16, body: &str) -> String {
    let mut out = format!("ULDK answered {status}");
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(problem)) => {
            let text = |key: &str| problem.get(key).and_then(Value::as_str).and_then(non_empty);
            if let Some(title) = text("title") {
                out.push_str(&format!(" {title}"));
            }
            if let Some(detail) = text("detail") {
                out.push_str(&format!(": {detail}"));
            }
            let errors: Vec<String> = problem
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let pointer = e
                        .get("pointer")
                        .or_else(|| e.get("field"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let detail = e
                        .get("detail")
                        .or_else(|| e.get("message"))
                        .and_then(Value::as_str)?;
                    Some(if pointer.is_empty() {
                        detail.to_owned()
                    } else {
                        format!("{pointer}: {detail}")
                    })
                })
                .collect();
            if !errors.is_empty() {
                out.push_str(&format!(" [{}]", errors.join("; ")));
            }
        }
        _ => {
            let body = body.trim();
            if !body.is_empty() {
                out.push_str(&format!(": {}", excerpt(body, 300)));
            }
        }
    }
    excerpt(&out, 1000)
}

/// At most `max` characters of `s`, with `…` when cut.
fn excerpt(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn good() -> Value {
        json!({
            "periode": {"van": "2027-07-02", "tot": "2027-07-11"},
            "tenten": [{"type": "seniortent", "aantal": 3}, {"type": "patrouilletent", "aantal": 2}],
            "aantalLeden": 33,
            "ophaling": {"datum": "2027-07-01", "plaats": " Gent "},
            "opmerking": "ignored"
        })
    }

    fn permanent_naming(result: Result<ServiceFields, ProviderError>, field: &str) {
        match result {
            Err(ProviderError::Permanent(m)) => {
                assert!(m.contains(&format!("`{field}`")), "{m} should name {field}")
            }
            other => panic!("expected a permanent error naming {field}, got {other:?}"),
        }
    }

    #[test]
    fn reads_the_service_fields() {
        let f = service_fields(&fields(good())).unwrap();
        assert_eq!(f.aantal_leden, 33);
        assert_eq!(f.tenten.len(), 2);
        assert_eq!(f.tenten[0].tent_type, TentType::Seniortent);
        assert_eq!(f.ophaling.plaats, "Gent");
        assert_eq!(f.periode.van.to_string(), "2027-07-02");
        // A whole number written as 33.0 is still 33.
        let mut v = good();
        v["aantalLeden"] = json!(33.0);
        assert_eq!(service_fields(&fields(v)).unwrap().aantal_leden, 33);
    }

    #[test]
    fn a_missing_or_wrong_service_field_is_permanent_and_named() {
        type Mutation = (&'static str, fn(&mut Value));
        let cases: &[Mutation] = &[
            ("periode", |v| {
                v.as_object_mut().unwrap().remove("periode");
            }),
            ("periode", |v| v["periode"] = json!("2027-07")),
            ("periode.van", |v| {
                v["periode"].as_object_mut().unwrap().remove("van");
            }),
            ("periode.van", |v| v["periode"]["van"] = json!("02/07/2027")),
            ("periode.tot", |v| v["periode"]["tot"] = json!("2027-02-30")),
            ("periode.tot", |v| v["periode"]["tot"] = json!(20270711)),
            ("periode.tot", |v| v["periode"]["tot"] = json!("2027-07-01")),
            ("tenten", |v| {
                v.as_object_mut().unwrap().remove("tenten");
            }),
            ("tenten", |v| v["tenten"] = json!([])),
            ("tenten", |v| v["tenten"] = json!({"seniortent": 3})),
            ("tenten[0]", |v| v["tenten"][0] = json!("seniortent")),
            ("tenten[1].type", |v| {
                v["tenten"][1]["type"] = json!("bungalowtent")
            }),
            ("tenten[1].type", |v| {
                v["tenten"][1]["type"] = json!("seniortent")
            }),
            ("tenten[0].type", |v| {
                v["tenten"][0].as_object_mut().unwrap().remove("type");
            }),
            ("tenten[0].aantal", |v| v["tenten"][0]["aantal"] = json!(0)),
            ("tenten[0].aantal", |v| v["tenten"][0]["aantal"] = json!(-2)),
            ("tenten[0].aantal", |v| {
                v["tenten"][0]["aantal"] = json!(2.5)
            }),
            ("tenten[0].aantal", |v| {
                v["tenten"][0]["aantal"] = json!("3")
            }),
            ("aantalLeden", |v| {
                v.as_object_mut().unwrap().remove("aantalLeden");
            }),
            ("aantalLeden", |v| v["aantalLeden"] = json!(0)),
            ("aantalLeden", |v| v["aantalLeden"] = json!("33")),
            ("aantalLeden", |v| {
                v["aantalLeden"] = json!(5_000_000_000u64)
            }),
            ("ophaling", |v| v["ophaling"] = Value::Null),
            ("ophaling.datum", |v| {
                v["ophaling"]["datum"] = json!("2027-07-03")
            }),
            ("ophaling.datum", |v| {
                v["ophaling"].as_object_mut().unwrap().remove("datum");
            }),
            ("ophaling.plaats", |v| v["ophaling"]["plaats"] = json!("  ")),
            ("ophaling.plaats", |v| v["ophaling"]["plaats"] = json!(9000)),
        ];
        for (field, mutate) in cases {
            let mut v = good();
            mutate(&mut v);
            permanent_naming(service_fields(&fields(v)), field);
        }
    }

    fn status(body: Value) -> ReservatieStatus {
        parse_status(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn maps_statuses_to_decisions() {
        let d = |b: Value| decision(&status(b)).unwrap();
        assert_eq!(
            d(json!({"reservatieId": "R-100001", "status": "aangevraagd"})),
            Decision::Received
        );
        assert_eq!(
            d(json!({"reservatieId": "R-100001", "status": "in_behandeling", "nieuw": 1})),
            Decision::InTreatment
        );
        assert_eq!(
            d(
                json!({"reservatieId": "R-100001", "status": "toegewezen", "toewijzing": {
                "tenten": [{"type": "seniortent", "aantal": 3}, {"type": "patrouilletent", "aantal": 1}],
                "ophaalpunt": "Gent", "ophaaldatum": "2027-07-01"}})
            ),
            Decision::Approved {
                detail: Some("3 seniortenten, 1 patrouilletent; ophalen 2027-07-01 in Gent".into())
            }
        );
        assert_eq!(
            d(json!({"reservatieId": "R-100001", "status": "toegewezen"})),
            Decision::Approved { detail: None }
        );
        assert_eq!(
            d(
                json!({"reservatieId": "R-100001", "status": "geweigerd", "reden": "Voorraad uitgeput."})
            ),
            Decision::Refused {
                reason: "Voorraad uitgeput.".into()
            }
        );
        assert!(matches!(
            d(json!({"reservatieId": "R-100001", "status": "geweigerd"})),
            Decision::Refused { reason } if !reason.is_empty()
        ));
        assert!(matches!(
            decision(&status(
                json!({"reservatieId": "R-1", "status": "geannuleerd"})
            )),
            Err(ProviderError::Permanent(_))
        ));
        for bad in [
            "not json",
            r#"{"status": "aangevraagd"}"#,
            r#"{"reservatieId": "", "status": "aangevraagd"}"#,
            r#"{"reservatieId": 7, "status": "aangevraagd"}"#,
        ] {
            assert!(matches!(
                parse_status(bad.as_bytes()),
                Err(ProviderError::Permanent(_))
            ));
        }
    }

    #[test]
    fn allocation_detail_says_what_is_known() {
        let t = |tenten: Value, punt: Option<&str>, datum: Option<&str>| {
            let tenten: Vec<ToegewezenTenten> = serde_json::from_value(tenten).unwrap();
            allocation_detail(&Toewijzing {
                tenten,
                ophaalpunt: punt.map(str::to_owned),
                ophaaldatum: datum.map(str::to_owned),
            })
        };
        assert_eq!(
            t(
                json!([{"type": "patrouilletent", "aantal": 2}]),
                Some("Brugge"),
                None
            ),
            Some("2 patrouilletenten; ophalen in Brugge".into())
        );
        assert_eq!(
            t(json!([{"type": "seniortent", "aantal": 1}]), None, None),
            Some("1 seniortent".into())
        );
        assert_eq!(t(json!([]), None, None), None);
    }

    #[test]
    fn problem_json_becomes_a_reason() {
        let body = include_str!("../../../contracts/examples/uldk/problem.422.json");
        let reason = problem_reason(422, body);
        assert!(reason.starts_with("ULDK answered 422 Unprocessable Entity: "));
        assert!(reason.contains("/periode/tot: mag niet voor /periode/van liggen"));
        assert!(reason.contains("/tenten/0/type"));
        assert_eq!(problem_reason(502, "  "), "ULDK answered 502");
        assert_eq!(
            problem_reason(500, "<html>oops</html>"),
            "ULDK answered 500: <html>oops</html>"
        );
        let long = "x".repeat(5000);
        assert!(problem_reason(500, &long).chars().count() <= 1001);
    }
}
