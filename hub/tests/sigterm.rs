//! `hub run` stops on SIGTERM within its grace period, as Kubernetes and systemd ask it to.
//! Runs against the local PostgreSQL (a database of its own, created by the hub); RabbitMQ
//! and the register are pointed at a closed port, which stopping does not need.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn sigterm_stops_the_hub_within_its_grace_period() {
    let database = test_support::unique_name();
    let port = test_support::free_port().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args([
            "run",
            "--config-dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config"),
            "--env",
            "none",
        ])
        .env(
            "HUB__DATABASE__URL",
            format!("postgres://postgres@127.0.0.1:5432/{database}"),
        )
        .env("HUB__BROKER__URL", "amqp://guest:guest@127.0.0.1:1/%2f")
        .env("HUB__REGISTER__BASE_URL", "http://127.0.0.1:1")
        .env("HUB__REGISTER__TOKEN_URL", "http://127.0.0.1:1/token")
        .env("HUB__HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .env("HUB__SHUTDOWN_GRACE", "3s")
        .env_remove("HUB_ENV")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Wait until it serves (migrations done: /readyz reports started).
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let started = match client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|b| b["started"] == true),
            Err(_) => false,
        };
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the hub did not start");
        assert!(child.try_wait().unwrap().is_none(), "the hub exited early");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let sent = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(8),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        status.success(),
        "a requested stop is a clean exit: {status:?}"
    );
    assert!(
        sent.elapsed() < Duration::from_secs(4),
        "stopped within the grace period (3 s)"
    );

    test_support::drop_database(&database).await.unwrap();
}
