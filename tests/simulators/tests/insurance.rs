//! Tests of the volunteer-insurance SOAP simulator over real HTTP. The requests are the
//! contract's checked-in examples (`contracts/examples/insurance/`, exactly what the adapter
//! sends) with their `Referte` and fields edited.
#![allow(clippy::unwrap_used)]

mod common;

use common::{body_text, child_text, fault, get_json, send, Reply};
use std::time::{Duration, Instant};

use partner_sims::insurance::{
    default_xsd_path, seat_is_eligible, Answer, InsuranceSim, InsuranceSimConfig,
    RecognitionStatus, UitzonderingType, CODE_AL_ERKEND, CODE_BETAALD_PERSONEEL, CODE_ONBEKEND,
    CODE_UREN, CODE_VERENIGINGSTYPE, CODE_ZETEL, DEFAULT_PATH, SOAP_ACTION_GEEF_ERKENNING,
    SOAP_ACTION_VRAAG_ERKENNING_AAN, THROTTLE_FAULTSTRING, VRIJWILLIGERSVERZEKERING_NS,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// The Referte of the checked-in request examples.
const EXAMPLE_REFERTE: &str = "0f8b2c4e-6d1a-4b7f-9e3c-5a2d8f1b7c64";
const EXAMPLE_GEEF_REFERTE: &str = "6c1f0e9a-3b2d-4c8e-8f7a-1d2e3f4a5b6c";
const HUB: &str = "kbbj.vlaanderen.be/verenigingsloket-hub";

fn example(name: &str) -> String {
    let path = format!(
        "{}/../../contracts/examples/insurance/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn referte() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The example `VraagErkenningAan` (VZW V0001001, seat 9300 Aalst, no paid staff, 900
/// hours) with another Referte.
fn aanvraag(referte: &str) -> String {
    example("request.vraag-erkenning-aan.xml").replace(EXAMPLE_REFERTE, referte)
}

/// [`aanvraag`] with one element's text replaced (`<name>old</name>` → `<name>new</name>`).
fn aanvraag_with(referte: &str, name: &str, old: &str, new: &str) -> String {
    let good = aanvraag(referte);
    let edited = good.replacen(
        &format!("<{name}>{old}</{name}>"),
        &format!("<{name}>{new}</{name}>"),
        1,
    );
    assert_ne!(edited, good, "<{name}>{old}</{name}> is in the example");
    edited
}

/// The example `GeefErkenning` asking for `nummer`.
fn geef(nummer: &str) -> String {
    example("request.geef-erkenning.xml")
        .replace(EXAMPLE_GEEF_REFERTE, &referte())
        .replace("VV-2026-00042", nummer)
}

async fn start() -> InsuranceSim {
    let config = InsuranceSimConfig {
        decision_delay: Duration::ZERO,
        ..InsuranceSimConfig::default()
    };
    InsuranceSim::start(config, "127.0.0.1:0").await.unwrap()
}

fn xsd_errors(envelope: &str) -> Vec<String> {
    common::xsd_errors(&default_xsd_path(), envelope, false)
}

/// A SOAP request with this `SOAPAction`, as the hub sends it.
async fn call(sim: &InsuranceSim, action: &str, body: String) -> Reply {
    let content_type = "text/xml; charset=utf-8";
    send(&Client::new(), &sim.url(), content_type, Some(action), body).await
}

async fn ask(sim: &InsuranceSim, body: String) -> Reply {
    call(sim, SOAP_ACTION_VRAAG_ERKENNING_AAN, body).await
}

async fn look_up(sim: &InsuranceSim, nummer: &str) -> Reply {
    call(sim, SOAP_ACTION_GEEF_ERKENNING, geef(nummer)).await
}

fn antwoord(rest: &[&str]) -> Option<Vec<String>> {
    Some(
        ["Repliek", "Antwoorden", "Antwoord"]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned())
            .collect(),
    )
}

fn in_antwoord(envelope: &str, rest: &[&str]) -> Option<String> {
    let path = antwoord(rest)?;
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    body_text(envelope, &path)
}

/// `(Identificatie, Type)` of every `Antwoord/Uitzonderingen/Uitzondering`.
fn uitzonderingen(envelope: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(envelope).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("Uitzondering"))
        .map(|u| (child_text(u, "Identificatie"), child_text(u, "Type")))
        .collect()
}

/// Asserts an `ANTWOORD` to `operation` that echoes `referte` and validates; the
/// erkenningsnummer when it grants (or finds) one.
fn assert_antwoord(
    sim: &InsuranceSim,
    reply: &Reply,
    operation: &str,
    referte: &str,
) -> Option<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.content_type.starts_with("text/xml"));
    let errors = xsd_errors(&reply.body);
    assert!(errors.is_empty(), "{errors:?}\n{}", reply.body);
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    assert!(doc.descendants().any(|n| n.has_tag_name((
        VRIJWILLIGERSVERZEKERING_NS,
        format!("{operation}Response").as_str()
    ))));
    let bericht = |rest: &[&str]| {
        let path: Vec<&str> = ["Repliek", "Context", "Bericht"]
            .iter()
            .chain(rest)
            .copied()
            .collect();
        body_text(&reply.body, &path)
    };
    assert_eq!(
        body_text(&reply.body, &["Repliek", "Context", "Naam"]).as_deref(),
        Some(operation)
    );
    assert_eq!(bericht(&["Type"]).as_deref(), Some("ANTWOORD"));
    assert_eq!(
        bericht(&["Afzender", "Identificatie"]).as_deref(),
        Some(sim.identity())
    );
    assert_eq!(
        bericht(&["Ontvanger", "Identificatie"]).as_deref(),
        Some(HUB)
    );
    assert_eq!(bericht(&["Ontvanger", "Referte"]).as_deref(), Some(referte));
    assert_eq!(
        in_antwoord(&reply.body, &["Referte"]).as_deref(),
        Some(referte)
    );
    in_antwoord(&reply.body, &["Inhoud", "Erkenning", "Erkenningsnummer"])
}

