//! Tests of the municipal back-office SOAP simulator over real HTTP (and HTTPS with mutual TLS).
#![allow(clippy::unwrap_used)]

mod common;

use common::{body_text, fault, get_json, Reply};
use std::time::{Duration, Instant};

use partner_sims::backoffice::{
    default_xsd_path, Answer, UitzonderingType, DEFAULT_PATH, DUPLICATE_CODE, PUBLICATIE_NS,
    SOAP11_NS, SOAP_ACTION, THROTTLE_FAULTSTRING,
};
use partner_sims::{test_pki, BackOfficeSim, BackOfficeSimConfig, TestPki};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// The Referte every fixture carries; tests replace it with a fresh one.
const PLACEHOLDER: &str = "00000000-0000-4000-8000-000000000001";
const GEWIJZIGD: &str = "publicatie-gewijzigd.xml";
const VERWIJDERD: &str = "publicatie-verwijderd.xml";
const BINNEN_GEBIED: &str = "publicatie-binnen-gebied.xml";
const HUB: &str = "kbbj.vlaanderen.be/verenigingsloket-hub";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn referte() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fixture with its Referte (both places) replaced.
fn publication(name: &str, referte: &str) -> String {
    fixture(name).replace(PLACEHOLDER, referte)
}

async fn start() -> BackOfficeSim {
    BackOfficeSim::start(BackOfficeSimConfig::default(), "127.0.0.1:0")
        .await
        .unwrap()
}

/// A SOAP publication to `url`.
async fn send(client: &Client, url: &str, body: String) -> Reply {
    let action = Some(SOAP_ACTION);
    common::send(client, url, "text/xml; charset=utf-8", action, body).await
}

fn xsd_errors(envelope: &str) -> Vec<String> {
    common::xsd_errors(&default_xsd_path(), envelope, false)
}

async fn post(sim: &BackOfficeSim, body: String) -> Reply {
    send(&Client::new(), &sim.url(), body).await
}

/// Posts a `GEWIJZIGD` publication with a fresh Referte and asserts the `ANTWOORD` to it.
async fn post_answered(sim: &BackOfficeSim) -> (String, Reply) {
    let r = referte();
    let reply = post(sim, publication(GEWIJZIGD, &r)).await;
    assert_antwoord(sim, &reply, &r);
    (r, reply)
}

/// Asserts an `OntvangPublicatieResponse` that echoes `referte`, valid against the XSD.
fn assert_antwoord(sim: &BackOfficeSim, reply: &Reply, referte: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(
        reply.content_type.starts_with("text/xml"),
        "{}",
        reply.content_type
    );
    let errors = xsd_errors(&reply.body);
    assert!(errors.is_empty(), "{errors:?}\n{}", reply.body);
    let doc = roxmltree::Document::parse(&reply.body).unwrap();
    assert!(doc
        .descendants()
        .any(|n| n.has_tag_name((PUBLICATIE_NS, "OntvangPublicatieResponse"))));
    let ctx = ["Repliek", "Context"];
    let bericht = ["Repliek", "Context", "Bericht"];
    let at = |p: &[&str]| body_text(&reply.body, p);
    assert_eq!(
        at(&[&ctx[..], &["Naam"]].concat()).as_deref(),
        Some("OntvangPublicatie")
    );
    assert_eq!(
        at(&[&ctx[..], &["Versie"]].concat()).as_deref(),
        Some("01.00.0000")
    );
    assert_eq!(
        at(&[&bericht[..], &["Type"]].concat()).as_deref(),
        Some("ANTWOORD")
    );
    assert_eq!(
        at(&[&bericht[..], &["Afzender", "Identificatie"]].concat()).as_deref(),
        Some(sim.identity())
    );
    let own = at(&[&bericht[..], &["Afzender", "Referte"]].concat()).unwrap();
    assert!(uuid::Uuid::parse_str(&own).is_ok());
    assert_ne!(own, referte);
    assert_eq!(
        at(&[&bericht[..], &["Ontvanger", "Identificatie"]].concat()).as_deref(),
        Some(HUB)
    );
    assert_eq!(
        at(&[&bericht[..], &["Ontvanger", "Referte"]].concat()).as_deref(),
        Some(referte)
    );
    assert_eq!(
        at(&["Repliek", "Antwoorden", "Antwoord", "Referte"]).as_deref(),
        Some(referte)
    );
}

