//! Keeps the SOAP contract (`contracts/xsd/publicatie-v1.xsd`, `contracts/wsdl/
//! publicatie-v1.wsdl`, `contracts/examples/soap/`) and the adapter in step:
//!
//! - every request the adapter makes validates against the XSD (with libxml2): the register's
//!   example association with and without the INSZ grant and without representatives, the
//!   JSON example messages, a removal, both territory notices, awkward text and sparse data;
//! - an INSZ appears only for a receiver granted it;
//! - the checked-in examples validate (requests and replies; the fault is checked for
//!   well-formedness), the request examples are exactly what the adapter produces for the
//!   JSON example messages (`REGENERATE_SOAP_EXAMPLES=1` rewrites them), and the replies are
//!   classified as documented;
//! - broken messages do not validate (so the validation can fail);
//! - the WSDL is well-formed and binds the operation to the XSD.

use std::collections::BTreeMap;

use adapter_municipality::soap::{
    self, classify_reply, classify_reply_to, Parties, Publication, Reply, UitzonderingType,
};
use adapter_soap::fixtures::NOT_SOAP;
use adapter_subscriber::FieldPolicy;
use contracts::fixtures;
use contracts::register::Status;
use contracts::{
    AssociationChanged, AssociationRemoved, Crossing, MessageType, Metadata, Part, TerritoryNotice,
};
use partner_sims::xml_check::{
    assert_example, attribute, libxml_lock, parse_strict, read, workspace, Wsdl, XsdCheck, WSDL_NS,
    WSDL_SOAP_NS,
};
use time::OffsetDateTime;
use uuid::Uuid;

#[path = "../../soap/tests/common/contract.rs"]
mod contract;

use contract::{wsdl_part_elements, Contract};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const XSD: XsdCheck = XsdCheck::in_workspace("contracts/xsd/publicatie-v1.xsd");

const CONTRACT: Contract = Contract {
    xsd: XSD,
    examples: "soap",
};

fn parties() -> Parties {
    Parties {
        sender: "kbbj.vlaanderen.be/verenigingsloket-hub".into(),
        receiver: "OVO002067".into(),
    }
}

/// When the examples were "sent".
fn sent_at() -> OffsetDateTime {
    time::macros::datetime!(2026-11-03 08:15:02.612 UTC)
}

fn metadata(message_type: MessageType, v_code: &str) -> Metadata {
    Metadata {
        message_id: Uuid::now_v7(),
        message_type,
        time: OffsetDateTime::now_utc(),
        source: "hub/register".into(),
        correlation_id: Uuid::new_v4(),
        v_code: v_code.parse().expect("vcode"),
        sequence: 48213,
        version: Some(4),
    }
}

/// The register's example association as a first `association.changed` (every part).
fn register_example() -> AssociationChanged {
    AssociationChanged {
        metadata: metadata(MessageType::AssociationChanged, "V0001001"),
        changed_parts: Part::ALL.to_vec(),
        withheld: vec![],
        vereniging: fixtures::register_example(),
    }
}

const GRANTED: FieldPolicy = FieldPolicy {
    insz: true,
    vertegenwoordigers: true,
};
const NO_REPRESENTATIVES: FieldPolicy = FieldPolicy {
    insz: false,
    vertegenwoordigers: false,
};

fn envelope_of(p: Publication) -> String {
    soap::request(&p, &parties(), OffsetDateTime::now_utc())
}

/// A JSON example message from `contracts/examples/messages/`.
fn json_example<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = workspace().join("contracts/examples/messages").join(name);
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

