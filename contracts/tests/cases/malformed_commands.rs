//! Commands the command schema refuses, each a mutation of an example under
//! `contracts/examples/commands/`: one table for the schema's own tests
//! (`tests/commands.rs`) and for the hub's validation (`adapter-municipality`'s
//! `tests/commands.rs`, which includes this file), which must refuse every one of them too.

#![allow(dead_code)]

use serde_json::{json, Value};

/// (what, base example, mutation).
pub type Mutation = (&'static str, &'static str, fn(&mut Value));

/// The command's `data` object.
pub fn data(m: &mut Value) -> &mut serde_json::Map<String, Value> {
    m["data"].as_object_mut().expect("data object")
}

/// The case called `what`.
pub fn case(what: &str) -> Mutation {
    *MALFORMED
        .iter()
        .find(|(w, _, _)| *w == what)
        .unwrap_or_else(|| panic!("no malformed command {what:?}"))
}

pub const MALFORMED: &[Mutation] = &[
    (
        "an unknown top-level field",
        "association.remove-locatie.json",
        |m| {
            m["insz"] = json!("85071512397");
        },
    ),
    (
        "an unknown field in data",
        "association.remove-locatie.json",
        |m| {
            data(m).insert("reden".into(), json!("x"));
        },
    ),
    (
        "missing commandId",
        "association.remove-locatie.json",
        |m| {
            m.as_object_mut().expect("object").remove("commandId");
        },
    ),
    (
        "commandId not a uuid",
        "association.remove-locatie.json",
        |m| {
            m["commandId"] = json!("cmd-1");
        },
    ),
    (
        "commandId without hyphens",
        "association.remove-locatie.json",
        |m| {
            m["commandId"] = json!("9e8d7c6b5a4f4e3db2c1a0f9e8d7c6b5");
        },
    ),
    ("missing vCode", "association.remove-locatie.json", |m| {
        m.as_object_mut().expect("object").remove("vCode");
    }),
    ("a bad vCode", "association.remove-locatie.json", |m| {
        m["vCode"] = json!("V12345");
    }),
    ("an unknown type", "association.remove-locatie.json", |m| {
        m["type"] = json!("association.remove-vertegenwoordiger");
    }),
    (
        "data of another type",
        "association.remove-locatie.json",
        |m| {
            m["type"] = json!("association.remove-contactgegeven");
        },
    ),
    ("missing data", "association.remove-locatie.json", |m| {
        m.as_object_mut().expect("object").remove("data");
    }),
    (
        "a negative expectedVersion",
        "association.remove-locatie.json",
        |m| {
            m["expectedVersion"] = json!(-1);
        },
    ),
    (
        "expectedVersion as a string",
        "association.remove-locatie.json",
        |m| {
            m["expectedVersion"] = json!("7");
        },
    ),
    (
        "a null correlationId",
        "association.add-locatie.json",
        |m| {
            m["correlationId"] = Value::Null;
        },
    ),
    ("locatieId 0", "association.remove-locatie.json", |m| {
        m["data"]["locatieId"] = json!(0);
    }),
    (
        "locatieId as a string",
        "association.remove-locatie.json",
        |m| {
            m["data"]["locatieId"] = json!("2");
        },
    ),
    (
        "empty basisgegevens",
        "association.change-basisgegevens.json",
        |m| {
            m["data"] = json!({});
        },
    ),
    (
        "an empty naam",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["naam"] = json!("  ");
        },
    ),
    (
        "a null naam",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["naam"] = Value::Null;
        },
    ),
    (
        "a null korteNaam",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["korteNaam"] = Value::Null;
        },
    ),
    (
        "a startdatum in another format",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["startdatum"] = json!("01/09/1998");
        },
    ),
    (
        "a startdatum that is no date",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["startdatum"] = json!("1998-02-30");
        },
    ),
    (
        "an age above 150",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["doelgroep"]["maximumleeftijd"] = json!(151);
        },
    ),
    (
        "an empty doelgroep",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["doelgroep"] = json!({});
        },
    ),
    (
        "an unknown field in doelgroep",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["doelgroep"]["leeftijd"] = json!(3);
        },
    ),
    (
        "an unknown hoofdactiviteit",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["hoofdactiviteitenVerenigingsloket"] = json!(["KECU", "AIAS"]);
        },
    ),
    (
        "a hoofdactiviteit as {code,naam}",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["hoofdactiviteitenVerenigingsloket"] =
                json!([{"code": "KECU", "naam": "Kunsten, Erfgoed & Cultuur"}]);
        },
    ),
    (
        "a repeated hoofdactiviteit",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["hoofdactiviteitenVerenigingsloket"] = json!(["KECU", "KECU"]);
        },
    ),
    (
        "a werkingsgebied that is no code",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["werkingsgebieden"] = json!(["Aalst"]);
        },
    ),
    (
        "NVT with another werkingsgebied",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["werkingsgebieden"] = json!(["NVT", "BE23041002"]);
        },
    ),
    (
        "an unknown contactgegeventype",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("Fax");
        },
    ),
    (
        "a malformed e-mail",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["waarde"] = json!("bestuur@harmonie");
        },
    ),
    (
        "an e-mail with a space",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["waarde"] = json!("bestuur @harmonie-aalst.be");
        },
    ),
    (
        "a phone with letters",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("Telefoon");
            m["data"]["waarde"] = json!("053 21 00 0x");
        },
    ),
    (
        "a phone too short",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("Telefoon");
            m["data"]["waarde"] = json!("+32 5");
        },
    ),
    (
        "a website without scheme",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("Website");
            m["data"]["waarde"] = json!("www.harmonie-aalst.be");
        },
    ),
    (
        "a social media ftp url",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("SocialMedia");
            m["data"]["waarde"] = json!("ftp://facebook.com/harmonie");
        },
    ),
    (
        "a missing waarde",
        "association.add-contactgegeven.json",
        |m| {
            data(m).remove("waarde");
        },
    ),
    (
        "isPrimair as a string",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["isPrimair"] = json!("ja");
        },
    ),
    (
        "a change with only the id",
        "association.change-contactgegeven.json",
        |m| {
            m["data"] = json!({"contactgegevenId": 2});
        },
    ),
    (
        "a change of the contact type",
        "association.change-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("Website");
        },
    ),
    (
        "the KBO seat as locatietype",
        "association.add-locatie.json",
        |m| {
            m["data"]["locatietype"] = json!("Maatschappelijke zetel volgens KBO");
        },
    ),
    (
        "a postcode of 3 digits",
        "association.add-locatie.json",
        |m| {
            m["data"]["adres"]["postcode"] = json!("930");
        },
    ),
    (
        "a postcode as a number",
        "association.add-locatie.json",
        |m| {
            m["data"]["adres"]["postcode"] = json!(9300);
        },
    ),
    (
        "a missing huisnummer",
        "association.add-locatie.json",
        |m| {
            m["data"]["adres"]
                .as_object_mut()
                .expect("adres")
                .remove("huisnummer");
        },
    ),
    ("a null busnummer", "association.add-locatie.json", |m| {
        m["data"]["adres"]["busnummer"] = Value::Null;
    }),
    (
        "an adresId instead of adres",
        "association.add-locatie.json",
        |m| {
            data(m).remove("adres");
            data(m).insert(
                "adresId".into(),
                json!({"broncode": "AR", "bronwaarde": "https://data.vlaanderen.be/id/adres/1"}),
            );
        },
    ),
    (
        "a location change with only the id",
        "association.change-locatie.json",
        |m| {
            m["data"] = json!({"locatieId": 2});
        },
    ),
    (
        "a lower-case vCode",
        "association.remove-locatie.json",
        |m| {
            m["vCode"] = json!("v0001001");
        },
    ),
    (
        "a blank naam",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["naam"] = json!(" \t");
        },
    ),
    (
        "a repeated werkingsgebied",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["werkingsgebieden"] = json!(["BE2", "BE2"]);
        },
    ),
    (
        "a lower-case werkingsgebied",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["werkingsgebieden"] = json!(["be2"]);
        },
    ),
    (
        "a werkingsgebied too long",
        "association.change-basisgegevens.json",
        |m| {
            m["data"]["werkingsgebieden"] = json!(["BE255350021"]);
        },
    ),
    (
        "a phone too long",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("Telefoon");
            m["data"]["waarde"] = json!("+32 53 21 00 00 00 00 00");
        },
    ),
    (
        "a URL with an upper-case scheme",
        "association.add-contactgegeven.json",
        |m| {
            m["data"]["contactgegeventype"] = json!("Website");
            m["data"]["waarde"] = json!("HTTPS://harmonie-aalst.be");
        },
    ),
    (
        "a postcode of 5 digits",
        "association.add-locatie.json",
        |m| {
            m["data"]["adres"]["postcode"] = json!("93000");
        },
    ),
];
