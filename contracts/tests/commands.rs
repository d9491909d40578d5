//! Keeps the municipality command and reply schemas, their examples and the Rust types in
//! step:
//!
//! - both schemas are valid draft 2020-12 documents, every property described;
//! - every example under `examples/commands/` validates against its schema (`association.*`
//!   commands, `reply.*` replies), and not against the other;
//! - every example round-trips through `Command` / `Reply` unchanged;
//! - the schemas list exactly the keys serde emits, and their enums match the Rust enums;
//! - malformed commands and inconsistent replies are rejected (by the schema, and where the
//!   shape is wrong, by serde too).

use std::collections::BTreeSet;

use contracts::commands::{
    AddContactgegeven, AddLocatie, ChangeBasisgegevens, ChangeContactgegeven, ChangeLocatie,
    CommandAdres, ContactgegevenType, DoelgroepChange, LocatieType, RemoveContactgegeven,
    RemoveLocatie, CHANGE_BASISGEGEVENS_FIELDS, COMMAND_SCHEMA, HOOFDACTIVITEITEN_VERENIGINGSLOKET,
    REPLY_SCHEMA,
};
use contracts::{Command, CommandData, CommandType, Outcome, Reply, ReplyError};
use serde_json::{json, Value};

mod common;

use common::{
    assert_def_matches, assert_examples_present, assert_examples_round_trip, assert_invalid,
    assert_mutation_invalid, assert_properties_described, assert_schema_document, assert_valid,
    round_trip, strings, Examples, RoundTrip, Schema,
};

mod cases;

use cases::malformed_commands::{case, Mutation, MALFORMED};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Reply,
}

impl Kind {
    fn file_name(self) -> &'static str {
        match self {
            Kind::Command => "municipality.command.v1.json",
            Kind::Reply => "municipality.reply.v1.json",
        }
    }
}

impl Schema for Kind {
    fn schema_text(self) -> &'static str {
        match self {
            Kind::Command => COMMAND_SCHEMA,
            Kind::Reply => REPLY_SCHEMA,
        }
    }
}

/// The examples under `examples/commands/`: `association.*` commands, `reply.*` replies.
impl Examples for Kind {
    const FOLDER: &'static str = "commands";
    const UNNAMED: &'static str = "neither association.* nor reply.*";
    const KINDS: &'static [Kind] = &[Kind::Command, Kind::Reply];

    fn prefix(self) -> &'static str {
        match self {
            Kind::Command => "association",
            Kind::Reply => "reply",
        }
    }
}

impl RoundTrip for Kind {
    fn round_trip(self, value: &Value) -> Result<Value, serde_json::Error> {
        match self {
            Kind::Command => round_trip::<Command>(value),
            Kind::Reply => round_trip::<Reply>(value),
        }
    }
}

fn time() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-05 09:12:44.318 UTC)
}

fn uuid(s: &str) -> uuid::Uuid {
    s.parse().expect("uuid")
}

fn adres() -> CommandAdres {
    CommandAdres {
        straatnaam: "Kerkstraat".into(),
        huisnummer: "12".into(),
        busnummer: Some("B".into()),
        postcode: "9300".into(),
        gemeente: "Aalst".into(),
        land: "België".into(),
    }
}

/// One command per type with every optional field present.
fn full_commands() -> Vec<Command> {
    let datas = vec![
        CommandData::ChangeBasisgegevens(ChangeBasisgegevens {
            naam: Some("Harmonie".into()),
            korte_naam: Some("KHSC".into()),
            korte_beschrijving: Some("Blaasorkest".into()),
            startdatum: Some(Some(time::macros::date!(1998 - 09 - 01))),
            doelgroep: Some(DoelgroepChange {
                minimumleeftijd: Some(6),
                maximumleeftijd: Some(99),
            }),
            hoofdactiviteiten_verenigingsloket: Some(vec!["KECU".into()]),
            werkingsgebieden: Some(vec!["BE23041002".into()]),
        }),
        CommandData::AddContactgegeven(AddContactgegeven {
            contactgegeventype: ContactgegevenType::Telefoon,
            waarde: "053 21 00 00".into(),
            beschrijving: Some("Bar".into()),
            is_primair: Some(true),
        }),
        CommandData::ChangeContactgegeven(ChangeContactgegeven {
            contactgegeven_id: 1,
            waarde: Some("info@example.be".into()),
            beschrijving: Some("".into()),
            is_primair: Some(false),
        }),
        CommandData::RemoveContactgegeven(RemoveContactgegeven {
            contactgegeven_id: 1,
        }),
        CommandData::AddLocatie(AddLocatie {
            locatietype: LocatieType::Activiteiten,
            is_primair: Some(true),
            naam: Some("Zaal".into()),
            adres: adres(),
        }),
        CommandData::ChangeLocatie(ChangeLocatie {
            locatie_id: 2,
            locatietype: Some(LocatieType::Correspondentie),
            is_primair: Some(false),
            naam: Some("".into()),
            adres: Some(adres()),
        }),
        CommandData::RemoveLocatie(RemoveLocatie { locatie_id: 2 }),
    ];
    datas
        .into_iter()
        .map(|data| Command {
            command_id: uuid("6f1c2b7e-3d4a-4e59-9b8c-1a2d3e4f5a6b"),
            v_code: "V0001001".parse().expect("vCode"),
            expected_version: Some(4),
            correlation_id: Some(uuid("2a9e7c14-5b3d-4f68-8e21-9c0b7a6d5e43")),
            data,
        })
        .collect()
}

