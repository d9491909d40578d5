//! Keeps the checked-in JSON Schemas, the example messages and the Rust wire types in step.
//!
//! - every example validates against the schema of its type (matched by file name prefix);
//! - every example is exactly what the Rust type emits after a round trip, and that still
//!   validates;
//! - the schemas describe exactly the keys serde emits (no more, no fewer, the right ones
//!   required);
//! - stray or malformed fields (a leaked INSZ, a bad vCode, a null name, …) are rejected;
//! - a real register document turned into a message validates.

use contracts::register::Status;
use contracts::{
    AssociationChanged, AssociationRemoved, Crossing, Insz, MessageType, Metadata, Part,
    TerritoryNotice, VerenigingDetail,
};
use serde_json::{json, Value};

mod common;

use common::{
    assert_examples_present, assert_examples_round_trip, assert_invalid, assert_mutation_invalid,
    assert_properties_described, assert_schema_document, assert_valid, round_trip, Examples,
    RoundTrip, Schema,
};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

impl Schema for MessageType {
    fn schema_text(self) -> &'static str {
        contracts::schema(self)
    }
}

/// The examples under `examples/messages/`: each file name starts with `<type>.`.
impl Examples for MessageType {
    const FOLDER: &'static str = "messages";
    const UNNAMED: &'static str = "does not start with a known message type";
    const KINDS: &'static [MessageType] = &MessageType::ALL;

    fn prefix(self) -> &'static str {
        self.as_str()
    }
}

impl RoundTrip for MessageType {
    fn round_trip(self, value: &Value) -> Result<Value, serde_json::Error> {
        match self {
            MessageType::AssociationChanged => round_trip::<AssociationChanged>(value),
            MessageType::AssociationRemoved => round_trip::<AssociationRemoved>(value),
            MessageType::AssociationEnteredTerritory | MessageType::AssociationLeftTerritory => {
                round_trip::<TerritoryNotice>(value)
            }
        }
    }
}

/// Every value of key `key` anywhere in `v`.
fn find_key<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == key {
                    out.push(child);
                }
                find_key(child, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| find_key(i, key, out)),
        _ => {}
    }
}

fn register_detail() -> VerenigingDetail {
    let raw = include_str!("../examples/register/detail-V0001001.json");
    serde_json::from_str(raw).expect("register example parses")
}

fn metadata(t: MessageType, v_code: &str) -> Metadata {
    Metadata {
        message_id: uuid::Uuid::new_v4(),
        message_type: t,
        time: time::macros::datetime!(2026-11-02 14:03:11.250 +01:00),
        source: "hub/register".into(),
        correlation_id: uuid::Uuid::new_v4(),
        v_code: v_code.parse().expect("vCode"),
        sequence: 48_100,
        version: Some(12),
    }
}

// ---------------------------------------------------------------------------------------
// The schemas themselves
// ---------------------------------------------------------------------------------------

#[test]
fn schemas_are_valid_draft_2020_12_documents_with_descriptions() {
    for t in MessageType::ALL {
        let schema = assert_schema_document(t);
        assert_properties_described(t, &schema);
    }
}

#[test]
fn format_validation_is_switched_on() {
    // Without `should_validate_formats` these would pass silently, and the schemas' `uuid`,
    // `date` and `date-time` formats would check nothing.
    let mut msg = MessageType::example("association.removed.json");
    assert_valid(MessageType::AssociationRemoved, &msg, "removed example");
    msg["metadata"]["messageId"] = json!("not-a-uuid");
    assert_invalid(
        MessageType::AssociationRemoved,
        &msg,
        "messageId not a uuid",
    );
    let mut msg = MessageType::example("association.removed.json");
    msg["metadata"]["time"] = json!("4 november 2026");
    assert_invalid(
        MessageType::AssociationRemoved,
        &msg,
        "time not a date-time",
    );
}

// ---------------------------------------------------------------------------------------
// (a) examples against their schemas
// ---------------------------------------------------------------------------------------