#[test]
fn every_request_the_adapter_makes_validates() {
    let full = register_example();
    let filtered = FieldPolicy::default().apply(full.clone());
    let granted = GRANTED.apply(full.clone());
    let without_representatives = NO_REPRESENTATIVES.apply(full.clone());
    for (what, m) in [
        ("unfiltered", &full),
        ("filtered (no INSZ)", &filtered),
        ("INSZ granted", &granted),
        ("no representatives", &without_representatives),
    ] {
        XSD.assert_valid(&envelope_of(Publication::Changed(m)), what);
    }

    for name in [
        "association.changed.json",
        "association.changed.minimised.json",
        "association.changed.no-representatives.json",
    ] {
        let m: AssociationChanged = json_example(name);
        XSD.assert_valid(&envelope_of(Publication::Changed(&m)), name);
    }
    let removed: AssociationRemoved = json_example("association.removed.json");
    XSD.assert_valid(&envelope_of(Publication::Removed(&removed)), "a removal");
    for name in [
        "association.entered-territory.json",
        "association.left-territory.json",
    ] {
        let notice: TerritoryNotice = json_example(name);
        XSD.assert_valid(&envelope_of(Publication::Notice(&notice)), name);
    }
    for crossing in [Crossing::Entered, Crossing::Left] {
        let notice = TerritoryNotice::for_change(&full.metadata, "sint-niklaas", crossing);
        XSD.assert_valid(
            &envelope_of(Publication::Notice(&notice)),
            &format!("{crossing:?} notice"),
        );
    }
}

#[test]
fn awkward_text_and_sparse_data_validate() {
    let mut m = FieldPolicy::default().apply(register_example());
    let v = &mut m.vereniging;
    v.naam = "Tom & Jerry <vzw> \"De 'Pottekijkers'\" ]]> — Brûlé Œuvre 日本 🎺\r\nlijn 2".into();
    v.korte_beschrijving = "tab\there, bell\u{7} and nul\u{0} are not XML".into();
    v.roepnaam = String::new();
    v.korte_naam = "   ".into();
    v.startdatum = None;
    v.einddatum = Some(time::macros::date!(2026 - 12 - 31));
    v.status = Status::Dubbel;
    v.contactgegevens.clear();
    v.werkingsgebieden.clear();
    v.sleutels.clear();
    v.hoofdactiviteiten_verenigingsloket.clear();
    v.locaties[0].adres = None;
    v.locaties[0].adres_id = None;
    v.locaties[1].naam = "<![CDATA[x]]> &amp; &#0;".into();
    v.vertegenwoordigers[0].e_mail = "an+test@example.be".into();
    m.metadata.version = None;
    m.changed_parts = vec![Part::Basisgegevens];
    let envelope = envelope_of(Publication::Changed(&m));
    XSD.assert_valid(&envelope, "awkward text, sparse data");
    assert!(envelope.contains("Tom &amp; Jerry &lt;vzw&gt;"));
    assert!(
        envelope.contains("Brûlé Œuvre 日本 🎺"),
        "non-ASCII kept as is"
    );
    assert!(envelope.contains("&lt;![CDATA[x]]&gt; &amp;amp; &amp;#0;"));
    assert!(!envelope.contains('\u{0}') && !envelope.contains('\u{7}'));

    // And the adapter's own reader gets the text back.
    assert!(soap::request_referte(&envelope).is_some());
}

#[test]
fn an_insz_appears_only_when_granted() {
    let full = register_example();
    let filtered = envelope_of(Publication::Changed(
        &FieldPolicy::default().apply(full.clone()),
    ));
    assert!(!filtered.contains("<insz>"), "{filtered}");
    assert!(!filtered.contains("85071512397"));
    assert!(filtered.contains("<Veld>vertegenwoordigers[].insz</Veld>"));
    assert!(filtered.contains("<e-mail>an.peeters@example.be</e-mail>"));

    let granted = envelope_of(Publication::Changed(&GRANTED.apply(full.clone())));
    assert!(granted.contains("<insz>85071512397</insz>"));
    assert!(!granted.contains("<Achtergehouden>"));

    let none = envelope_of(Publication::Changed(&NO_REPRESENTATIVES.apply(full)));
    assert!(!none.contains("<insz>") && !none.contains("Peeters"));
    assert!(none.contains("<vertegenwoordigers/>"));
    assert!(none.contains("<Veld>vertegenwoordigers</Veld>"));
    assert!(!none.contains("<Deel>vertegenwoordigers</Deel>"));
}