/// The text at `rest` below the reply's `Repliek/Antwoorden/Antwoord`.
fn antwoord_text(reply: &Reply, rest: &[&str]) -> Option<String> {
    let path = [&["Repliek", "Antwoorden", "Antwoord"][..], rest].concat();
    body_text(&reply.body, &path)
}

/// The text of `member` of the reply's (first) `Uitzondering`.
fn uitzondering(reply: &Reply, member: &str) -> Option<String> {
    antwoord_text(reply, &["Uitzonderingen", "Uitzondering", member])
}

/// The reply's `Inhoud/Ontvangen`.
fn ontvangen(reply: &Reply) -> Option<String> {
    antwoord_text(reply, &["Inhoud", "Ontvangen"])
}

#[tokio::test]
async fn valid_publications_are_accepted_and_the_replies_validate_against_the_xsd() {
    let sim = start().await;
    assert_eq!(sim.url(), format!("{}{DEFAULT_PATH}", sim.base_url()));
    assert!(sim.url().starts_with("http://127.0.0.1:"));
    let before = Instant::now();

    let (r1, r2, r3) = (referte(), referte(), referte());
    let reply = post(&sim, publication(GEWIJZIGD, &r1)).await;
    assert_antwoord(&sim, &reply, &r1);
    assert_eq!(ontvangen(&reply).as_deref(), Some("true"));
    assert_eq!(antwoord_text(&reply, &["Uitzonderingen"]), None);
    // The checker is not vacuous.
    let broken = reply
        .body
        .replace("<Type>ANTWOORD</Type>", "<Type>VRAAG</Type>");
    assert!(!xsd_errors(&broken).is_empty());
    assert_antwoord(&sim, &post(&sim, publication(VERWIJDERD, &r2)).await, &r2);
    assert_antwoord(
        &sim,
        &post(&sim, publication(BINNEN_GEBIED, &r3)).await,
        &r3,
    );

    let requests = sim.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert!(r.valid, "{:?}", r.errors);
        assert!(r.errors.is_empty());
        assert!(r.completed);
        assert!(!r.duplicate);
        assert!(r.at >= before);
        assert_eq!(
            r.answer,
            Answer::Antwoord {
                uitzonderingen: vec![]
            }
        );
        assert_eq!(
            r.soap_action.as_deref(),
            Some(&*format!("\"{SOAP_ACTION}\""))
        );
        assert_eq!(r.content_type.as_deref(), Some("text/xml; charset=utf-8"));
        assert_eq!(r.afzender.as_deref(), Some(HUB));
        assert_eq!(r.ontvanger.as_deref(), Some("OVO002067"));
        assert_eq!(r.client_cn, None);
        assert!(xsd_errors(&r.response).is_empty());
    }
    let g = &requests[0];
    assert_eq!(g.referte.as_deref(), Some(&*r1));
    assert_eq!(g.soort.as_deref(), Some("GEWIJZIGD"));
    assert_eq!(g.v_code.as_deref(), Some("V0001001"));
    assert_eq!(g.sequentie, Some(123));
    assert_eq!(g.versie, Some(4));
    assert_eq!(g.gebied, None);
    assert_eq!(
        g.correlatie_id.as_deref(),
        Some("0195f3a2-7c41-7d3e-9a55-3c1f0e2b8a10")
    );
    assert_eq!(g.gewijzigde_delen, ["basisgegevens", "locaties"]);
    assert_eq!(g.achtergehouden, ["vertegenwoordigers[].insz"]);
    assert!(g
        .body
        .contains("<naam>Koninklijke Harmonie Sint-Cecilia Aalst</naam>"));
    let v = &requests[1];
    assert_eq!(
        (
            v.soort.as_deref(),
            v.v_code.as_deref(),
            v.sequentie,
            v.versie
        ),
        (Some("VERWIJDERD"), Some("V0001002"), Some(124), None)
    );
    let b = &requests[2];
    assert_eq!(
        (b.soort.as_deref(), b.gebied.as_deref(), b.sequentie),
        (Some("BINNEN_GEBIED"), Some("aalst"), Some(125))
    );

    assert_eq!(sim.accepted().len(), 3);
    assert!(sim.duplicates().is_empty());
    assert!(sim.invalid().is_empty());
    assert_eq!(sim.attempts(&r1).len(), 1);
    assert!(sim.attempts(&referte()).is_empty());
    assert!(sim.wait_for_accepted(3, Duration::from_millis(10)).await);
    assert!(!sim.wait_for_accepted(4, Duration::from_millis(50)).await);
    assert_eq!(sim.max_in_flight(), 1);
    assert_eq!(sim.in_flight(), 0);

    let listed: Value = get_json(&Client::new(), format!("{}/_sim/requests", sim.base_url())).await;
    assert_eq!(listed[0]["referte"], json!(r1));
    assert_eq!(listed[0]["vCode"], "V0001001");
    assert_eq!(listed[0]["valid"], true);
    assert_eq!(listed[0]["status"], 200);
    assert_eq!(listed[2]["gebied"], "aalst");

    sim.shutdown();
    sim.stopped().await.unwrap();
}