fn this_year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_eligible_organisation_is_recognised_and_the_answer_validates() {
    let sim = start().await;
    assert_eq!(sim.url(), format!("{}{DEFAULT_PATH}", sim.base_url()));
    let r1 = referte();
    let before = Instant::now();
    let reply = ask(&sim, aanvraag(&r1)).await;
    let nummer = assert_antwoord(&sim, &reply, "VraagErkenningAan", &r1).unwrap();
    assert_eq!(nummer, format!("VV-{}-00001", this_year()));
    let erkenning = |name: &str| in_antwoord(&reply.body, &["Inhoud", "Erkenning", name]);
    assert_eq!(erkenning("VCode").as_deref(), Some("V0001001"));
    assert_eq!(erkenning("Status").as_deref(), Some("ACTIEF"));
    let today = time::OffsetDateTime::now_utc().date();
    let today = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    assert_eq!(erkenning("GeldigVanaf"), Some(today.clone()));
    assert!(
        uitzonderingen(&reply.body).is_empty(),
        "900 hours: no warning"
    );
    // The checker is not vacuous.
    assert!(!xsd_errors(&reply.body.replace("<Status>ACTIEF", "<Status>OK")).is_empty());

    let recognitions = sim.recognitions();
    assert_eq!(recognitions.len(), 1);
    let r = &recognitions[0];
    assert_eq!(
        (
            r.erkenningsnummer.as_str(),
            r.v_code.as_str(),
            r.referte.as_str()
        ),
        (nummer.as_str(), "V0001001", r1.as_str())
    );
    assert_eq!(
        r.naam.as_deref(),
        Some("Koninklijke Harmonie Sint-Cecilia Aalst")
    );
    assert_eq!(r.status, RecognitionStatus::Actief);
    assert_eq!(r.geldig_vanaf, today);

    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    let q = &requests[0];
    assert!(q.valid && q.errors.is_empty() && q.completed && !q.duplicate);
    assert!(q.at >= before);
    assert_eq!(q.operation.as_deref(), Some("VraagErkenningAan"));
    assert_eq!(q.referte.as_deref(), Some(r1.as_str()));
    assert_eq!(q.v_code.as_deref(), Some("V0001001"));
    assert_eq!(q.answer.erkenningsnummer(), Some(nummer.as_str()));
    assert_eq!(q.response, reply.body);
    let a = q.aanvraag.as_ref().unwrap();
    assert_eq!(a.verenigingstype.as_deref(), Some("VZW"));
    assert_eq!(a.postcode.as_deref(), Some("9300"));
    assert_eq!(a.adres_soort.as_deref(), Some("MAATSCHAPPELIJKE_ZETEL"));
    assert_eq!(a.ondernemingsnummer.as_deref(), Some("0417497106"));
    assert_eq!(a.contact_email.as_deref(), Some("an.peeters@example.be"));
    assert_eq!(
        (
            a.aantal_vrijwilligers,
            a.betaald_personeel,
            a.geschatte_uren
        ),
        (Some(35), Some(false), Some(900))
    );
    assert_eq!(sim.submissions().len(), 1);

    // A second organisation gets the next number.
    let r2 = referte();
    let other = aanvraag_with(&r2, "VCode", "V0001001", "V0001002");
    let reply = ask(&sim, other).await;
    assert_eq!(
        assert_antwoord(&sim, &reply, "VraagErkenningAan", &r2),
        Some(format!("VV-{}-00002", this_year()))
    );
    sim.shutdown();
    sim.stopped().await.unwrap();
}

