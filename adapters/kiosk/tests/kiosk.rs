//! Keeps the KIOSK contract (`contracts/xsd/kiosk-v1.xsd`, `contracts/wsdl/kiosk-v1.wsdl`,
//! `contracts/examples/kiosk/`) and the adapter in step:
//!
//! - every request the adapter writes validates against the XSD (with libxml2): every
//!   regeling, full and sparse association data, awkward text, status requests;
//! - no INSZ and no representative is ever written;
//! - broken requests do not validate (so the validation can fail);
//! - the checked-in examples validate (requests, replies, the faults' `kiosk:Fout`), the
//!   request examples are exactly what the adapter writes for the applications below
//!   (`REGENERATE_KIOSK_EXAMPLES=1` rewrites them), and the replies read as documented;
//! - the WSDL is well-formed and binds both operations to the XSD.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use adapter_kiosk::soap::{self, Operation};
use adapter_provider::{Decision, ProviderError, Submitted};
use contracts::applications::{Applicant, EnrichedApplication};
use contracts::{fixtures, Part};
use partner_sims::xml_check::{attribute, libxml_lock, read, Wsdl, XsdCheck, WSDL_SOAP_NS};
use serde_json::{json, Value};
use uuid::Uuid;

#[path = "../../soap/tests/common/contract.rs"]
mod contract;

use contract::{wsdl_part_elements, Contract};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const EXAMPLE_APPLICATION: &str = "0b6a3f4e-2c1d-4f5a-8e9b-7c6d5e4f3a21";
const EXAMPLE_ATTEST: &str = "5d1e8c7a-9b3f-4a2e-b6c4-1f0e9d8c7b6a";
const EXAMPLE_DOSSIER: &str = "KIOSK-2026-000123";

const XSD: XsdCheck =
    XsdCheck::in_workspace("contracts/xsd/kiosk-v1.xsd").with_fault_detail(soap::NAMESPACE, "Fout");

const CONTRACT: Contract = Contract {
    xsd: XSD,
    examples: "kiosk",
};

/// `xml` with its first element `name` renamed to `new_name`, start and end tag.
fn rename_first(xml: &str, name: &str, new_name: &str) -> String {
    xml.replacen(&format!("<{name}>"), &format!("<{new_name}>"), 1)
        .replacen(&format!("</{name}>"), &format!("</{new_name}>"), 1)
}