#[tokio::test]
async fn the_identity_is_configurable() {
    let sim = BackOfficeSim::start(
        BackOfficeSimConfig::with_identity("OVO002949"),
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let r = referte();
    let reply = post(&sim, publication(GEWIJZIGD, &r)).await;
    assert_eq!(sim.identity(), "OVO002949");
    assert_antwoord(&sim, &reply, &r);
}

#[tokio::test]
async fn invalid_requests_are_refused_with_a_client_fault_and_recorded_invalid() {
    let sim = start().await;
    let r = referte();
    let good = publication(GEWIJZIGD, &r);
    let soap12 = good.replace(SOAP11_NS, "http://www.w3.org/2003/05/soap-envelope");
    let bad_vcode = good.replace("<VCode>V0001001</VCode>", "<VCode>X1</VCode>");
    let unknown_element = good.replace("<Versie>4</Versie>", "<Versie>4</Versie><Extra/>");
    let no_vereniging = {
        let start = good.find("<vereniging>").unwrap();
        let end = good.find("</vereniging>").unwrap() + "</vereniging>".len();
        format!("{}{}", &good[..start], &good[end..])
    };
    let notice_with_snapshot = publication(BINNEN_GEBIED, &r).replace(
        "<Gebied>aalst</Gebied>",
        "<Gebied>aalst</Gebied><GewijzigdeDelen><Deel>locaties</Deel></GewijzigdeDelen>",
    );
    let other_vraag_referte = good.replacen(&r, &referte(), 1);
    let no_body_id = good.replace("<soapenv:Body Id=\"Body\">", "<soapenv:Body>");
    let cases: Vec<(&str, String, &str)> = vec![
        ("not XML", "this is not XML".to_owned(), "not well-formed"),
        ("SOAP 1.2", soap12, "not a SOAP 1.1 request"),
        ("XSD: VCode", bad_vcode, "VCode"),
        ("XSD: unknown element", unknown_element, "Extra"),
        (
            "GEWIJZIGD without vereniging",
            no_vereniging,
            "needs vereniging",
        ),
        (
            "notice with GewijzigdeDelen",
            notice_with_snapshot,
            "carries no GewijzigdeDelen",
        ),
        ("Referte differs", other_vraag_referte, "differs"),
        ("Body without Id", no_body_id, "Id=\"Body\""),
    ];
    for (what, body, expected) in &cases {
        let reply = post(&sim, body.clone()).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert!(reply.content_type.starts_with("text/xml"), "{what}");
        let (code, string) = fault(&reply.body);
        assert_eq!(code, "soapenv:Client", "{what}");
        assert!(string.contains(expected), "{what}: {string}");
    }

    // Wrong headers: a JSON content type, no SOAPAction, another SOAPAction.
    let client = Client::new();
    for (content_type, action, expected) in [
        ("application/soap+xml", Some(SOAP_ACTION), "Content-Type"),
        ("text/xml; charset=utf-8", None, "SOAPAction"),
        ("text/xml", Some("urn:other"), "urn:other"),
    ] {
        let reply = common::send(&client, &sim.url(), content_type, action, good.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{expected}"
        );
        assert!(fault(&reply.body).1.contains(expected), "{}", reply.body);
    }

    let invalid = sim.invalid();
    assert_eq!(invalid.len(), cases.len() + 3);
    assert!(invalid.iter().all(|r| !r.valid && !r.errors.is_empty()));
    assert!(invalid.iter().all(
        |r| matches!(&r.answer, Answer::Fault { faultcode, .. } if faultcode == "soapenv:Client")
    ));
    assert!(sim.accepted().is_empty());
    // Fields are read from invalid requests too, as far as they go.
    assert_eq!(invalid[2].referte.as_deref(), Some(&*r));
    assert_eq!(invalid[2].v_code.as_deref(), Some("X1"));
    assert_eq!(invalid[0].referte, None);

    // The Referte was never accepted: the good request now is.
    assert_antwoord(&sim, &post(&sim, good).await, &r);
    assert_eq!(sim.accepted().len(), 1);
    // Every request carrying it as Afzender/Referte: five bad bodies, three bad headers, the good.
    assert_eq!(sim.attempts(&r).len(), 9);
}

#[tokio::test]
async fn fout_next_refuses_a_publication_with_a_business_error() {
    let sim = start().await;
    sim.fout_next(1, "30001", "Vereniging <onbekend> & niet verwerkt");
    let (r, reply) = post_answered(&sim).await;
    let u = |member| uitzondering(&reply, member);
    assert_eq!(u("Identificatie").as_deref(), Some("30001"));
    assert_eq!(u("Oorsprong").as_deref(), Some("OVO002067"));
    assert_eq!(u("Type").as_deref(), Some("FOUT"));
    assert_eq!(
        u("Diagnose").as_deref(),
        Some("Vereniging <onbekend> & niet verwerkt")
    );
    assert_eq!(antwoord_text(&reply, &["Inhoud"]), None);

    let first = &sim.requests()[0];
    assert!(first.valid);
    assert!(first.answer.is_fout());
    assert!(!first.answer.is_accepted());
    assert_eq!(
        first.answer.uitzonderingen()[0].kind,
        UitzonderingType::Fout
    );
    assert!(sim.accepted().is_empty());

    // The burst is over; the same publication sent again is accepted (not a duplicate).
    assert_antwoord(&sim, &post(&sim, publication(GEWIJZIGD, &r)).await, &r);
    assert_eq!(sim.accepted().len(), 1);
    assert!(sim.duplicates().is_empty());
    assert_eq!(sim.attempts(&r).len(), 2);
}

#[tokio::test]
async fn a_poison_message_always_gets_a_fout() {
    let sim = start().await;
    sim.fout_when_body_contains("<VCode>V0001002</VCode>", "30002", "Kan niet verwerken");
    let poison = referte();
    for _ in 0..3 {
        let reply = post(&sim, publication(VERWIJDERD, &poison)).await;
        assert_antwoord(&sim, &reply, &poison);
        assert_eq!(uitzondering(&reply, "Type").as_deref(), Some("FOUT"));
    }
    let other = referte();
    assert_antwoord(
        &sim,
        &post(&sim, publication(GEWIJZIGD, &other)).await,
        &other,
    );
    assert_eq!(sim.attempts(&poison).len(), 3);
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].referte.as_deref(), Some(&*other));

    sim.reset();
    assert_antwoord(
        &sim,
        &post(&sim, publication(VERWIJDERD, &poison)).await,
        &poison,
    );
    assert_eq!(sim.accepted().len(), 2);
}

