//! `KioskProvider` over real HTTP against the KIOSK simulator (`partner_sims::kiosk`), which
//! validates every request against `contracts/xsd/kiosk-v1.xsd` on its own: submitting,
//! idempotency, the dossier's progress to a decision, refusals, and how failures are
//! classified (down, HTTP errors, timeouts, unknown dossiers, no server at all).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use adapter_kiosk::KioskProvider;
use adapter_provider::{Decision, Provider, ProviderError};
use contracts::applications::EnrichedApplication;
use contracts::fixtures;
use partner_sims::kiosk::{DossierStatus, KioskSim, KioskSimConfig};
use serde_json::{json, Value};

/// The example application by An Peeters, but not as a known representative.
fn application(service_code: &str, fields: Value) -> EnrichedApplication {
    let mut app = fixtures::application(service_code, fields);
    app.applicant.vertegenwoordiger_id = None;
    app
}

fn project(amount: u64) -> EnrichedApplication {
    application(
        "kiosk-projectsubsidie",
        json!({
            "projectnaam": "Zomerconcert",
            "gevraagdBedrag": amount,
            "begindatum": "2027-06-01",
            "einddatum": "2027-08-31",
        }),
    )
}

async fn sim(treatment_ms: u64, decision_ms: u64) -> KioskSim {
    let config = KioskSimConfig {
        treatment_after: Duration::from_millis(treatment_ms),
        decision_after: Duration::from_millis(decision_ms),
        ..KioskSimConfig::default()
    };
    KioskSim::start(config, "127.0.0.1:0").await.unwrap()
}

fn provider(sim: &KioskSim) -> KioskProvider {
    KioskProvider::new(&sim.url(), Duration::from_secs(5)).unwrap()
}

