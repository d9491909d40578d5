//! The adapter against the ULDK simulator (and, for answers the simulator never gives, a
//! canned local server), over real HTTP: submission, idempotency, the status follow-up and the
//! classification of every failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use adapter_provider::{Decision, Provider, ProviderError};
use adapter_uldk::UldkProvider;
use common::*;
use partner_sims::uldk::{UldkSim, UldkSimConfig, UldkStatus};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A ULDK simulator that starts treating a reservation after `treatment_after` and decides
/// it after `decision_after`.
async fn sim_deciding(treatment_after: Duration, decision_after: Duration) -> UldkSim {
    let config = UldkSimConfig {
        treatment_after,
        decision_after,
        ..UldkSimConfig::default()
    };
    UldkSim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A simulator that decides fast (treated after 100 ms, decided after 200 ms).
async fn sim() -> UldkSim {
    sim_deciding(Duration::from_millis(100), Duration::from_millis(200)).await
}

fn provider(base: &str) -> UldkProvider {
    UldkProvider::new(base, Duration::from_secs(2)).unwrap()
}

/// A fresh ULDK simulator and a provider pointed at it.
async fn sim_and_provider() -> (UldkSim, UldkProvider) {
    let sim = sim().await;
    let p = provider(&sim.base_url());
    (sim, p)
}

fn transient(r: Result<impl std::fmt::Debug, ProviderError>) -> String {
    match r {
        Err(ProviderError::Transient(m)) => m,
        other => panic!("expected transient, got {other:?}"),
    }
}

fn permanent(r: Result<impl std::fmt::Debug, ProviderError>) -> String {
    match r {
        Err(ProviderError::Permanent(m)) => m,
        other => panic!("expected permanent, got {other:?}"),
    }
}

/// Polls `status` until a decision (at most 3 s).
async fn decided(p: &UldkProvider, reference: &str) -> Decision {
    for _ in 0..150 {
        match p.status(reference).await.unwrap() {
            Decision::Received | Decision::InTreatment => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            d => return d,
        }
    }
    panic!("{reference} not decided in time");
}

#[tokio::test]
async fn submits_once_and_follows_the_reservation_to_its_allocation() {
    let (sim, p) = sim_and_provider().await;
    let app = application();
    let first = p.submit(&app).await.unwrap();
    assert!(first.reference.starts_with("R-"), "{}", first.reference);
    assert_eq!(first.decision, Decision::Received);

    // What arrived is valid, carries the key, and is the documented example.
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(
        r.idempotency_key.as_deref(),
        Some(&*app.application_id.to_string())
    );
    assert_eq!(r.body, example("uldk.reservation.json"));
    assert_valid(RESERVATION, &r.body, "the body on the wire");

    // Submitting again makes no second reservation.
    let again = p.submit(&app).await.unwrap();
    assert_eq!(again.reference, first.reference);
    assert_eq!(sim.submissions().len(), 1);
    assert_eq!(sim.reservations().len(), 1);
    assert!(sim.requests()[1].duplicate);

    assert_eq!(
        decided(&p, &first.reference).await,
        Decision::Approved {
            detail: Some("3 seniortenten, 2 patrouilletenten; ophalen 2027-07-01 in Gent".into())
        }
    );
    // A submission after the decision answers it at once.
    let late = p.submit(&app).await.unwrap();
    assert_eq!(late.reference, first.reference);
    assert!(matches!(late.decision, Decision::Approved { .. }));
    sim.shutdown();
}

#[tokio::test]
async fn a_retry_after_the_association_changed_is_the_same_reservation() {
    // The hub may re-enrich an application before retrying: the register's descriptive data
    // may differ by then, the reservation stays the same.
    let (sim, p) = sim_and_provider().await;
    let app = fresh_application();
    let first = p.submit(&app).await.unwrap();
    let mut changed = app.clone();
    changed.vereniging.naam = "Chiro Sint-Jozef Evergem-Centrum".into();
    changed.vereniging.contactgegevens.clear();
    let again = p.submit(&changed).await.unwrap();
    assert_eq!(again.reference, first.reference);
    assert_eq!(sim.submissions().len(), 1);
    sim.shutdown();
}

#[tokio::test]
async fn passes_the_statuses_in_between() {
    let sim = sim_deciding(Duration::from_millis(400), Duration::from_secs(30)).await;
    let p = provider(&sim.base_url());
    let s = p.submit(&fresh_application()).await.unwrap();
    assert_eq!(p.status(&s.reference).await.unwrap(), Decision::Received);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(p.status(&s.reference).await.unwrap(), Decision::InTreatment);
    sim.shutdown();
}

#[tokio::test]
async fn refusals_are_decisions_with_uldks_reason() {
    let (sim, p) = sim_and_provider().await;
    sim.refuse_when_body_contains("V0002041", "Geen erkende jeugdvereniging.");
    let s = p.submit(&fresh_application()).await.unwrap();
    assert_eq!(
        decided(&p, &s.reference).await,
        Decision::Refused {
            reason: "Geen erkende jeugdvereniging.".into()
        }
    );
    sim.reset();

    let app = fresh_camp_application("2027-12-20", "2027-12-28", "2027-12-19", "Gent");
    let s = p.submit(&app).await.unwrap();
    match decided(&p, &s.reference).await {
        Decision::Refused { reason } => assert!(reason.contains("uitleenseizoen"), "{reason}"),
        other => panic!("{other:?}"),
    }
    sim.shutdown();
}

#[tokio::test]
async fn classifies_uldks_failures() {
    let (sim, p) = sim_and_provider().await;
    let app = fresh_application();

    for status in [500, 502, 503, 504, 429, 408] {
        sim.fail_next(1, status);
        let m = transient(p.submit(&app).await);
        assert!(m.contains(&status.to_string()), "{m}");
    }
    sim.fail_next(1, 503);
    assert!(transient(p.submit(&app).await).contains("Retry-After: 1"));
    sim.fail_next(1, 503);
    transient(p.status("R-100001").await);
    sim.set_down(true);
    transient(p.submit(&app).await);
    transient(p.status("R-100001").await);
    sim.set_down(false);

    for status in [400, 422, 403, 415] {
        sim.fail_next(1, status);
        let m = permanent(p.submit(&app).await);
        assert!(m.contains(&status.to_string()), "{m}");
    }
    // None of that made a reservation; now it goes through.
    assert!(sim.reservations().is_empty());
    let s = p.submit(&app).await.unwrap();

    // The same application id with other content: 409, permanent.
    let mut changed = app.clone();
    changed.fields.insert("aantalLeden".into(), json!(40));
    let m = permanent(p.submit(&changed).await);
    assert!(m.contains("409") && m.contains("Idempotency-Key"), "{m}");

    // An unknown reservation: 404, permanent.
    let m = permanent(p.status("R-999999").await);
    assert!(m.contains("404"), "{m}");
    permanent(p.status("").await);
    // A reference is one path segment, whatever it holds.
    permanent(p.status("../reservaties").await);
    p.status(&s.reference).await.unwrap();
    sim.shutdown();
}

#[tokio::test]
async fn a_field_error_is_permanent_and_sends_nothing() {
    let (sim, p) = sim_and_provider().await;
    let mut app = fresh_application();
    app.fields
        .insert("tenten".into(), json!([{"type": "igloo", "aantal": 2}]));
    let m = permanent(p.submit(&app).await);
    assert!(m.contains("`tenten[0].type`"), "{m}");
    assert!(sim.requests().is_empty());
    sim.shutdown();
}

#[tokio::test]
async fn a_timeout_is_transient_and_the_retry_finds_the_reservation() {
    let sim = sim().await;
    let p = UldkProvider::new(&sim.base_url(), Duration::from_millis(150)).unwrap();
    let app = fresh_application();
    sim.set_delay(Duration::from_millis(600));
    let m = transient(p.submit(&app).await);
    assert!(m.contains("timed out"), "{m}");
    // ULDK made the reservation although the adapter never heard of it.
    let made = sim.reservations();
    assert_eq!(made.len(), 1);
    sim.set_delay(Duration::ZERO);
    let s = p.submit(&app).await.unwrap();
    assert_eq!(s.reference, made[0].reservatie_id);
    assert_eq!(sim.reservations().len(), 1);
    sim.shutdown();
}

#[tokio::test]
async fn an_unreachable_uldk_is_transient() {
    let addr = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let p = provider(&format!("http://{addr}"));
    transient(p.submit(&fresh_application()).await);
    transient(p.status("R-100001").await);
}

/// A server that answers every request with `response` (a whole HTTP/1.1 answer).
async fn canned(response: String) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                // Read the head and the announced body before answering.
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = conn.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let _ = conn.write_all(response.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    addr
}

fn http(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn answers_that_break_the_contract_are_permanent() {
    let cases = [
        http("201 Created", "application/json", r#"{"oops": 1}"#),
        http("200 OK", "application/json", "not json"),
        http(
            "201 Created",
            "application/json",
            r#"{"reservatieId": "R-100001", "status": "geannuleerd"}"#,
        ),
        http("302 Found", "text/plain", ""),
        http(
            "401 Unauthorized",
            "application/problem+json",
            r#"{"title": "Unauthorized"}"#,
        ),
    ];
    for response in cases {
        let addr = canned(response.clone()).await;
        let p = provider(&format!("http://{addr}"));
        permanent(p.submit(&fresh_application()).await);
        permanent(p.status("R-100001").await);
    }
    // A status answer for another reservation.
    let addr = canned(http(
        "200 OK",
        "application/json",
        r#"{"reservatieId": "R-100002", "status": "aangevraagd"}"#,
    ))
    .await;
    let m = permanent(provider(&format!("http://{addr}")).status("R-100001").await);
    assert!(m.contains("R-100002"), "{m}");
    // A body cut off mid-way is transient (the connection failed, not the contract).
    let addr = canned(
        "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"reservatieId\""
            .to_owned(),
    )
    .await;
    transient(
        provider(&format!("http://{addr}"))
            .submit(&fresh_application())
            .await,
    );
}

#[tokio::test]
async fn the_simulator_sees_the_statuses_the_adapter_reports() {
    // The adapter's mapping and the simulator's state agree for a whole reservation.
    let (sim, p) = sim_and_provider().await;
    let s = p.submit(&fresh_application()).await.unwrap();
    let d = decided(&p, &s.reference).await;
    let r = sim.reservation(&s.reference).unwrap();
    assert_eq!(r.status, UldkStatus::Toegewezen);
    assert!(matches!(d, Decision::Approved { detail: Some(_) }));
    sim.shutdown();
}