#[tokio::test]
async fn a_repeated_referte_gets_the_same_answer() {
    let sim = start().await;
    let granted = referte();
    let first = ask(&sim, aanvraag(&granted)).await;
    let again = ask(&sim, aanvraag(&granted)).await;
    let nummer = assert_antwoord(&sim, &first, "VraagErkenningAan", &granted);
    assert_eq!(
        assert_antwoord(&sim, &again, "VraagErkenningAan", &granted),
        nummer
    );
    assert!(
        uitzonderingen(&again.body).is_empty(),
        "no 'already recognised' warning"
    );
    // Even with other content: the Referte decides.
    let changed = aanvraag_with(&granted, "BetaaldPersoneel", "false", "true");
    let third = ask(&sim, changed).await;
    assert_eq!(
        assert_antwoord(&sim, &third, "VraagErkenningAan", &granted),
        nummer
    );

    let refused = referte();
    let body = aanvraag_with(&refused, "BetaaldPersoneel", "false", "true");
    let first = ask(&sim, body.clone()).await;
    let again = ask(&sim, body).await;
    assert_eq!(uitzonderingen(&first.body), uitzonderingen(&again.body));
    assert_eq!(
        uitzonderingen(&again.body),
        [(CODE_BETAALD_PERSONEEL.to_owned(), "FOUT".to_owned())]
    );

    assert_eq!(sim.recognitions().len(), 1);
    let requests = sim.requests();
    let duplicates: Vec<bool> = requests.iter().map(|r| r.duplicate).collect();
    assert_eq!(duplicates, [false, true, true, false, true]);
    let submissions = sim.submissions();
    assert_eq!(submissions.len(), 2);
    assert_eq!(submissions[0].referte.as_deref(), Some(granted.as_str()));
    assert_eq!(submissions[1].referte.as_deref(), Some(refused.as_str()));
    assert_eq!(requests[4].answer, requests[3].answer);
}