/// Polls until the dossier is decided (at most 5 s).
async fn decision(p: &KioskProvider, reference: &str) -> Decision {
    for _ in 0..250 {
        match p.status(reference).await.unwrap() {
            d @ (Decision::Approved { .. } | Decision::Refused { .. }) => return d,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    panic!("{reference} was not decided in time");
}

#[tokio::test]
async fn submits_once_per_application_and_follows_the_dossier_to_its_decision() {
    let sim = sim(300, 600).await;
    let p = provider(&sim);
    let app = project(1500);
    let first = p.submit(&app).await.unwrap();
    assert_eq!(first.decision, Decision::Received);
    assert!(
        adapter_kiosk::soap::is_dossiernummer(&first.reference),
        "{}",
        first.reference
    );
    // Submitting again (a redelivery) opens no second dossier.
    let again = p.submit(&app).await.unwrap();
    assert_eq!(again.reference, first.reference);
    assert_eq!(sim.submissions().len(), 1);
    assert_eq!(sim.dossiers().len(), 1);
    assert!(sim.requests()[1].duplicate);

    let mut seen = vec![p.status(&first.reference).await.unwrap()];
    let decided = loop {
        let d = p.status(&first.reference).await.unwrap();
        if seen.last() != Some(&d) {
            seen.push(d.clone());
        }
        if matches!(d, Decision::Approved { .. } | Decision::Refused { .. }) {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        decided,
        Decision::Approved {
            detail: Some("toegekend bedrag 1500.00 EUR".into())
        }
    );
    assert_eq!(seen[0], Decision::Received);
    assert!(seen.contains(&Decision::InTreatment), "{seen:?}");
    // A repeat after the decision answers the decision.
    let late = p.submit(&app).await.unwrap();
    assert_eq!(late.reference, first.reference);
    assert_eq!(late.decision, decided);

    // Everything the adapter sent was valid for the simulator (XSD and contract rules).
    assert!(sim.invalid().is_empty(), "{:?}", sim.invalid());
    let sent = &sim.submissions()[0];
    assert_eq!(
        sent.application_id.as_deref(),
        Some(app.application_id.to_string().as_str())
    );
    assert!(!sent.body.contains("85071512397"));
    sim.shutdown();
}

#[tokio::test]
async fn refusals_carry_kiosks_motivering() {
    let sim = sim(0, 50).await;
    let p = provider(&sim);
    let too_much = p.submit(&project(30_000)).await.unwrap();
    match decision(&p, &too_much.reference).await {
        Decision::Refused { reason } => assert!(reason.contains("maximum"), "{reason}"),
        other => panic!("{other:?}"),
    }

    sim.refuse_when_body_contains("Zomerconcert", "De aanvraag kwam na de deadline binnen.");
    let ruled = p.submit(&project(100)).await.unwrap();
    assert_eq!(
        decision(&p, &ruled.reference).await,
        Decision::Refused {
            reason: "De aanvraag kwam na de deadline binnen.".into()
        }
    );
    sim.reset();

    let unknown = p
        .submit(&application(
            "kiosk-nieuwe-regeling",
            json!({"projectnaam": "X", "gevraagdBedrag": 10, "begindatum": "2027-01-01", "einddatum": "2027-01-01"}),
        ))
        .await
        .unwrap();
    match decision(&p, &unknown.reference).await {
        Decision::Refused { reason } => assert!(reason.contains("niet bekend"), "{reason}"),
        other => panic!("{other:?}"),
    }

    // An attest grants no money.
    let attest = p
        .submit(&application(
            "kiosk-attest",
            json!({"projectnaam": "Attest", "begindatum": "2027-01-01", "einddatum": "2027-12-31"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        decision(&p, &attest.reference).await,
        Decision::Approved { detail: None }
    );
    assert!(sim.invalid().is_empty(), "{:?}", sim.invalid());
    sim.shutdown();
}

#[tokio::test]
async fn failures_are_classified() {
    let sim = sim(1000, 2000).await;
    let p = provider(&sim);

    // An unknown dossier: permanent.
    match p.status("KIOSK-2026-999999").await {
        Err(ProviderError::Permanent(reason)) => {
            assert!(reason.contains("ONBEKEND_DOSSIER"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A malformed reference is refused without a call.
    let before = sim.requests().len();
    assert!(matches!(
        p.status("123").await,
        Err(ProviderError::Permanent(_))
    ));
    assert_eq!(sim.requests().len(), before);
    // So is an application with a missing field.
    let mut incomplete = project(10);
    incomplete.fields.remove("begindatum");
    match p.submit(&incomplete).await {
        Err(ProviderError::Permanent(reason)) => assert!(reason.contains("begindatum"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.requests().len(), before);

    // Down: transient, and nothing is opened.
    let app = project(500);
    sim.set_down(true);
    assert!(matches!(
        p.submit(&app).await,
        Err(ProviderError::Transient(_))
    ));
    sim.set_down(false);
    assert!(sim.dossiers().is_empty());

    sim.fail_next(2, 502);
    assert!(matches!(
        p.submit(&app).await,
        Err(ProviderError::Transient(_))
    ));
    assert!(matches!(
        p.status("KIOSK-2026-000001").await,
        Err(ProviderError::Transient(_))
    ));
    sim.fail_next(1, 404);
    assert!(matches!(
        p.submit(&app).await,
        Err(ProviderError::Permanent(_))
    ));

    // A timeout is transient; KIOSK opened the dossier anyway, and the retry finds it.
    sim.set_delay(Duration::from_millis(600));
    let impatient = KioskProvider::new(&sim.url(), Duration::from_millis(200)).unwrap();
    match impatient.submit(&app).await {
        Err(ProviderError::Transient(reason)) => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.dossiers().len(), 1);
    sim.reset();
    let retried = p.submit(&app).await.unwrap();
    assert_eq!(retried.reference, sim.dossiers()[0].dossiernummer);
    assert_eq!(sim.dossiers().len(), 1);
    assert_eq!(sim.dossiers()[0].status, DossierStatus::Ontvangen);

    // Nobody there: transient.
    let addr = sim.local_addr();
    sim.shutdown();
    sim.stopped().await.unwrap();
    let gone = KioskProvider::new(
        &format!("http://{addr}/Kiosk-01.00/soap/WebService"),
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(matches!(
        gone.status("KIOSK-2026-000001").await,
        Err(ProviderError::Transient(_))
    ));
}

#[test]
fn the_endpoint_url_is_checked() {
    let t = Duration::from_secs(1);
    assert!(KioskProvider::new("not a url", t).is_err());
    assert!(KioskProvider::new("ftp://kiosk.example.be/", t).is_err());
    let p = KioskProvider::new("https://kiosk.example.be/Kiosk-01.00/soap/WebService", t).unwrap();
    assert_eq!(
        p.url(),
        "https://kiosk.example.be/Kiosk-01.00/soap/WebService"
    );
}