#[tokio::test]
async fn warn_next_accepts_with_a_warning() {
    let sim = start().await;
    sim.warn_next(1, "40144", "Sequentie lager dan verwerkt");
    let (_, reply) = post_answered(&sim).await;
    assert_eq!(ontvangen(&reply).as_deref(), Some("true"));
    assert_eq!(
        uitzondering(&reply, "Type").as_deref(),
        Some("WAARSCHUWING")
    );
    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(
        sim.accepted()[0].answer.uitzonderingen()[0].identificatie,
        "40144"
    );
    // One only.
    let r2 = referte();
    post(&sim, publication(GEWIJZIGD, &r2)).await;
    assert!(sim.requests()[1].answer.uitzonderingen().is_empty());
}

#[tokio::test]
async fn a_redelivery_is_answered_as_a_duplicate_and_not_accepted_again() {
    let sim = start().await;
    let (r, _) = post_answered(&sim).await;
    let again = post(&sim, publication(GEWIJZIGD, &r)).await;
    assert_antwoord(&sim, &again, &r);
    assert_eq!(ontvangen(&again).as_deref(), Some("true"));
    let u = |member| uitzondering(&again, member);
    assert_eq!(u("Identificatie").as_deref(), Some(DUPLICATE_CODE));
    assert_eq!(u("Type").as_deref(), Some("WAARSCHUWING"));
    assert!(u("Diagnose").unwrap().contains(&r));

    assert_eq!(sim.accepted().len(), 1);
    let duplicates = sim.duplicates();
    assert_eq!(duplicates.len(), 1);
    assert!(duplicates[0].valid);
    assert!(duplicates[0].answer.is_accepted());
    assert_eq!(sim.attempts(&r).len(), 2);

    // A duplicate is not a business error even when a FOUT burst is pending.
    sim.fout_next(1, "30001", "nee");
    post(&sim, publication(GEWIJZIGD, &r)).await;
    assert_eq!(sim.duplicates().len(), 2);
    assert_eq!(sim.behaviour().fout_next.map(|(n, _)| n), Some(1));
}