#[tokio::test]
async fn ineligible_organisations_are_refused_with_every_reason() {
    let sim = start().await;
    let refusal = |body: String| {
        let sim = sim.clone();
        async move {
            let r = referte();
            let reply = ask(&sim, body.replace(EXAMPLE_REFERTE, &r)).await;
            assert_eq!(
                assert_antwoord(&sim, &reply, "VraagErkenningAan", &r),
                None,
                "no Erkenning with a refusal"
            );
            let codes: Vec<String> = uitzonderingen(&reply.body)
                .into_iter()
                .map(|(code, kind)| {
                    assert_eq!(kind, "FOUT");
                    code
                })
                .collect();
            (codes, reply.body)
        }
    };
    let e = EXAMPLE_REFERTE;
    let (codes, body) = refusal(aanvraag_with(e, "BetaaldPersoneel", "false", "true")).await;
    assert_eq!(codes, [CODE_BETAALD_PERSONEEL]);
    assert!(body.contains(
        "<Diagnose>Organisatie met betaald personeel komt niet in aanmerking</Diagnose>"
    ));
    for postcode in ["4000", "1300", "1499", "7999", "6000", "0999", "99999"] {
        let (codes, body) = refusal(aanvraag_with(e, "Postcode", "9300", postcode)).await;
        assert_eq!(codes, [CODE_ZETEL], "{postcode}");
        assert!(body.contains(postcode), "the diagnose names {postcode}");
    }
    let (codes, _) = refusal(aanvraag_with(e, "Land", "België", "Nederland")).await;
    assert_eq!(codes, [CODE_ZETEL]);
    let without_postcode = aanvraag(e).replacen("<Postcode>9300</Postcode>", "", 1);
    let (codes, _) = refusal(without_postcode).await;
    assert_eq!(codes, [CODE_ZETEL]);
    let without_address = {
        let good = aanvraag(e);
        let start = good.find("<Adres>").unwrap();
        let end = good.find("</Adres>").unwrap() + "</Adres>".len();
        format!("{}{}", &good[..start], &good[end..])
    };
    let (codes, _) = refusal(without_address).await;
    assert_eq!(codes, [CODE_ZETEL]);
    for other in ["IVZW", "PS", "SVON"] {
        let (codes, body) = refusal(aanvraag_with(e, "Verenigingstype", "VZW", other)).await;
        assert_eq!(codes, [CODE_VERENIGINGSTYPE]);
        assert!(body.contains(&format!("Verenigingstype {other} komt niet in aanmerking")));
    }
    let without_type = aanvraag(e).replacen("<Verenigingstype>VZW</Verenigingstype>", "", 1);
    let (codes, _) = refusal(without_type).await;
    assert_eq!(codes, [CODE_VERENIGINGSTYPE]);
    let everything = aanvraag_with(e, "BetaaldPersoneel", "false", "true")
        .replacen("<Postcode>9300</Postcode>", "<Postcode>5000</Postcode>", 1)
        .replacen(
            "<Verenigingstype>VZW</Verenigingstype>",
            "<Verenigingstype>IVZW</Verenigingstype>",
            1,
        );
    let (codes, _) = refusal(everything).await;
    assert_eq!(
        codes,
        [CODE_BETAALD_PERSONEEL, CODE_ZETEL, CODE_VERENIGINGSTYPE]
    );

    // Brussels and the edges of Flanders are in; feitelijke verenigingen too.
    for (postcode, kind, v_code) in [
        ("1000", "VZW", "V0002001"),
        ("1299", "FV", "V0002002"),
        ("1500", "VZER", "V0002003"),
        ("3999", "VZW", "V0002004"),
        ("8000", "FV", "V0002005"),
        ("9999", "VZW", "V0002006"),
    ] {
        let r = referte();
        let body = aanvraag_with(&r, "Postcode", "9300", postcode)
            .replacen(
                "<Verenigingstype>VZW</Verenigingstype>",
                &format!("<Verenigingstype>{kind}</Verenigingstype>"),
                1,
            )
            .replacen(
                "<VCode>V0001001</VCode>",
                &format!("<VCode>{v_code}</VCode>"),
                1,
            );
        let reply = ask(&sim, body).await;
        assert!(
            assert_antwoord(&sim, &reply, "VraagErkenningAan", &r).is_some(),
            "{postcode} {kind}: {}",
            reply.body
        );
    }
    assert_eq!(sim.recognitions().len(), 6);
    assert!(sim.submissions().len() > 6, "refusals are submissions too");
}

