//! Tests of the subscriber-endpoint simulator over real HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get_json, post_json};

use std::time::{Duration, Instant};

use partner_sims::EndpointSim;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn start() -> EndpointSim {
    EndpointSim::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn message(v_code: &str, message_id: &str) -> Value {
    json!({
        "metadata": {"messageId": message_id, "type": "association.changed", "vCode": v_code},
        "vereniging": {"vCode": v_code, "naam": "Harmonie Aalst"},
    })
}

/// Posts as the hub does: JSON body and the X-… headers.
async fn post(client: &Client, sim: &EndpointSim, v_code: &str, message_id: &str) -> StatusCode {
    client
        .post(sim.url())
        .header("X-Message-Id", message_id)
        .header("X-Correlation-Id", "c-1")
        .header("X-Message-Type", "association.changed")
        .json(&message(v_code, message_id))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn answers_200_and_records_the_request() {
    let sim = start().await;
    assert_eq!(sim.url(), format!("{}/messages", sim.base_url()));
    let before = Instant::now();
    let resp = Client::new()
        .post(sim.url())
        .header("X-Message-Id", "m-1")
        .header("X-Correlation-Id", "c-1")
        .header("X-Message-Type", "association.changed")
        .json(&message("V0001001", "m-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({"received": true})
    );

    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert!(r.at >= before);
    assert_eq!(r.message_id.as_deref(), Some("m-1"));
    assert_eq!(r.correlation_id.as_deref(), Some("c-1"));
    assert_eq!(r.message_type.as_deref(), Some("association.changed"));
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    assert_eq!(r.body, message("V0001001", "m-1"));
    assert_eq!(r.status, 200);
    assert!(r.completed);
    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(sim.attempts("m-1").len(), 1);
    assert!(sim.attempts("m-2").is_empty());
    sim.shutdown();
    sim.stopped().await.unwrap();
}

#[tokio::test]
async fn a_body_that_is_not_json_is_answered_400() {
    let sim = start().await;
    let status = Client::new()
        .post(sim.url())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, 400);
    assert_eq!(requests[0].body, Value::Null);
    assert!(sim.accepted().is_empty());
}

#[tokio::test]
async fn fail_next_gives_a_burst_then_200() {
    let sim = start().await;
    let client = Client::new();
    sim.fail_next(3, 503);
    let mut statuses = Vec::new();
    for i in 0..5 {
        statuses.push(post(&client, &sim, "V0001001", &format!("m-{i}")).await);
    }
    assert_eq!(
        statuses,
        [503, 503, 503, 200, 200].map(|s| StatusCode::from_u16(s).unwrap())
    );
    let recorded: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(recorded, [503, 503, 503, 200, 200]);
    let accepted: Vec<String> = sim
        .accepted()
        .into_iter()
        .filter_map(|r| r.message_id)
        .collect();
    assert_eq!(accepted, ["m-3", "m-4"]);
    assert_eq!(sim.behaviour().fail_next, None);
}

#[tokio::test]
async fn a_failing_message_fails_until_cleared() {
    let sim = start().await;
    let client = Client::new();
    sim.fail_message("poison", 500);
    sim.fail_when_body_contains("V0009999", 422);
    for _ in 0..3 {
        for (vcode, message_id, expected) in [
            ("V0001001", "poison", StatusCode::INTERNAL_SERVER_ERROR),
            ("V0009999", "other", StatusCode::UNPROCESSABLE_ENTITY),
            ("V0001002", "fine", StatusCode::OK),
        ] {
            let status = post(&client, &sim, vcode, message_id).await;
            assert_eq!(status, expected, "{message_id}");
        }
    }
    assert_eq!(sim.attempts("poison").len(), 3);
    assert_eq!(sim.attempts("other").len(), 3);
    let attempts = sim.attempts("poison");
    assert!(attempts.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(sim.accepted().len(), 3);

    sim.clear();
    for (vcode, message_id) in [("V0001001", "poison"), ("V0009999", "other")] {
        let status = post(&client, &sim, vcode, message_id).await;
        assert_eq!(status, StatusCode::OK, "{message_id}");
    }
    assert_eq!(sim.accepted().len(), 5);
    assert_eq!(
        sim.requests().len(),
        11,
        "clear keeps the recorded requests"
    );
}

#[tokio::test]
async fn delay_and_max_in_flight_with_concurrent_requests() {
    let sim = start().await;
    let client = Client::new();
    let delay = Duration::from_millis(300);
    sim.set_delay(delay);
    let started = Instant::now();
    let calls = (0..8).map(|i| {
        let (client, sim) = (client.clone(), sim.clone());
        async move { post(&client, &sim, "V0001001", &format!("m-{i}")).await }
    });
    let statuses = spawn_all(calls).await;
    let elapsed = started.elapsed();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert!(elapsed >= delay, "answered after {elapsed:?}");
    assert!(
        elapsed < delay * 4,
        "8 concurrent requests must overlap, took {elapsed:?}"
    );
    assert_eq!(sim.max_in_flight(), 8);
    assert_eq!(sim.in_flight(), 0);
    assert_eq!(sim.accepted().len(), 8);

    // One at a time never counts more than one.
    let sim2 = start().await;
    for i in 0..3 {
        post(&client, &sim2, "V0001001", &format!("s-{i}")).await;
    }
    assert_eq!(sim2.max_in_flight(), 1);

    sim.clear();
    let t = Instant::now();
    post(&client, &sim, "V0001001", "quick").await;
    assert!(t.elapsed() < delay, "clear removes the delay");
}

#[tokio::test]
async fn a_client_that_gives_up_during_a_delay_is_not_accepted() {
    let sim = start().await;
    sim.set_delay(Duration::from_millis(500));
    let client = Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let result = client
        .post(sim.url())
        .header("X-Message-Id", "slow")
        .json(&message("V0001001", "slow"))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert!(!sim.wait_for_accepted(1, Duration::from_millis(700)).await);
    assert_eq!(sim.attempts("slow").len(), 1);
    assert!(!sim.requests()[0].completed);
    assert_eq!(sim.in_flight(), 0);
}

#[tokio::test]
async fn the_control_api_sets_the_behaviour() {
    let sim = start().await;
    let client = Client::new();
    let control = format!("{}/_sim/behaviour", sim.base_url());
    let resp = client
        .post(&control)
        .json(&json!({
            "fail_next": {"count": 1, "status": 503},
            "fail_message": {"message_id": "poison", "status": 500},
            "fail_when_body_contains": {"substring": "V0009999", "status": 500},
            "delay_ms": 10,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let shown: Value = get_json(&client, &control).await;
    assert_eq!(shown["fail_next"], json!([1, 503]));
    assert_eq!(shown["fail_messages"]["poison"], 500);
    assert_eq!(shown["delay_ms"], 10);

    assert_eq!(
        post(&client, &sim, "V0001001", "a").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(post(&client, &sim, "V0001001", "a").await, StatusCode::OK);
    assert_eq!(
        post(&client, &sim, "V0001001", "poison").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        post(&client, &sim, "V0009999", "b").await,
        StatusCode::INTERNAL_SERVER_ERROR
    );

    let bad = post_json(&client, &control, &json!({"colour": "blue"})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    client
        .post(&control)
        .json(&json!({"clear": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(sim.behaviour(), Default::default());
    assert_eq!(
        post(&client, &sim, "V0001001", "poison").await,
        StatusCode::OK
    );

    let listed: Vec<Value> = get_json(&client, format!("{}/_sim/requests", sim.base_url())).await;
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[0]["messageId"], "a");
    assert_eq!(listed[0]["status"], 503);
}

/// Runs the futures concurrently on this task (the crate has no `futures` dependency).
async fn spawn_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
