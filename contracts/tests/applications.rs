//! Keeps the service-application schemas, their examples and the Rust types in step:
//!
//! - both schemas are valid draft 2020-12 documents, every property described;
//! - every example under `examples/applications/` validates against its schema
//!   (`application.submitted.*`, `application.status-changed.*`) and not against the other;
//! - every example round-trips through `ApplicationSubmitted` / `ApplicationStatusChanged`
//!   unchanged;
//! - the schemas list exactly the keys serde emits (required: always emitted; optional:
//!   omitted when empty), the status enum is `ApplicationStatus::ALL`, and the schema's
//!   transitions are exactly `ApplicationStatus::can_move_to`;
//! - malformed messages are rejected by the schema and by serde.

use std::collections::BTreeSet;
use std::path::Path;

use contracts::applications::{
    Applicant, ApplicationMetadata, ApplicationStatus, ApplicationStatusChanged,
    ApplicationSubmitted, APPLICATION_STATUS_CHANGED, APPLICATION_SUBMITTED, SCHEMA_VERSION,
    STATUS_CHANGED_SCHEMA, SUBMITTED_SCHEMA,
};
use serde_json::{json, Value};

mod common;

use common::{
    assert_examples_round_trip, assert_invalid, assert_mutation_invalid, assert_schema_document,
    assert_valid, errors, keys, set, strings, Examples, RoundTrip, Schema,
};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Submitted,
    StatusChanged,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Submitted, Kind::StatusChanged];

    fn message_type(self) -> &'static str {
        match self {
            Kind::Submitted => APPLICATION_SUBMITTED,
            Kind::StatusChanged => APPLICATION_STATUS_CHANGED,
        }
    }
}

impl Schema for Kind {
    fn schema_text(self) -> &'static str {
        match self {
            Kind::Submitted => SUBMITTED_SCHEMA,
            Kind::StatusChanged => STATUS_CHANGED_SCHEMA,
        }
    }
}

/// The examples under `examples/applications/`, named after their message type.
impl Examples for Kind {
    const FOLDER: &'static str = "applications";
    const UNNAMED: &'static str =
        "neither application.submitted.* nor application.status-changed.*";
    const KINDS: &'static [Kind] = &Kind::ALL;

    fn prefix(self) -> &'static str {
        self.message_type()
    }
}

impl RoundTrip for Kind {
    fn round_trip(self, value: &Value) -> Result<Value, serde_json::Error> {
        match self {
            Kind::Submitted => common::round_trip::<ApplicationSubmitted>(value),
            Kind::StatusChanged => common::round_trip::<ApplicationStatusChanged>(value),
        }
    }
}

/// `def`'s properties must be exactly the keys of `full` (every optional field set), its
/// `required` exactly the keys of `minimal` (every optional field empty), which must be
/// `full`'s keys minus `optional`; and it must be closed.
fn assert_def_matches(
    def: &Value,
    def_name: &str,
    full: &Value,
    minimal: &Value,
    optional: &[&str],
) {
    common::assert_def_matches(def, def_name, full, optional);
    let always: BTreeSet<String> = keys(full).difference(&set(optional)).cloned().collect();
    assert_eq!(
        keys(minimal),
        always,
        "{def_name}: serde omits exactly the optional keys"
    );
}

fn status_strings() -> BTreeSet<String> {
    ApplicationStatus::ALL
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect()
}

fn uuid(s: &str) -> uuid::Uuid {
    s.parse().expect("uuid")
}

