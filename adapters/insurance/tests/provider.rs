//! [`InsuranceProvider`] against the volunteer-insurance simulator (`partner_sims::insurance`)
//! over real HTTP: grants, refusals, idempotent resubmission, status, and how every failure is
//! classified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use adapter_insurance::{InsuranceProvider, Parties};
use adapter_provider::{Decision, Provider, ProviderError, Submitted};
use contracts::applications::EnrichedApplication;
use contracts::fixtures;
use partner_sims::insurance::{InsuranceSim, InsuranceSimConfig};
use serde_json::json;
use uuid::Uuid;

fn parties() -> Parties {
    Parties {
        sender: "kbbj.vlaanderen.be/verenigingsloket-hub".into(),
        receiver: "vrijwilligersverzekering.vlaanderen.be".into(),
    }
}

/// A fresh application of the register's example association (VZW, seat 9300 Aalst).
fn application() -> EnrichedApplication {
    fixtures::application(
        "vrijwilligersverzekering",
        json!({"aantalVrijwilligers": 12, "betaaldPersoneel": false, "geschatteUren": 400}),
    )
}

fn with_vcode(mut app: EnrichedApplication, v_code: &str) -> EnrichedApplication {
    app.vereniging.v_code = v_code.parse().unwrap();
    app
}

async fn sim() -> InsuranceSim {
    let config = InsuranceSimConfig {
        decision_delay: Duration::ZERO,
        ..InsuranceSimConfig::default()
    };
    InsuranceSim::start(config, "127.0.0.1:0").await.unwrap()
}

fn provider(sim: &InsuranceSim) -> InsuranceProvider {
    InsuranceProvider::new(&sim.url(), Duration::from_secs(5), parties()).unwrap()
}

fn this_year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