#[test]
fn broken_messages_do_not_validate() {
    let full = register_example();
    let good = envelope_of(Publication::Changed(&full));
    XSD.assert_valid(&good, "the unbroken message");
    let referte = full.metadata.message_id.to_string();

    let without_vraag_referte = good.replacen(
        &format!("<Referte>{referte}</Referte>\n      <Inhoud>"),
        "<Inhoud>",
        1,
    );
    CONTRACT.assert_edit_invalid(&good, &without_vraag_referte, "a Vraag without Referte");

    let bad_vcode = good.replace("<VCode>V0001001</VCode>", "<VCode>V1001</VCode>");
    CONTRACT.assert_edit_invalid(&good, &bad_vcode, "a bad VCode");
    let bad_vereniging_vcode = good.replace("<vCode>V0001001</vCode>", "<vCode>v0001001</vCode>");
    CONTRACT.assert_edit_invalid(&good, &bad_vereniging_vcode, "a bad vereniging/vCode");

    CONTRACT.assert_edits_invalid(
        &good,
        &[
            (
                "<Soort>GEWIJZIGD</Soort>",
                "<Soort>ANDERS</Soort>",
                "an unknown Soort",
            ),
            (
                "<Deel>locaties</Deel>",
                "<Deel>adressen</Deel>",
                "an unknown Deel",
            ),
            (
                "<status>Actief</status>",
                "<status>Verdwenen</status>",
                "an unknown status",
            ),
            (
                "<Type>PUBLICATIE</Type>",
                "<Type>VRAAG</Type>",
                "a wrong Bericht/Type",
            ),
            (
                "<insz>85071512397</insz>",
                "<insz>85.07.15-123.97</insz>",
                "a formatted INSZ",
            ),
            (
                "<startdatum>1998-09-01</startdatum>",
                "<startdatum>01/09/1998</startdatum>",
                "a bad date",
            ),
            ("<Sequentie>", "<Sequentie>-", "a negative Sequentie"),
            (
                "<isPrimair>true</isPrimair>",
                "<isPrimair>ja</isPrimair>",
                "a bad boolean",
            ),
            (
                "<naam>Koninklijke",
                "<onbekend/><naam>Koninklijke",
                "an unknown element",
            ),
        ],
    );
    let renamed = good
        .replacen("<e-mail>", "<email>", 1)
        .replacen("</e-mail>", "</email>", 1);
    CONTRACT.assert_edit_invalid(&good, &renamed, "a renamed element");

    // Namespaced children are not the contract's (children are unqualified).
    let qualified =
        good.replacen("<Verzoek>", "<pub:Verzoek>", 1)
            .replacen("</Verzoek>", "</pub:Verzoek>", 1);
    XSD.assert_invalid(&qualified, "a qualified Verzoek");
    // The operation in another namespace.
    let other_ns = good.replace(soap::NAMESPACE, "http://example.be/publicatie/v2");
    XSD.assert_invalid(&other_ns, "another namespace");
    // Not well-formed.
    XSD.assert_invalid(&good.replacen("</Verzoek>", "", 1), "an unclosed element");
}

// ---------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------

/// Which JSON message each request example shows.
fn request_examples() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        (
            "request.gewijzigd.xml",
            "association.changed.minimised.json",
        ),
        ("request.verwijderd.xml", "association.removed.json"),
        (
            "request.binnen-gebied.xml",
            "association.entered-territory.json",
        ),
        (
            "request.buiten-gebied.xml",
            "association.left-territory.json",
        ),
    ])
}

fn expected_request(json_name: &str) -> String {
    let p = parties();
    match json_name {
        n if n.starts_with("association.changed") => {
            let m: AssociationChanged = json_example(n);
            soap::request(&Publication::Changed(&m), &p, sent_at())
        }
        n if n.starts_with("association.removed") => {
            let m: AssociationRemoved = json_example(n);
            soap::request(&Publication::Removed(&m), &p, sent_at())
        }
        n => {
            let m: TerritoryNotice = json_example(n);
            soap::request(&Publication::Notice(&m), &p, sent_at())
        }
    }
}

#[test]
fn request_examples_are_what_the_adapter_sends() {
    for (file, json) in request_examples() {
        let expected = expected_request(json);
        assert_example(
            &CONTRACT.examples_dir().join(file),
            &expected,
            "REGENERATE_SOAP_EXAMPLES",
            &format!("cargo test -p adapter-municipality --test soap; made of {json}"),
        );
    }
}

