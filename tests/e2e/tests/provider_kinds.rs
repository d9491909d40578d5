//! A provider kind defined here, outside the hub, added to the hub's list of kinds: the
//! running hub declares its instance's queue, submits the application to the adapter built
//! from the configuration, follows it up to the adapter's decision and tells the loket.
//! Real RabbitMQ and PostgreSQL; the test has its own vhost and database.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hub::features::applications::providers::ProviderKinds;
use hub_tests::echo::{self, EchoKind};
use hub_tests::*;
use serde_json::{json, Value};

const SYNC: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_provider_kind_serves_applications_through_the_running_hub() {
    init_logs();
    let echo = EchoKind::default();
    let kinds = ProviderKinds::standard().with(echo.clone());
    let iso = Isolation::new().await.unwrap();
    let register = start_register().await;
    let toml = format!(
        "municipalities = []\n[applications]\npoll_interval = \"200ms\"\n{}",
        echo::CONFIG
    );
    let settings = settings_with_kinds(&iso, &register, &iso.amqp_url(), Some(&toml), &[], &kinds);
    assert_eq!(settings.providers.get("echo").unwrap().kind, "test");
    let hub = TestHub::start(settings).await;
    let total = register.vcodes().len() as i64;
    eventually(SYNC, "all seeded associations projected", || async {
        association_count(&iso).await == total
    })
    .await;

    let id = uuid::Uuid::new_v4();
    let body = json!({
        "applicationId": id,
        "vCode": "V0001001",
        "serviceCode": "echo-attest",
        "applicant": { "voornaam": "An", "achternaam": "Peeters", "e-mail": "an.peeters@example.be" },
        "fields": { "projectnaam": "Harmonie op het plein" },
    });
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/applications", hub.http))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);

    let path = format!("/applications/{id}");
    eventually(SYNC, "the echo's decision recorded", || async {
        let app: Value = hub.get(&path).await.json().await.unwrap_or(Value::Null);
        app["status"] == "goedgekeurd"
    })
    .await;
    let app: Value = hub.get(&path).await.json().await.unwrap();
    assert_eq!(app["providerReference"], format!("ECHO-{id}"));
    assert_eq!(timeline(&app), ["ingediend", "ontvangen", "goedgekeurd"]);

    // Submitted once, enriched from the projection (the name the loket did not send).
    let received = echo.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].application_id, id);
    let naam = register.get("V0001001").unwrap()["naam"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(received[0].vereniging.naam, naam);

    stop_all(hub, register, iso).await;
}
