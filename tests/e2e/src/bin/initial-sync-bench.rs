//! Measures the hub's initial sync: N associations read from the register simulator,
//! projected, recorded in the outbox and published with confirms, then delivered to the
//! pilot subscribers. Uses an isolated vhost and database like the tests.
//!
//! `cargo run --release -p hub-tests --bin initial-sync-bench -- [N]` (default 10000).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hub_tests::*;
use partner_sims::synthetic;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let iso = Isolation::new().await?;
    let config = RegisterSimConfig {
        associations: synthetic(n, 42),
        ..RegisterSimConfig::default()
    };
    let register = RegisterSim::start(config, "127.0.0.1:0".parse()?).await?;
    let expected_deliveries: usize = [AALST, EVERGEM, BEVEREN]
        .iter()
        .map(|t| expected_on(&register, t).len())
        .sum();
    println!("register simulator: {n} synthetic associations; {expected_deliveries} deliveries expected to the pilot subscribers");

    let started = Instant::now();
    let hub = TestHub::start(settings(
        &iso,
        &register,
        &[("register.poll_interval", "100ms")],
    ))
    .await;
    let limit = Duration::from_secs(1800);
    let last_report = std::cell::Cell::new(Instant::now());
    eventually(limit, "everything projected and published", || async {
        let projected = association_count(&iso).await;
        let pending = outbox_pending(&iso).await;
        if last_report.get().elapsed() > Duration::from_secs(5) {
            println!(
                "  {:>5.1}s projected {projected}/{n}, outbox pending {pending}",
                started.elapsed().as_secs_f64()
            );
            last_report.set(Instant::now());
        }
        projected as usize == n && pending == 0
    })
    .await;
    let synced = started.elapsed();
    eventually(limit, "everything delivered", || async {
        hub.metric("hub_messages_delivered_total").await as usize >= expected_deliveries
    })
    .await;
    let delivered = started.elapsed();
    // Where the hub's time went (seconds summed over every call, overlapping calls included).
    let mut stages = Vec::new();
    for stage in [
        "register_fetch_detail",
        "ingest_lookup",
        "ingest_prepare",
        "ingest_commit",
        "relay_publish",
        "deliver_batch",
    ] {
        let key = format!("hub_stage_duration_seconds_sum{{stage=\"{stage}\"}}");
        stages.push(format!("{stage} {:.1}s", hub.metric(&key).await));
    }

    hub.stop().await;
    register.shutdown();
    iso.cleanup().await;
    println!(
        "delivered to subscribers after {:.1}s ({:.0} deliveries/s)",
        delivered.as_secs_f64(),
        expected_deliveries as f64 / delivered.as_secs_f64()
    );
    println!("stage time: {}", stages.join(", "));
    println!(
        "initial sync: {n} associations (projection + outbox + publish) in {:.1}s = {:.0} associations/s",
        synced.as_secs_f64(),
        n as f64 / synced.as_secs_f64()
    );
    Ok(())
}