#[tokio::test]
async fn a_grant_is_approved_with_its_erkenningsnummer_and_resubmitting_is_safe() {
    let sim = sim().await;
    let insurance = provider(&sim);
    let app = application();
    let nummer = format!("VV-{}-00001", this_year());
    let expected = Submitted {
        reference: nummer.clone(),
        decision: Decision::Approved {
            detail: Some(format!("erkenningsnummer {nummer}")),
        },
    };
    assert_eq!(insurance.submit(&app).await, Ok(expected.clone()));
    assert_eq!(insurance.submit(&app).await, Ok(expected));
    assert_eq!(sim.recognitions().len(), 1);
    let submissions = sim.submissions();
    assert_eq!(submissions.len(), 1);
    assert_eq!(
        submissions[0].referte.as_deref(),
        Some(app.application_id.to_string().as_str())
    );
    let requests = sim.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.valid), "{:?}", requests[0].errors);
    assert!(requests[1].duplicate);
    assert!(!requests[0].body.contains("85071512397"), "no INSZ");
    assert_eq!(
        requests[0].soap_action.as_deref(),
        Some("\"http://verenigingsloket.vlaanderen.be/hub/vrijwilligersverzekering/v1/VraagErkenningAan\"")
    );

    assert_eq!(
        insurance.status(&nummer).await,
        Ok(Decision::Approved {
            detail: Some(format!("erkenningsnummer {nummer}"))
        })
    );
    assert!(sim.withdraw(&nummer, "Betaald personeel in dienst"));
    match insurance.status(&nummer).await {
        Ok(Decision::Refused { reason }) => {
            assert!(reason.starts_with(&format!("erkenning {nummer} ingetrokken op ")));
            assert!(
                reason.ends_with(": Betaald personeel in dienst"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(sim.requests().iter().all(|r| r.valid));
}

#[tokio::test]
async fn a_refusal_is_a_decision_with_the_services_reasons() {
    let sim = sim().await;
    let insurance = provider(&sim);
    let mut paid = application();
    paid.fields.insert("betaaldPersoneel".into(), json!(true));
    assert_eq!(
        insurance.submit(&paid).await,
        Ok(Submitted {
            reference: paid.application_id.to_string(),
            decision: Decision::Refused {
                reason: "VV-101: Organisatie met betaald personeel komt niet in aanmerking".into()
            },
        })
    );

    let mut wallonia = with_vcode(application(), "V0005001");
    let seat = wallonia.vereniging.locaties[0].adres.as_mut().unwrap();
    seat.postcode = "4000".into();
    seat.gemeente = "Luik".into();
    wallonia.vereniging.verenigingstype.code = "IVZW".into();
    match insurance.submit(&wallonia).await {
        Ok(Submitted {
            reference,
            decision: Decision::Refused { reason },
        }) => {
            assert_eq!(reference, wallonia.application_id.to_string());
            assert!(
                reason.starts_with("VV-102: ") && reason.contains("; VV-103: "),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A refused application has no recognition to consult.
    match insurance.status(&wallonia.application_id.to_string()).await {
        Err(ProviderError::Permanent(reason)) => {
            assert!(reason.contains("not an erkenningsnummer"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.requests().len(), 2, "status asked nothing");
    assert!(sim.recognitions().is_empty());
}

#[tokio::test]
async fn failures_are_transient_or_permanent() {
    let sim = sim().await;
    let insurance = provider(&sim);
    let app = application();
    let transient =
        |r: &Result<Submitted, ProviderError>| matches!(r, Err(ProviderError::Transient(_)));

    sim.throttle_next(1);
    let throttled = insurance.submit(&app).await;
    assert!(
        matches!(&throttled, Err(ProviderError::Transient(r)) if r.starts_with("throttled: 99995")),
        "{throttled:?}"
    );
    for status in [500, 502, 503, 429, 408] {
        sim.fail_next(1, status);
        let r = insurance.submit(&app).await;
        assert!(transient(&r), "{status}: {r:?}");
    }
    sim.set_down(true);
    assert!(transient(&insurance.submit(&app).await));
    assert!(matches!(
        insurance.status("VV-2026-00001").await,
        Err(ProviderError::Transient(_))
    ));
    sim.set_down(false);
    for status in [400, 404, 403] {
        sim.fail_next(1, status);
        let r = insurance.submit(&app).await;
        assert!(
            matches!(r, Err(ProviderError::Permanent(_))),
            "{status}: {r:?}"
        );
    }
    // Nothing was decided by all that: the next attempt is the first decision.
    assert!(sim.submissions().is_empty());
    assert!(insurance.submit(&app).await.is_ok());
    assert_eq!(sim.submissions().len(), 1);

    // An unknown erkenningsnummer is permanent.
    match insurance.status("VV-1999-00001").await {
        Err(ProviderError::Permanent(reason)) => assert!(reason.contains("VV-201"), "{reason}"),
        other => panic!("{other:?}"),
    }

    // A request the service finds invalid: the Client fault is permanent. (The adapter never
    // writes one; a service whose schema allows at most 10 volunteers stands in for it.)
    let xsd = std::fs::read_to_string(partner_sims::insurance::default_xsd_path()).unwrap();
    let stricter = xsd.replacen(
        "<xs:maxInclusive value=\"1000000\"/>",
        "<xs:maxInclusive value=\"10\"/>",
        1,
    );
    assert_ne!(stricter, xsd);
    let path = std::env::temp_dir().join(format!("vv-strict-{}.xsd", Uuid::new_v4()));
    std::fs::write(&path, stricter).unwrap();
    let strict = InsuranceSim::start(
        InsuranceSimConfig {
            xsd: path.clone(),
            decision_delay: Duration::ZERO,
            ..InsuranceSimConfig::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    match provider(&strict).submit(&app).await {
        Err(ProviderError::Permanent(reason)) => assert!(
            reason.starts_with("SOAP fault soapenv:Client: ")
                && reason.contains("AantalVrijwilligers"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!strict.requests()[0].valid);

    // A wrong endpoint (404) is permanent.
    let wrong_path = InsuranceProvider::new(
        &format!("{}/Elders/soap/WebService", sim.base_url()),
        Duration::from_secs(5),
        parties(),
    )
    .unwrap();
    assert!(matches!(
        wrong_path.submit(&app).await,
        Err(ProviderError::Permanent(reason)) if reason.starts_with("HTTP 404")
    ));

    // A missing service field is refused before anything is sent.
    let before = sim.requests().len();
    let mut incomplete = application();
    incomplete.fields.remove("geschatteUren");
    assert_eq!(
        insurance.submit(&incomplete).await,
        Err(ProviderError::Permanent(
            "service field geschatteUren is missing".into()
        ))
    );
    assert_eq!(sim.requests().len(), before);
}

#[tokio::test]
async fn a_timeout_is_transient_and_the_retry_gets_the_decision_taken_meanwhile() {
    let sim = sim().await;
    sim.set_delay(Duration::from_millis(800));
    let impatient =
        InsuranceProvider::new(&sim.url(), Duration::from_millis(200), parties()).unwrap();
    let app = application();
    match impatient.submit(&app).await {
        Err(ProviderError::Transient(reason)) => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.recognitions().len(), 1, "decided on arrival");
    sim.set_delay(Duration::ZERO);
    let nummer = sim.recognitions()[0].erkenningsnummer.clone();
    assert_eq!(
        impatient.submit(&app).await.map(|s| s.reference),
        Ok(nummer)
    );
    assert_eq!(sim.recognitions().len(), 1);
    assert!(sim.requests()[1].duplicate);
}

#[tokio::test]
async fn unreachable_service_is_transient_and_bad_settings_are_refused() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/Vrijwilligersverzekering-01.00/soap/WebService",
        listener.local_addr().unwrap()
    );
    drop(listener);
    let insurance = InsuranceProvider::new(&url, Duration::from_secs(2), parties()).unwrap();
    assert!(matches!(
        insurance.submit(&application()).await,
        Err(ProviderError::Transient(reason)) if reason.starts_with("connection failed")
    ));
    assert_eq!(insurance.url(), url);

    let t = Duration::from_secs(1);
    assert!(InsuranceProvider::new("not a url", t, parties()).is_err());
    assert!(InsuranceProvider::new("ftp://example.be/", t, parties()).is_err());
    assert!(InsuranceProvider::new("https://example.be/", Duration::ZERO, parties()).is_err());
    let blank = Parties {
        sender: String::new(),
        receiver: "x".into(),
    };
    let err = InsuranceProvider::new("https://example.be/", t, blank).unwrap_err();
    assert!(err.contains("sender"), "{err}");
    assert!(InsuranceProvider::new("https://example.be/", t, parties()).is_ok());
}