#[test]
fn every_example_validates_and_is_classified_as_documented() {
    let files = CONTRACT.example_files(&[
        "request.gewijzigd.xml",
        "request.buiten-gebied.xml",
        "reply.antwoord.xml",
        "reply.fout.xml",
        "fault.99995.xml",
    ]);
    let referte = "019a4a2e-5f3c-7a21-9c4e-3b8d2f6e1a07";
    for (name, text) in &files {
        if name.starts_with("request.") {
            assert!(
                request_examples().contains_key(name.as_str()),
                "{name}: which JSON message does it show? (add it to request_examples)"
            );
            XSD.assert_valid(text, name);
        } else if name.starts_with("reply.") {
            XSD.assert_valid(text, name);
            let reply = classify_reply_to(200, text, referte);
            match name.as_str() {
                "reply.fout.xml" => match reply {
                    Reply::Refused(u) => assert_eq!(
                        u.to_string(),
                        "FOUT 40046 from OVO002067: Onbekend ondernemingsnummer"
                    ),
                    other => panic!("{name}: {other:?}"),
                },
                "reply.waarschuwing.xml" => match reply {
                    Reply::Delivered { warnings } => {
                        assert_eq!(warnings.len(), 1);
                        assert_eq!(warnings[0].type_, UitzonderingType::Waarschuwing);
                        assert_eq!(warnings[0].identificatie, "40143");
                    }
                    other => panic!("{name}: {other:?}"),
                },
                _ => assert_eq!(reply, Reply::Delivered { warnings: vec![] }, "{name}"),
            }
        } else if name.starts_with("fault.") {
            let _guard = libxml_lock();
            assert!(parse_strict(text).is_ok(), "{name} is not well-formed");
            assert!(
                matches!(classify_reply(500, text), Reply::Throttled(_)),
                "{name}"
            );
        } else {
            panic!("{name}: examples are request.*, reply.* or fault.*");
        }
    }
    // The gewijzigd example is for a receiver without the INSZ grant.
    let gewijzigd = CONTRACT.example("request.gewijzigd.xml");
    assert!(!gewijzigd.contains("<insz>"));
    assert!(gewijzigd.contains(&format!("<Referte>{referte}</Referte>")));
}