#[test]
fn the_seat_rule_follows_the_language_areas() {
    for ok in [
        "1000", "1050", "1299", "1500", "2000", "3999", "8000", "9300", "9999",
    ] {
        assert_eq!(seat_is_eligible(Some(ok), Some("België")), Ok(()), "{ok}");
        assert_eq!(seat_is_eligible(Some(ok), None), Ok(()), "{ok}");
    }
    for wallonia in [
        "1300", "1348", "1499", "4000", "4700", "5000", "6000", "7000", "7999",
    ] {
        assert!(
            seat_is_eligible(Some(wallonia), None).is_err(),
            "{wallonia}"
        );
    }
    for odd in ["", "930", "93000", "B-9300", "0999"] {
        assert!(seat_is_eligible(Some(odd), None).is_err(), "{odd:?}");
    }
    assert!(seat_is_eligible(None, Some("België")).is_err());
    assert!(seat_is_eligible(Some("9300"), Some("Nederland")).is_err());
    assert_eq!(seat_is_eligible(Some("9300"), Some("Belgium")), Ok(()));
}

#[tokio::test]
async fn warnings_for_many_hours_and_an_organisation_recognised_before() {
    let sim = start().await;
    let r1 = referte();
    let reply = ask(&sim, aanvraag_with(&r1, "GeschatteUren", "900", "1500")).await;
    let nummer = assert_antwoord(&sim, &reply, "VraagErkenningAan", &r1).unwrap();
    assert_eq!(
        uitzonderingen(&reply.body),
        [(CODE_UREN.to_owned(), "WAARSCHUWING".to_owned())]
    );
    assert!(reply.body.contains("1500 uren"));
    // Exactly 1000 is free.
    let r = referte();
    let exact = aanvraag_with(&r, "GeschatteUren", "900", "1000").replacen(
        "<VCode>V0001001</VCode>",
        "<VCode>V0003001</VCode>",
        1,
    );
    assert!(uitzonderingen(&ask(&sim, exact).await.body).is_empty());

    // The same organisation again, with a new Referte: its recognition, and a warning.
    let r2 = referte();
    let reply = ask(&sim, aanvraag(&r2)).await;
    assert_eq!(
        assert_antwoord(&sim, &reply, "VraagErkenningAan", &r2),
        Some(nummer.clone())
    );
    assert_eq!(
        uitzonderingen(&reply.body),
        [(CODE_AL_ERKEND.to_owned(), "WAARSCHUWING".to_owned())]
    );
    assert_eq!(sim.recognitions().len(), 2);

    // Once withdrawn, a new application gets a new recognition.
    assert!(sim.withdraw(&nummer, "Betaald personeel in dienst"));
    let r3 = referte();
    let reply = ask(&sim, aanvraag(&r3)).await;
    let new = assert_antwoord(&sim, &reply, "VraagErkenningAan", &r3).unwrap();
    assert_ne!(new, nummer);
    assert_eq!(sim.recognitions().len(), 3);
}