#[test]
fn every_example_validates_against_its_schema() {
    let all = MessageType::examples();
    assert_examples_present(
        &all,
        &[
            "association.changed.json",
            "association.changed.minimised.json",
            "association.changed.no-representatives.json",
            "association.removed.json",
            "association.entered-territory.json",
            "association.left-territory.json",
        ],
    );
    for t in MessageType::ALL {
        assert!(
            all.iter().any(|(_, et, _)| *et == t),
            "no example for {t:?}"
        );
    }
    for (name, t, value) in &all {
        assert_valid(*t, value, name);
        assert_eq!(
            value["metadata"]["type"],
            t.as_str(),
            "{name}: metadata.type"
        );
    }
}

#[test]
fn examples_do_not_validate_against_the_other_schema() {
    // Guards against schemas so loose that any message passes.
    for (name, t, value) in MessageType::examples() {
        for other in t.others() {
            assert_invalid(other, &value, &name);
        }
    }
}

// ---------------------------------------------------------------------------------------
// (b) round trip through the Rust types
// ---------------------------------------------------------------------------------------

#[test]
fn every_example_round_trips_through_the_rust_type_unchanged() {
    assert_examples_round_trip::<MessageType>();
}

// ---------------------------------------------------------------------------------------
// The examples are realistic and consistent with each other
// ---------------------------------------------------------------------------------------

#[test]
fn example_insz_are_valid_national_numbers_and_only_in_the_full_form() {
    let full = MessageType::example("association.changed.json");
    let mut found = Vec::new();
    find_key(&full, "insz", &mut found);
    assert!(!found.is_empty(), "the full example carries INSZ");
    for insz in found {
        let s = insz.as_str().expect("insz is a string");
        assert!(
            s.parse::<Insz>().is_ok(),
            "an example INSZ fails the mod-97 check"
        );
    }
    for name in [
        "association.changed.minimised.json",
        "association.changed.no-representatives.json",
        "association.removed.json",
    ] {
        let msg = MessageType::example(name);
        let mut found = Vec::new();
        find_key(&msg, "insz", &mut found);
        assert!(found.is_empty(), "{name} must carry no insz");
    }
}

#[test]
fn minimised_examples_are_the_full_example_with_the_policy_applied() {
    let full = MessageType::example("association.changed.json");

    let mut expected = full.clone();
    for v in expected["vereniging"]["vertegenwoordigers"]
        .as_array_mut()
        .expect("vertegenwoordigers")
    {
        v.as_object_mut().expect("object").remove("insz");
    }
    expected["withheld"] = json!(["vertegenwoordigers[].insz"]);
    assert_eq!(
        MessageType::example("association.changed.minimised.json"),
        expected
    );

    let mut expected = full;
    expected["vereniging"]["vertegenwoordigers"] = json!([]);
    expected["withheld"] = json!(["vertegenwoordigers"]);
    // A receiver without the representatives grant does not see them change either
    // (adapters/subscriber FieldPolicy::apply).
    expected["changedParts"] = json!(["contactgegevens"]);
    assert_eq!(
        MessageType::example("association.changed.no-representatives.json"),
        expected
    );
}

// ---------------------------------------------------------------------------------------
// The schemas describe exactly what serde emits
// ---------------------------------------------------------------------------------------

/// [`common::assert_def_matches`], and every message def lists its `required` keys.
fn assert_def_matches(def: &Value, def_name: &str, instance: &Value, optional: &[&str]) {
    assert!(def["required"].is_array(), "{def_name}: no required");
    common::assert_def_matches(def, def_name, instance, optional);
}

