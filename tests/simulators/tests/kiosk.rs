//! Tests of the KIOSK simulator over real HTTP, with raw XML (the contract's checked-in
//! examples as templates): dossier numbers, idempotency, the dossier's progress, the decision
//! rules, invalid requests, and the down / failure / delay controls (also over `/_sim/`).
#![allow(clippy::unwrap_used)]

mod common;

use common::{body_text, get_json, post_json, Reply};
use std::path::PathBuf;
use std::time::Duration;

use partner_sims::kiosk::{
    default_xsd_path, DossierStatus, KioskAnswer, KioskSim, KioskSimConfig, DIEN_AANVRAAG_IN,
    GEEF_DOSSIER_STATUS, KIOSK_NS, ONBEKEND_DOSSIER, ONGELDIG_VERZOEK,
    SOAP_ACTION_DIEN_AANVRAAG_IN, SOAP_ACTION_GEEF_DOSSIER_STATUS,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// The AanvraagId and dossier number of the examples; tests replace them.
const EXAMPLE_ID: &str = "0b6a3f4e-2c1d-4f5a-8e9b-7c6d5e4f3a21";
const EXAMPLE_DOSSIER: &str = "KIOSK-2026-000123";

fn example(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../../contracts/examples/kiosk",
        name,
    ]
    .iter()
    .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The project-subsidy example (1500.00 EUR, V0001001) with another AanvraagId.
fn dien_aanvraag_in(id: &str) -> String {
    example("request.dien-aanvraag-in.xml").replace(EXAMPLE_ID, id)
}

fn geef_dossier_status(nummer: &str) -> String {
    example("request.geef-dossier-status.xml").replace(EXAMPLE_DOSSIER, nummer)
}

async fn start(treatment_ms: u64, decision_ms: u64) -> KioskSim {
    let config = KioskSimConfig::with_timing(
        Duration::from_millis(treatment_ms),
        Duration::from_millis(decision_ms),
    );
    KioskSim::start(config, "127.0.0.1:0").await.unwrap()
}

async fn send(sim: &KioskSim, action: &str, content_type: &str, body: String) -> Reply {
    common::send(&Client::new(), &sim.url(), content_type, Some(action), body).await
}

/// The XSD's complaints about the Body's first element, or about a fault's `kiosk:Fout`.
fn xsd_errors(envelope: &str) -> Vec<String> {
    common::xsd_errors(&default_xsd_path(), envelope, true)
}

async fn submit(sim: &KioskSim, body: String) -> Reply {
    send(
        sim,
        SOAP_ACTION_DIEN_AANVRAAG_IN,
        "text/xml; charset=utf-8",
        body,
    )
    .await
}

async fn status(sim: &KioskSim, nummer: &str) -> Reply {
    send(
        sim,
        SOAP_ACTION_GEEF_DOSSIER_STATUS,
        "text/xml; charset=utf-8",
        geef_dossier_status(nummer),
    )
    .await
}

/// Asserts an answer with a dossier, valid against the XSD; returns (number, status).
fn dossier(reply: &Reply) -> (String, String) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let errors = xsd_errors(&reply.body);
    assert!(errors.is_empty(), "{errors:?}\n{}", reply.body);
    (
        body_text(&reply.body, &["Dossiernummer"]).unwrap(),
        body_text(&reply.body, &["Status"]).unwrap(),
    )
}

/// Asserts a valid `soapenv:Client` fault with this `Fout/Code`.
fn client_fault(reply: &Reply, code: &str) {
    assert_eq!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        reply.body
    );
    assert!(xsd_errors(&reply.body).is_empty(), "{}", reply.body);
    assert_eq!(
        body_text(&reply.body, &["faultcode"]).as_deref(),
        Some("soapenv:Client")
    );
    assert_eq!(
        body_text(&reply.body, &["detail", "Fout", "Code"]).as_deref(),
        Some(code),
        "{}",
        reply.body
    );
}

