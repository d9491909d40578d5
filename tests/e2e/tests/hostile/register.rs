//! Register values the hub cannot vouch for: an INSZ that fails its check (10 digits, or 11
//! with a wrong mod-97 check) reaches a subscriber granted the INSZ as withheld, never as
//! itself, so the message validates against the hub's own schema; counted, and logged
//! without the value.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

use super::fixture::*;
use hub_tests::*;

const GRANTED_OBSERVER: &str = r#"
[[subscribers]]
name = "observer"
selector = { kind = "all" }
fields = { insz = true }
"#;

/// Everything the hub logs in this test binary (installed once, as the global subscriber).
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    let logs = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    let installed = *INSTALLED.get_or_init(|| {
        struct Capture;
        impl Write for Capture {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if let Some(logs) = LOGS.get() {
                    logs.lock().unwrap().extend_from_slice(buf);
                }
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("info,lapin=error,sqlx=warn,partner_sims=warn")
            .with_ansi(false)
            .with_writer(|| Capture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    assert!(
        installed,
        "another log subscriber is installed (RUST_LOG set?): run this test without it"
    );
    logs
}

/// The first two associations with a representative carrying an INSZ, besides `skip`.
fn with_insz(register: &RegisterSim) -> Vec<(String, Value)> {
    register
        .vcodes()
        .into_iter()
        .filter_map(|v| {
            let reps = register.get(&v)?["vertegenwoordigers"].clone();
            let has = reps.as_array()?.iter().any(|r| r["insz"].is_string());
            has.then_some((v, reps))
        })
        .take(2)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insz_that_fails_its_check_is_withheld_counted_and_never_logged() {
    let logs = captured_logs();
    let f = Fixture::start(Some(GRANTED_OBSERVER)).await;
    let total = f.register.vcodes().len();
    let initial = f
        .reader
        .take_at_least("subscriber.observer", total, SYNC, QUIET)
        .await;
    assert_eq!(initial.len(), total);
    for m in &initial {
        assert_valid(m);
    }
    let metric =
        "hub_values_withheld_total{field=\"vertegenwoordigers[].insz\",subscriber=\"observer\"}";
    let before = f.hub.metric(metric).await;

    // The register's own example carries a 10-digit INSZ; 85071512397 is valid, so
    // 85071512398 fails only the check.
    let bad = ["8507151239", "85071512398"];
    let targets = with_insz(&f.register);
    assert_eq!(
        targets.len(),
        2,
        "the seed has representatives with an INSZ"
    );
    for ((v_code, reps), insz) in targets.iter().zip(bad) {
        let mut reps = reps.clone();
        reps[0]["insz"] = json!(insz);
        f.register
            .patch(v_code, json!({ "vertegenwoordigers": reps }))
            .unwrap();
    }
    let got = f
        .reader
        .take_at_least("subscriber.observer", 2, SYNC, QUIET)
        .await;
    assert_eq!(got.len(), 2, "{got:?}");
    for m in &got {
        assert_valid(m);
        assert_eq!(
            m.body["withheld"],
            json!(["vertegenwoordigers[].insz"]),
            "{}",
            m.raw
        );
        assert!(!m.raw.contains("\"insz\""), "{}", m.raw);
        for insz in bad {
            assert!(!m.raw.contains(insz));
        }
    }
    let mut v_codes: Vec<&str> = got.iter().map(|m| m.v_code()).collect();
    v_codes.sort();
    let mut expected: Vec<&str> = targets.iter().map(|(v, _)| v.as_str()).collect();
    expected.sort();
    assert_eq!(v_codes, expected);
    assert_eq!(f.hub.metric(metric).await - before, 2.0);
    f.assert_ready().await;

    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("withheld a value that fails its check"),
        "the withholding is logged"
    );
    for insz in bad {
        assert!(!text.contains(insz), "the log holds an INSZ value");
    }
    f.stop().await;
}