fn def_name(t: CommandType) -> &'static str {
    match t {
        CommandType::ChangeBasisgegevens => "changeBasisgegevens",
        CommandType::AddContactgegeven => "addContactgegeven",
        CommandType::ChangeContactgegeven => "changeContactgegeven",
        CommandType::RemoveContactgegeven => "removeContactgegeven",
        CommandType::AddLocatie => "addLocatie",
        CommandType::ChangeLocatie => "changeLocatie",
        CommandType::RemoveLocatie => "removeLocatie",
    }
}

// ---------------------------------------------------------------------------------------
// The schemas themselves
// ---------------------------------------------------------------------------------------

#[test]
fn schemas_are_valid_draft_2020_12_documents_with_descriptions() {
    for kind in [Kind::Command, Kind::Reply] {
        let schema = assert_schema_document(kind);
        let id = schema["$id"].as_str().expect("$id");
        assert!(
            id.ends_with(&format!("/{}", kind.file_name())),
            "{kind:?}: $id {id}"
        );
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_properties_described(kind, &schema);
    }
}

#[test]
fn schema_enums_match_the_rust_enums() {
    let schema = Kind::Command.schema_value();
    let types: BTreeSet<String> = CommandType::ALL
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    assert_eq!(strings(&schema["properties"]["type"]["enum"]), types);
    // Every type has its branch in allOf, pointing at its own data definition.
    for t in CommandType::ALL {
        let branch = schema["allOf"]
            .as_array()
            .expect("allOf")
            .iter()
            .find(|b| b["if"]["properties"]["type"]["const"] == t.as_str())
            .unwrap_or_else(|| panic!("{t:?}: no allOf branch"));
        assert_eq!(
            branch["then"]["properties"]["data"]["$ref"],
            format!("#/$defs/{}", def_name(t)),
            "{t:?}"
        );
    }
    let defs = &schema["$defs"];
    let contact: BTreeSet<String> = ContactgegevenType::ALL
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    assert_eq!(
        strings(&defs["addContactgegeven"]["properties"]["contactgegeventype"]["enum"]),
        contact
    );
    let locatie: BTreeSet<String> = LocatieType::ALL
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    assert_eq!(strings(&defs["locatietype"]["enum"]), locatie);
    let codes: BTreeSet<String> = HOOFDACTIVITEITEN_VERENIGINGSLOKET
        .iter()
        .map(|(c, _)| (*c).to_owned())
        .collect();
    assert_eq!(codes.len(), 21);
    assert_eq!(
        strings(
            &defs["changeBasisgegevens"]["properties"]["hoofdactiviteitenVerenigingsloket"]
                ["items"]["enum"]
        ),
        codes
    );
    let outcomes: BTreeSet<String> = [Outcome::Accepted, Outcome::Rejected, Outcome::Conflicted]
        .iter()
        .map(|o| {
            serde_json::to_value(o)
                .expect("outcome")
                .as_str()
                .expect("string")
                .to_owned()
        })
        .collect();
    assert_eq!(
        strings(&Kind::Reply.schema_value()["properties"]["outcome"]["enum"]),
        outcomes
    );
}