/// Polls `GeefDossierStatus` until a decision; the statuses seen, in order, and the last reply.
async fn until_decided(sim: &KioskSim, nummer: &str) -> (Vec<String>, Reply) {
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..250 {
        let reply = status(sim, nummer).await;
        let (_, s) = dossier(&reply);
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == "GOEDGEKEURD" || s == "AFGEWEZEN" {
            return (seen, reply);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{nummer} was not decided in time: {seen:?}");
}

#[tokio::test]
async fn a_submission_gets_a_number_and_a_repeat_gets_the_same_one() {
    let sim = start(1000, 2000).await;
    let year = time::OffsetDateTime::now_utc().year();
    let id = new_id();
    let first = submit(&sim, dien_aanvraag_in(&id)).await;
    let (nummer, s) = dossier(&first);
    assert_eq!(nummer, format!("KIOSK-{year}-000001"));
    assert_eq!(s, "ONTVANGEN");
    assert_eq!(
        body_text(&first.body, &["AanvraagId"]).as_deref(),
        Some(id.as_str())
    );
    assert!(first.body.contains(&format!("xmlns:kiosk=\"{KIOSK_NS}\"")));

    // The same AanvraagId (upper case even): the same dossier, recorded as a duplicate.
    let again = submit(&sim, dien_aanvraag_in(&id.to_uppercase())).await;
    assert_eq!(dossier(&again).0, nummer);
    let other = submit(&sim, dien_aanvraag_in(&new_id())).await;
    assert_eq!(dossier(&other).0, format!("KIOSK-{year}-000002"));

    let requests = sim.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.valid && r.completed));
    assert_eq!(
        requests.iter().map(|r| r.duplicate).collect::<Vec<_>>(),
        vec![false, true, false]
    );
    assert_eq!(requests[0].operation.as_deref(), Some(DIEN_AANVRAAG_IN));
    assert_eq!(requests[0].application_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        requests[0].regeling.as_deref(),
        Some("kiosk-projectsubsidie")
    );
    assert_eq!(requests[1].dossiernummer.as_deref(), Some(nummer.as_str()));
    assert_eq!(requests[0].http_status(), 200);
    assert_eq!(
        requests[0].answer.dossier_status(),
        Some(DossierStatus::Ontvangen)
    );
    assert_eq!(sim.submissions().len(), 2);
    let dossiers = sim.dossiers();
    assert_eq!(dossiers.len(), 2);
    assert_eq!(dossiers[0].dossiernummer, nummer);
    assert_eq!(dossiers[0].application_id, id);
    assert_eq!(dossiers[0].regeling, "kiosk-projectsubsidie");
    assert_eq!(dossiers[0].v_code.as_deref(), Some("V0001001"));
    assert_eq!(dossiers[0].gevraagd_bedrag.as_deref(), Some("1500.00"));
    assert_eq!(sim.dossier(&nummer).unwrap().dossiernummer, nummer);
    assert!(sim.dossier("KIOSK-2026-999999").is_none());
    sim.shutdown();
}

#[tokio::test]
async fn a_dossier_moves_on_to_its_decision() {
    let sim = start(300, 600).await;
    let (nummer, _) = dossier(&submit(&sim, dien_aanvraag_in(&new_id())).await);
    let (seen, last) = until_decided(&sim, &nummer).await;
    assert_eq!(seen, vec!["ONTVANGEN", "IN_BEHANDELING", "GOEDGEKEURD"]);
    assert_eq!(
        body_text(&last.body, &["ToegekendBedrag"]).as_deref(),
        Some("1500.00")
    );
    assert_eq!(body_text(&last.body, &["Motivering"]), None);
    assert_eq!(
        body_text(&last.body, &["Dossiernummer"]).as_deref(),
        Some(nummer.as_str())
    );
    assert!(body_text(&last.body, &["Tijdstip"]).is_some());

    let d = sim.dossier(&nummer).unwrap();
    assert_eq!(d.status, DossierStatus::Goedgekeurd);
    assert_eq!(d.toegekend_bedrag.as_deref(), Some("1500.00"));
    // The decision moment is opening + decision_after.
    let opened = sim.requests()[0].received_at;
    assert_eq!(d.tijdstip - opened, time::Duration::milliseconds(600));
    assert!(sim
        .requests()
        .iter()
        .skip(1)
        .all(|r| r.operation.as_deref() == Some(GEEF_DOSSIER_STATUS) && r.valid));
    // A repeated submission now answers the decision.
    let id = sim.dossiers()[0].application_id.clone();
    let (_, s) = dossier(&submit(&sim, dien_aanvraag_in(&id)).await);
    assert_eq!(s, "GOEDGEKEURD");
    sim.shutdown();
}