#[tokio::test]
async fn geef_erkenning_answers_the_current_state() {
    let sim = start().await;
    let reply = ask(&sim, aanvraag(&referte())).await;
    let nummer = in_antwoord(&reply.body, &["Inhoud", "Erkenning", "Erkenningsnummer"]).unwrap();

    let found = look_up(&sim, &nummer).await;
    let referte_of = |body: &str| {
        body_text(
            body,
            &["Repliek", "Context", "Bericht", "Ontvanger", "Referte"],
        )
        .unwrap()
    };
    let r = referte_of(&found.body);
    assert_eq!(
        assert_antwoord(&sim, &found, "GeefErkenning", &r),
        Some(nummer.clone())
    );
    assert_eq!(
        in_antwoord(&found.body, &["Inhoud", "Erkenning", "Status"]).as_deref(),
        Some("ACTIEF")
    );
    let q = sim.requests().pop().unwrap();
    assert_eq!(q.operation.as_deref(), Some("GeefErkenning"));
    assert_eq!(q.erkenningsnummer.as_deref(), Some(nummer.as_str()));
    assert!(q.aanvraag.is_none() && !q.is_submission());

    assert!(sim.withdraw(&nummer, "  De organisatie heeft\nbetaald personeel  "));
    assert!(!sim.withdraw("VV-2000-99999", "?"));
    let withdrawn = look_up(&sim, &nummer).await;
    let r = referte_of(&withdrawn.body);
    assert_antwoord(&sim, &withdrawn, "GeefErkenning", &r);
    let field = |name: &str| in_antwoord(&withdrawn.body, &["Inhoud", "Erkenning", name]);
    assert_eq!(field("Status").as_deref(), Some("INGETROKKEN"));
    assert!(field("IngetrokkenOp").is_some());
    assert_eq!(
        field("Reden").as_deref(),
        Some("De organisatie heeft betaald personeel")
    );
    assert_eq!(sim.recognitions()[0].status, RecognitionStatus::Ingetrokken);

    let unknown = look_up(&sim, "VV-2000-99999").await;
    let r = referte_of(&unknown.body);
    assert_eq!(assert_antwoord(&sim, &unknown, "GeefErkenning", &r), None);
    assert_eq!(
        uitzonderingen(&unknown.body),
        [(CODE_ONBEKEND.to_owned(), "FOUT".to_owned())]
    );
    assert_eq!(sim.submissions().len(), 1);
}

#[tokio::test]
async fn invalid_requests_get_a_client_fault_and_are_not_decided() {
    let sim = start().await;
    let client = Client::new();
    let url = sim.url();
    let xml = "text/xml; charset=utf-8";
    let r = referte();
    let vraag = Some(SOAP_ACTION_VRAAG_ERKENNING_AAN);
    let cases: Vec<(&str, String, &str, Option<&str>, &str)> = vec![
        (
            "an XSD violation",
            aanvraag_with(&r, "AantalVrijwilligers", "35", "0"),
            xml,
            vraag,
            "AantalVrijwilligers",
        ),
        ("no SOAPAction", aanvraag(&r), xml, None, "SOAPAction"),
        (
            "another operation's SOAPAction",
            aanvraag(&r),
            xml,
            Some(SOAP_ACTION_GEEF_ERKENNING),
            "SOAPAction",
        ),
        (
            "SOAP 1.2's Content-Type",
            aanvraag(&r),
            "application/soap+xml",
            vraag,
            "Content-Type",
        ),
        (
            "Vraag/Referte differs",
            aanvraag(&r).replacen(&r, &referte(), 1),
            xml,
            vraag,
            "differs",
        ),
        (
            "a Body without Id",
            aanvraag(&r).replace("<soapenv:Body Id=\"Body\">", "<soapenv:Body>"),
            xml,
            vraag,
            "Id=\"Body\"",
        ),
        (
            "a response posted as a request",
            example("reply.erkenning.xml"),
            xml,
            vraag,
            "not a request",
        ),
        ("not XML", "<oops".to_owned(), xml, vraag, "well-formed"),
        (
            "an INSZ",
            aanvraag(&r).replacen(
                "<Voornaam>An</Voornaam>",
                "<Voornaam>An</Voornaam><Insz>85071512397</Insz>",
                1,
            ),
            xml,
            vraag,
            "Insz",
        ),
    ];
    for (what, body, content_type, action, mentions) in &cases {
        let reply = send(&client, &url, content_type, *action, body.clone()).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        let (code, string) = fault(&reply.body);
        assert_eq!(code, "soapenv:Client", "{what}");
        assert!(string.contains(mentions), "{what}: {string}");
        let recorded = sim.requests().pop().unwrap();
        assert!(!recorded.valid && !recorded.errors.is_empty(), "{what}");
        assert!(!recorded.is_submission(), "{what}");
    }
    assert!(sim.submissions().is_empty() && sim.recognitions().is_empty());
    // Nothing was decided for the Referte: the valid request gets a fresh decision.
    let reply = ask(&sim, aanvraag(&r)).await;
    assert!(assert_antwoord(&sim, &reply, "VraagErkenningAan", &r).is_some());
    assert!(!sim.requests().pop().unwrap().duplicate);
}