#[tokio::test]
async fn throttle_next_answers_the_99995_fault() {
    let sim = start().await;
    sim.throttle_next(2);
    let r = referte();
    for _ in 0..2 {
        let reply = post(&sim, publication(GEWIJZIGD, &r)).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(reply.content_type.starts_with("text/xml"));
        assert_eq!(
            fault(&reply.body),
            ("soapenv:Server".to_owned(), THROTTLE_FAULTSTRING.to_owned())
        );
    }
    assert_antwoord(&sim, &post(&sim, publication(GEWIJZIGD, &r)).await, &r);
    let requests = sim.requests();
    assert!(requests[0].valid, "throttled requests are still validated");
    assert!(requests[0].answer.is_throttled());
    assert!(requests[1].answer.is_throttled());
    assert!(!requests[2].answer.is_throttled());
    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(sim.attempts(&r).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn max_concurrent_throttles_simultaneous_calls() {
    let sim = start().await;
    sim.set_max_concurrent(Some(2));
    sim.set_delay(Duration::from_millis(400));
    let client = Client::new();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let (client, url) = (client.clone(), sim.url());
            tokio::spawn(
                async move { send(&client, &url, publication(GEWIJZIGD, &referte())).await },
            )
        })
        .collect();
    for call in calls {
        call.await.unwrap();
    }
    let requests = sim.requests();
    let throttled = requests.iter().filter(|r| r.answer.is_throttled()).count();
    let accepted = sim.accepted().len();
    assert_eq!(throttled + accepted, 6);
    assert!((1..=2).contains(&accepted), "accepted {accepted}");
    assert!(throttled >= 4);

    sim.set_max_concurrent(None);
    sim.set_delay(Duration::ZERO);
    post_answered(&sim).await;
}