#[tokio::test]
async fn refusals_follow_the_rules() {
    let sim = start(0, 50).await;
    let expensive = dien_aanvraag_in(&new_id()).replace(
        "<GevraagdBedrag>1500.00</GevraagdBedrag>",
        "<GevraagdBedrag>25000.01</GevraagdBedrag>",
    );
    let (nummer, _) = dossier(&submit(&sim, expensive).await);
    let (_, last) = until_decided(&sim, &nummer).await;
    assert_eq!(
        body_text(&last.body, &["Status"]).as_deref(),
        Some("AFGEWEZEN")
    );
    let motivering = body_text(&last.body, &["Motivering"]).unwrap();
    assert!(
        motivering.contains("25000.01") && motivering.contains("maximum"),
        "{motivering}"
    );
    assert_eq!(body_text(&last.body, &["ToegekendBedrag"]), None);

    // Exactly the maximum is granted.
    let at_max = dien_aanvraag_in(&new_id()).replace("1500.00", "25000.00");
    let (nummer, _) = dossier(&submit(&sim, at_max).await);
    let (_, last) = until_decided(&sim, &nummer).await;
    assert_eq!(
        body_text(&last.body, &["ToegekendBedrag"]).as_deref(),
        Some("25000.00")
    );

    let unknown = dien_aanvraag_in(&new_id()).replace("kiosk-projectsubsidie", "kiosk-prijs");
    let (nummer, _) = dossier(&submit(&sim, unknown).await);
    let (_, last) = until_decided(&sim, &nummer).await;
    assert!(body_text(&last.body, &["Motivering"])
        .unwrap()
        .contains("kiosk-prijs"));

    sim.refuse_when_body_contains(
        "V0001001",
        "De vereniging is niet erkend & dus niet subsidieerbaar.",
    );
    let (ruled, _) = dossier(&submit(&sim, dien_aanvraag_in(&new_id())).await);
    sim.reset();
    let (_, last) = until_decided(&sim, &ruled).await;
    assert_eq!(
        body_text(&last.body, &["Motivering"]).as_deref(),
        Some("De vereniging is niet erkend & dus niet subsidieerbaar.")
    );
    let d = sim.dossier(&ruled).unwrap();
    assert_eq!(d.status, DossierStatus::Afgewezen);
    assert!(d.motivering.unwrap().starts_with("De vereniging"));
    // After reset the rule is gone.
    let (granted, _) = dossier(&submit(&sim, dien_aanvraag_in(&new_id())).await);
    let (_, last) = until_decided(&sim, &granted).await;
    assert_eq!(
        body_text(&last.body, &["Status"]).as_deref(),
        Some("GOEDGEKEURD")
    );

    // A certificate without amount is granted without one.
    let attest = example("request.dien-aanvraag-in.attest.xml")
        .replace("5d1e8c7a-9b3f-4a2e-b6c4-1f0e9d8c7b6a", &new_id());
    let (nummer, _) = dossier(&submit(&sim, attest).await);
    let (_, last) = until_decided(&sim, &nummer).await;
    assert_eq!(
        body_text(&last.body, &["Status"]).as_deref(),
        Some("GOEDGEKEURD")
    );
    assert_eq!(body_text(&last.body, &["ToegekendBedrag"]), None);
    sim.shutdown();
}

#[tokio::test]
async fn invalid_requests_are_refused_as_client_faults() {
    let sim = start(1000, 2000).await;
    let good = dien_aanvraag_in(&new_id());
    let cases: Vec<(&str, String)> = vec![
        ("not well-formed", good.replacen("</Aanvrager>", "", 1)),
        ("not SOAP", "<DienAanvraagIn/>".to_owned()),
        (
            "a bad VCode",
            good.replace("<VCode>V0001001</VCode>", "<VCode>V1</VCode>"),
        ),
        (
            "an INSZ",
            good.replace(
                "<Voornaam>An</Voornaam>",
                "<Voornaam>An</Voornaam><Insz>85071512397</Insz>",
            ),
        ),
        (
            "no Projectnaam for a project subsidy",
            good.replace(
                "<Projectnaam>Zomerconcert in het stadspark</Projectnaam>",
                "",
            ),
        ),
        (
            "Einddatum before Begindatum",
            good.replace(
                "<Einddatum>2027-08-31</Einddatum>",
                "<Einddatum>2027-05-31</Einddatum>",
            ),
        ),
        (
            "a response as request",
            example("reply.dien-aanvraag-in.xml"),
        ),
    ];
    for (what, body) in &cases {
        let reply = submit(&sim, body.clone()).await;
        client_fault(&reply, ONGELDIG_VERZOEK);
        let recorded = sim.requests().pop().unwrap();
        assert!(!recorded.valid, "{what}");
        assert!(!recorded.errors.is_empty(), "{what}");
    }
    // The SOAPAction of the other operation, the wrong Content-Type.
    for (action, content_type, first_error) in [
        (
            SOAP_ACTION_GEEF_DOSSIER_STATUS,
            "text/xml; charset=utf-8",
            "SOAPAction",
        ),
        (
            SOAP_ACTION_DIEN_AANVRAAG_IN,
            "application/soap+xml",
            "Content-Type",
        ),
    ] {
        let reply = send(&sim, action, content_type, good.clone()).await;
        client_fault(&reply, ONGELDIG_VERZOEK);
        let errors = sim.requests().pop().unwrap().errors;
        assert!(errors[0].contains(first_error), "{errors:?}");
    }

    assert_eq!(sim.invalid().len(), cases.len() + 2);
    assert!(sim.dossiers().is_empty() && sim.submissions().is_empty());

    // An unknown dossier: a valid request, answered ONBEKEND_DOSSIER.
    let unknown = status(&sim, "KIOSK-2026-999999").await;
    client_fault(&unknown, ONBEKEND_DOSSIER);
    let recorded = sim.requests().pop().unwrap();
    assert!(recorded.valid);
    assert_eq!(recorded.dossiernummer.as_deref(), Some("KIOSK-2026-999999"));
    assert!(
        matches!(recorded.answer, KioskAnswer::Fault { ref code, .. } if code == ONBEKEND_DOSSIER)
    );

    // And the good one still goes through.
    dossier(&submit(&sim, good).await);
    sim.shutdown();
}

