//! Keeps the volunteer-insurance contract (`contracts/xsd/vrijwilligersverzekering-v1.xsd`,
//! `contracts/wsdl/vrijwilligersverzekering-v1.wsdl`, `contracts/examples/insurance/`) and the
//! adapter in step:
//!
//! - every request the adapter makes validates against the XSD (libxml2): the register's
//!   example association, sparse snapshots, only a correspondence address, awkward text,
//!   `GeefErkenning`; broken requests and replies do not validate;
//! - no INSZ (nor any other representative) is ever written;
//! - missing or wrong service fields and applicant data are refused, each named;
//! - the checked-in examples validate, the request examples are exactly what the adapter
//!   produces (`REGENERATE_INSURANCE_EXAMPLES=1` rewrites them), and the replies are read as
//!   documented;
//! - answers are classified: grant, refusal, throttling, faults, HTTP errors, mismatches;
//! - the WSDL is well-formed and binds both operations to the XSD.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapter_insurance::soap::{
    self, geef_erkenning, read_answer, read_decision, read_submitted, vraag_erkenning_aan, Answer,
    ErkenningStatus, Operation, Parties, UitzonderingType,
};
use adapter_provider::{Decision, ProviderError, Submitted};
use adapter_soap::fixtures::NOT_SOAP;
use contracts::applications::{Applicant, EnrichedApplication};
use contracts::register::{Adres, Contactgegeven, Locatie};
use contracts::{fixtures, Part};
use partner_sims::xml_check::{libxml_lock, parse_strict, read, workspace, XsdCheck};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

#[path = "../../soap/tests/common/contract.rs"]
mod contract;

use contract::Contract;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const APPLICATION_ID: &str = "0f8b2c4e-6d1a-4b7f-9e3c-5a2d8f1b7c64";
const GEEF_REFERTE: &str = "6c1f0e9a-3b2d-4c8e-8f7a-1d2e3f4a5b6c";
const INSZ: &str = "85071512397";

const XSD: XsdCheck = XsdCheck::in_workspace("contracts/xsd/vrijwilligersverzekering-v1.xsd");

const CONTRACT: Contract = Contract {
    xsd: XSD,
    examples: "insurance",
};

fn parties() -> Parties {
    Parties {
        sender: "kbbj.vlaanderen.be/verenigingsloket-hub".into(),
        receiver: "vrijwilligersverzekering.vlaanderen.be".into(),
    }
}

/// When the examples were "sent".
fn sent_at() -> OffsetDateTime {
    time::macros::datetime!(2026-03-02 09:30:15.204 UTC)
}

/// The register's example association (VZW, seat in 9300 Aalst, KBO number, a
/// representative with an INSZ) applying for the insurance.
fn application() -> EnrichedApplication {
    EnrichedApplication {
        application_id: APPLICATION_ID.parse().unwrap(),
        submitted_at: time::macros::datetime!(2026-03-02 09:30:12 UTC),
        applicant: Applicant {
            telefoon: "053 21 00 00".into(),
            ..fixtures::applicant()
        },
        parts: Part::ALL.to_vec(),
        ..fixtures::application(
            "vrijwilligersverzekering",
            json!({
                "aantalVrijwilligers": 35,
                "betaaldPersoneel": false,
                "geschatteUren": 900
            }),
        )
    }
}

fn request_of(app: &EnrichedApplication) -> String {
    vraag_erkenning_aan(app, &parties(), OffsetDateTime::now_utc()).expect("request")
}