#[tokio::test]
async fn fail_next_answers_plain_http_errors() {
    let sim = start().await;
    sim.fail_next(2, 503);
    let r = referte();
    for _ in 0..2 {
        let reply = post(&sim, publication(GEWIJZIGD, &r)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(reply.content_type.starts_with("text/html"));
        assert!(reply.body.contains("503 Service Unavailable"));
    }
    assert_antwoord(&sim, &post(&sim, publication(GEWIJZIGD, &r)).await, &r);
    let requests = sim.requests();
    assert_eq!(requests[0].answer, Answer::HttpError { status: 503 });
    assert_eq!(sim.accepted().len(), 1);

    // Not an error status: 500.
    sim.fail_next(1, 42);
    let reply = post(&sim, publication(GEWIJZIGD, &referte())).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.content_type.starts_with("text/html"));
}

#[tokio::test]
async fn set_delay_answers_slowly_and_a_client_that_gives_up_is_not_accepted() {
    let sim = start().await;
    sim.set_delay(Duration::from_millis(300));
    let r = referte();
    let started = Instant::now();
    assert_antwoord(&sim, &post(&sim, publication(GEWIJZIGD, &r)).await, &r);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(sim.accepted().len(), 1);

    // The client gives up before the answer: not accepted, and the Referte is not remembered.
    let r2 = referte();
    let result = common::send_impatiently(
        &sim.url(),
        Duration::from_millis(100),
        "text/xml; charset=utf-8",
        &format!("\"{SOAP_ACTION}\""),
        publication(GEWIJZIGD, &r2),
    )
    .await;
    assert!(result.unwrap_err().is_timeout());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let given_up = sim.requests().pop().unwrap();
    assert_eq!(given_up.referte.as_deref(), Some(&*r2));
    assert!(!given_up.completed);
    assert_eq!(sim.accepted().len(), 1);

    sim.set_delay(Duration::ZERO);
    assert_antwoord(&sim, &post(&sim, publication(GEWIJZIGD, &r2)).await, &r2);
    assert_eq!(sim.accepted().len(), 2);
    assert!(sim.duplicates().is_empty());
}

