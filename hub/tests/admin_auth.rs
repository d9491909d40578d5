//! With `http.admin_token` set, the operator endpoints need it; health and metrics do not.
//! Runs against the local PostgreSQL (a database of its own, created by the hub); RabbitMQ
//! and the register are pointed at a closed port, which the HTTP surface does not need.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use hub::runtime::metrics::Metrics;

#[tokio::test]
async fn the_admin_endpoints_need_the_configured_token() {
    let database = test_support::unique_name();
    let overrides = [
        (
            "database.url",
            format!("postgres://postgres@127.0.0.1:5432/{database}"),
        ),
        (
            "broker.url",
            "amqp://guest:guest@127.0.0.1:1/%2f".to_owned(),
        ),
        ("register.base_url", "http://127.0.0.1:1".to_owned()),
        ("register.token_url", "http://127.0.0.1:1/token".to_owned()),
        ("http.listen", "127.0.0.1:0".to_owned()),
        ("http.admin_token", "t0ken-for-tests".to_owned()),
        ("shutdown_grace", "2s".to_owned()),
    ];
    let settings = common::settings(&overrides);
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let hub = hub::app::start(settings, metrics).await.unwrap();
    let base = format!("http://{}", hub.http_addr);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let status = |r: reqwest::Response| r.status().as_u16();

    let anonymous = client
        .get(format!("{base}/admin/rejections"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let wrong = client
        .get(format!("{base}/admin/rejections"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(status(wrong), 401);
    let resync = client
        .post(format!("{base}/admin/resync"))
        .header("X-Operator", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(status(resync), 401, "operator actions need the token too");

    let right = client
        .get(format!("{base}/admin/rejections"))
        .bearer_auth("t0ken-for-tests")
        .send()
        .await
        .unwrap();
    assert_eq!(status(right), 200);
    let resync = client
        .post(format!("{base}/admin/resync"))
        .bearer_auth("t0ken-for-tests")
        .header("X-Operator", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(status(resync), 202);

    assert_eq!(
        status(client.get(format!("{base}/healthz")).send().await.unwrap()),
        200
    );
    assert_eq!(
        status(client.get(format!("{base}/metrics")).send().await.unwrap()),
        200
    );
    // RabbitMQ is unreachable on purpose: not ready, but answering without a token.
    assert_eq!(
        status(client.get(format!("{base}/readyz")).send().await.unwrap()),
        503
    );

    hub.shutdown().await;
    test_support::drop_database(&database).await.unwrap();
}