#[tokio::test]
async fn throttling_failures_and_downtime_come_before_the_decision() {
    let sim = start().await;
    let r = referte();
    sim.throttle_next(2);
    for _ in 0..2 {
        let reply = ask(&sim, aanvraag(&r)).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            fault(&reply.body),
            ("soapenv:Server".to_owned(), THROTTLE_FAULTSTRING.to_owned())
        );
    }
    // Throttling is answered even to an invalid request (the platform is in front).
    sim.throttle_next(1);
    let reply = ask(&sim, "<oops".to_owned()).await;
    assert_eq!(fault(&reply.body).1, THROTTLE_FAULTSTRING);
    assert!(sim.requests().iter().all(|q| q.answer.is_throttled()));

    sim.fail_next(2, 502);
    for _ in 0..2 {
        let reply = ask(&sim, aanvraag(&r)).await;
        assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
        assert!(reply.content_type.starts_with("text/html"));
    }
    sim.fail_next(1, 42);
    assert_eq!(
        ask(&sim, aanvraag(&r)).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );

    sim.set_down(true);
    assert_eq!(
        ask(&sim, aanvraag(&r)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        look_up(&sim, "VV-2026-00001").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(sim.behaviour().down);
    sim.set_down(false);
    assert!(sim.submissions().is_empty(), "nothing was decided yet");

    let reply = ask(&sim, aanvraag(&r)).await;
    assert!(assert_antwoord(&sim, &reply, "VraagErkenningAan", &r).is_some());
    let requests = sim.requests();
    assert_eq!(requests.len(), 9);
    assert!(requests.iter().all(|q| !q.duplicate));
    assert_eq!(sim.submissions().len(), 1);
    assert!(matches!(
        requests[3].answer,
        Answer::HttpError { status: 502 }
    ));
}

#[tokio::test]
async fn decisions_take_the_configured_delay_and_a_client_giving_up_does_not_undo_them() {
    let sim = InsuranceSim::start(InsuranceSimConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    assert_eq!(sim.behaviour().delay_ms, 200, "the default decision delay");
    let started = Instant::now();
    let r = referte();
    let reply = ask(&sim, aanvraag(&r)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let nummer = assert_antwoord(&sim, &reply, "VraagErkenningAan", &r);

    // Faults are not delayed.
    sim.throttle_next(1);
    let started = Instant::now();
    ask(&sim, aanvraag(&referte())).await;
    assert!(started.elapsed() < Duration::from_millis(200));

    // A client that gives up: the decision stands, asking again gets it.
    sim.set_delay(Duration::from_millis(600));
    let r2 = referte();
    let gave_up = common::send_impatiently(
        &sim.url(),
        Duration::from_millis(150),
        "text/xml",
        SOAP_ACTION_VRAAG_ERKENNING_AAN,
        aanvraag_with(&r2, "VCode", "V0001001", "V0004001"),
    )
    .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    let decided = sim.requests().pop().unwrap();
    assert!(!decided.completed && decided.is_submission());
    sim.set_delay(Duration::ZERO);
    let reply = ask(&sim, aanvraag_with(&r2, "VCode", "V0001001", "V0004001")).await;
    assert_eq!(
        assert_antwoord(&sim, &reply, "VraagErkenningAan", &r2),
        decided.answer.erkenningsnummer().map(str::to_owned)
    );
    assert!(sim.requests().pop().unwrap().duplicate);
    assert_ne!(decided.answer.erkenningsnummer(), nummer.as_deref());

    sim.reset();
    assert_eq!(sim.behaviour().delay_ms, 200);
}

#[tokio::test]
async fn the_control_api_sets_behaviour_and_shows_what_arrived() {
    let sim = start().await;
    let client = Client::new();
    let control = |path: &str| format!("{}/_sim/{path}", sim.base_url());
    let post_json = |path: &str, body: Value| {
        let request = client.post(control(path)).json(&body);
        async move { request.send().await.unwrap() }
    };

    let set = post_json(
        "behaviour",
        json!({"throttle_next": 1, "fail_next": {"count": 1, "status": 429}, "delay_ms": 5}),
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);
    let shown: Value = set.json().await.unwrap();
    assert_eq!(shown["throttle_next"], 1);
    assert_eq!(shown["fail_next"], json!([1, 429]));
    assert_eq!(shown["delay_ms"], 5);
    let r = referte();
    assert_eq!(
        ask(&sim, aanvraag(&r)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert!(ask(&sim, aanvraag(&r)).await.body.contains("99995"));
    assert_eq!(ask(&sim, aanvraag(&r)).await.status, StatusCode::OK);

    post_json("behaviour", json!({"down": true})).await;
    assert_eq!(
        ask(&sim, aanvraag(&r)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let reset = post_json("behaviour", json!({"reset": true})).await;
    let shown: Value = reset.json().await.unwrap();
    assert_eq!(
        shown,
        json!({"down": false, "fail_next": null, "throttle_next": 0, "delay_ms": 0})
    );
    let got: Value = get_json(&client, control("behaviour")).await;
    assert_eq!(got, shown);
    let bad = post_json("behaviour", json!({"explode": true})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let requests: Value = get_json(&client, control("requests")).await;
    let list = requests.as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(list[0]["status"], 429);
    assert_eq!(list[2]["answer"]["kind"], "erkenning");
    assert_eq!(list[2]["vCode"], "V0001001");
    assert_eq!(list[2]["aanvraag"]["postcode"], "9300");
    assert_eq!(list[2]["operation"], "VraagErkenningAan");
    assert!(list[0].get("body").is_none());

    let recognitions: Value = get_json(&client, control("recognitions")).await;
    let nummer = recognitions[0]["erkenningsnummer"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(recognitions[0]["status"], "ACTIEF");
    assert_eq!(recognitions[0]["vCode"], "V0001001");
    let withdrawn = post_json(
        "withdraw",
        json!({"erkenningsnummer": nummer, "reden": "Verhuisd"}),
    )
    .await;
    assert_eq!(withdrawn.status(), StatusCode::OK);
    let withdrawn: Value = withdrawn.json().await.unwrap();
    assert_eq!(withdrawn["status"], "INGETROKKEN");
    assert_eq!(withdrawn["reden"], "Verhuisd");
    let unknown = post_json("withdraw", json!({"erkenningsnummer": "VV-2000-00001"})).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        client.get(control("nope")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_missing_xsd_fails_the_start() {
    let config = InsuranceSimConfig {
        xsd: "/nonexistent/vrijwilligersverzekering-v1.xsd".into(),
        ..InsuranceSimConfig::default()
    };
    let err = InsuranceSim::start(config, "127.0.0.1:0")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn answer_helpers() {
    let granted = Answer::Erkenning {
        erkenningsnummer: "VV-2026-00001".into(),
        uitzonderingen: vec![],
    };
    assert!(granted.is_antwoord() && granted.codes().is_empty());
    assert_eq!(granted.status(), 200);
    let throttled = Answer::Fault {
        faultcode: "soapenv:Server".into(),
        faultstring: THROTTLE_FAULTSTRING.into(),
    };
    assert!(throttled.is_throttled() && !throttled.is_antwoord());
    assert_eq!(throttled.status(), 500);
    assert_eq!(UitzonderingType::Waarschuwing.as_str(), "WAARSCHUWING");
}