#[tokio::test]
async fn behaviour_over_http() {
    let sim = start().await;
    let client = Client::new();
    let url = format!("{}/_sim/behaviour", sim.base_url());
    let set = |body: Value| {
        let (client, url) = (client.clone(), url.clone());
        async move { client.post(url).json(&body).send().await.unwrap() }
    };

    let resp = set(json!({
        "fail_next": {"count": 1, "status": 503},
        "throttle_next": 1,
        "fout_next": {"count": 1, "code": "30001", "diagnose": "nee"},
        "fout_when_body_contains": {"substring": "V0001002", "code": "30002", "diagnose": "gif"},
        "warn_next": {"count": 1, "code": "40144", "diagnose": "let op"},
        "max_concurrent": 5,
        "delay_ms": 10
    }))
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b = sim.behaviour();
    assert_eq!(b.fail_next, Some((1, 503)));
    assert_eq!(b.throttle_next, 1);
    assert_eq!(b.max_concurrent, Some(5));
    assert_eq!(
        b.fout_next.as_ref().map(|(n, r)| (*n, r.code.as_str())),
        Some((1, "30001"))
    );
    assert_eq!(b.fout_bodies.len(), 1);
    assert_eq!(
        b.warn_next.as_ref().map(|(_, r)| r.diagnose.as_str()),
        Some("let op")
    );
    assert_eq!(b.delay_ms, 10);
    let shown: Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["throttle_next"], 1);
    assert_eq!(shown["delay_ms"], 10);

    // In order: HTTP error, throttled, FOUT, WAARSCHUWING, the poison rule, plain.
    let answers = {
        let mut answers = Vec::new();
        for name in [
            GEWIJZIGD, GEWIJZIGD, GEWIJZIGD, GEWIJZIGD, VERWIJDERD, GEWIJZIGD,
        ] {
            answers.push(post(&sim, publication(name, &referte())).await.status);
        }
        answers
    };
    assert_eq!(answers[0], StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answers[1], StatusCode::INTERNAL_SERVER_ERROR);
    let kinds: Vec<Option<UitzonderingType>> = sim.requests()[2..]
        .iter()
        .map(|r| r.answer.uitzonderingen().first().map(|u| u.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            Some(UitzonderingType::Fout),
            Some(UitzonderingType::Waarschuwing),
            Some(UitzonderingType::Fout),
            None
        ]
    );

    let resp = set(json!({"reset": true, "delay_ms": 0})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(sim.behaviour(), Default::default());
    assert_eq!(
        set(json!({"throttle_next": 2})).await.status(),
        StatusCode::OK
    );
    assert_eq!(set(json!({"clear": true})).await.status(), StatusCode::OK);
    assert_eq!(sim.behaviour().throttle_next, 0);
    assert_eq!(
        set(json!({"bogus": 1})).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        set(json!({"fout_next": {"count": 1}})).await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_requests_are_all_validated() {
    let sim = start().await;
    // Long enough that the requests overlap.
    sim.set_delay(Duration::from_millis(300));
    let client = Client::new();
    let mut calls = Vec::new();
    for i in 0..25 {
        let r = referte();
        let name = [GEWIJZIGD, VERWIJDERD, BINNEN_GEBIED][i % 3];
        // Five of them break the XSD.
        let body = if i % 5 == 4 {
            publication(name, &r).replace("<Sequentie>", "<Sequentie>x")
        } else {
            publication(name, &r)
        };
        let (client, url) = (client.clone(), sim.url());
        calls.push(tokio::spawn(async move {
            (i, r.clone(), send(&client, &url, body).await)
        }));
    }
    for call in calls {
        let (i, r, reply) = call.await.unwrap();
        if i % 5 == 4 {
            assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{i}");
            let (code, string) = fault(&reply.body);
            assert_eq!(code, "soapenv:Client");
            assert!(string.contains("Sequentie"), "{string}");
        } else {
            assert_antwoord(&sim, &reply, &r);
        }
    }
    assert_eq!(sim.requests().len(), 25);
    assert_eq!(sim.accepted().len(), 20);
    assert_eq!(sim.invalid().len(), 5);
    for r in sim.requests() {
        // Each verdict belongs to its own request.
        assert_eq!(r.valid, !r.body.contains("<Sequentie>x"), "{:?}", r.errors);
    }
    assert!(
        sim.max_in_flight() > 1,
        "max in flight {}",
        sim.max_in_flight()
    );
    assert_eq!(sim.in_flight(), 0);
}

/// Why the simulator does not start with the XSD at `xsd`.
async fn start_error(xsd: std::path::PathBuf) -> std::io::Error {
    let config = BackOfficeSimConfig {
        xsd,
        ..BackOfficeSimConfig::default()
    };
    BackOfficeSim::start(config, "127.0.0.1:0")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn start_fails_when_the_xsd_is_missing_or_broken() {
    let e = start_error("/nonexistent/publicatie-v1.xsd".into()).await;
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);

    let broken =
        std::env::temp_dir().join(format!("backoffice-broken-{}.xsd", uuid::Uuid::new_v4()));
    std::fs::write(
        &broken,
        "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"><xs:element/></xs:schema>",
    )
    .unwrap();
    let e = start_error(broken.clone()).await;
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    let _ = std::fs::remove_file(broken);
}

// ---------------------------------------------------------------------------------------------
// Mutual TLS

fn tls_client(pki: &TestPki, with_identity: Option<&TestPki>) -> Client {
    let mut builder = Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap());
    if let Some(id) = with_identity {
        builder = builder
            .identity(reqwest::Identity::from_pem(id.client_identity_pem().as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let pki = test_pki();
    let sim = BackOfficeSim::start_tls(
        BackOfficeSimConfig::default(),
        "127.0.0.1:0",
        pki.server_tls(),
    )
    .await
    .unwrap();
    assert!(sim.is_tls());
    assert!(sim.url().starts_with("https://127.0.0.1:"));

    // With the client certificate: accepted, the CN recorded.
    let r = referte();
    let reply = send(
        &tls_client(&pki, Some(&pki)),
        &sim.url(),
        publication(GEWIJZIGD, &r),
    )
    .await;
    assert_antwoord(&sim, &reply, &r);
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        accepted[0].client_cn.as_deref(),
        Some("verenigingsloket-hub")
    );
    // Also by the name localhost.
    let by_name = sim.url().replace("127.0.0.1", "localhost");
    let r2 = referte();
    assert_antwoord(
        &sim,
        &send(
            &tls_client(&pki, Some(&pki)),
            &by_name,
            publication(GEWIJZIGD, &r2),
        )
        .await,
        &r2,
    );

    // Without a client certificate, or with one from another CA: the handshake fails.
    let stranger = TestPki::generate("indringer").unwrap();
    for (what, identity) in [("no certificate", None), ("another CA", Some(&stranger))] {
        let refused = tls_client(&pki, identity)
            .post(sim.url())
            .header("content-type", "text/xml; charset=utf-8")
            .header("SOAPAction", SOAP_ACTION)
            .body(publication(GEWIJZIGD, &referte()))
            .send()
            .await;
        assert!(refused.is_err(), "{what}: {refused:?}");
    }

    // A plain-HTTP client gets nowhere either.
    let plain = Client::new()
        .post(sim.url().replace("https://", "http://"))
        .body("x")
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());

    // The refused connections never reached the service.
    assert_eq!(sim.requests().len(), 2);
    let deadline = Instant::now() + Duration::from_secs(2);
    while sim.rejected_handshakes() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        sim.rejected_handshakes() >= 2,
        "{}",
        sim.rejected_handshakes()
    );

    // The control API is behind the same TLS.
    let b: Value = get_json(
        &tls_client(&pki, Some(&pki)),
        format!("{}/_sim/behaviour", sim.base_url()),
    )
    .await;
    assert_eq!(b["throttle_next"], 0);

    sim.shutdown();
    sim.stopped().await.unwrap();
}

#[tokio::test]
async fn start_tls_refuses_unusable_pem() {
    let pki = test_pki();
    let mut tls = pki.server_tls();
    tls.client_ca_pem = String::new();
    let e = BackOfficeSim::start_tls(BackOfficeSimConfig::default(), "127.0.0.1:0", tls)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let mut tls = pki.server_tls();
    tls.private_key_pem = "garbage".to_owned();
    assert!(
        BackOfficeSim::start_tls(BackOfficeSimConfig::default(), "127.0.0.1:0", tls)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_gewijzigd_without_changed_parts_or_withheld_fields_is_valid() {
    let sim = start().await;
    let r = referte();
    let body = publication(GEWIJZIGD, &r)
        .replace(
            "<GewijzigdeDelen><Deel>basisgegevens</Deel><Deel>locaties</Deel></GewijzigdeDelen>",
            "",
        )
        .replace(
            "<Achtergehouden><Veld>vertegenwoordigers[].insz</Veld></Achtergehouden>",
            "",
        );
    assert!(!body.contains("GewijzigdeDelen") && !body.contains("Achtergehouden"));
    assert_antwoord(&sim, &post(&sim, body).await, &r);
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].gewijzigde_delen.is_empty());
    assert!(accepted[0].achtergehouden.is_empty());
}