#[test]
fn association_changed_schema_describes_exactly_what_serde_emits() {
    // A message with every optional field present.
    let mut msg: AssociationChanged =
        serde_json::from_value(MessageType::example("association.changed.json")).expect("example");
    // (The example's erkenningen are empty, so withholding them is consistent.)
    msg.withheld = vec!["erkenningen".into()];
    assert!(msg.metadata.version.is_some());
    assert!(msg
        .vereniging
        .vertegenwoordigers
        .iter()
        .all(|v| v.insz.is_some()));
    let out = serde_json::to_value(&msg).expect("serialises");
    let schema = MessageType::AssociationChanged.schema_value();
    let defs = &schema["$defs"];
    let v = "/vereniging";
    let cases: [(&str, &Value, &str, &[&str]); 12] = [
        ("(top)", &schema, "", &["withheld"]),
        ("metadata", &defs["metadata"], "/metadata", &["version"]),
        ("vereniging", &defs["vereniging"], v, &[]),
        (
            "verenigingstype",
            &defs["verenigingstype"],
            "/vereniging/verenigingstype",
            &[],
        ),
        (
            "doelgroep",
            &defs["doelgroep"],
            "/vereniging/doelgroep",
            &[],
        ),
        (
            "contactgegeven",
            &defs["contactgegeven"],
            "/vereniging/contactgegevens/0",
            &[],
        ),
        ("locatie", &defs["locatie"], "/vereniging/locaties/0", &[]),
        ("adres", &defs["adres"], "/vereniging/locaties/0/adres", &[]),
        (
            "adresId",
            &defs["adresId"],
            "/vereniging/locaties/0/adresId",
            &[],
        ),
        (
            "vertegenwoordiger",
            &defs["vertegenwoordiger"],
            "/vereniging/vertegenwoordigers/0",
            &["insz"],
        ),
        (
            "codeNaam",
            &defs["codeNaam"],
            "/vereniging/hoofdactiviteitenVerenigingsloket/0",
            &[],
        ),
        ("sleutel", &defs["sleutel"], "/vereniging/sleutels/0", &[]),
    ];
    for (name, def, pointer, optional) in cases {
        let instance = out
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} missing in the serialised example"));
        assert_def_matches(def, name, instance, optional);
    }
    assert_valid(
        MessageType::AssociationChanged,
        &out,
        "fully populated message",
    );

    // The optional fields really are left out when empty, and that validates too.
    msg.withheld.clear();
    msg.metadata.version = None;
    msg.vereniging
        .vertegenwoordigers
        .iter_mut()
        .for_each(|v| v.insz = None);
    let out = serde_json::to_value(&msg).expect("serialises");
    assert!(out.get("withheld").is_none());
    assert!(out["metadata"].get("version").is_none());
    assert!(out["vereniging"]["vertegenwoordigers"][0]
        .get("insz")
        .is_none());
    assert_valid(
        MessageType::AssociationChanged,
        &out,
        "message without optional fields",
    );
}

#[test]
fn association_removed_schema_describes_exactly_what_serde_emits() {
    let msg = AssociationRemoved {
        metadata: metadata(MessageType::AssociationRemoved, "V0001021"),
    };
    let out = serde_json::to_value(&msg).expect("serialises");
    let schema = MessageType::AssociationRemoved.schema_value();
    assert_def_matches(&schema, "(top)", &out, &[]);
    assert_def_matches(
        &schema["$defs"]["metadata"],
        "metadata",
        &out["metadata"],
        &["version"],
    );
    assert_valid(MessageType::AssociationRemoved, &out, "removed message");
}

#[test]
fn territory_notice_schemas_describe_exactly_what_serde_emits() {
    let cause = metadata(MessageType::AssociationChanged, "V0001001");
    for (crossing, t) in [
        (Crossing::Entered, MessageType::AssociationEnteredTerritory),
        (Crossing::Left, MessageType::AssociationLeftTerritory),
    ] {
        let notice = TerritoryNotice::for_change(&cause, "aalst", crossing);
        let out = serde_json::to_value(&notice).expect("serialises");
        let schema = t.schema_value();
        assert_def_matches(&schema, "(top)", &out, &[]);
        assert_def_matches(
            &schema["$defs"]["metadata"],
            "metadata",
            &out["metadata"],
            &["version"],
        );
        assert_valid(t, &out, "territory notice");
        let mut found = Vec::new();
        find_key(&out, "vereniging", &mut found);
        assert!(found.is_empty(), "a notice carries no association data");
        let mut bad = out.clone();
        bad["territory"] = json!("Aalst!");
        assert_invalid(t, &bad, "a territory that is no adapter name");
        let mut leaked = out.clone();
        leaked["vereniging"] = json!({"naam": "x"});
        assert_invalid(t, &leaked, "a notice with association data");
    }
}