#[test]
fn broken_replies_do_not_validate() {
    let good = CONTRACT.example("reply.fout.xml");
    XSD.assert_valid(&good, "reply.fout.xml");
    CONTRACT.assert_edits_invalid(
        &good,
        &[
            (
                "<Referte>019a4a2e-5f3c-7a21-9c4e-3b8d2f6e1a07</Referte>\n      <Uitzonderingen>",
                "<Uitzonderingen>",
                "an Antwoord without Referte",
            ),
            (
                "<Type>FOUT</Type>",
                "<Type>ERROR</Type>",
                "an unknown Uitzondering Type",
            ),
            (
                "<Type>ANTWOORD</Type>",
                "<Type>PUBLICATIE</Type>",
                "a wrong Bericht/Type",
            ),
            (
                "<Identificatie>40046</Identificatie>",
                "",
                "an Uitzondering without Identificatie",
            ),
            (
                "<Referte>5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c</Referte>",
                "<Referte>not-a-guid</Referte>",
                "a Referte that is not a GUID",
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Reply classification on whole envelopes
// ---------------------------------------------------------------------------------------

#[test]
fn replies_are_classified() {
    let referte = "019a4a2e-5f3c-7a21-9c4e-3b8d2f6e1a07";
    let antwoord = CONTRACT.example("reply.antwoord.xml");

    // A FOUT at Repliek (context) level, without Antwoorden.
    let start = antwoord.find("<Antwoorden>").expect("Antwoorden");
    let end = antwoord.find("</Antwoorden>").expect("/Antwoorden") + "</Antwoorden>".len();
    let context_fout = format!(
        "{}<Uitzonderingen><Uitzondering><Identificatie>30001</Identificatie>\
         <Oorsprong>OVO002067</Oorsprong><Type>FOUT</Type>\
         <Diagnose>Afzender niet gemachtigd</Diagnose></Uitzondering></Uitzonderingen>{}",
        &antwoord[..start],
        &antwoord[end..]
    );
    XSD.assert_valid(&context_fout, "a context-level FOUT");
    match classify_reply_to(200, &context_fout, referte) {
        Reply::Refused(u) => {
            assert_eq!(u.type_, UitzonderingType::Fout);
            assert!(u.to_string().contains("30001") && u.to_string().contains("gemachtigd"));
        }
        other => panic!("{other:?}"),
    }

    // FOUT at Antwoord level: see every_example_validates_and_is_classified_as_documented;
    // here with a 500 status, as some back offices send it.
    let fout = CONTRACT.example("reply.fout.xml");
    assert!(matches!(
        classify_reply_to(500, &fout, referte),
        Reply::Refused(_)
    ));

    // A reply echoing another Referte.
    assert!(matches!(
        classify_reply_to(200, &antwoord, "6f1d9f40-0000-4000-8000-000000000000"),
        Reply::Unreadable {
            transient: false,
            ..
        }
    ));

    // Faults.
    let fault = CONTRACT.example("fault.99995.xml");
    assert_eq!(
        classify_reply(500, &fault),
        Reply::Throttled("99995 - Te veel gelijktijdige bevragingen".into())
    );
    // Another fault: a client's is permanent, a server's transient.
    for (faultcode, faultstring, transient) in [
        ("soapenv:Client", "Ongeldig verzoek", false),
        ("soapenv:Server", "Databank onbereikbaar", true),
    ] {
        let other = fault
            .replace("soapenv:Server", faultcode)
            .replace("99995 - Te veel gelijktijdige bevragingen", faultstring);
        assert!(
            matches!(
                classify_reply(500, &other),
                Reply::Fault { transient: t, .. } if t == transient
            ),
            "{faultcode}: {faultstring}"
        );
    }

    // No reply at all.
    let html = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>\
                <body><h1>Service Unavailable</h1></body></html>";
    assert!(matches!(
        classify_reply(503, html),
        Reply::Unreadable {
            transient: true,
            ..
        }
    ));
    for garbage in NOT_SOAP {
        assert!(
            matches!(
                classify_reply(200, garbage),
                Reply::Unreadable {
                    transient: false,
                    ..
                }
            ),
            "{garbage:?}"
        );
    }
    assert!(!classify_reply(400, html).is_transient());
}

// ---------------------------------------------------------------------------------------
// The WSDL and the XSD's identity
// ---------------------------------------------------------------------------------------

#[test]
fn the_wsdl_binds_the_operation_to_the_xsd() {
    let _guard = libxml_lock();
    let wsdl = Wsdl::load("contracts/wsdl/publicatie-v1.wsdl");
    let root = &wsdl.root;
    let (wsdl_ns, soap_ns) = (WSDL_NS, WSDL_SOAP_NS);
    let find = |ns: &str, name: &str| wsdl.find(ns, name);
    wsdl.assert_imports(soap::NAMESPACE, "../xsd/publicatie-v1.xsd", &XSD.path());

    assert_eq!(
        wsdl_part_elements(&wsdl),
        vec!["pub:OntvangPublicatie", "pub:OntvangPublicatieResponse"]
    );
    assert_eq!(
        root.lookup_namespace_uri("pub").as_deref(),
        Some(soap::NAMESPACE)
    );
    let operations: Vec<String> = find(wsdl_ns, "operation")
        .iter()
        .map(|o| attribute(o, "name"))
        .collect();
    assert_eq!(operations, vec![soap::OPERATION, soap::OPERATION]);
    let actions = find(soap_ns, "operation");
    assert_eq!(actions.len(), 1);
    assert_eq!(attribute(actions[0], "soapAction"), soap::SOAP_ACTION);
    wsdl.assert_document_literal(2);

    // The XSD: the namespace and form the adapter assumes, both operation elements.
    CONTRACT.assert_xsd_declares(
        soap::NAMESPACE,
        soap::VERSION,
        &["OntvangPublicatie", "OntvangPublicatieResponse"],
    );
}