fn metadata(message_type: &str) -> ApplicationMetadata {
    ApplicationMetadata {
        message_id: uuid("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
        message_type: message_type.to_owned(),
        time: time::macros::datetime!(2027-05-12 08:31:07.5 UTC),
        source: "loket".into(),
        correlation_id: uuid("c41d7e2a-8b3f-4a95-b6c0-2e9d1f7a5b38"),
    }
}

fn applicant(full: bool) -> Applicant {
    Applicant {
        vertegenwoordiger_id: full.then_some(1),
        voornaam: "Jonas".into(),
        achternaam: "Claes".into(),
        email: "jonas.claes@example.be".into(),
        telefoon: if full {
            "0470 98 76 54".into()
        } else {
            String::new()
        },
    }
}

fn submitted(full: bool) -> ApplicationSubmitted {
    let mut fields = serde_json::Map::new();
    if full {
        fields.insert("aantalLeden".into(), json!(42));
    }
    ApplicationSubmitted {
        metadata: metadata(APPLICATION_SUBMITTED),
        application_id: uuid("7a3e9b12-4c5d-4e6f-8a9b-0c1d2e3f4a5b"),
        v_code: "V0034567".parse().expect("vCode"),
        service_code: "uldk-tentlening".into(),
        applicant: applicant(full),
        fields,
    }
}

fn status_changed(full: bool) -> ApplicationStatusChanged {
    ApplicationStatusChanged {
        metadata: metadata(APPLICATION_STATUS_CHANGED),
        application_id: uuid("7a3e9b12-4c5d-4e6f-8a9b-0c1d2e3f4a5b"),
        v_code: "V0034567".parse().expect("vCode"),
        service_code: "uldk-tentlening".into(),
        status: if full {
            ApplicationStatus::Goedgekeurd
        } else {
            ApplicationStatus::Ingediend
        },
        previous_status: full.then_some(ApplicationStatus::InBehandeling),
        provider_reference: full.then(|| "ULDK-2027-004512".to_owned()),
        reason: full.then(|| "Gereserveerd.".to_owned()),
        changed_at: time::macros::datetime!(2027-05-20 09:14:47 +02:00),
    }
}

/// Every `properties` map in `schema` (outside `if` conditions, which only select) must
/// describe each of its properties.
fn assert_described(node: &Value, path: &str, kind: Kind) {
    match node {
        Value::Object(map) => {
            if let Some(props) = map.get("properties").and_then(Value::as_object) {
                for (prop, sub) in props {
                    assert!(
                        sub.get("description").and_then(Value::as_str).is_some(),
                        "{kind:?}: {path}/properties/{prop} has no description"
                    );
                }
            }
            for (key, sub) in map {
                if key != "if" {
                    assert_described(sub, &format!("{path}/{key}"), kind);
                }
            }
        }
        Value::Array(items) => {
            for (i, sub) in items.iter().enumerate() {
                assert_described(sub, &format!("{path}/{i}"), kind);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// The schemas themselves
// ---------------------------------------------------------------------------------------

#[test]
fn schemas_are_valid_draft_2020_12_documents_with_descriptions() {
    for kind in Kind::ALL {
        let schema = assert_schema_document(kind);
        let id = schema["$id"].as_str().expect("$id");
        assert_eq!(
            id,
            format!(
                "https://schemas.verenigingsloket.vlaanderen.be/hub/{}.v{SCHEMA_VERSION}.json",
                kind.message_type()
            ),
            "{kind:?}: $id"
        );
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(
            schema["$defs"]["metadata"]["properties"]["type"]["const"],
            kind.message_type(),
            "{kind:?}: metadata.type const"
        );
        assert_described(&schema, "", kind);
    }
}

#[test]
fn the_status_enum_is_application_status_all() {
    let schema = Kind::StatusChanged.schema_value();
    assert_eq!(
        strings(&schema["$defs"]["status"]["enum"]),
        status_strings()
    );
    assert_eq!(
        schema["$defs"]["status"]["enum"]
            .as_array()
            .expect("enum")
            .len(),
        ApplicationStatus::ALL.len(),
        "no status twice"
    );
    for prop in ["status", "previousStatus"] {
        assert_eq!(
            schema["properties"][prop]["$ref"], "#/$defs/status",
            "{prop}"
        );
    }
}

#[test]
fn the_schema_allows_exactly_the_transitions_of_the_state_machine() {
    let schema = Kind::StatusChanged.schema_value();
    let branches = schema["allOf"].as_array().expect("allOf");
    for status in ApplicationStatus::ALL {
        // The declared predecessors (one branch per status) ...
        let branch = branches
            .iter()
            .find(|b| b["if"]["properties"]["status"]["const"] == status.as_str())
            .unwrap_or_else(|| panic!("{status:?}: no allOf branch"));
        let predecessors: BTreeSet<String> = ApplicationStatus::ALL
            .into_iter()
            .filter(|p| p.can_move_to(status))
            .map(|p| p.as_str().to_owned())
            .collect();
        if predecessors.is_empty() {
            assert_eq!(
                branch["then"],
                json!({"not": {"required": ["previousStatus"]}}),
                "{status:?}"
            );
        } else {
            assert_eq!(
                strings(&branch["then"]["properties"]["previousStatus"]["enum"]),
                predecessors,
                "{status:?}: predecessors"
            );
            assert!(
                strings(&branch["then"]["required"]).contains("previousStatus"),
                "{status:?}: previousStatus required"
            );
        }
    }
    assert_eq!(branches.len(), ApplicationStatus::ALL.len());

    // ... and what the schema then accepts: every (previous, next) pair, and no previous.
    let base = Kind::example("application.status-changed.goedgekeurd.json");
    for next in ApplicationStatus::ALL {
        let mut previous: Vec<Option<ApplicationStatus>> = vec![None];
        previous.extend(ApplicationStatus::ALL.map(Some));
        for prev in previous {
            let mut m = base.clone();
            m["status"] = json!(next.as_str());
            match prev {
                Some(p) => m["previousStatus"] = json!(p.as_str()),
                None => {
                    m.as_object_mut().expect("object").remove("previousStatus");
                }
            }
            let allowed = match prev {
                Some(p) => p.can_move_to(next),
                None => next == ApplicationStatus::Ingediend,
            };
            let errs = errors(Kind::StatusChanged, &m);
            assert_eq!(
                errs.is_empty(),
                allowed,
                "{prev:?} -> {next:?}: schema errors {errs:?}"
            );
            // serde knows no transitions: any pair reads (the hub's state machine refuses).
            Kind::StatusChanged
                .round_trip(&m)
                .unwrap_or_else(|e| panic!("{prev:?} -> {next:?}: serde refused: {e}"));
        }
    }
}

#[test]
fn submitted_schema_describes_exactly_what_serde_emits() {
    let schema = Kind::Submitted.schema_value();
    let full = serde_json::to_value(submitted(true)).expect("serialises");
    let minimal = serde_json::to_value(submitted(false)).expect("serialises");
    assert_def_matches(&schema, "(top)", &full, &minimal, &[]);
    assert_def_matches(
        &schema["$defs"]["metadata"],
        "metadata",
        &full["metadata"],
        &minimal["metadata"],
        &[],
    );
    assert_def_matches(
        &schema["$defs"]["applicant"],
        "applicant",
        &full["applicant"],
        &minimal["applicant"],
        &["vertegenwoordigerId", "telefoon"],
    );
    assert_eq!(
        minimal["fields"],
        json!({}),
        "fields is emitted even when empty"
    );
    for (what, value, rust) in [
        ("full", full, submitted(true)),
        ("minimal", minimal, submitted(false)),
    ] {
        assert_valid(Kind::Submitted, &value, what);
        let back: ApplicationSubmitted = serde_json::from_value(value).expect("reads back");
        assert_eq!(back, rust, "{what}: round trip");
    }
}

#[test]
fn status_changed_schema_describes_exactly_what_serde_emits() {
    let schema = Kind::StatusChanged.schema_value();
    let full = serde_json::to_value(status_changed(true)).expect("serialises");
    let minimal = serde_json::to_value(status_changed(false)).expect("serialises");
    assert_def_matches(
        &schema,
        "(top)",
        &full,
        &minimal,
        &["previousStatus", "providerReference", "reason"],
    );
    assert_def_matches(
        &schema["$defs"]["metadata"],
        "metadata",
        &full["metadata"],
        &minimal["metadata"],
        &[],
    );
    // Both metadata definitions describe the same envelope.
    let submitted_schema = Kind::Submitted.schema_value();
    assert_eq!(
        keys(&schema["$defs"]["metadata"]["properties"]),
        keys(&submitted_schema["$defs"]["metadata"]["properties"])
    );
    for (what, value, rust) in [
        ("full", full, status_changed(true)),
        ("minimal", minimal, status_changed(false)),
    ] {
        assert_valid(Kind::StatusChanged, &value, what);
        let back: ApplicationStatusChanged = serde_json::from_value(value).expect("reads back");
        assert_eq!(back, rust, "{what}: round trip");
    }
}

// ---------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------

/// The pilot services and the field names of their examples.
const PILOT_SERVICES: [(&str, &[&str]); 4] = [
    (
        "uldk-tentlening",
        &["periode", "tenten", "aantalLeden", "ophaling"],
    ),
    (
        "kiosk-projectsubsidie",
        &[
            "projectnaam",
            "gevraagdBedrag",
            "begindatum",
            "einddatum",
            "omschrijving",
        ],
    ),
    (
        "vrijwilligersverzekering",
        &["aantalVrijwilligers", "betaaldPersoneel", "geschatteUren"],
    ),
    ("aalst-jeugdsubsidie", &["werkjaar", "aantalLeden"]),
];

#[test]
fn there_is_an_example_per_pilot_service_and_per_status() {
    let all = Kind::examples();
    for (service, fields) in PILOT_SERVICES {
        let name = format!("{APPLICATION_SUBMITTED}.{service}.json");
        let value = Kind::example(&name);
        assert_eq!(value["serviceCode"], service, "{name}");
        assert_eq!(keys(&value["fields"]), set(fields), "{name}: fields");
    }
    for status in ApplicationStatus::ALL {
        let name = format!("{APPLICATION_STATUS_CHANGED}.{}.json", status.as_str());
        assert_eq!(Kind::example(&name)["status"], status.as_str(), "{name}");
    }
    assert_eq!(
        all.len(),
        PILOT_SERVICES.len() + ApplicationStatus::ALL.len(),
        "an example without a check"
    );
}

#[test]
fn the_tent_loan_example_has_the_catalogue_shape() {
    let fields = &Kind::example("application.submitted.uldk-tentlening.json")["fields"];
    assert_eq!(keys(&fields["periode"]), set(&["van", "tot"]));
    assert_eq!(keys(&fields["ophaling"]), set(&["datum", "plaats"]));
    for tent in fields["tenten"].as_array().expect("tenten") {
        assert_eq!(keys(tent), set(&["type", "aantal"]));
        assert!(
            ["seniortent", "patrouilletent"].contains(&tent["type"].as_str().expect("type")),
            "{tent}"
        );
        assert!(tent["aantal"].as_u64().expect("aantal") >= 1, "{tent}");
    }
}

#[test]
fn every_example_validates_against_its_schema_and_not_the_other() {
    for (name, kind, value) in Kind::examples() {
        assert_valid(kind, &value, &name);
        for other in kind.others() {
            assert_invalid(other, &value, &name);
        }
        assert_eq!(
            value["metadata"]["type"],
            kind.message_type(),
            "{name}: metadata.type"
        );
    }
}

#[test]
fn every_example_round_trips_through_the_rust_type_unchanged() {
    assert_examples_round_trip::<Kind>();
}

#[test]
fn status_examples_are_transitions_of_a_submitted_application() {
    let all = Kind::examples();
    let submissions: Vec<&Value> = all
        .iter()
        .filter(|(_, k, _)| *k == Kind::Submitted)
        .map(|(_, _, v)| v)
        .collect();
    for (name, kind, value) in &all {
        if *kind != Kind::StatusChanged {
            continue;
        }
        let change: ApplicationStatusChanged =
            serde_json::from_value(value.clone()).expect("status change");
        match change.previous_status {
            Some(previous) => assert!(previous.can_move_to(change.status), "{name}"),
            None => assert_eq!(change.status, ApplicationStatus::Ingediend, "{name}"),
        }
        let submission = submissions
            .iter()
            .find(|s| s["applicationId"] == value["applicationId"])
            .unwrap_or_else(|| panic!("{name}: no submission example for its applicationId"));
        for key in ["vCode", "serviceCode"] {
            assert_eq!(value[key], submission[key], "{name}: {key}");
        }
        assert_eq!(
            value["metadata"]["correlationId"], submission["metadata"]["correlationId"],
            "{name}: correlationId"
        );
        assert_eq!(value["metadata"]["source"], "hub/applications", "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Malformed messages are rejected, by the schema and by serde
// ---------------------------------------------------------------------------------------

type Mutation = (&'static str, &'static str, fn(&mut Value));

fn applicant_of(m: &mut Value) -> &mut serde_json::Map<String, Value> {
    m["applicant"].as_object_mut().expect("applicant object")
}

fn remove(m: &mut Value, key: &str) {
    m.as_object_mut().expect("object").remove(key);
}

const SUBMITTED: &str = "application.submitted.uldk-tentlening.json";
const ONTVANGEN: &str = "application.status-changed.ontvangen.json";

/// Rejected by the schema and by serde.
const REJECTED_BY_BOTH: &[Mutation] = &[
    ("a bad vCode", SUBMITTED, |m| m["vCode"] = json!("V12345")),
    ("a vCode with letters", SUBMITTED, |m| {
        m["vCode"] = json!("VABCDEFG")
    }),
    ("a bad vCode in a status change", ONTVANGEN, |m| {
        m["vCode"] = json!("0034567")
    }),
    ("an unknown top-level key", SUBMITTED, |m| {
        m["opmerking"] = json!("graag snel")
    }),
    ("an unknown key in metadata", SUBMITTED, |m| {
        m["metadata"]["sequence"] = json!(48215)
    }),
    ("an unknown key in a status change", ONTVANGEN, |m| {
        m["decision"] = json!("received")
    }),
    ("an INSZ in the applicant", SUBMITTED, |m| {
        applicant_of(m).insert("insz".into(), json!("85071512397"));
    }),
    ("an INSZ at the top level", SUBMITTED, |m| {
        m["insz"] = json!("85071512397")
    }),
    ("the applicant without e-mail", SUBMITTED, |m| {
        applicant_of(m).remove("e-mail");
    }),
    ("the applicant's e-mail as `email`", SUBMITTED, |m| {
        let email = applicant_of(m).remove("e-mail").expect("e-mail");
        applicant_of(m).insert("email".into(), email);
    }),
    ("the applicant without voornaam", SUBMITTED, |m| {
        applicant_of(m).remove("voornaam");
    }),
    ("no applicant", SUBMITTED, |m| remove(m, "applicant")),
    ("no applicationId", SUBMITTED, |m| {
        remove(m, "applicationId")
    }),
    ("an applicationId that is no UUID", SUBMITTED, |m| {
        m["applicationId"] = json!("aanvraag-1")
    }),
    ("no serviceCode", SUBMITTED, |m| remove(m, "serviceCode")),
    ("no metadata", SUBMITTED, |m| remove(m, "metadata")),
    ("no messageId", SUBMITTED, |m| {
        m["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove("messageId");
    }),
    ("a time that is no date-time", SUBMITTED, |m| {
        m["metadata"]["time"] = json!("12 mei 2027")
    }),
    ("fields as a list", SUBMITTED, |m| {
        m["fields"] = json!([{"aantalLeden": 42}])
    }),
    ("a vertegenwoordigerId as a string", SUBMITTED, |m| {
        m["applicant"]["vertegenwoordigerId"] = json!("1")
    }),
    ("a bad status", ONTVANGEN, |m| {
        m["status"] = json!("ontvangen_door_provider")
    }),
    ("a status in upper case", ONTVANGEN, |m| {
        m["status"] = json!("ONTVANGEN")
    }),
    ("a status in camel case", ONTVANGEN, |m| {
        m["status"] = json!("inBehandeling")
    }),
    ("a bad previousStatus", ONTVANGEN, |m| {
        m["previousStatus"] = json!("nieuw")
    }),
    ("no status", ONTVANGEN, |m| remove(m, "status")),
    ("no changedAt", ONTVANGEN, |m| remove(m, "changedAt")),
    ("a changedAt without offset", ONTVANGEN, |m| {
        m["changedAt"] = json!("2027-05-12T08:31:40")
    }),
];

/// Rejected by the schema only: value rules serde does not know (it reads any string there,
/// or the rule concerns a combination of fields).
const REJECTED_BY_THE_SCHEMA: &[Mutation] = &[
    ("a malformed e-mail", SUBMITTED, |m| {
        m["applicant"]["e-mail"] = json!("jonas.claes")
    }),
    ("an empty voornaam", SUBMITTED, |m| {
        m["applicant"]["voornaam"] = json!(" ")
    }),
    ("an empty telefoon", SUBMITTED, |m| {
        m["applicant"]["telefoon"] = json!("")
    }),
    ("a vertegenwoordigerId 0", SUBMITTED, |m| {
        m["applicant"]["vertegenwoordigerId"] = json!(0)
    }),
    ("a serviceCode in upper case", SUBMITTED, |m| {
        m["serviceCode"] = json!("ULDK-tentlening")
    }),
    ("a serviceCode with a space", SUBMITTED, |m| {
        m["serviceCode"] = json!("uldk tentlening")
    }),
    ("a submission typed as a status change", SUBMITTED, |m| {
        m["metadata"]["type"] = json!("application.status-changed")
    }),
    ("an empty source", SUBMITTED, |m| {
        m["metadata"]["source"] = json!("")
    }),
    ("a status change typed as a submission", ONTVANGEN, |m| {
        m["metadata"]["type"] = json!("application.submitted")
    }),
    ("ontvangen without providerReference", ONTVANGEN, |m| {
        remove(m, "providerReference")
    }),
    ("ontvangen without previousStatus", ONTVANGEN, |m| {
        remove(m, "previousStatus")
    }),
    ("ontvangen after itself", ONTVANGEN, |m| {
        m["previousStatus"] = json!("ontvangen")
    }),
    ("ingediend with a previousStatus", ONTVANGEN, |m| {
        m["status"] = json!("ingediend")
    }),
    (
        "afgewezen without reason",
        "application.status-changed.afgewezen.json",
        |m| remove(m, "reason"),
    ),
    (
        "goedgekeurd after afgewezen",
        "application.status-changed.goedgekeurd.json",
        |m| m["previousStatus"] = json!("afgewezen"),
    ),
    (
        "ingetrokken after goedgekeurd",
        "application.status-changed.ingetrokken.json",
        |m| m["previousStatus"] = json!("goedgekeurd"),
    ),
    (
        "an empty reason",
        "application.status-changed.afgewezen.json",
        |m| m["reason"] = json!(""),
    ),
    ("a null providerReference", ONTVANGEN, |m| {
        m["providerReference"] = Value::Null
    }),
];

#[test]
fn malformed_messages_are_rejected_by_the_schema() {
    for (what, base_name, mutate) in REJECTED_BY_BOTH.iter().chain(REJECTED_BY_THE_SCHEMA) {
        let base = Kind::example(base_name);
        let kind = Kind::of_example(base_name).expect("kind");
        assert_mutation_invalid(kind, &base, what, mutate);
    }
}

#[test]
fn malformed_messages_are_rejected_by_serde() {
    for (what, base_name, mutate) in REJECTED_BY_BOTH {
        let kind = Kind::of_example(base_name).expect("kind");
        let mut m = Kind::example(base_name);
        mutate(&mut m);
        if let Ok(back) = kind.round_trip(&m) {
            panic!("{what}: serde accepted {m}, read as {back}");
        }
    }
}

#[test]
fn a_municipalitys_answer_validates_and_round_trips() {
    use contracts::applications::{
        MunicipalApplicationStatus, MUNICIPAL_APPLICATION_STATUS_SCHEMA,
    };
    let schema: Value = serde_json::from_str(MUNICIPAL_APPLICATION_STATUS_SCHEMA).expect("JSON");
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("compiles");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/municipality/municipality.application-status.json"),
    )
    .expect("example");
    let example: Value = serde_json::from_str(&text).expect("JSON");
    assert!(validator.is_valid(&example));
    let typed: MunicipalApplicationStatus =
        serde_json::from_value(example.clone()).expect("the Rust type reads it");
    assert_eq!(serde_json::to_value(&typed).expect("writes"), example);
    for bad in [
        serde_json::json!({"applicationId": "x", "status": "goedgekeurd"}),
        serde_json::json!({"applicationId": example["applicationId"], "status": "ingetrokken"}),
        serde_json::json!({"applicationId": example["applicationId"], "status": "ontvangen", "vCode": "V0001001"}),
        serde_json::json!({"applicationId": example["applicationId"], "status": "afgewezen"}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}
