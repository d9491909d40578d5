//! Shared by the adapter's integration tests: applications, schemas, examples.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use contracts::applications::{Applicant, EnrichedApplication};
use contracts::messages::Part;
use contracts::register::Vereniging;
use serde_json::{json, Map, Value};

pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

pub const RESERVATION: &str = "uldk.reservation.v1.json";
pub const STATUS: &str = "uldk.reservation-status.v1.json";

pub fn schema(name: &str) -> Value {
    read_json(&contracts_dir().join("schemas").join(name))
}

/// Draft 2020-12, with `format` checked.
pub fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

pub fn errors(name: &str, instance: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(instance)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect()
}

pub fn assert_valid(name: &str, instance: &Value, what: &str) {
    let errs = errors(name, instance);
    assert!(
        errs.is_empty(),
        "{what} should validate against {name}:\n{}",
        errs.join("\n")
    );
}

pub fn assert_invalid(name: &str, instance: &Value, what: &str) {
    assert!(
        !errors(name, instance).is_empty(),
        "{what} should NOT validate against {name}"
    );
}

/// Every file of `contracts/examples/uldk/`, sorted by name.
pub fn examples() -> Vec<(String, Value)> {
    let dir = contracts_dir().join("examples/uldk");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples/uldk exists") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.ends_with(".json"), "{name}: only JSON examples");
        out.push((name, read_json(&path)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

pub fn example(name: &str) -> Value {
    examples()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("example {name} missing"))
}

/// The association of the example reservation, as the register would describe it (with more
/// than ULDK gets: representatives, a second location, a website).
pub fn chiro() -> Vereniging {
    serde_json::from_value(json!({
        "vCode": "V0002041",
        "verenigingstype": {"code": "FV", "naam": "Feitelijke vereniging"},
        "naam": "Chiro Sint-Jozef Evergem",
        "korteNaam": "Chiro Evergem",
        "status": "Actief",
        "contactgegevens": [
            {"contactgegevenId": 1, "contactgegeventype": "Website", "waarde": "https://chiro-evergem.be", "isPrimair": true},
            {"contactgegevenId": 2, "contactgegeventype": "E-mail", "waarde": "kas@chiro-evergem.be", "isPrimair": false},
            {"contactgegevenId": 3, "contactgegeventype": "E-mail", "waarde": "leiding@chiro-evergem.be", "isPrimair": true}
        ],
        "locaties": [
            {"locatieId": 1, "locatietype": "Correspondentie", "adresvoorstelling": "Kerkstraat 1, 9940 Evergem"},
            {"locatieId": 2, "locatietype": "Activiteiten", "isPrimair": true,
             "adres": {"straatnaam": "Kerkstraat", "huisnummer": "1", "postcode": "9940", "gemeente": "Evergem", "land": "België"}},
            {"locatieId": 3, "locatietype": "Activiteiten",
             "adres": {"straatnaam": "Dorp", "huisnummer": "2", "postcode": "9000", "gemeente": "Gent", "land": "België"}}
        ],
        "vertegenwoordigers": [
            {"vertegenwoordigerId": 7, "insz": "85071512397", "voornaam": "Lotte", "achternaam": "De Smet", "e-mail": "lotte.desmet@example.be"}
        ],
        "hoofdactiviteitenVerenigingsloket": [{"code": "JGDW", "naam": "Jeugdwerk"}, {"code": "JGDW", "naam": "Jeugdwerk"}],
        "werkingsgebieden": [{"code": "BE23044019", "naam": "Evergem"}]
    }))
    .expect("a register vereniging")
}

/// The same association as a service sees it that may receive nothing but the basics of
/// identification: everything but the vCode emptied.
pub fn bare(v_code: &str) -> Vereniging {
    serde_json::from_value(json!({
        "vCode": v_code,
        "verenigingstype": {"code": "FV", "naam": ""},
        "naam": "",
        "status": "Actief"
    }))
    .expect("a bare vereniging")
}

pub fn fields() -> Map<String, Value> {
    match json!({
        "periode": {"van": "2027-07-02", "tot": "2027-07-11"},
        "tenten": [{"type": "seniortent", "aantal": 3}, {"type": "patrouilletent", "aantal": 2}],
        "aantalLeden": 33,
        "ophaling": {"datum": "2027-07-01", "plaats": "Gent"}
    }) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// The application behind `examples/uldk/uldk.reservation.json`.
pub fn application() -> EnrichedApplication {
    EnrichedApplication {
        application_id: "0b6c7d2e-4f1a-4c3b-9e8d-2a1f5c6b7d80".parse().unwrap(),
        service_code: "uldk-tentlening".into(),
        submitted_at: time::macros::datetime!(2027-01-14 19:02:11 +01:00),
        applicant: Applicant {
            vertegenwoordiger_id: Some(7),
            voornaam: "Lotte".into(),
            achternaam: "De Smet".into(),
            email: "lotte.desmet@example.be".into(),
            telefoon: "0471 23 45 67".into(),
        },
        fields: fields(),
        parts: vec![
            Part::Basisgegevens,
            Part::Contactgegevens,
            Part::Locaties,
            Part::HoofdactiviteitenVerenigingsloket,
        ],
        vereniging: chiro(),
    }
}

/// A fresh application (new id) for the same association.
pub fn fresh_application() -> EnrichedApplication {
    EnrichedApplication {
        application_id: uuid::Uuid::new_v4(),
        ..application()
    }
}

/// A fresh application for a camp from `van` to `tot`, its tents picked up on `datum` at
/// `plaats`.
pub fn fresh_camp_application(
    van: &str,
    tot: &str,
    datum: &str,
    plaats: &str,
) -> EnrichedApplication {
    let mut app = fresh_application();
    app.fields
        .insert("periode".into(), json!({"van": van, "tot": tot}));
    app.fields
        .insert("ophaling".into(), json!({"datum": datum, "plaats": plaats}));
    app
}