#[test]
fn command_schema_describes_exactly_what_serde_emits() {
    let schema = Kind::Command.schema_value();
    let defs = &schema["$defs"];
    for command in full_commands() {
        let t = command.command_type();
        let out = serde_json::to_value(&command).expect("serialises");
        assert_def_matches(
            &schema,
            "(top)",
            &out,
            &["expectedVersion", "correlationId"],
        );
        let optional: &[&str] = match t {
            CommandType::ChangeBasisgegevens => &CHANGE_BASISGEGEVENS_FIELDS,
            CommandType::AddContactgegeven => &["beschrijving", "isPrimair"],
            CommandType::ChangeContactgegeven => &["waarde", "beschrijving", "isPrimair"],
            CommandType::AddLocatie => &["isPrimair", "naam"],
            CommandType::ChangeLocatie => &["locatietype", "isPrimair", "naam", "adres"],
            CommandType::RemoveContactgegeven | CommandType::RemoveLocatie => &[],
        };
        assert_def_matches(&defs[def_name(t)], def_name(t), &out["data"], optional);
        if let Some(adres) = out["data"].get("adres") {
            assert_def_matches(&defs["adres"], "adres", adres, &["busnummer"]);
        }
        if let Some(doelgroep) = out["data"].get("doelgroep") {
            assert_def_matches(
                &defs["doelgroep"],
                "doelgroep",
                doelgroep,
                &["minimumleeftijd", "maximumleeftijd"],
            );
        }
        assert_valid(Kind::Command, &out, &format!("full {t:?}"));
        let back: Command = serde_json::from_value(out).expect("reads back");
        assert_eq!(back, command, "{t:?}: round trip");
    }
}

#[test]
fn reply_schema_describes_exactly_what_serde_emits() {
    let command = full_commands().remove(0);
    let mut reply = Reply::accepted(&command, 5, Some(48_215), time());
    // Every field at once (not a valid combination, only to compare the key sets).
    reply.errors = vec![ReplyError::new("data.naam", "empty", "naam is empty")];
    reply.detail = Some("x".into());
    let out = serde_json::to_value(&reply).expect("serialises");
    let schema = Kind::Reply.schema_value();
    assert_def_matches(
        &schema,
        "(top)",
        &out,
        &["vCode", "version", "sequence", "errors", "detail"],
    );
    assert_def_matches(&schema["$defs"]["error"], "error", &out["errors"][0], &[]);
}

// ---------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------

#[test]
fn every_example_validates_against_its_schema_and_not_the_other() {
    let all = Kind::examples();
    for t in CommandType::ALL {
        assert!(
            all.iter()
                .any(|(n, _, _)| n == &format!("{}.json", t.as_str())),
            "no example for {t:?}"
        );
    }
    assert_examples_present(
        &all,
        &[
            "reply.accepted.json",
            "reply.accepted.no-op.json",
            "reply.rejected.json",
            "reply.conflicted.json",
        ],
    );
    for (name, kind, value) in &all {
        assert_valid(*kind, value, name);
        for other in kind.others() {
            assert_invalid(other, value, name);
        }
        if *kind == Kind::Command {
            let t = value["type"].as_str().expect("type");
            assert!(name.starts_with(&format!("{t}.")), "{name}: type {t}");
        }
    }
}

#[test]
fn every_example_round_trips_through_the_rust_type_unchanged() {
    assert_examples_round_trip::<Kind>();
}

#[test]
fn reply_constructors_produce_valid_replies() {
    let command: Command =
        serde_json::from_value(Kind::example("association.add-contactgegeven.json"))
            .expect("command");
    let replies = [
        Reply::accepted(&command, 5, Some(48_215), time()),
        Reply::accepted(&command, 5, None, time()),
        Reply::conflicted(&command, "changed since version 4", Some(6), time()),
        Reply::conflicted(&command, "changed since version 4", None, time()),
        Reply::rejected(
            &command,
            vec![ReplyError::new(
                "data.waarde",
                "ContactgegevenIsDuplicaat",
                "exists",
            )],
            "refused by the register",
            time(),
        ),
        Reply::rejected(&command, Vec::new(), "no such association", time()),
        Reply::rejected_invalid(
            command.command_id,
            None,
            None,
            vec![ReplyError::new("vCode", "invalid-vcode", "not a vCode")],
            "invalid",
            time(),
        ),
    ];
    for reply in replies {
        let out = serde_json::to_value(&reply).expect("serialises");
        assert_valid(Kind::Reply, &out, &format!("{reply:?}"));
        let back: Reply = serde_json::from_value(out).expect("reads back");
        assert_eq!(back, reply);
    }
    let accepted = Reply::accepted(&command, 5, None, time());
    assert_eq!(accepted.correlation_id, command.command_id);
    let invalid = Reply::rejected_invalid(
        command.command_id,
        None,
        None,
        vec![ReplyError::new("vCode", "required", "vCode is missing")],
        "invalid",
        time(),
    );
    assert_eq!(invalid.correlation_id, command.command_id);
}

