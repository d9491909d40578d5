//! Keeps the ULDK contract (`contracts/schemas/uldk.*.json`, `contracts/examples/uldk/`) and
//! the adapter in step: the schemas are sound, the examples validate, every body the adapter
//! writes validates and the schemas describe exactly what it writes, ULDK's documents map to
//! the right decisions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use adapter_provider::{Decision, ProviderError};
use adapter_uldk::translate;
use common::*;
use contracts::applications::EnrichedApplication;
use serde_json::{json, Value};

fn body(app: &EnrichedApplication) -> Value {
    translate::reservation_body(app).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The schemas themselves

#[test]
fn schemas_are_valid_draft_2020_12_documents_with_descriptions() {
    for name in [RESERVATION, STATUS] {
        let schema = schema(name);
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            panic!("{name}: not a valid draft 2020-12 schema: {e}");
        }
        assert_eq!(
            schema["$id"],
            json!(format!(
                "https://schemas.verenigingsloket.vlaanderen.be/hub/{name}"
            ))
        );
        for key in ["title", "description"] {
            assert!(schema[key].is_string(), "{name}: {key} missing");
        }
        let mut objects = vec![("(top)".to_owned(), &schema)];
        for (def, sub) in schema["$defs"].as_object().expect("$defs") {
            objects.push((def.clone(), sub));
        }
        for (def, object) in objects {
            if let Some(props) = object.get("properties").and_then(Value::as_object) {
                assert_eq!(
                    object["additionalProperties"],
                    json!(false),
                    "{name}: {def} must be closed"
                );
                for (prop, sub) in props {
                    assert!(
                        sub.get("description").and_then(Value::as_str).is_some(),
                        "{name}: {def}.{prop} has no description"
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Examples

#[test]
fn every_example_validates_against_its_schema_and_not_the_other() {
    let all = examples();
    for name in [
        "uldk.reservation.json",
        "uldk.reservation.minimal.json",
        "uldk.reservation-status.aangevraagd.json",
        "uldk.reservation-status.in_behandeling.json",
        "uldk.reservation-status.toegewezen.json",
        "uldk.reservation-status.geweigerd.json",
        "problem.422.json",
        "problem.409.json",
    ] {
        assert!(all.iter().any(|(n, _)| n == name), "example {name} missing");
    }
    for (name, value) in &all {
        if name.starts_with("uldk.reservation.") {
            assert_valid(RESERVATION, value, name);
            assert_invalid(STATUS, value, name);
        } else if name.starts_with("uldk.reservation-status.") {
            assert_valid(STATUS, value, name);
            assert_invalid(RESERVATION, value, name);
            // The file name names the status.
            let status = name
                .trim_start_matches("uldk.reservation-status.")
                .trim_end_matches(".json");
            assert_eq!(value["status"], json!(status), "{name}");
        } else if name.starts_with("problem.") {
            // RFC 9457 problem details with the members the contract promises.
            for key in ["type", "title", "status", "detail", "instance"] {
                assert!(value.get(key).is_some(), "{name}: {key} missing");
            }
            let status = name
                .trim_start_matches("problem.")
                .trim_end_matches(".json");
            assert_eq!(value["status"].to_string(), status, "{name}");
        } else {
            panic!("{name}: an example of what?");
        }
    }
}

#[test]
fn status_examples_map_to_decisions() {
    let decide = |name: &str| {
        let raw = example(name).to_string();
        translate::decision(&translate::parse_status(raw.as_bytes()).unwrap()).unwrap()
    };
    assert_eq!(
        decide("uldk.reservation-status.aangevraagd.json"),
        Decision::Received
    );
    assert_eq!(
        decide("uldk.reservation-status.in_behandeling.json"),
        Decision::InTreatment
    );
    assert_eq!(
        decide("uldk.reservation-status.toegewezen.json"),
        Decision::Approved {
            detail: Some("3 seniortenten, 2 patrouilletenten; ophalen 2027-07-01 in Gent".into())
        }
    );
    match decide("uldk.reservation-status.geweigerd.json") {
        Decision::Refused { reason } => assert!(reason.contains("uitleenseizoen"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let reason = translate::problem_reason(409, &example("problem.409.json").to_string());
    assert!(reason.contains("andere inhoud"), "{reason}");
}

#[test]
fn the_adapter_writes_exactly_the_example() {
    // The example is what the adapter sends for the application behind it.
    assert_eq!(body(&application()), example("uldk.reservation.json"));
}

// ---------------------------------------------------------------------------------------------
// What the adapter writes

#[test]
fn every_body_the_adapter_writes_validates() {
    let mut cases: Vec<(&str, EnrichedApplication)> = vec![("full", application())];

    let mut app = fresh_application();
    app.vereniging = bare("V0002042");
    app.parts.clear();
    app.applicant.telefoon = String::new();
    app.applicant.vertegenwoordiger_id = None;
    cases.push(("association data withheld, no phone", app));

    let mut app = fresh_application();
    app.vereniging.locaties.iter_mut().for_each(|l| {
        if let Some(a) = l.adres.as_mut() {
            a.gemeente = String::new();
        }
    });
    app.vereniging
        .contactgegevens
        .retain(|c| c.contactgegeventype != "E-mail");
    app.vereniging.hoofdactiviteiten_verenigingsloket.clear();
    cases.push(("postcode without gemeente, no e-mail, no activities", app));

    let mut app = fresh_application();
    app.fields.insert(
        "tenten".into(),
        json!([{"type": "patrouilletent", "aantal": 4}]),
    );
    app.fields.insert("aantalLeden".into(), json!(18.0));
    app.fields
        .insert("opmerking".into(), json!("niet voor ULDK"));
    cases.push(("one tent type, members as 18.0, an unknown field", app));

    let app = fresh_camp_application("2027-03-15", "2027-03-15", "2027-03-15", "  Brugge  ");
    cases.push(("a one-day camp", app));

    for (what, app) in &cases {
        let b = body(app);
        assert_valid(RESERVATION, &b, what);
        assert_eq!(
            b["aanvraagId"],
            json!(app.application_id.to_string()),
            "{what}"
        );
    }

    let minimal = body(&cases[1].1);
    assert_eq!(minimal["vereniging"], json!({"vCode": "V0002042"}));
    assert!(minimal["contactpersoon"].get("telefoon").is_none());
    let partial = body(&cases[2].1);
    assert_eq!(
        partial["vereniging"],
        json!({"vCode": "V0002041", "naam": "Chiro Sint-Jozef Evergem", "postcode": "9940"})
    );
    assert_eq!(body(&cases[4].1)["ophaling"]["plaats"], json!("Brugge"));
}

#[test]
fn the_reservation_schema_describes_exactly_what_the_adapter_writes() {
    let schema = schema(RESERVATION);
    let defs = &schema["$defs"];
    let full = body(&application());
    let minimal = body(&{
        let mut app = fresh_application();
        app.vereniging = bare("V0002042");
        app.applicant.telefoon = String::new();
        app
    });
    let cases: [(&str, &Value, &str); 6] = [
        ("(top)", &schema, ""),
        ("vereniging", &defs["vereniging"], "/vereniging"),
        ("contactpersoon", &defs["contactpersoon"], "/contactpersoon"),
        ("periode", &defs["periode"], "/periode"),
        ("ophaling", &defs["ophaling"], "/ophaling"),
        ("tentAantal", &defs["tentAantal"], "/tenten/0"),
    ];
    for (name, def, pointer) in cases {
        let written_full = full.pointer(pointer).unwrap();
        let written_min = minimal.pointer(pointer).unwrap();
        assert_eq!(
            keys(&def["properties"]),
            keys(written_full),
            "{name}: schema properties vs what the adapter writes at most"
        );
        assert_eq!(
            strings(&def["required"]),
            keys(written_min),
            "{name}: required vs what the adapter always writes"
        );
    }
}

#[test]
fn the_schemas_reject_stray_and_malformed_fields() {
    type Mutation = (&'static str, fn(&mut Value));
    let reservation_cases: &[Mutation] = &[
        ("aanvraagId not a uuid", |b| {
            b["aanvraagId"] = json!("aanvraag-1")
        }),
        ("a bad vCode", |b| {
            b["vereniging"]["vCode"] = json!("V12345")
        }),
        ("an INSZ", |b| {
            b["contactpersoon"]["insz"] = json!("85071512397")
        }),
        ("an empty naam", |b| b["vereniging"]["naam"] = json!("")),
        ("a blank gemeente", |b| {
            b["vereniging"]["gemeente"] = json!("   ")
        }),
        ("an activity name instead of its code", |b| {
            b["vereniging"]["hoofdactiviteiten"] = json!(["Jeugdwerk"])
        }),
        ("no activities as an empty list", |b| {
            b["vereniging"]["hoofdactiviteiten"] = json!([])
        }),
        ("a contact e-mail that is no address", |b| {
            b["contactpersoon"]["e-mail"] = json!("lotte at example")
        }),
        ("no contact e-mail", |b| {
            b["contactpersoon"]
                .as_object_mut()
                .unwrap()
                .remove("e-mail");
        }),
        ("a date in another format", |b| {
            b["periode"]["van"] = json!("02/07/2027")
        }),
        ("a date that does not exist", |b| {
            b["periode"]["tot"] = json!("2027-02-29")
        }),
        ("no tents", |b| b["tenten"] = json!([])),
        (
            "a type twice",
            |b| {
                b["tenten"] = json!([{"type": "seniortent", "aantal": 1}, {"type": "seniortent", "aantal": 2}])
            },
        ),
        ("an unknown type", |b| {
            b["tenten"][0]["type"] = json!("bungalowtent")
        }),
        ("zero tents of a type", |b| {
            b["tenten"][1]["aantal"] = json!(0)
        }),
        ("a fraction of a tent", |b| {
            b["tenten"][1]["aantal"] = json!(1.5)
        }),
        ("members as a string", |b| b["aantalLeden"] = json!("33")),
        ("no members", |b| b["aantalLeden"] = json!(0)),
        ("no pick-up place", |b| {
            b["ophaling"].as_object_mut().unwrap().remove("plaats");
        }),
        ("an unknown member", |b| {
            b["opmerking"] = json!("graag dicht bij de zee")
        }),
    ];
    let base = example("uldk.reservation.json");
    for (what, mutate) in reservation_cases {
        let mut b = base.clone();
        mutate(&mut b);
        assert_ne!(b, base, "{what}: the mutation changed nothing");
        assert_invalid(RESERVATION, &b, what);
    }

    let status_cases: &[(&str, Value)] = &[
        (
            "a bad id",
            json!({"reservatieId": "104217", "status": "aangevraagd"}),
        ),
        (
            "an unknown status",
            json!({"reservatieId": "R-104217", "status": "geannuleerd"}),
        ),
        (
            "toegewezen without toewijzing",
            json!({"reservatieId": "R-104217", "status": "toegewezen"}),
        ),
        (
            "geweigerd without reden",
            json!({"reservatieId": "R-104217", "status": "geweigerd"}),
        ),
        (
            "aangevraagd with a reden",
            json!({"reservatieId": "R-104217", "status": "aangevraagd", "reden": "x"}),
        ),
        (
            "geweigerd with a toewijzing",
            json!({"reservatieId": "R-104217", "status": "geweigerd", "reden": "x",
            "toewijzing": {"tenten": [{"type": "seniortent", "aantal": 1}], "ophaalpunt": "Gent", "ophaaldatum": "2027-07-01"}}),
        ),
        (
            "an allocation of zero tents",
            json!({"reservatieId": "R-104217", "status": "toegewezen",
            "toewijzing": {"tenten": [], "ophaalpunt": "Gent", "ophaaldatum": "2027-07-01"}}),
        ),
        (
            "an allocation without date",
            json!({"reservatieId": "R-104217", "status": "toegewezen",
            "toewijzing": {"tenten": [{"type": "seniortent", "aantal": 1}], "ophaalpunt": "Gent"}}),
        ),
    ];
    for (what, doc) in status_cases {
        assert_invalid(STATUS, doc, what);
    }
}

#[test]
fn an_application_the_adapter_cannot_translate_is_permanent() {
    let mut app = fresh_application();
    app.fields.remove("ophaling");
    match translate::reservation_body(&app) {
        Err(ProviderError::Permanent(m)) => assert!(m.contains("`ophaling`"), "{m}"),
        other => panic!("{other:?}"),
    }
    let mut app = fresh_application();
    app.applicant.email = " ".into();
    match translate::reservation_body(&app) {
        Err(ProviderError::Permanent(m)) => assert!(m.contains("applicant.e-mail"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_loket_example_application_translates_into_a_valid_reservation() {
    // The service fields as the loket sends them (contracts/examples/applications/), with the
    // hub's catalogue declaring periode, tenten, aantalLeden and ophaling.
    let submitted = read_json(
        &contracts_dir().join("examples/applications/application.submitted.uldk-tentlening.json"),
    );
    let mut app = fresh_application();
    app.fields = submitted["fields"].as_object().unwrap().clone();
    let b = body(&app);
    assert_valid(RESERVATION, &b, "the loket's example");
    assert_eq!(b["aantalLeden"], submitted["fields"]["aantalLeden"]);
    assert_eq!(b["tenten"], submitted["fields"]["tenten"]);
    assert_eq!(b["periode"], submitted["fields"]["periode"]);
    assert_eq!(b["ophaling"], submitted["fields"]["ophaling"]);
}