#[test]
fn every_schema_shares_the_same_metadata_shape() {
    let shape = |t: MessageType| {
        let mut m = t.schema_value()["$defs"]["metadata"].clone();
        // Only the type constant and the wording may differ.
        for prop in m["properties"]
            .as_object_mut()
            .expect("properties")
            .values_mut()
        {
            prop.as_object_mut().expect("object").remove("description");
        }
        m["properties"]["type"] = Value::Null;
        m
    };
    let changed = MessageType::AssociationChanged.schema_value();
    for t in MessageType::ALL {
        assert_eq!(shape(MessageType::AssociationChanged), shape(t), "{t:?}");
        assert_eq!(
            changed["$defs"]["vCode"]["pattern"],
            t.schema_value()["$defs"]["vCode"]["pattern"]
        );
    }
}

#[test]
fn enums_match_the_rust_enums() {
    let schema = MessageType::AssociationChanged.schema_value();
    let parts = serde_json::to_value(Part::ALL).expect("serialises");
    assert_eq!(
        schema["$defs"]["part"]["enum"], parts,
        "changedParts enum vs Part::ALL"
    );

    let statuses = schema["$defs"]["vereniging"]["properties"]["status"]["enum"]
        .as_array()
        .expect("status enum");
    assert_eq!(statuses.len(), 3);
    for s in statuses {
        let status: Status = serde_json::from_value(s.clone())
            .unwrap_or_else(|e| panic!("schema status {s} is not a Rust Status: {e}"));
        assert_eq!(&serde_json::to_value(status).expect("serialises"), s);
    }
    for t in MessageType::ALL {
        assert_eq!(
            t.schema_value()["$defs"]["metadata"]["properties"]["type"]["const"],
            serde_json::to_value(t).expect("serialises")
        );
    }
}

// ---------------------------------------------------------------------------------------
// (c) what must be rejected
// ---------------------------------------------------------------------------------------

type Mutation = (&'static str, fn(&mut Value));

fn set_at(v: &mut Value, pointer: &str, new: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} not in the example")) = new;
}

fn insert_at(v: &mut Value, pointer: &str, key: &str, new: Value) {
    v.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{pointer} is not an object in the example"))
        .insert(key.to_owned(), new);
}

fn remove_at(v: &mut Value, pointer: &str, key: &str) {
    let removed = v
        .pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .and_then(|o| o.remove(key));
    assert!(removed.is_some(), "{pointer}/{key} not in the example");
}

const INSZ: &str = "92030421764";

