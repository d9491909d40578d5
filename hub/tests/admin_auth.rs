//! With `http.admin_token` set, the operator endpoints need it; health and metrics do not.
//! Runs against the local PostgreSQL (a database of its own, created by the hub); RabbitMQ
//! and the register are pointed at a closed port, which the HTTP surface does not need.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use hub::runtime::metrics::Metrics;

const TOKEN: &str = "t0ken-for-tests";

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
        ("http.admin_token", TOKEN.to_owned()),
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
    let anonymous = client
        .get(format!("{base}/admin/rejections"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");

    // (case, operator action (POST with X-Operator) or GET, path, bearer token, status)
    let cases = [
        (
            "a wrong token",
            false,
            "/admin/rejections",
            Some("guess"),
            401,
        ),
        (
            "operator actions need the token too",
            true,
            "/admin/resync",
            None,
            401,
        ),
        (
            "the right token",
            false,
            "/admin/rejections",
            Some(TOKEN),
            200,
        ),
        (
            "an operator action with the token",
            true,
            "/admin/resync",
            Some(TOKEN),
            202,
        ),
        ("health needs no token", false, "/healthz", None, 200),
        ("metrics need no token", false, "/metrics", None, 200),
        // RabbitMQ is unreachable on purpose: not ready, but answering without a token.
        ("readiness needs no token", false, "/readyz", None, 503),
    ];
    for (case, operator_action, path, token, expected) in cases {
        let url = format!("{base}{path}");
        let mut request = if operator_action {
            client.post(url).header("X-Operator", "alice")
        } else {
            client.get(url)
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{case}");
    }

    hub.shutdown().await;
    test_support::drop_database(&database).await.unwrap();
}