fn fields(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// The project subsidy of the examples: the parts the KIOSK services receive
/// (basisgegevens, contactgegevens, locaties, sleutels), the representatives still in the
/// snapshot (they must not be rendered).
fn example_application() -> EnrichedApplication {
    EnrichedApplication {
        application_id: EXAMPLE_APPLICATION.parse().unwrap(),
        submitted_at: time::macros::datetime!(2026-11-03 08:15:02 UTC),
        applicant: Applicant {
            telefoon: "053 21 00 00".into(),
            ..fixtures::applicant()
        },
        ..fixtures::application(
            "kiosk-projectsubsidie",
            json!({
                "projectnaam": "Zomerconcert in het stadspark",
                "gevraagdBedrag": 1500,
                "begindatum": "2027-06-01",
                "einddatum": "2027-08-31",
                "omschrijving": "Openluchtconcert met de jeugdharmonie en twee gastkorpsen.",
            }),
        )
    }
}

/// A certificate: no amount, only the basisgegevens granted, no telephone.
fn example_attest() -> EnrichedApplication {
    let mut app = example_application();
    app.application_id = EXAMPLE_ATTEST.parse().unwrap();
    app.service_code = "kiosk-attest".into();
    app.submitted_at = time::macros::datetime!(2026-11-05 14:02:41.250 UTC);
    app.applicant.telefoon = String::new();
    app.fields = fields(json!({
        "projectnaam": "Attest muziekonderwijs jeugdafdeling",
        "begindatum": "2027-01-01",
        "einddatum": "2027-12-31",
    }));
    app.parts = vec![Part::Basisgegevens];
    app
}

fn submit(app: &EnrichedApplication) -> String {
    soap::submit_request(app).unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

#[test]
fn every_request_the_adapter_writes_validates() {
    let base = example_application();
    for regeling in soap::REGELINGEN.iter().chain(&["kiosk-nieuwe-regeling"]) {
        let mut app = base.clone();
        app.service_code = (*regeling).to_owned();
        XSD.assert_valid(&submit(&app), regeling);
    }
    XSD.assert_valid(&submit(&example_attest()), "an attest");

    let mut werking = base.clone();
    werking.service_code = "kiosk-werkingssubsidie".into();
    werking.fields.remove("projectnaam");
    werking.fields.remove("omschrijving");
    werking
        .fields
        .insert("gevraagdBedrag".into(), json!("999999999.99"));
    XSD.assert_valid(&submit(&werking), "a working subsidy without projectnaam");

    let mut everything = base.clone();
    everything.parts = Part::ALL.to_vec();
    XSD.assert_valid(&submit(&everything), "every part granted");

    let mut nothing = base.clone();
    nothing.parts = vec![];
    XSD.assert_valid(&submit(&nothing), "no part granted");

    let mut sparse = base.clone();
    let v = &mut sparse.vereniging;
    v.naam = String::new();
    v.verenigingstype.code = "  ".into();
    v.sleutels.clear();
    v.contactgegevens.clear();
    if let Some(a) = v.locaties[0].adres.as_mut() {
        a.straatnaam = String::new();
        a.huisnummer = String::new();
    }
    v.locaties[1].adres = None;
    XSD.assert_valid(&submit(&sparse), "sparse association data");

    for nummer in [EXAMPLE_DOSSIER, "KIOSK-1999-000000", "KIOSK-2026-999999"] {
        XSD.assert_valid(&soap::status_request(nummer).unwrap(), nummer);
    }
}

#[test]
fn awkward_text_validates_and_is_escaped() {
    let mut app = example_application();
    app.vereniging.naam =
        "Tom & Jerry <vzw> \"De 'Pottekijkers'\" ]]> — Brûlé 日本 🎺\r\nlijn 2".into();
    app.applicant.achternaam = "D'Hondt-Van <Acker>".into();
    app.applicant.email = "an+kiosk@sub.example.be".into();
    app.fields.insert(
        "omschrijving".into(),
        json!("tab\there, bell\u{7} and nul\u{0} are not XML; <![CDATA[x]]> &amp; &#0;\n"),
    );
    app.fields
        .insert("projectnaam".into(), json!("x".repeat(200)));
    let xml = submit(&app);
    XSD.assert_valid(&xml, "awkward text");
    assert!(xml.contains("Tom &amp; Jerry &lt;vzw&gt;"));
    assert!(xml.contains("Brûlé 日本 🎺&#13;\nlijn 2"));
    assert!(xml.contains("&lt;![CDATA[x]]&gt; &amp;amp; &amp;#0;"));
    assert!(!xml.contains('\u{0}') && !xml.contains('\u{7}'));
}

#[test]
fn no_insz_and_no_representative_is_ever_written() {
    let mut app = example_application();
    app.parts = Part::ALL.to_vec();
    let rep = &mut app.vereniging.vertegenwoordigers[0];
    rep.voornaam = "Zeldzame".into();
    rep.achternaam = "Vertegenwoordiger".into();
    rep.e_mail = "vertegenwoordiger@example.be".into();
    let insz = rep.insz.clone().unwrap();
    let xml = submit(&app);
    assert!(!xml.contains(&insz), "{xml}");
    for absent in [
        "insz",
        "Insz",
        "INSZ",
        "ertegenwoordiger",
        "Zeldzame",
        "vertegenwoordiger@example.be",
        "0470 12 34 56",
        "Voorzitter",
    ] {
        assert!(!xml.contains(absent), "{absent} in\n{xml}");
    }
    // The applicant is there, by name and e-mail only.
    assert!(xml.contains("<Voornaam>An</Voornaam>"));
    // And the contract has no place for one.
    let xsd = read(&XSD.path());
    assert!(!xsd.contains("name=\"Insz\"") && !xsd.contains("name=\"insz\""));
    assert!(!xsd.contains("name=\"Vertegenwoordiger"));
}

#[test]
fn broken_requests_do_not_validate() {
    let good = submit(&example_application());
    XSD.assert_valid(&good, "the unbroken request");
    CONTRACT.assert_edits_invalid(
        &good,
        &[
            (
                "<Regeling>kiosk-projectsubsidie</Regeling>",
                "<Regeling>Kiosk Projectsubsidie</Regeling>",
                "a bad Regeling",
            ),
            (
                "<AanvraagId>0b6a3f4e",
                "<AanvraagId>xx6a3f4e",
                "a bad AanvraagId",
            ),
            (
                "<IngediendOp>2026-11-03T08:15:02Z</IngediendOp>",
                "<IngediendOp>2026-11-03T08:15:02</IngediendOp>",
                "a moment without time zone",
            ),
            (
                "<VCode>V0001001</VCode>",
                "<VCode>V1001</VCode>",
                "a bad VCode",
            ),
            (
                "<KboNummer>0417497106</KboNummer>",
                "<KboNummer>0417.497.106</KboNummer>",
                "a formatted KBO number",
            ),
            (
                "<GevraagdBedrag>1500.00</GevraagdBedrag>",
                "<GevraagdBedrag>1500</GevraagdBedrag>",
                "an amount without decimals",
            ),
            (
                "<GevraagdBedrag>1500.00</GevraagdBedrag>",
                "<GevraagdBedrag>0.00</GevraagdBedrag>",
                "a zero amount",
            ),
            (
                "<GevraagdBedrag>1500.00</GevraagdBedrag>",
                "<GevraagdBedrag>-1500.00</GevraagdBedrag>",
                "a negative amount",
            ),
            (
                "<Begindatum>2027-06-01</Begindatum>",
                "<Begindatum>01/06/2027</Begindatum>",
                "a bad date",
            ),
            ("<Begindatum>2027-06-01</Begindatum>", "", "no Begindatum"),
            (
                "<Email>an.peeters@example.be</Email>",
                "<Email>an.peeters</Email>",
                "a bad e-mail",
            ),
            (
                "<Voornaam>An</Voornaam>",
                "<Voornaam> </Voornaam>",
                "a blank name",
            ),
            (
                "<Voornaam>An</Voornaam>",
                "<Voornaam>An</Voornaam><Insz>85071512397</Insz>",
                "an INSZ",
            ),
            (
                "<Projectnaam>",
                "<Onbekend/><Projectnaam>",
                "an unknown element",
            ),
        ],
    );
    let qualified = rename_first(&good, "Organisatie", "kiosk:Organisatie");
    CONTRACT.assert_edit_invalid(&good, &qualified, "a qualified child");
    let other_ns = good.replace(soap::NAMESPACE, "http://example.be/kiosk/v2");
    XSD.assert_invalid(&other_ns, "another namespace");
    XSD.assert_invalid(&good.replacen("</Aanvrager>", "", 1), "an unclosed element");
    let long = good.replacen("Zomerconcert in het stadspark", &"x".repeat(201), 1);
    XSD.assert_invalid(&long, "a projectnaam of 201 characters");

    let status = soap::status_request(EXAMPLE_DOSSIER).unwrap();
    XSD.assert_invalid(
        &status.replace(EXAMPLE_DOSSIER, "KIOSK-2026-123"),
        "a bad dossier number",
    );
}

#[test]
fn an_application_that_cannot_be_sent_is_permanent_without_a_request() {
    let mut app = example_application();
    app.fields.insert("gevraagdBedrag".into(), json!("1.234"));
    app.fields.insert("einddatum".into(), json!(20270831));
    match soap::submit_request(&app) {
        Err(ProviderError::Permanent(reason)) => {
            assert!(
                reason.contains("gevraagdBedrag: has more than two decimals"),
                "{reason}"
            );
            assert!(
                reason.contains("einddatum: must be a date string"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------

/// What each request example shows.
fn request_examples() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        (
            "request.dien-aanvraag-in.xml",
            submit(&example_application()),
        ),
        (
            "request.dien-aanvraag-in.attest.xml",
            submit(&example_attest()),
        ),
        (
            "request.geef-dossier-status.xml",
            soap::status_request(EXAMPLE_DOSSIER).unwrap(),
        ),
    ])
}

#[test]
fn request_examples_are_what_the_adapter_writes() {
    CONTRACT.assert_request_examples(
        request_examples(),
        "REGENERATE_KIOSK_EXAMPLES",
        "cargo test -p adapter-kiosk --test kiosk",
    );
}

#[test]
fn every_example_validates_and_reads_as_documented() {
    let files = CONTRACT.example_files(&[
        "request.dien-aanvraag-in.xml",
        "request.geef-dossier-status.xml",
        "reply.dien-aanvraag-in.xml",
        "reply.geef-dossier-status.in-behandeling.xml",
        "reply.geef-dossier-status.goedgekeurd.xml",
        "reply.geef-dossier-status.afgewezen.xml",
        "fault.onbekend-dossier.xml",
        "fault.tijdelijk-onbeschikbaar.xml",
    ]);
    let application: Uuid = EXAMPLE_APPLICATION.parse().unwrap();
    for (name, text) in &files {
        XSD.assert_valid(text, name);
        let status = |t: &str| soap::read_status_reply(200, t, EXAMPLE_DOSSIER);
        match name.as_str() {
            n if n.starts_with("request.") => {
                assert!(
                    request_examples().contains_key(n),
                    "{n}: which application does it show? (add it to request_examples)"
                );
            }
            "reply.dien-aanvraag-in.xml" => assert_eq!(
                soap::read_submit_reply(200, text, application),
                Ok(Submitted {
                    reference: EXAMPLE_DOSSIER.into(),
                    decision: Decision::Received
                })
            ),
            "reply.geef-dossier-status.in-behandeling.xml" => {
                assert_eq!(status(text), Ok(Decision::InTreatment));
            }
            "reply.geef-dossier-status.goedgekeurd.xml" => assert_eq!(
                status(text),
                Ok(Decision::Approved {
                    detail: Some("toegekend bedrag 1500.00 EUR".into())
                })
            ),
            "reply.geef-dossier-status.afgewezen.xml" => match status(text) {
                Ok(Decision::Refused { reason }) => {
                    assert!(reason.starts_with("Het gevraagde bedrag"), "{reason}");
                }
                other => panic!("{name}: {other:?}"),
            },
            "fault.onbekend-dossier.xml" => assert_eq!(
                soap::read_status_reply(500, text, EXAMPLE_DOSSIER),
                Err(ProviderError::Permanent(
                    "KIOSK fault soapenv:Client ONBEKEND_DOSSIER: Dossier KIOSK-2026-000123 is \
                     bij KIOSK niet bekend"
                        .into()
                ))
            ),
            "fault.tijdelijk-onbeschikbaar.xml" => assert!(matches!(
                soap::read_submit_reply(500, text, application),
                Err(ProviderError::Transient(reason)) if reason.contains("TIJDELIJK_ONBESCHIKBAAR")
            )),
            other => panic!("{other}: document it here (examples are request.*, reply.*, fault.*)"),
        }
    }
}

#[test]
fn broken_replies_do_not_validate() {
    let good = CONTRACT.example("reply.geef-dossier-status.goedgekeurd.xml");
    XSD.assert_valid(&good, "the unbroken reply");
    CONTRACT.assert_edits_invalid(
        &good,
        &[
            (
                "<Status>GOEDGEKEURD</Status>",
                "<Status>OK</Status>",
                "an unknown Status",
            ),
            (
                "1500.00</ToegekendBedrag>",
                "1.500,00</ToegekendBedrag>",
                "a formatted amount",
            ),
        ],
    );
    let renamed = rename_first(&good, "Tijdstip", "Tijd");
    CONTRACT.assert_edit_invalid(&good, &renamed, "a renamed element");
    let fault = CONTRACT.example("fault.onbekend-dossier.xml");
    XSD.assert_invalid(
        &fault.replace("ONBEKEND_DOSSIER", "ONBEKEND"),
        "an unknown Fout/Code",
    );
}

// ---------------------------------------------------------------------------------------
// WSDL
// ---------------------------------------------------------------------------------------

#[test]
fn the_wsdl_binds_both_operations_to_the_xsd() {
    let _guard = libxml_lock();
    let wsdl = Wsdl::load("contracts/wsdl/kiosk-v1.wsdl");
    let root = &wsdl.root;
    let soap_ns = WSDL_SOAP_NS;
    assert_eq!(attribute(root, "targetNamespace"), soap::NAMESPACE);
    let find = |ns: &str, name: &str| wsdl.find(ns, name);
    wsdl.assert_imports(soap::NAMESPACE, "../xsd/kiosk-v1.xsd", &XSD.path());
    assert_eq!(
        root.lookup_namespace_uri("kiosk").as_deref(),
        Some(soap::NAMESPACE)
    );

    assert_eq!(
        wsdl_part_elements(&wsdl),
        vec![
            "kiosk:DienAanvraagIn",
            "kiosk:DienAanvraagInResponse",
            "kiosk:GeefDossierStatus",
            "kiosk:GeefDossierStatusResponse",
            "kiosk:Fout",
        ]
    );
    let actions: Vec<(String, String)> = find(soap_ns, "operation")
        .iter()
        .map(|o| {
            let op = o
                .get_parent()
                .map(|p| attribute(&p, "name"))
                .unwrap_or_default();
            (op, attribute(o, "soapAction"))
        })
        .collect();
    let expected: Vec<(String, String)> = [Operation::DienAanvraagIn, Operation::GeefDossierStatus]
        .iter()
        .map(|op| (op.name().to_owned(), op.soap_action().to_owned()))
        .collect();
    assert_eq!(actions, expected);
    wsdl.assert_document_literal(4);
    let faults = find(soap_ns, "fault");
    assert_eq!(faults.len(), 2);
    assert!(faults.iter().all(|b| attribute(b, "use") == "literal"));

    // The XSD: the namespace, form and version the adapter assumes, its top-level elements.
    CONTRACT.assert_xsd_declares(
        soap::NAMESPACE,
        soap::VERSION,
        &[
            "DienAanvraagIn",
            "DienAanvraagInResponse",
            "GeefDossierStatus",
            "GeefDossierStatusResponse",
            "Fout",
        ],
    );
}
