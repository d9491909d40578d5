//! A municipality's commands: validation (every error at once, with field paths), the
//! register request each becomes, the idempotency check against a snapshot, and the
//! register's errors in the command's terms.

use std::collections::BTreeSet;
use std::path::Path;

use adapter_municipality::commands::{
    already_applied, command_id_of, is_email, is_phone, is_url, parse_command,
    rejected_by_register, rejected_reply, to_write, v_code_of, validate,
};
use adapter_register::beheer::{FieldError, WriteMethod};
use contracts::commands::{COMMAND_SCHEMA, REPLY_SCHEMA};
use contracts::{fixtures, Command, Outcome, ReplyError, Vereniging};
use serde_json::{json, Value};

#[path = "../../../contracts/tests/cases/malformed_commands.rs"]
mod malformed_commands;

use malformed_commands::{Mutation, MALFORMED};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const OVO: &str = "OVO002949";

fn example(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/examples/commands")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"))
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialises")
}

fn parse(v: &Value) -> Result<Command, Vec<ReplyError>> {
    parse_command(&bytes(v))
}

fn parsed(v: &Value) -> Command {
    parse(v).unwrap_or_else(|errs| panic!("should parse: {v}\n{errs:#?}"))
}

fn snapshot() -> Vereniging {
    fixtures::register_example()
}

/// The (field, code) pairs of a rejected command.
fn pairs(errors: &[ReplyError]) -> BTreeSet<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.clone(), e.code.clone()))
        .collect()
}

fn expect_errors(v: &Value, expected: &[(&str, &str)]) {
    let errors = match parse(v) {
        Ok(c) => panic!("should be rejected: {v}\nparsed as {c:?}"),
        Err(errors) => errors,
    };
    let want: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect();
    assert_eq!(pairs(&errors), want, "for {v}\n{errors:#?}");
    assert!(
        errors.iter().all(|e| !e.reason.is_empty()),
        "every error has a reason"
    );
}