#[tokio::test]
async fn down_failures_and_delays() {
    let sim = start(1000, 2000).await;
    let id = new_id();
    sim.set_down(true);
    for _ in 0..2 {
        assert_eq!(
            submit(&sim, dien_aanvraag_in(&id)).await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(
        status(&sim, EXAMPLE_DOSSIER).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert!(sim.dossiers().is_empty());
    sim.set_down(false);

    sim.fail_next(2, 502);
    assert_eq!(
        submit(&sim, dien_aanvraag_in(&id)).await.status,
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        submit(&sim, dien_aanvraag_in(&id)).await.status,
        StatusCode::BAD_GATEWAY
    );
    let (nummer, _) = dossier(&submit(&sim, dien_aanvraag_in(&id)).await);
    assert_eq!(sim.submissions().len(), 1);
    assert_eq!(
        sim.requests()
            .iter()
            .map(|r| r.http_status())
            .collect::<Vec<_>>(),
        vec![503, 503, 503, 502, 502, 200]
    );

    // A slow answer: the dossier is opened on arrival, the client may give up first.
    sim.set_delay(Duration::from_millis(400));
    let other = new_id();
    let gave_up = common::send_impatiently(
        &sim.url(),
        Duration::from_millis(100),
        "text/xml; charset=utf-8",
        SOAP_ACTION_DIEN_AANVRAAG_IN,
        dien_aanvraag_in(&other),
    )
    .await;
    assert!(gave_up.is_err());
    assert_eq!(sim.dossiers().len(), 2);
    sim.reset();
    assert_eq!(sim.behaviour(), Default::default());
    let again = submit(&sim, dien_aanvraag_in(&other)).await;
    assert_eq!(dossier(&again).0, sim.dossiers()[1].dossiernummer);
    assert_ne!(dossier(&again).0, nummer);
    sim.shutdown();
}

#[tokio::test]
async fn the_behaviour_can_be_set_over_http() {
    let sim = start(0, 0).await;
    let client = Client::new();
    let behaviour = format!("{}/_sim/behaviour", sim.base_url());
    let set = |body: Value| {
        let client = client.clone();
        let url = behaviour.clone();
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let answer: Value = set(json!({"down": true, "delay_ms": 10}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["down"], json!(true));
    assert_eq!(
        submit(&sim, dien_aanvraag_in(&new_id())).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    set(json!({"reset": true, "fail_next": {"count": 1, "status": 429}})).await;
    assert_eq!(
        submit(&sim, dien_aanvraag_in(&new_id())).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    set(json!({"refuse_when_body_contains": {"substring": "Zomerconcert", "motivering": "Te laat."}})).await;
    let (nummer, s) = dossier(&submit(&sim, dien_aanvraag_in(&new_id())).await);
    // decision_after 0: decided at once, also in the submit answer.
    assert_eq!(s, "AFGEWEZEN");
    assert_eq!(
        body_text(&status(&sim, &nummer).await.body, &["Motivering"]).as_deref(),
        Some("Te laat.")
    );
    let current: Value = get_json(&client, &behaviour).await;
    assert_eq!(current["refusals"], json!([["Zomerconcert", "Te laat."]]));
    let bad = post_json(&client, &behaviour, &json!({"kapot": 1})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let dossiers: Value = get_json(&client, format!("{}/_sim/dossiers", sim.base_url())).await;
    assert_eq!(dossiers[0]["dossiernummer"], json!(nummer));
    assert_eq!(dossiers[0]["status"], json!("AFGEWEZEN"));
    assert_eq!(dossiers[0]["motivering"], json!("Te laat."));
    let requests: Value = get_json(&client, format!("{}/_sim/requests", sim.base_url())).await;
    assert_eq!(requests.as_array().unwrap().len(), 4);
    assert_eq!(requests[0]["httpStatus"], json!(503));
    assert_eq!(requests[2]["dossierStatus"], json!("AFGEWEZEN"));
    sim.shutdown();
}