// ---------------------------------------------------------------------------------------
// Bad commands and replies are rejected
// ---------------------------------------------------------------------------------------

#[test]
fn malformed_commands_are_rejected_by_the_schema() {
    for (what, base_name, mutate) in MALFORMED {
        let base = Kind::example(base_name);
        assert_mutation_invalid(Kind::Command, &base, what, mutate);
    }
}

#[test]
fn serde_refuses_commands_of_the_wrong_shape() {
    // The value rules (e-mail syntax, codes, …) are the adapter's; the shape is serde's.
    let shared = [
        "an unknown top-level field",
        "an unknown field in data",
        "data of another type",
        "commandId not a uuid",
        "a negative expectedVersion",
        "the KBO seat as locatietype",
        "an unknown contactgegeventype",
        "a startdatum that is no date",
        "a null naam",
        "a missing waarde",
    ];
    let own: &[Mutation] = &[
        (
            "an unknown field in adres",
            "association.add-locatie.json",
            |m| {
                m["data"]["adres"]["provincie"] = json!("Oost-Vlaanderen");
            },
        ),
        ("an unknown type", "association.remove-locatie.json", |m| {
            m["type"] = json!("association.stop");
        }),
        ("a bad vCode", "association.remove-locatie.json", |m| {
            m["vCode"] = json!("V0000999");
        }),
    ];
    let cases = shared.into_iter().map(case).chain(own.iter().copied());
    for (what, base_name, mutate) in cases {
        let mut cmd = Kind::example(base_name);
        mutate(&mut cmd);
        assert!(
            serde_json::from_value::<Command>(cmd.clone()).is_err(),
            "{what}: serde accepted {cmd}"
        );
    }
}

#[test]
fn inconsistent_replies_are_rejected_by_the_schema() {
    let cases: &[Mutation] = &[
        ("an unknown outcome", "reply.accepted.json", |m| {
            m["outcome"] = json!("applied");
        }),
        ("an unknown field", "reply.accepted.json", |m| {
            m["status"] = json!(202);
        }),
        ("accepted without version", "reply.accepted.json", |m| {
            m.as_object_mut().expect("object").remove("version");
        }),
        ("accepted without commandId", "reply.accepted.json", |m| {
            m.as_object_mut().expect("object").remove("commandId");
        }),
        ("accepted without vCode", "reply.accepted.json", |m| {
            m.as_object_mut().expect("object").remove("vCode");
        }),
        ("accepted with errors", "reply.accepted.json", |m| {
            m["errors"] = json!([{"field": "vCode", "code": "required", "reason": "x"}]);
        }),
        ("accepted with a null detail", "reply.accepted.json", |m| {
            m["detail"] = Value::Null;
        }),
        ("rejected without commandId", "reply.rejected.json", |m| {
            m.as_object_mut().expect("object").remove("commandId");
        }),
        (
            "rejected without correlationId",
            "reply.rejected.json",
            |m| {
                m.as_object_mut().expect("object").remove("correlationId");
            },
        ),
        ("rejected with a version", "reply.rejected.json", |m| {
            m["version"] = json!(5);
        }),
        (
            "rejected with an empty errors list",
            "reply.rejected.json",
            |m| {
                m["errors"] = json!([]);
            },
        ),
        ("an error without code", "reply.rejected.json", |m| {
            m["errors"][0]
                .as_object_mut()
                .expect("error")
                .remove("code");
        }),
        ("an error with an extra key", "reply.rejected.json", |m| {
            m["errors"][0]["value"] = json!("V12345");
        }),
        (
            "a time that is no date-time",
            "reply.conflicted.json",
            |m| {
                m["time"] = json!("5 november 2026");
            },
        ),
        ("a missing time", "reply.conflicted.json", |m| {
            m.as_object_mut().expect("object").remove("time");
        }),
    ];
    for (what, base_name, mutate) in cases {
        let base = Kind::example(base_name);
        assert_mutation_invalid(Kind::Reply, &base, what, mutate);
    }
    // Neither a rejected nor a conflicted reply carries a sequence, and both need a detail.
    for outcome in ["rejected", "conflicted"] {
        let base = Kind::example(&format!("reply.{outcome}.json"));
        let with_sequence = format!("{outcome} with a sequence");
        assert_mutation_invalid(Kind::Reply, &base, &with_sequence, |m| {
            m["sequence"] = json!(48215);
        });
        let without_detail = format!("{outcome} without detail");
        assert_mutation_invalid(Kind::Reply, &base, &without_detail, |m| {
            m.as_object_mut().expect("object").remove("detail");
        });
    }
}