fn schema_validator(schema: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(schema).expect("schema is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

// ---------------------------------------------------------------------------------------
// Each command type parses and becomes the right register request
// ---------------------------------------------------------------------------------------

#[test]
fn each_command_type_maps_to_its_register_request() {
    struct Case {
        example: &'static str,
        method: WriteMethod,
        sub_path: &'static str,
        body: fn(&Value) -> Option<Value>,
    }
    let cases = [
        Case {
            example: "association.change-basisgegevens.json",
            method: WriteMethod::Patch,
            sub_path: "",
            // The register's request has the same wire names; codes are arrays of strings.
            body: |data| Some(data.clone()),
        },
        Case {
            example: "association.change-basisgegevens.clear.json",
            method: WriteMethod::Patch,
            sub_path: "",
            body: |_| {
                Some(json!({
                    "korteBeschrijving": "",
                    "startdatum": null,
                    "werkingsgebieden": ["NVT"]
                }))
            },
        },
        Case {
            example: "association.add-contactgegeven.json",
            method: WriteMethod::Post,
            sub_path: "contactgegevens",
            body: |data| Some(json!({ "contactgegeven": data })),
        },
        Case {
            example: "association.change-contactgegeven.json",
            method: WriteMethod::Patch,
            sub_path: "contactgegevens/2",
            body: |_| {
                Some(json!({ "contactgegeven": {
                    "waarde": "https://harmonie-aalst.be/",
                    "beschrijving": "Website"
                }}))
            },
        },
        Case {
            example: "association.remove-contactgegeven.json",
            method: WriteMethod::Delete,
            sub_path: "contactgegevens/2",
            body: |_| None,
        },
        Case {
            example: "association.add-locatie.json",
            method: WriteMethod::Post,
            sub_path: "locaties",
            body: |data| Some(json!({ "locatie": data })),
        },
        Case {
            example: "association.change-locatie.json",
            method: WriteMethod::Patch,
            sub_path: "locaties/2",
            body: |data| {
                let mut l = data.clone();
                l.as_object_mut().expect("object").remove("locatieId");
                Some(json!({ "locatie": l }))
            },
        },
        Case {
            example: "association.remove-locatie.json",
            method: WriteMethod::Delete,
            sub_path: "locaties/2",
            body: |_| None,
        },
    ];
    for case in cases {
        let raw = example(case.example);
        let command = parsed(&raw);
        assert_eq!(
            command.type_name(),
            raw["type"].as_str().expect("type"),
            "{}",
            case.example
        );
        for if_match in [None, Some(7)] {
            let write = to_write(&command, OVO, if_match);
            assert_eq!(write.method, case.method, "{}", case.example);
            assert_eq!(write.sub_path, case.sub_path, "{}", case.example);
            assert_eq!(write.body, (case.body)(&raw["data"]), "{}", case.example);
            assert_eq!(write.v_code.as_str(), "V0001001");
            assert_eq!(write.initiator, OVO);
            assert_eq!(write.if_match, if_match);
            let correlation = raw
                .get("correlationId")
                .unwrap_or(&raw["commandId"])
                .as_str()
                .expect("uuid");
            assert_eq!(
                write.correlation_id.to_string(),
                correlation,
                "{}",
                case.example
            );
        }
    }
}

#[test]
fn optional_fields_left_out_are_not_sent() {
    let mut raw = example("association.add-contactgegeven.json");
    raw["data"] = json!({"contactgegeventype": "Telefoon", "waarde": "053 21 00 00"});
    let write = to_write(&parsed(&raw), OVO, None);
    assert_eq!(
        write.body,
        Some(
            json!({"contactgegeven": {"contactgegeventype": "Telefoon", "waarde": "053 21 00 00"}})
        )
    );

    let mut raw = example("association.add-locatie.json");
    raw["data"]["adres"]
        .as_object_mut()
        .expect("adres")
        .remove("busnummer");
    raw["data"].as_object_mut().expect("data").remove("naam");
    let write = to_write(&parsed(&raw), OVO, None);
    let body = write.body.expect("body");
    assert!(body["locatie"].get("naam").is_none());
    assert!(body["locatie"]["adres"].get("busnummer").is_none());
    assert_eq!(body["locatie"]["adres"]["postcode"], "9300");

    let mut raw = example("association.change-basisgegevens.json");
    raw["data"] = json!({"doelgroep": {"maximumleeftijd": 18}});
    let write = to_write(&parsed(&raw), OVO, None);
    assert_eq!(
        write.body,
        Some(json!({"doelgroep": {"maximumleeftijd": 18}}))
    );
}

// ---------------------------------------------------------------------------------------
// Validation: every error at once, with its field path
// ---------------------------------------------------------------------------------------

#[test]
fn a_command_with_four_problems_gets_four_errors() {
    let mut raw = example("association.add-contactgegeven.json");
    raw["vCode"] = json!("V12345");
    raw["data"]["telefoon"] = json!("053 21 00 00");
    raw["data"]["waarde"] = json!("bestuur@harmonie");
    raw["data"]["isPrimair"] = json!("ja");
    expect_errors(
        &raw,
        &[
            ("vCode", "invalid-vcode"),
            ("data.telefoon", "unknown-field"),
            ("data.waarde", "invalid-email"),
            ("data.isPrimair", "wrong-type"),
        ],
    );
    // What can still be read of it, for the rejected reply.
    let body = bytes(&raw);
    assert_eq!(
        command_id_of(&body).map(|u| u.to_string()).as_deref(),
        Some("b3e1f0a2-9c84-4d7e-a6b5-2f1e0d9c8b7a")
    );
    assert_eq!(v_code_of(&body), None);
    let errors = parse_command(&body).expect_err("invalid");
    let reply = rejected_reply(&body, errors, time::macros::datetime!(2026-11-05 09:12 UTC))
        .expect("answerable");
    assert_eq!(reply.outcome, Outcome::Rejected);
    assert_eq!(reply.errors.len(), 4);
    assert_eq!(reply.v_code, None);
    assert_eq!(reply.correlation_id, reply.command_id);
    let out = serde_json::to_value(&reply).expect("serialises");
    let v = schema_validator(REPLY_SCHEMA);
    assert!(v.is_valid(&out), "reply validates: {out}");
}

#[test]
fn not_json_at_all_is_one_error_for_the_whole_document() {
    for body in [
        &b"<soap:Envelope/>"[..],
        b"",
        b"{\"commandId\": ",
        b"\xff\xfe",
    ] {
        let errors = parse_command(body).expect_err("not JSON");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "");
        assert_eq!(errors[0].code, "invalid-json");
        assert_eq!(command_id_of(body), None);
        assert!(rejected_reply(body, errors, time::OffsetDateTime::UNIX_EPOCH).is_none());
    }
    for not_an_object in [json!([]), json!("command"), json!(42), Value::Null] {
        expect_errors(&not_an_object, &[("", "wrong-type")]);
    }
}

#[test]
fn the_envelope_is_checked_field_by_field() {
    expect_errors(
        &json!({}),
        &[
            ("commandId", "required"),
            ("type", "required"),
            ("vCode", "required"),
            ("data", "required"),
        ],
    );
    expect_errors(
        &json!({
            "commandId": "cmd-1",
            "type": "association.stop",
            "vCode": "v0001001",
            "expectedVersion": -1,
            "correlationId": 42,
            "data": {"einddatum": "2026-12-31"},
            "insz": "85071512397"
        }),
        &[
            ("commandId", "invalid-uuid"),
            ("type", "unknown-type"),
            ("vCode", "invalid-vcode"),
            ("expectedVersion", "out-of-range"),
            ("correlationId", "wrong-type"),
            ("insz", "unknown-field"),
        ],
    );
    let mut raw = example("association.remove-locatie.json");
    raw["expectedVersion"] = json!(4.5);
    raw["data"] = json!([2]);
    expect_errors(
        &raw,
        &[("expectedVersion", "wrong-type"), ("data", "wrong-type")],
    );
    let mut raw = example("association.remove-locatie.json");
    raw["vCode"] = json!("V0000999");
    raw["commandId"] = json!("9e8d7c6b5a4f4e3db2c1a0f9e8d7c6b5");
    raw["correlationId"] = Value::Null;
    expect_errors(
        &raw,
        &[
            ("vCode", "invalid-vcode"),
            ("commandId", "invalid-uuid"),
            ("correlationId", "wrong-type"),
        ],
    );
}

#[test]
fn basisgegevens_are_checked_field_by_field() {
    let mut raw = example("association.change-basisgegevens.json");
    raw["data"] = json!({
        "naam": " ",
        "korteNaam": null,
        "korteBeschrijving": 7,
        "startdatum": "1998-02-30",
        "doelgroep": {"minimumleeftijd": 20, "maximumleeftijd": 12},
        "hoofdactiviteitenVerenigingsloket": ["KECU", "AIAS", "KECU", 3],
        "werkingsgebieden": ["NVT", "BE23041002", "Aalst"],
        "roepnaam": "Harmonie"
    });
    expect_errors(
        &raw,
        &[
            ("data.naam", "empty"),
            ("data.korteNaam", "wrong-type"),
            ("data.korteBeschrijving", "wrong-type"),
            ("data.startdatum", "invalid-date"),
            ("data.doelgroep", "invalid-range"),
            ("data.hoofdactiviteitenVerenigingsloket[1]", "unknown-code"),
            ("data.hoofdactiviteitenVerenigingsloket[2]", "duplicate"),
            ("data.hoofdactiviteitenVerenigingsloket[3]", "wrong-type"),
            ("data.werkingsgebieden[2]", "invalid-code"),
            ("data.werkingsgebieden", "invalid-combination"),
            ("data.roepnaam", "unknown-field"),
        ],
    );
    raw["data"] = json!({});
    expect_errors(&raw, &[("data", "nothing-to-change")]);
    raw["data"] = json!({"doelgroep": {}});
    expect_errors(&raw, &[("data.doelgroep", "required")]);
    raw["data"] = json!({"doelgroep": {"maximumleeftijd": 151, "leeftijd": 3}});
    expect_errors(
        &raw,
        &[
            ("data.doelgroep.maximumleeftijd", "out-of-range"),
            ("data.doelgroep.leeftijd", "unknown-field"),
        ],
    );
    raw["data"] = json!({"hoofdactiviteitenVerenigingsloket": "KECU", "startdatum": "01/09/1998"});
    expect_errors(
        &raw,
        &[
            ("data.hoofdactiviteitenVerenigingsloket", "wrong-type"),
            ("data.startdatum", "invalid-date"),
        ],
    );
    // null clears the start date; empty lists are allowed.
    raw["data"] = json!({"startdatum": null, "werkingsgebieden": [], "hoofdactiviteitenVerenigingsloket": []});
    let command = parsed(&raw);
    assert_eq!(
        to_write(&command, OVO, None).body,
        Some(raw["data"].clone())
    );
}

#[test]
fn contacts_are_checked_against_their_type() {
    let mut raw = example("association.add-contactgegeven.json");
    for (t, waarde, code) in [
        ("E-mail", "bestuur @harmonie-aalst.be", "invalid-email"),
        ("E-mail", "bestuur@localhost", "invalid-email"),
        ("Telefoon", "053 21 00 0x", "invalid-phone"),
        ("Telefoon", "+32 5", "invalid-phone"),
        ("Website", "www.harmonie-aalst.be", "invalid-url"),
        ("SocialMedia", "ftp://facebook.com/harmonie", "invalid-url"),
    ] {
        raw["data"]["contactgegeventype"] = json!(t);
        raw["data"]["waarde"] = json!(waarde);
        expect_errors(&raw, &[("data.waarde", code)]);
    }
    raw["data"] =
        json!({"contactgegeventype": "Fax", "waarde": "053 21 00 00", "beschrijving": null});
    expect_errors(
        &raw,
        &[
            ("data.contactgegeventype", "invalid-value"),
            ("data.beschrijving", "wrong-type"),
        ],
    );
    raw["data"] = json!({"waarde": ""});
    expect_errors(
        &raw,
        &[
            ("data.contactgegeventype", "required"),
            ("data.waarde", "empty"),
        ],
    );

    let mut raw = example("association.change-contactgegeven.json");
    raw["data"] = json!({"contactgegevenId": 0, "contactgegeventype": "Website"});
    expect_errors(
        &raw,
        &[
            ("data.contactgegevenId", "out-of-range"),
            ("data.contactgegeventype", "unknown-field"),
            ("data", "nothing-to-change"),
        ],
    );
    raw["data"] = json!({"isPrimair": true});
    expect_errors(&raw, &[("data.contactgegevenId", "required")]);
    // A new waarde is only checked to be non-empty (the contact's type is the register's).
    raw["data"] = json!({"contactgegevenId": 1, "waarde": "iets"});
    parsed(&raw);

    let mut raw = example("association.remove-contactgegeven.json");
    raw["data"] = json!({"contactgegevenId": "2"});
    expect_errors(&raw, &[("data.contactgegevenId", "wrong-type")]);
}

#[test]
fn locations_are_checked_field_by_field() {
    let mut raw = example("association.add-locatie.json");
    raw["data"]["locatietype"] = json!("Maatschappelijke zetel volgens KBO");
    raw["data"]["adres"]["postcode"] = json!("930");
    raw["data"]["adres"]["huisnummer"] = json!("");
    raw["data"]["adres"]
        .as_object_mut()
        .expect("adres")
        .remove("land");
    raw["data"]["adres"]["provincie"] = json!("Oost-Vlaanderen");
    raw["data"]["adresId"] = json!({"broncode": "AR"});
    expect_errors(
        &raw,
        &[
            ("data.locatietype", "read-only"),
            ("data.adres.postcode", "invalid-postcode"),
            ("data.adres.huisnummer", "empty"),
            ("data.adres.land", "required"),
            ("data.adres.provincie", "unknown-field"),
            ("data.adresId", "unknown-field"),
        ],
    );
    raw["data"] =
        json!({"locatietype": "Zetel", "adres": "Kerkstraat 12, 9300 Aalst", "isPrimair": 1});
    expect_errors(
        &raw,
        &[
            ("data.locatietype", "invalid-value"),
            ("data.adres", "wrong-type"),
            ("data.isPrimair", "wrong-type"),
        ],
    );
    raw["data"] = json!({});
    expect_errors(
        &raw,
        &[("data.locatietype", "required"), ("data.adres", "required")],
    );

    let mut raw = example("association.change-locatie.json");
    raw["data"] = json!({"locatieId": 2});
    expect_errors(&raw, &[("data", "nothing-to-change")]);
    raw["data"] = json!({"locatieId": -2, "adres": {"postcode": 9000}});
    expect_errors(
        &raw,
        &[
            ("data.locatieId", "out-of-range"),
            ("data.adres.postcode", "wrong-type"),
            ("data.adres.straatnaam", "required"),
            ("data.adres.huisnummer", "required"),
            ("data.adres.gemeente", "required"),
            ("data.adres.land", "required"),
        ],
    );
}

#[test]
fn value_checks() {
    for ok in fixtures::VALID_EMAILS {
        assert!(is_email(ok), "{ok}");
    }
    for bad in fixtures::INVALID_EMAILS {
        assert!(!is_email(bad), "{bad}");
    }
    for ok in [
        "053 21 00 00",
        "+32 53 21 00 00",
        "+32 (0)53/21.00.00",
        "0470-12-34-56",
        "123456",
    ] {
        assert!(is_phone(ok), "{ok}");
    }
    for bad in [
        "",
        "12345",
        "+",
        "053 21 00 0x",
        "0032 53 21 00 00 00 00",
        "32+53210000",
    ] {
        assert!(!is_phone(bad), "{bad}");
    }
    for ok in [
        "https://www.harmonie-aalst.be",
        "http://harmonie-aalst.be/",
        "https://www.facebook.com/harmonie?ref=x#top",
        "https://voorbeeld.be:8443/pad",
    ] {
        assert!(is_url(ok), "{ok}");
    }
    for bad in [
        "",
        "www.harmonie-aalst.be",
        "HTTPS://harmonie-aalst.be",
        "ftp://harmonie-aalst.be",
        "https://localhost",
        "https://",
        "https://harmonie-aalst.be/met spatie",
        "https://harmonie-aalst.be:99999999",
        "https://harmonie..be",
    ] {
        assert!(!is_url(bad), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------
// The hub's validation and the published schema agree
// ---------------------------------------------------------------------------------------

#[test]
fn parse_command_accepts_exactly_what_the_schema_accepts() {
    let schema = schema_validator(COMMAND_SCHEMA);
    let cases: &[Mutation] = &[
        // Valid variants.
        ("unchanged", "association.add-contactgegeven.json", |_| {}),
        (
            "an international phone",
            "association.add-contactgegeven.json",
            |m| {
                m["data"]["contactgegeventype"] = json!("Telefoon");
                m["data"]["waarde"] = json!("+32 (0)53/21.00.00");
            },
        ),
        (
            "a social media URL with query",
            "association.add-contactgegeven.json",
            |m| {
                m["data"]["contactgegeventype"] = json!("SocialMedia");
                m["data"]["waarde"] = json!("https://www.facebook.com/harmonie?ref=x#top");
            },
        ),
        (
            "a URL with a port",
            "association.add-contactgegeven.json",
            |m| {
                m["data"]["contactgegeventype"] = json!("Website");
                m["data"]["waarde"] = json!("http://harmonie-aalst.be:8080");
            },
        ),
        (
            "an e-mail with a plus",
            "association.add-contactgegeven.json",
            |m| {
                m["data"]["waarde"] = json!("an.peeters+bestuur@example.co.uk");
            },
        ),
        (
            "upper-case uuid",
            "association.add-contactgegeven.json",
            |m| {
                m["commandId"] = json!("B3E1F0A2-9C84-4D7E-A6B5-2F1E0D9C8B7A");
            },
        ),
        (
            "empty code lists",
            "association.change-basisgegevens.json",
            |m| {
                m["data"]["hoofdactiviteitenVerenigingsloket"] = json!([]);
                m["data"]["werkingsgebieden"] = json!([]);
            },
        ),
        ("NUTS codes", "association.change-basisgegevens.json", |m| {
            m["data"]["werkingsgebieden"] = json!(["BE2", "BE25", "BE255", "BE25535002"]);
        }),
        (
            "one bound of doelgroep",
            "association.change-basisgegevens.json",
            |m| {
                m["data"]["doelgroep"] = json!({"maximumleeftijd": 0});
            },
        ),
        ("an empty busnummer", "association.add-locatie.json", |m| {
            m["data"]["adres"]["busnummer"] = json!("");
        }),
        (
            "a change of only isPrimair",
            "association.change-locatie.json",
            |m| {
                m["data"] = json!({"locatieId": 2, "isPrimair": true});
            },
        ),
    ];
    // The schema refuses the malformed ones: so must the hub.
    for (what, base, mutate) in cases.iter().chain(MALFORMED) {
        let mut raw = example(base);
        mutate(&mut raw);
        let by_schema = schema.is_valid(&raw);
        let by_hub = parse(&raw);
        assert_eq!(
            by_schema,
            by_hub.is_ok(),
            "{what}: schema says {by_schema}, parse_command says {by_hub:?}"
        );
    }
    // Every example is valid for both.
    for name in [
        "association.change-basisgegevens.json",
        "association.change-basisgegevens.clear.json",
        "association.add-contactgegeven.json",
        "association.change-contactgegeven.json",
        "association.remove-contactgegeven.json",
        "association.add-locatie.json",
        "association.change-locatie.json",
        "association.remove-locatie.json",
    ] {
        let raw = example(name);
        assert!(schema.is_valid(&raw), "{name}");
        assert!(validate(&raw).is_empty(), "{name}");
        // And what parse_command returns is the example itself.
        assert_eq!(serde_json::to_value(parsed(&raw)).ok(), Some(raw), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// already_applied, against the register's example snapshot of V0001001
// ---------------------------------------------------------------------------------------

fn command(t: &str, data: Value) -> Command {
    parsed(&json!({
        "commandId": "6f1c2b7e-3d4a-4e59-9b8c-1a2d3e4f5a6b",
        "type": t,
        "vCode": "V0001001",
        "data": data
    }))
}

/// `command_type` commands with each of `yes` as their data count as already applied to
/// `v`, with each of `no` not, nor the type's example (`<command_type>.json`).
fn assert_applied(v: &Vereniging, command_type: &str, yes: &[Value], no: &[Value]) {
    for data in yes {
        let c = command(command_type, data.clone());
        assert!(already_applied(&c, v), "{command_type} {data}");
    }
    for data in no {
        let c = command(command_type, data.clone());
        assert!(!already_applied(&c, v), "{command_type} {data}");
    }
    let example = parsed(&example(&format!("{command_type}.json")));
    assert!(!already_applied(&example, v), "{command_type}: the example");
}

#[test]
fn already_applied_basisgegevens() {
    let v = snapshot();
    let t = "association.change-basisgegevens";
    let yes = [
        json!({"naam": "Koninklijke Harmonie Sint-Cecilia Aalst"}),
        json!({
            "naam": "Koninklijke Harmonie Sint-Cecilia Aalst ",
            "korteNaam": "KHSC",
            "korteBeschrijving": "Blaasorkest met een jeugdwerking",
            "startdatum": "1998-09-01",
            "doelgroep": {"minimumleeftijd": 8},
            "hoofdactiviteitenVerenigingsloket": ["KECU"],
            "werkingsgebieden": ["BE23041002"]
        }),
        json!({"doelgroep": {"minimumleeftijd": 8, "maximumleeftijd": 150}}),
    ];
    let no = [
        json!({"naam": "Harmonie Aalst"}),
        json!({"korteNaam": ""}),
        json!({"startdatum": null}),
        json!({"startdatum": "1998-09-02"}),
        json!({"doelgroep": {"maximumleeftijd": 99}}),
        json!({"hoofdactiviteitenVerenigingsloket": ["KECU", "JGDW"]}),
        json!({"hoofdactiviteitenVerenigingsloket": []}),
        json!({"werkingsgebieden": ["NVT"]}),
        json!({"naam": "Koninklijke Harmonie Sint-Cecilia Aalst", "korteNaam": "Harmonie"}),
    ];
    assert_applied(&v, t, &yes, &no);

    // Codes are compared as sets.
    let mut v2 = v.clone();
    v2.hoofdactiviteiten_verenigingsloket = serde_json::from_value(json!([
        {"code": "KECU", "naam": "Kunsten, Erfgoed & Cultuur"},
        {"code": "JGDW", "naam": "Jeugdwerk"}
    ]))
    .expect("codes");
    v2.startdatum = None;
    let c = command(
        t,
        json!({"hoofdactiviteitenVerenigingsloket": ["JGDW", "KECU"], "startdatum": null}),
    );
    assert!(already_applied(&c, &v2));
    assert!(!already_applied(&c, &v));
}

#[test]
fn already_applied_contacts() {
    let v = snapshot();
    assert_applied(
        &v,
        "association.add-contactgegeven",
        &[
            json!({"contactgegeventype": "E-mail", "waarde": "INFO@harmonie-aalst.be"}),
            json!({"contactgegeventype": "Website", "waarde": "https://www.harmonie-aalst.be", "beschrijving": "Site"}),
        ],
        // Same value, other type; or (the example) a value not there.
        &[json!({"contactgegeventype": "SocialMedia", "waarde": "https://www.harmonie-aalst.be"})],
    );
    assert_applied(
        &v,
        "association.change-contactgegeven",
        &[
            json!({"contactgegevenId": 1, "beschrijving": "Secretariaat", "isPrimair": true}),
            json!({"contactgegevenId": 2, "waarde": "https://www.harmonie-aalst.be"}),
        ],
        &[
            json!({"contactgegevenId": 1, "isPrimair": false}),
            json!({"contactgegevenId": 9, "beschrijving": ""}),
        ],
    );
    assert_applied(
        &v,
        "association.remove-contactgegeven",
        &[json!({"contactgegevenId": 3})],
        &[json!({"contactgegevenId": 2})],
    );
}

#[test]
fn already_applied_locations() {
    let v = snapshot();
    let gent = json!({
        "straatnaam": "Sint-Pietersnieuwstraat", "huisnummer": "41",
        "postcode": "9000", "gemeente": "gent", "land": "België"
    });
    let mut other = gent.clone();
    other["huisnummer"] = json!("43");
    let mut bus = gent.clone();
    bus["busnummer"] = json!("2");
    assert_applied(
        &v,
        "association.add-locatie",
        &[
            json!({"locatietype": "Activiteiten", "adres": gent.clone()}),
            json!({"locatietype": "Activiteiten", "naam": "Andere naam", "adres": gent.clone()}),
        ],
        // Same address, other type; another house number; a busnummer that is not there.
        &[
            json!({"locatietype": "Correspondentie", "adres": gent.clone()}),
            json!({"locatietype": "Activiteiten", "adres": other}),
            json!({"locatietype": "Activiteiten", "adres": bus}),
        ],
    );
    assert_applied(
        &v,
        "association.change-locatie",
        &[
            json!({"locatieId": 2, "naam": "Repetitielokaal", "isPrimair": true}),
            json!({"locatieId": 2, "locatietype": "Activiteiten", "adres": gent}),
        ],
        &[
            json!({"locatieId": 2, "locatietype": "Correspondentie"}),
            json!({"locatieId": 7, "naam": "Repetitielokaal"}),
        ],
    );
    assert_applied(
        &v,
        "association.remove-locatie",
        &[json!({"locatieId": 3})],
        &[json!({"locatieId": 1})],
    );
}

#[test]
fn a_snapshot_of_another_association_is_never_applied() {
    let mut v = snapshot();
    v.v_code = "V0001002".parse().expect("vCode");
    let c = command("association.remove-locatie", json!({"locatieId": 3}));
    assert!(!already_applied(&c, &v));
}

// ---------------------------------------------------------------------------------------
// The register's errors in the command's terms
// ---------------------------------------------------------------------------------------

#[test]
fn register_field_errors_map_to_the_commands_paths() {
    let fe = |field: &str, code: &str, reason: &str| FieldError {
        field: field.into(),
        code: code.into(),
        reason: reason.into(),
    };
    let mapped = rejected_by_register(&[
        fe(
            "contactgegeven.waarde",
            "ContactgegevenIsDuplicaat",
            "bestaat al",
        ),
        fe(
            "Contactgegeven.IsPrimair",
            "MeerderePrimaireContactgegevens",
            "twee primaire",
        ),
        fe("locatie.adres.postcode", "Ongeldig", "postcode"),
        fe("locatie", "DubbeleLocatie", "bestaat al"),
        fe("naam", "NotEmpty", "naam is verplicht"),
        fe("hoofdactiviteitenVerenigingsloket[0]", "Onbekend", "code"),
        fe("$.locatie.adres.huisnummer", "", "verplicht"),
        fe("", "", ""),
    ]);
    let fields: Vec<&str> = mapped.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "data.waarde",
            "data.isPrimair",
            "data.adres.postcode",
            "data",
            "data.naam",
            "data.hoofdactiviteitenVerenigingsloket[0]",
            "data.adres.huisnummer",
            "data",
        ]
    );
    assert_eq!(mapped[0].code, "ContactgegevenIsDuplicaat");
    assert_eq!(mapped[0].reason, "bestaat al");
    assert_eq!(mapped[6].code, "rejected-by-register");
    assert!(!mapped[7].code.is_empty() && !mapped[7].reason.is_empty());
}