#[test]
fn association_changed_rejects_stray_and_malformed_fields() {
    let base = MessageType::example("association.changed.json");
    assert_valid(MessageType::AssociationChanged, &base, "the unchanged base");
    let cases: &[Mutation] = &[
        ("insz at the top level", |m| {
            insert_at(m, "", "insz", json!(INSZ))
        }),
        ("insz in metadata", |m| {
            insert_at(m, "/metadata", "insz", json!(INSZ))
        }),
        ("insz in vereniging", |m| {
            insert_at(m, "/vereniging", "insz", json!(INSZ))
        }),
        ("insz in a locatie", |m| {
            insert_at(m, "/vereniging/locaties/0", "insz", json!(INSZ))
        }),
        ("insz in an adres", |m| {
            insert_at(m, "/vereniging/locaties/0/adres", "insz", json!(INSZ))
        }),
        ("insz in a contactgegeven", |m| {
            insert_at(m, "/vereniging/contactgegevens/0", "insz", json!(INSZ))
        }),
        ("an unknown field in vereniging", |m| {
            insert_at(
                m,
                "/vereniging",
                "@id",
                json!("https://data.vlaanderen.be/id/verenigingen/V0034567"),
            )
        }),
        ("missing metadata.messageId", |m| {
            remove_at(m, "/metadata", "messageId")
        }),
        ("missing metadata.sequence", |m| {
            remove_at(m, "/metadata", "sequence")
        }),
        ("missing changedParts", |m| remove_at(m, "", "changedParts")),
        ("missing vereniging", |m| remove_at(m, "", "vereniging")),
        ("missing vereniging.naam", |m| {
            remove_at(m, "/vereniging", "naam")
        }),
        ("metadata.messageId not a uuid", |m| {
            set_at(m, "/metadata/messageId", json!("msg-1"))
        }),
        ("metadata.time not a date-time", |m| {
            set_at(m, "/metadata/time", json!("2026-11-03 08:15"))
        }),
        ("metadata.type of the other message", |m| {
            set_at(m, "/metadata/type", json!("association.removed"))
        }),
        ("a negative sequence", |m| {
            set_at(m, "/metadata/sequence", json!(-1))
        }),
        ("a sequence as a string", |m| {
            set_at(m, "/metadata/sequence", json!("48213"))
        }),
        ("a bad vCode in metadata", |m| {
            set_at(m, "/metadata/vCode", json!("V34567"))
        }),
        ("a lower-case vCode in metadata", |m| {
            set_at(m, "/metadata/vCode", json!("v0034567"))
        }),
        ("a bad vCode in vereniging", |m| {
            set_at(m, "/vereniging/vCode", json!("X0034567"))
        }),
        ("an unknown changedPart", |m| {
            set_at(m, "/changedParts/0", json!("bestuur"))
        }),
        ("a changedPart in Rust spelling", |m| {
            set_at(m, "/changedParts/0", json!("Contactgegevens"))
        }),
        ("a repeated changedPart", |m| {
            set_at(m, "/changedParts/1", json!("contactgegevens"))
        }),
        ("a null naam", |m| {
            set_at(m, "/vereniging/naam", Value::Null)
        }),
        ("a null korteNaam", |m| {
            set_at(m, "/vereniging/korteNaam", Value::Null)
        }),
        ("a null verenigingstype.naam", |m| {
            set_at(m, "/vereniging/verenigingstype/naam", Value::Null)
        }),
        ("a null voornaam", |m| {
            set_at(m, "/vereniging/vertegenwoordigers/0/voornaam", Value::Null)
        }),
        ("a null collection", |m| {
            set_at(m, "/vereniging/contactgegevens", Value::Null)
        }),
        ("a null relaties", |m| {
            set_at(m, "/vereniging/relaties", Value::Null)
        }),
        ("a number as naam", |m| {
            set_at(m, "/vereniging/naam", json!(42))
        }),
        ("an unknown status", |m| {
            set_at(m, "/vereniging/status", json!("Verdwenen"))
        }),
        ("a startdatum in another format", |m| {
            set_at(m, "/vereniging/startdatum", json!("15/09/1962"))
        }),
        ("a startdatum that is no date", |m| {
            set_at(m, "/vereniging/startdatum", json!("1962-02-30"))
        }),
        ("an insz of 10 digits", |m| {
            set_at(
                m,
                "/vereniging/vertegenwoordigers/0/insz",
                json!("9203042176"),
            )
        }),
        ("an insz with dots", |m| {
            set_at(
                m,
                "/vereniging/vertegenwoordigers/0/insz",
                json!("92.03.04-217.64"),
            )
        }),
        ("e_mail instead of e-mail", |m| {
            let v = m
                .pointer_mut("/vereniging/vertegenwoordigers/0")
                .and_then(Value::as_object_mut);
            let v = v.expect("representative");
            let mail = v.remove("e-mail").expect("e-mail");
            v.insert("eMail".into(), mail);
        }),
        ("a null doelgroep", |m| {
            set_at(m, "/vereniging/doelgroep", Value::Null)
        }),
        ("an empty withheld", |m| {
            insert_at(m, "", "withheld", json!([]))
        }),
        ("a withheld that is no field path", |m| {
            insert_at(m, "", "withheld", json!(["insz; drop"]))
        }),
        ("insz present though withheld", |m| {
            insert_at(m, "", "withheld", json!(["vertegenwoordigers[].insz"]))
        }),
        ("representatives present though withheld", |m| {
            insert_at(m, "", "withheld", json!(["vertegenwoordigers"]))
        }),
    ];
    for (what, mutate) in cases {
        assert_mutation_invalid(MessageType::AssociationChanged, &base, what, mutate);
    }
}