fn permanent(result: Result<String, ProviderError>) -> String {
    match result {
        Err(ProviderError::Permanent(reason)) => reason,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

#[test]
fn the_request_carries_the_organisation_the_contact_and_the_service_fields() {
    let envelope = request_of(&application());
    XSD.assert_valid(&envelope, "the example application");
    assert!(envelope.contains("<soapenv:Body Id=\"Body\">"));
    for expected in [
        "<Naam>VraagErkenningAan</Naam>",
        "<Type>VRAAG</Type>",
        "<VCode>V0001001</VCode>",
        "<Naam>Koninklijke Harmonie Sint-Cecilia Aalst</Naam>",
        "<Verenigingstype>VZW</Verenigingstype>",
        "<Ondernemingsnummer>0417497106</Ondernemingsnummer>",
        "<Soort>MAATSCHAPPELIJKE_ZETEL</Soort>",
        "<Postcode>9300</Postcode>",
        "<Gemeente>Aalst</Gemeente>",
        "<Land>België</Land>",
        "<Email>info@harmonie-aalst.be</Email>",
        "<Voornaam>An</Voornaam>",
        "<Email>an.peeters@example.be</Email>",
        "<Telefoon>053 21 00 00</Telefoon>",
        "<AantalVrijwilligers>35</AantalVrijwilligers>",
        "<BetaaldPersoneel>false</BetaaldPersoneel>",
        "<GeschatteUren>900</GeschatteUren>",
    ] {
        assert!(
            envelope.contains(expected),
            "{expected} missing:\n{envelope}"
        );
    }
    // The Referte is the applicationId, twice; the activity location in Gent is no seat.
    assert_eq!(
        envelope
            .matches(&format!("<Referte>{APPLICATION_ID}</Referte>"))
            .count(),
        2
    );
    assert_eq!(
        soap::request_referte(&envelope).as_deref(),
        Some(APPLICATION_ID)
    );
    assert!(!envelope.contains("9000") && !envelope.contains("Gent"));
}

#[test]
fn no_insz_or_other_representative_is_ever_written() {
    let mut app = application();
    app.vereniging.vertegenwoordigers[0].mobiel = "0470 12 34 56".into();
    app.vereniging.vertegenwoordigers[0].rol = "Voorzitter".into();
    let mut other = app.vereniging.vertegenwoordigers[0].clone();
    other.vertegenwoordiger_id = 2;
    other.voornaam = "Bert".into();
    other.insz = Some("90010112345".into());
    app.vereniging.vertegenwoordigers.push(other);
    let envelope = request_of(&app);
    XSD.assert_valid(&envelope, "with representatives");
    for forbidden in [
        INSZ,
        "90010112345",
        "insz",
        "Insz",
        "INSZ",
        "0470 12 34 56",
        "Voorzitter",
        "Bert",
    ] {
        assert!(
            !envelope.contains(forbidden),
            "{forbidden} written:\n{envelope}"
        );
    }
    // Also not when the INSZ is all that could be found (no other data at all).
    let mut bare = application();
    bare.applicant.telefoon = String::new();
    bare.vereniging.vertegenwoordigers[0].insz = Some(INSZ.into());
    assert!(!request_of(&bare).contains(INSZ));
}

#[test]
fn sparse_snapshots_render_what_is_there_and_validate() {
    // The service may receive basisgegevens only: no locations, contact details or keys.
    let mut basis = application();
    basis.parts = vec![Part::Basisgegevens];
    basis.vereniging.locaties.clear();
    basis.vereniging.contactgegevens.clear();
    basis.vereniging.sleutels.clear();
    basis.vereniging.vertegenwoordigers.clear();
    let envelope = request_of(&basis);
    XSD.assert_valid(&envelope, "basisgegevens only");
    assert!(!envelope.contains("<Adres>") && !envelope.contains("<Ondernemingsnummer>"));
    assert_eq!(envelope.matches("<Email>").count(), 1, "the contact's only");

    // Nothing but the vCode.
    let mut nothing = basis.clone();
    nothing.parts.clear();
    nothing.vereniging.naam = String::new();
    nothing.vereniging.verenigingstype.code = String::new();
    nothing.applicant.telefoon = String::new();
    let envelope = request_of(&nothing);
    XSD.assert_valid(&envelope, "nothing but the vCode");
    assert!(!envelope.contains("<Verenigingstype>") && !envelope.contains("<Telefoon>"));
    assert!(
        envelope.contains("<Organisatie>\n        <VCode>V0001001</VCode>\n       </Organisatie>")
    );

    // A feitelijke vereniging with only a correspondence address (no postcode), a primary
    // e-mail after a non-primary one, an unusable telephone.
    let mut fv = application();
    fv.vereniging.verenigingstype.code = "FV".into();
    fv.vereniging.sleutels.retain(|s| s.bron != "KBO");
    fv.vereniging.locaties = vec![
        Locatie {
            locatie_id: 7,
            locatietype: "Activiteiten".into(),
            is_primair: true,
            naam: "Lokaal".into(),
            adresvoorstelling: String::new(),
            adres: Some(adres("9000", "Gent", "België")),
            adres_id: None,
        },
        Locatie {
            locatie_id: 8,
            locatietype: "Correspondentie".into(),
            is_primair: false,
            naam: String::new(),
            adresvoorstelling: String::new(),
            adres: Some(adres("", "Evergem", "")),
            adres_id: None,
        },
    ];
    fv.vereniging.contactgegevens = vec![
        contact(1, "E-mail", "oud@example.be", false),
        contact(2, "Telefoon", "09 123 45 67", true),
        contact(3, "E-mail", "secretariaat@chiro-evergem.be", true),
    ];
    fv.applicant.telefoon = "bel na 18u".into();
    let envelope = request_of(&fv);
    XSD.assert_valid(&envelope, "a feitelijke vereniging");
    assert!(envelope.contains("<Soort>CORRESPONDENTIE</Soort>"));
    assert!(envelope.contains("<Gemeente>Evergem</Gemeente>"));
    assert!(!envelope.contains("<Postcode>") && !envelope.contains("<Land>"));
    assert!(envelope.contains("<Email>secretariaat@chiro-evergem.be</Email>"));
    assert!(!envelope.contains("<Telefoon>") && !envelope.contains("<Ondernemingsnummer>"));

    // An unusable e-mail and postcode are left out, not sent broken.
    let mut odd = fv.clone();
    odd.vereniging.contactgegevens = vec![contact(1, "E-mail", "geen adres", true)];
    odd.vereniging.locaties[1].adres = Some(adres("<9000>", "", ""));
    let envelope = request_of(&odd);
    XSD.assert_valid(&envelope, "unusable e-mail and postcode");
    assert!(!envelope.contains("<Adres>"));
    assert_eq!(envelope.matches("<Email>").count(), 1);
}

fn adres(postcode: &str, gemeente: &str, land: &str) -> Adres {
    Adres {
        straatnaam: "Kerkstraat".into(),
        huisnummer: "1".into(),
        busnummer: String::new(),
        postcode: postcode.into(),
        gemeente: gemeente.into(),
        land: land.into(),
    }
}

fn contact(id: i64, kind: &str, waarde: &str, primair: bool) -> Contactgegeven {
    Contactgegeven {
        contactgegeven_id: id,
        contactgegeventype: kind.into(),
        waarde: waarde.into(),
        beschrijving: String::new(),
        is_primair: primair,
    }
}

#[test]
fn awkward_text_is_escaped_kept_on_one_line_and_cut() {
    let mut app = application();
    app.vereniging.naam =
        "  Tom & Jerry <vzw>\r\n\"De 'Pottekijkers'\" ]]>\tBrûlé 🎺 bell\u{7}  ".into();
    app.vereniging.locaties[0].adres.as_mut().unwrap().gemeente = "x".repeat(300);
    app.applicant.voornaam = "Ann-\nSophie".into();
    app.applicant.achternaam = "D'Hondt & Zn".into();
    app.applicant.email = "ann+vzw@sub.example.be".into();
    let envelope = request_of(&app);
    XSD.assert_valid(&envelope, "awkward text");
    assert!(envelope.contains(
        "<Naam>Tom &amp; Jerry &lt;vzw&gt; \"De 'Pottekijkers'\" ]]&gt; Brûlé 🎺 bell\u{FFFD}</Naam>"
    ));
    assert!(envelope.contains(&format!("<Gemeente>{}</Gemeente>", "x".repeat(200))));
    assert!(envelope.contains("<Voornaam>Ann- Sophie</Voornaam>"));
    assert!(envelope.contains("<Achternaam>D'Hondt &amp; Zn</Achternaam>"));

    let mut long = application();
    long.vereniging.naam = format!("{} {}", "n".repeat(499), "tail");
    let envelope = request_of(&long);
    XSD.assert_valid(&envelope, "a long name");
    assert!(envelope.contains(&format!("<Naam>{}</Naam>", "n".repeat(499))));
}

#[test]
fn missing_or_wrong_service_fields_are_refused_by_name() {
    let mut app = application();
    app.fields.clear();
    let reason = permanent(vraag_erkenning_aan(&app, &parties(), sent_at()));
    assert_eq!(
        reason,
        "service field aantalVrijwilligers is missing; service field betaaldPersoneel is \
         missing; service field geschatteUren is missing"
    );

    for (field, value) in [
        ("aantalVrijwilligers", json!("35")),
        ("aantalVrijwilligers", json!(0)),
        ("aantalVrijwilligers", json!(2.5)),
        ("aantalVrijwilligers", json!(1_000_001)),
        ("aantalVrijwilligers", json!(null)),
        ("betaaldPersoneel", json!("nee")),
        ("betaaldPersoneel", json!(0)),
        ("geschatteUren", json!(-1)),
        ("geschatteUren", json!({"uren": 5})),
        ("geschatteUren", json!(100_000_001u64)),
    ] {
        let mut app = application();
        app.fields.insert(field.into(), value.clone());
        let reason = permanent(vraag_erkenning_aan(&app, &parties(), sent_at()));
        assert!(
            reason.starts_with(&format!("service field {field} ")),
            "{field} = {value}: {reason}"
        );
        assert!(!reason.contains(';'), "only {field} is wrong: {reason}");
    }
    // Limits and zero hours are fine; unknown extra fields are ignored.
    let mut edge = application();
    edge.fields
        .insert("aantalVrijwilligers".into(), json!(1_000_000));
    edge.fields.insert("geschatteUren".into(), json!(0));
    edge.fields.insert("opmerking".into(), json!("x"));
    XSD.assert_valid(&request_of(&edge), "limits");

    // The applicant's data too, together with the fields.
    let mut app = application();
    app.applicant.voornaam = "  ".into();
    app.applicant.email = "an.peeters(at)example.be".into();
    app.fields.remove("geschatteUren");
    let reason = permanent(vraag_erkenning_aan(&app, &parties(), sent_at()));
    assert_eq!(
        reason,
        "service field geschatteUren is missing; applicant.voornaam is empty; \
         applicant.e-mail is not an e-mail address"
    );

    // Parties that cannot validate.
    let bad = Parties {
        sender: " hub".into(),
        receiver: "x".into(),
    };
    assert!(permanent(vraag_erkenning_aan(&application(), &bad, sent_at())).contains("sender"));
}

#[test]
fn geef_erkenning_validates_and_refuses_what_is_no_erkenningsnummer() {
    let envelope = geef_erkenning(
        "VV-2026-00042",
        GEEF_REFERTE.parse().unwrap(),
        &parties(),
        sent_at(),
    )
    .unwrap();
    XSD.assert_valid(&envelope, "GeefErkenning");
    assert!(envelope.contains("<Erkenningsnummer>VV-2026-00042</Erkenningsnummer>"));
    assert_eq!(
        soap::request_referte(&envelope).as_deref(),
        Some(GEEF_REFERTE)
    );
    for bad in [
        "",
        "-",
        "VV-2026-0042",
        "vv-2026-00042",
        APPLICATION_ID,
        "VV-2026-00042 ",
    ] {
        let reason = permanent(geef_erkenning(bad, Uuid::new_v4(), &parties(), sent_at()));
        assert!(
            reason.contains("not an erkenningsnummer"),
            "{bad:?}: {reason}"
        );
    }
}

#[test]
fn broken_requests_do_not_validate() {
    let good = request_of(&application());
    XSD.assert_valid(&good, "the unbroken request");
    CONTRACT.assert_edits_invalid(
        &good,
        &[
            (
                "<VCode>V0001001</VCode>",
                "<VCode>V1001</VCode>",
                "a bad VCode",
            ),
            (
                "<Naam>VraagErkenningAan</Naam>",
                "<Naam>GeefErkenning</Naam>",
                "another operation's Naam",
            ),
            (
                "<Type>VRAAG</Type>",
                "<Type>ANTWOORD</Type>",
                "a wrong Type",
            ),
            (
                "<BetaaldPersoneel>false</BetaaldPersoneel>",
                "<BetaaldPersoneel>nee</BetaaldPersoneel>",
                "a bad boolean",
            ),
            (
                "<AantalVrijwilligers>35</AantalVrijwilligers>",
                "<AantalVrijwilligers>0</AantalVrijwilligers>",
                "no volunteers",
            ),
            (
                "<GeschatteUren>900</GeschatteUren>",
                "<GeschatteUren>-5</GeschatteUren>",
                "negative hours",
            ),
            (
                "<Ondernemingsnummer>0417497106</Ondernemingsnummer>",
                "<Ondernemingsnummer>0417.497.106</Ondernemingsnummer>",
                "a formatted KBO number",
            ),
            (
                "<Email>an.peeters@example.be</Email>",
                "<Email>an.peeters</Email>",
                "a bad e-mail",
            ),
            (
                "<Soort>MAATSCHAPPELIJKE_ZETEL</Soort>",
                "<Soort>ACTIVITEITEN</Soort>",
                "an unknown address kind",
            ),
            (
                "<Voornaam>An</Voornaam>",
                "<Voornaam> An</Voornaam>",
                "a leading space",
            ),
            (
                "<Voornaam>An</Voornaam>",
                "<Voornaam>An</Voornaam><Insz>85071512397</Insz>",
                "an INSZ",
            ),
            (
                "<Postcode>9300</Postcode>\n         <Gemeente>Aalst</Gemeente>",
                "",
                "an address without postcode and gemeente",
            ),
            (
                &format!("<Referte>{APPLICATION_ID}</Referte>\n      <Inhoud>"),
                "<Inhoud>",
                "a Vraag without Referte",
            ),
            (
                "<Vrijwilligerswerk>",
                "<Vrijwilligerswerk><Onbekend/>",
                "an unknown element",
            ),
        ],
    );
    let qualified =
        good.replacen("<Verzoek>", "<vv:Verzoek>", 1)
            .replacen("</Verzoek>", "</vv:Verzoek>", 1);
    XSD.assert_invalid(&qualified, "a qualified Verzoek");
    XSD.assert_invalid(
        &good.replace(
            soap::NAMESPACE,
            "http://example.be/vrijwilligersverzekering/v2",
        ),
        "another namespace",
    );
    XSD.assert_invalid(&good.replacen("</Verzoek>", "", 1), "an unclosed element");
}

// ---------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------

fn expected_request(name: &str) -> String {
    match name {
        "request.vraag-erkenning-aan.xml" => {
            vraag_erkenning_aan(&application(), &parties(), sent_at()).unwrap()
        }
        "request.geef-erkenning.xml" => geef_erkenning(
            "VV-2026-00042",
            GEEF_REFERTE.parse().unwrap(),
            &parties(),
            sent_at(),
        )
        .unwrap(),
        other => panic!("{other}: which request does it show? (add it to expected_request)"),
    }
}

#[test]
fn request_examples_are_what_the_adapter_sends() {
    let requests = [
        "request.vraag-erkenning-aan.xml",
        "request.geef-erkenning.xml",
    ];
    CONTRACT.assert_request_examples(
        requests.map(|name| (name, expected_request(name))),
        "REGENERATE_INSURANCE_EXAMPLES",
        "cargo test -p adapter-insurance --test soap",
    );
}

#[test]
fn every_example_validates_and_reads_as_documented() {
    let files = CONTRACT.example_files(&[
        "request.vraag-erkenning-aan.xml",
        "request.geef-erkenning.xml",
        "reply.erkenning.xml",
        "reply.weigering.xml",
        "reply.geef-erkenning.xml",
        "reply.geef-erkenning.ingetrokken.xml",
        "fault.99995.xml",
    ]);
    for (name, text) in &files {
        if name.starts_with("request.") {
            assert_eq!(&expected_request(name), text, "{name}");
            XSD.assert_valid(text, name);
        } else if name.starts_with("reply.") {
            XSD.assert_valid(text, name);
            match name.as_str() {
                "reply.erkenning.xml" => assert_eq!(
                    read_submitted(200, text, APPLICATION_ID, "V0001001"),
                    Ok(Submitted {
                        reference: "VV-2026-00042".into(),
                        decision: Decision::Approved {
                            detail: Some("erkenningsnummer VV-2026-00042".into())
                        },
                    }),
                    "{name}"
                ),
                "reply.weigering.xml" => assert_eq!(
                    read_submitted(200, text, APPLICATION_ID, "V0001001"),
                    Ok(Submitted {
                        reference: APPLICATION_ID.into(),
                        decision: Decision::Refused {
                            reason: "VV-101: Organisatie met betaald personeel komt niet in \
                                     aanmerking"
                                .into()
                        },
                    }),
                    "{name}"
                ),
                "reply.geef-erkenning.xml" => assert_eq!(
                    read_decision(200, text, GEEF_REFERTE, "VV-2026-00042"),
                    Ok(Decision::Approved {
                        detail: Some("erkenningsnummer VV-2026-00042".into())
                    }),
                    "{name}"
                ),
                "reply.geef-erkenning.ingetrokken.xml" => assert_eq!(
                    read_decision(200, text, GEEF_REFERTE, "VV-2026-00042"),
                    Ok(Decision::Refused {
                        reason: "erkenning VV-2026-00042 ingetrokken op 2026-09-15: De \
                                 organisatie heeft betaald personeel in dienst genomen"
                            .into()
                    }),
                    "{name}"
                ),
                other => panic!("{other}: how should it read? (add it here)"),
            }
        } else if name.starts_with("fault.") {
            let _guard = libxml_lock();
            assert!(parse_strict(text).is_ok(), "{name} is not well-formed");
            drop(_guard);
            assert!(
                matches!(
                    read_submitted(500, text, APPLICATION_ID, "V0001001"),
                    Err(ProviderError::Transient(r)) if r.starts_with("throttled: 99995")
                ),
                "{name}"
            );
        } else {
            panic!("{name}: examples are request.*, reply.* or fault.*");
        }
    }
}

#[test]
fn broken_replies_do_not_validate() {
    let good = CONTRACT.example("reply.weigering.xml");
    XSD.assert_valid(&good, "reply.weigering.xml");
    CONTRACT.assert_edits_invalid(
        &good,
        &[
            ("<Type>FOUT</Type>", "<Type>ERROR</Type>", "an unknown Type"),
            (
                "<Type>ANTWOORD</Type>",
                "<Type>VRAAG</Type>",
                "a wrong Bericht/Type",
            ),
            (
                "<Identificatie>VV-101</Identificatie>",
                "",
                "an Uitzondering without Identificatie",
            ),
            (
                &format!("<Referte>{APPLICATION_ID}</Referte>\n      <Uitzonderingen>"),
                "<Uitzonderingen>",
                "an Antwoord without Referte",
            ),
        ],
    );
    let granted = CONTRACT.example("reply.erkenning.xml");
    CONTRACT.assert_edits_invalid(
        &granted,
        &[
            (
                "<Erkenningsnummer>VV-2026-00042</Erkenningsnummer>",
                "<Erkenningsnummer>42</Erkenningsnummer>",
                "a bad erkenningsnummer",
            ),
            (
                "<Status>ACTIEF</Status>",
                "<Status>OK</Status>",
                "an unknown status",
            ),
            (
                "<GeldigVanaf>2026-03-02</GeldigVanaf>",
                "<GeldigVanaf>02/03/2026</GeldigVanaf>",
                "a bad date",
            ),
        ],
    );
}

#[test]
fn the_wsdl_binds_both_operations_to_the_xsd() {
    let wsdl = read(&workspace().join("contracts/wsdl/vrijwilligersverzekering-v1.wsdl"));
    {
        let _guard = libxml_lock();
        assert!(parse_strict(&wsdl).is_ok(), "the WSDL is not well-formed");
    }
    assert!(wsdl.contains("schemaLocation=\"../xsd/vrijwilligersverzekering-v1.xsd\""));
    for operation in [Operation::VraagErkenningAan, Operation::GeefErkenning] {
        assert!(wsdl.contains(&format!("soapAction=\"{}\"", operation.soap_action())));
        assert!(wsdl.contains(&format!("element=\"vv:{}\"", operation.name())));
        assert!(wsdl.contains(&format!("element=\"vv:{}\"", operation.response_name())));
    }
    assert!(wsdl.contains(&format!("targetNamespace=\"{}\"", soap::NAMESPACE)));
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

fn answer(operation: &str, referte: &str, context: &str, antwoord: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <vv:{operation}Response xmlns:vv="{ns}">
   <Repliek>
    <Context>
     <Naam>{operation}</Naam><Versie>01.00.0000</Versie>
     <Bericht><Type>ANTWOORD</Type>
      <Tijdstip><Datum>2026-03-02</Datum><Tijd>09:30:15.412</Tijd></Tijdstip>
      <Afzender><Identificatie>vrijwilligersverzekering.vlaanderen.be</Identificatie><Referte>7b0e2f57-3c1d-4e8a-9f21-5d6c4b3a2e10</Referte></Afzender>
      <Ontvanger><Identificatie>kbbj.vlaanderen.be/verenigingsloket-hub</Identificatie><Referte>{referte}</Referte></Ontvanger>
     </Bericht>
    </Context>
    {context}
    <Antwoorden><Antwoord>{antwoord}</Antwoord></Antwoorden>
   </Repliek>
  </vv:{operation}Response>
 </soapenv:Body>
</soapenv:Envelope>"#,
        ns = soap::NAMESPACE
    )
}

/// The service's answer to the example's `VraagErkenningAan`, without a `Context` remark.
fn submit_answer(antwoord: &str) -> String {
    answer("VraagErkenningAan", APPLICATION_ID, "", antwoord)
}

/// The service's answer to a `GeefErkenning` (Referte [`GEEF_REFERTE`]), without a
/// `Context` remark.
fn geef_answer(antwoord: &str) -> String {
    answer("GeefErkenning", GEEF_REFERTE, "", antwoord)
}

fn erkenning(nummer: &str, v_code: &str, status: &str, extra: &str) -> String {
    format!(
        "<Inhoud><Erkenning><Erkenningsnummer>{nummer}</Erkenningsnummer><VCode>{v_code}</VCode>\
         <Status>{status}</Status><GeldigVanaf>2026-03-02</GeldigVanaf>{extra}</Erkenning></Inhoud>"
    )
}

fn exc(code: &str, type_: &str, diagnose: &str) -> String {
    format!(
        "<Uitzonderingen><Uitzondering><Identificatie>{code}</Identificatie>\
         <Oorsprong>vrijwilligersverzekering.vlaanderen.be</Oorsprong><Type>{type_}</Type>\
         <Diagnose>{diagnose}</Diagnose></Uitzondering></Uitzonderingen>"
    )
}

fn fault(code: &str, string: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode>{code}</faultcode><faultstring>{string}</faultstring></s:Fault></s:Body></s:Envelope>"#
    )
}

fn submitted(status: u16, body: &str) -> Result<Submitted, ProviderError> {
    read_submitted(status, body, APPLICATION_ID, "V0001001")
}

fn is_transient<T: std::fmt::Debug>(r: &Result<T, ProviderError>) -> bool {
    matches!(r, Err(ProviderError::Transient(_)))
}

fn is_permanent<T: std::fmt::Debug>(r: &Result<T, ProviderError>) -> bool {
    matches!(r, Err(ProviderError::Permanent(_)))
}

#[test]
fn a_grant_is_approved_with_its_erkenningsnummer_and_keeps_warnings() {
    let referte = format!("<Referte>{APPLICATION_ID}</Referte>");
    let warned = submit_answer(&format!(
        "{referte}{}{}",
        erkenning("VV-2026-00007", "V0001001", "ACTIEF", ""),
        exc("VV-301", "WAARSCHUWING", "Meer dan 1000 uren")
    ));
    XSD.assert_valid(&warned, "a grant with a warning");
    assert_eq!(
        submitted(200, &warned),
        Ok(Submitted {
            reference: "VV-2026-00007".into(),
            decision: Decision::Approved {
                detail: Some("erkenningsnummer VV-2026-00007".into())
            }
        })
    );
    match read_answer(Operation::VraagErkenningAan, 200, &warned, APPLICATION_ID) {
        Ok(Answer::Erkenning {
            erkenning, remarks, ..
        }) => {
            assert_eq!(erkenning.status, ErkenningStatus::Actief);
            assert_eq!(erkenning.geldig_vanaf, "2026-03-02");
            assert_eq!(remarks.len(), 1);
            assert_eq!(remarks[0].type_, UitzonderingType::Waarschuwing);
            assert_eq!(
                remarks[0].to_string(),
                "WAARSCHUWING VV-301 from vrijwilligersverzekering.vlaanderen.be: \
                 Meer dan 1000 uren"
            );
        }
        other => panic!("{other:?}"),
    }
    // The Referte echoed in upper case is still ours.
    let upper = answer(
        "VraagErkenningAan",
        &APPLICATION_ID.to_uppercase(),
        "",
        &format!(
            "<Referte>{}</Referte>{}",
            APPLICATION_ID.to_uppercase(),
            erkenning("VV-2026-00007", "V0001001", "ACTIEF", "")
        ),
    );
    assert!(submitted(200, &upper).is_ok());
}

#[test]
fn a_refusal_is_a_decision_with_every_reason() {
    let referte = format!("<Referte>{APPLICATION_ID}</Referte>");
    let two = submit_answer(&format!(
        "{referte}<Uitzonderingen>\
             <Uitzondering><Identificatie>VV-102</Identificatie><Oorsprong>x</Oorsprong>\
             <Type>FOUT</Type><Diagnose>Zetel met postcode 4000 ligt buiten het Nederlandse \
             taalgebied en Brussel</Diagnose></Uitzondering>\
             <Uitzondering><Identificatie>VV-103</Identificatie><Oorsprong>x</Oorsprong>\
             <Type>fout</Type><Diagnose>Verenigingstype IVZW komt niet in aanmerking</Diagnose>\
             </Uitzondering></Uitzonderingen>"
    ));
    assert_eq!(
        submitted(200, &two),
        Ok(Submitted {
            reference: APPLICATION_ID.into(),
            decision: Decision::Refused {
                reason: "VV-102: Zetel met postcode 4000 ligt buiten het Nederlandse \
                         taalgebied en Brussel; VV-103: Verenigingstype IVZW komt niet in \
                         aanmerking"
                    .into()
            }
        })
    );
    // A refusal that does not echo the Referte is still a refusal, reference "-".
    let anonymous = answer(
        "VraagErkenningAan",
        "",
        "",
        &exc(
            "VV-101",
            "FOUT",
            "Organisatie met betaald personeel komt niet in aanmerking",
        ),
    )
    .replace("<Referte></Referte>", "");
    assert_eq!(
        submitted(200, &anonymous).map(|s| s.reference),
        Ok("-".to_owned())
    );
    // Long reasons are kept short.
    let long = submit_answer(&format!(
        "{referte}{}",
        exc("VV-101", "FOUT", &"lang ".repeat(200))
    ));
    match submitted(200, &long) {
        Ok(Submitted {
            decision: Decision::Refused { reason },
            ..
        }) => assert!(reason.chars().count() <= soap::MAX_REASON_CHARS),
        other => panic!("{other:?}"),
    }
}

#[test]
fn failures_are_classified() {
    let referte = format!("<Referte>{APPLICATION_ID}</Referte>");
    let grant = erkenning("VV-2026-00007", "V0001001", "ACTIEF", "");
    // Throttling and server faults: transient; client faults: permanent.
    let throttled = submitted(
        500,
        &fault(
            "soapenv:Server",
            "99995 - Te veel gelijktijdige bevragingen",
        ),
    );
    assert_eq!(
        throttled,
        Err(ProviderError::Transient(
            "throttled: 99995 - Te veel gelijktijdige bevragingen".into()
        ))
    );
    assert!(is_transient(&submitted(
        500,
        &fault("s:Server.Busy", "later")
    )));
    assert_eq!(
        submitted(500, &fault("s:Client", "Ongeldig verzoek: element Foo")),
        Err(ProviderError::Permanent(
            "SOAP fault s:Client: Ongeldig verzoek: element Foo".into()
        ))
    );
    assert!(is_transient(&submitted(503, &fault("x:Other", "?"))));
    assert!(is_permanent(&submitted(400, &fault("x:Other", "?"))));
    // No SOAP at all: by status.
    let html = "<html><body><h1>503 Service Unavailable</h1></body></html>";
    match submitted(503, html) {
        Err(ProviderError::Transient(reason)) => {
            assert!(reason.starts_with("HTTP 503: <html>"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    for status in [429, 408, 500, 502, 504] {
        assert!(is_transient(&submitted(status, "")), "{status}");
    }
    for status in [400, 401, 403, 404, 301] {
        assert!(is_permanent(&submitted(status, "nope")), "{status}");
    }
    for garbage in NOT_SOAP {
        assert!(is_permanent(&submitted(200, garbage)), "{garbage:?}");
    }
    // A FOUT about the call as a whole is not a decision.
    let context_fout = answer(
        "VraagErkenningAan",
        APPLICATION_ID,
        &exc("30001", "FOUT", "Afzender onbekend"),
        &referte,
    );
    match submitted(200, &context_fout) {
        Err(ProviderError::Permanent(reason)) => assert!(
            reason.contains("refused the call") && reason.contains("Afzender onbekend"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let other = "11111111-2222-3333-4444-555555555555";
    for (what, body) in [
        (
            "an answer to another call",
            answer(
                "VraagErkenningAan",
                other,
                "",
                &format!("<Referte>{other}</Referte>{grant}"),
            ),
        ),
        (
            "an erkenning of another organisation",
            submit_answer(&format!(
                "{referte}{}",
                erkenning("VV-2026-00007", "V0009999", "ACTIEF", "")
            )),
        ),
        (
            "the other operation's response",
            answer(
                "GeefErkenning",
                APPLICATION_ID,
                "",
                &format!("{referte}{grant}"),
            ),
        ),
        ("an empty Antwoord", submit_answer(&referte)),
        (
            "an odd Erkenning",
            submit_answer(&format!(
                "{referte}{}",
                erkenning("42", "V0001001", "ACTIEF", "")
            )),
        ),
        (
            "an unknown Uitzondering type",
            submit_answer(&format!("{referte}{grant}{}", exc("1", "PROBLEEM", "?"))),
        ),
    ] {
        assert!(is_permanent(&submitted(200, &body)), "{what}");
    }
    // A grant answered with an error status is not trusted; a refusal is a refusal.
    let granted = submit_answer(&format!("{referte}{grant}"));
    assert!(is_transient(&submitted(500, &granted)));
    // Reasons are short.
    let long = "x".repeat(5000);
    for r in [
        submitted(500, &fault("s:Client", &long)),
        submitted(500, &fault("s:Server", &format!("99995 {long}"))),
        submitted(503, &long),
        submitted(200, &format!("<{long}")),
    ] {
        match r {
            Err(ProviderError::Transient(t) | ProviderError::Permanent(t)) => {
                assert!(t.chars().count() <= soap::MAX_REASON_CHARS, "{}", t.len())
            }
            Ok(s) => panic!("{s:?}"),
        }
    }
}

#[test]
fn geef_erkenning_answers_are_decisions() {
    let referte = format!("<Referte>{GEEF_REFERTE}</Referte>");
    let decision = |body: &str| read_decision(200, body, GEEF_REFERTE, "VV-2026-00042");
    let actief = geef_answer(&format!(
        "{referte}{}",
        erkenning("VV-2026-00042", "V0001001", "ACTIEF", "")
    ));
    XSD.assert_valid(&actief, "GeefErkenning ACTIEF");
    assert_eq!(
        decision(&actief),
        Ok(Decision::Approved {
            detail: Some("erkenningsnummer VV-2026-00042".into())
        })
    );
    let ingetrokken = geef_answer(&format!(
        "{referte}{}",
        erkenning("VV-2026-00042", "V0001001", "INGETROKKEN", "")
    ));
    assert_eq!(
        decision(&ingetrokken),
        Ok(Decision::Refused {
            reason: "erkenning VV-2026-00042 ingetrokken".into()
        })
    );
    let onbekend = geef_answer(&format!(
        "{referte}{}",
        exc("VV-201", "FOUT", "Onbekend erkenningsnummer VV-2026-00042")
    ));
    XSD.assert_valid(&onbekend, "GeefErkenning VV-201");
    assert_eq!(
        decision(&onbekend),
        Err(ProviderError::Permanent(
            "erkenning VV-2026-00042: VV-201: Onbekend erkenningsnummer VV-2026-00042".into()
        ))
    );
    let other_number = geef_answer(&format!(
        "{referte}{}",
        erkenning("VV-2026-00043", "V0001001", "ACTIEF", "")
    ));
    assert!(is_permanent(&decision(&other_number)));
    assert!(is_transient(&read_decision(
        500,
        &fault(
            "soapenv:Server",
            "99995 - Te veel gelijktijdige bevragingen"
        ),
        GEEF_REFERTE,
        "VV-2026-00042"
    )));
}