#[test]
fn minimised_examples_reject_the_data_they_withhold() {
    let mut msg = MessageType::example("association.changed.minimised.json");
    insert_at(
        &mut msg,
        "/vereniging/vertegenwoordigers/0",
        "insz",
        json!(INSZ),
    );
    assert_invalid(
        MessageType::AssociationChanged,
        &msg,
        "minimised with an insz",
    );

    let full = MessageType::example("association.changed.json");
    let mut msg = MessageType::example("association.changed.no-representatives.json");
    msg["vereniging"]["vertegenwoordigers"] = json!([full["vereniging"]["vertegenwoordigers"][1]
        .as_object()
        .map(|o| {
            let mut o = o.clone();
            o.remove("insz");
            o
        })]);
    assert_invalid(
        MessageType::AssociationChanged,
        &msg,
        "no-representatives with one",
    );
}

#[test]
fn association_removed_rejects_stray_and_malformed_fields() {
    let base = MessageType::example("association.removed.json");
    assert_valid(MessageType::AssociationRemoved, &base, "the unchanged base");
    let cases: &[Mutation] = &[
        ("insz at the top level", |m| {
            insert_at(m, "", "insz", json!(INSZ))
        }),
        ("insz in metadata", |m| {
            insert_at(m, "/metadata", "insz", json!(INSZ))
        }),
        ("association data", |m| {
            insert_at(m, "", "vereniging", json!({"vCode": "V0001021"}))
        }),
        ("missing metadata.messageId", |m| {
            remove_at(m, "/metadata", "messageId")
        }),
        ("missing metadata", |m| remove_at(m, "", "metadata")),
        ("metadata.type of the other message", |m| {
            set_at(m, "/metadata/type", json!("association.changed"))
        }),
        ("a bad vCode", |m| {
            set_at(m, "/metadata/vCode", json!("V00010211"))
        }),
        ("a negative version", |m| {
            insert_at(m, "/metadata", "version", json!(-3))
        }),
    ];
    for (what, mutate) in cases {
        assert_mutation_invalid(MessageType::AssociationRemoved, &base, what, mutate);
    }
}

// ---------------------------------------------------------------------------------------
// (d) a real register document, as the hub would publish it
// ---------------------------------------------------------------------------------------

#[test]
fn the_register_example_as_association_changed_validates() {
    let detail = register_detail();
    let mut msg = AssociationChanged {
        metadata: metadata(MessageType::AssociationChanged, "V0001001"),
        changed_parts: Part::ALL.to_vec(),
        withheld: Vec::new(),
        vereniging: detail.vereniging,
    };
    let out = serde_json::to_value(&msg).expect("serialises");
    assert_valid(
        MessageType::AssociationChanged,
        &out,
        "register example, full",
    );
    // The JSON-LD keys and the register's extra fields do not leak through.
    let mut ld = Vec::new();
    find_key(&out, "@id", &mut ld);
    assert!(ld.is_empty(), "JSON-LD keys leaked into the message");
    // Nulls the register may send survive as nulls and validate.
    assert_eq!(out["vereniging"]["einddatum"], Value::Null);
    assert_eq!(out["vereniging"]["locaties"][1]["adresId"], Value::Null);

    // The same, with the INSZ withheld as for a receiver without the grant.
    msg.vereniging
        .vertegenwoordigers
        .iter_mut()
        .for_each(|v| v.insz = None);
    msg.withheld = vec!["vertegenwoordigers[].insz".into()];
    let out = serde_json::to_value(&msg).expect("serialises");
    assert_valid(
        MessageType::AssociationChanged,
        &out,
        "register example, minimised",
    );

    // And as the message a receiver gets once the register answers 404.
    let removed = AssociationRemoved {
        metadata: metadata(MessageType::AssociationRemoved, "V0001001"),
    };
    let out = serde_json::to_value(&removed).expect("serialises");
    assert_valid(
        MessageType::AssociationRemoved,
        &out,
        "removal of the register example",
    );
}
