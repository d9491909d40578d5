//! Register → hub → subscribers, end to end on RabbitMQ, PostgreSQL and the register
//! simulator. Each test has its own vhost and database.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Duration;

use hub_tests::*;

const SYNC: Duration = Duration::from_secs(60);
const QUIET: Duration = Duration::from_millis(1500);

/// Starts sim + hub, waits for the initial sync, and drains every subscriber queue.
async fn synced() -> (
    Isolation,
    RegisterSim,
    TestHub,
    QueueReader,
    HashMap<&'static str, Vec<Received>>,
) {
    let (iso, register, hub, reader) = start_synced(None, &[], SYNC).await;
    let mut initial = HashMap::new();
    for (name, postcodes) in [("aalst", AALST), ("evergem", EVERGEM), ("beveren", BEVEREN)] {
        let want = expected_on(&register, postcodes).len();
        let got = reader
            .take_at_least(&format!("subscriber.{name}"), want, SYNC, QUIET)
            .await;
        initial.insert(name, got);
    }
    (iso, register, hub, reader, initial)
}

fn v_codes(messages: &[Received]) -> Vec<String> {
    let mut v: Vec<String> = messages.iter().map(|m| m.v_code().to_owned()).collect();
    v.sort();
    v
}

/// What arrives on `queue` next: at least one message, and whatever follows until it is
/// quiet.
async fn next_on(reader: &QueueReader, queue: &str) -> Vec<Received> {
    reader.take_at_least(queue, 1, SYNC, QUIET).await
}

/// Asserts that nothing waits on any of `queues`; `why` completes the message.
async fn assert_nothing_on(reader: &QueueReader, queues: &[&str], why: &str) {
    for queue in queues {
        assert!(
            reader
                .drain(queue, Duration::from_millis(300))
                .await
                .is_empty(),
            "{queue} {why}"
        );
    }
}

/// How many snapshots of `v_code` the projection holds.
async fn stored(iso: &Isolation, v_code: &str) -> i64 {
    let mut db = iso.db().await;
    sqlx::query_scalar("SELECT count(*) FROM association WHERE vcode = $1")
        .bind(v_code)
        .fetch_one(&mut db)
        .await
        .unwrap()
}

/// An Aalst association that is on no other pilot territory.
fn one_aalst_only(register: &RegisterSim) -> String {
    aalst_only(register).remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_projects_everything_and_routes_by_territory_without_insz() {
    let (iso, register, hub, _reader, initial) = synced().await;
    assert!(register.vcodes().len() >= 50);

    for (name, postcodes) in [("aalst", AALST), ("evergem", EVERGEM), ("beveren", BEVEREN)] {
        let got = &initial[name];
        let expected = expected_on(&register, postcodes);
        assert!(
            !expected.is_empty(),
            "the seed has associations on {name}'s territory"
        );
        assert_eq!(
            v_codes(got),
            expected,
            "{name} receives exactly the associations on its territory, once each"
        );
        for m in got {
            assert_eq!(m.message_type, "association.changed");
            assert_valid(m);
            assert!(
                !m.raw.contains("\"insz\""),
                "{name} got an INSZ in {}",
                m.v_code()
            );
            let representatives = register.get(m.v_code()).unwrap()["vertegenwoordigers"].clone();
            for rep in representatives.as_array().into_iter().flatten() {
                let insz = rep["insz"].as_str().unwrap_or_default();
                assert!(
                    insz.is_empty() || !m.raw.contains(insz),
                    "{name} got a representative's INSZ value"
                );
            }
        }
    }
    let changes = register.vcodes().len() as f64;
    for (metric, at_least) in [
        ("hub_changes_polled_total", changes),
        ("hub_messages_published_total", changes),
        ("hub_messages_delivered_total{adapter=\"aalst\"}", 1.0),
        (
            "hub_stage_duration_seconds_count{stage=\"register_fetch_detail\"}",
            1.0,
        ),
    ] {
        hub.assert_metric_at_least(metric, at_least).await;
    }
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_produces_exactly_one_message_on_each_matching_queue() {
    let (iso, register, hub, reader, _) = synced().await;
    let v_code = one_aalst_only(&register);
    let sequence = register
        .rename(&v_code, "Hernoemde Vereniging Aalst")
        .unwrap();

    let aalst = next_on(&reader, "subscriber.aalst").await;
    assert_eq!(aalst.len(), 1, "{aalst:?}");
    assert_eq!(aalst[0].v_code(), v_code);
    assert_eq!(aalst[0].sequence(), sequence);
    assert_eq!(
        aalst[0].body["vereniging"]["naam"],
        "Hernoemde Vereniging Aalst"
    );
    assert_eq!(
        aalst[0].body["changedParts"],
        serde_json::json!(["basisgegevens"])
    );
    assert_valid(&aalst[0]);
    assert_nothing_on(
        &reader,
        &["subscriber.evergem", "subscriber.beveren"],
        "is not concerned",
    )
    .await;
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_hub_resumes_from_its_checkpoint() {
    let (iso, register, hub, reader, _) = synced().await;
    let before = register.sequence();
    hub.stop().await;

    // Changes while the hub is down.
    let aalst_code = one_aalst_only(&register);
    let evergem_code = expected_on(&register, EVERGEM)[0].clone();
    let s1 = register
        .rename(&aalst_code, "Gewijzigd tijdens onderbreking")
        .unwrap();
    let s2 = register
        .rename(&evergem_code, "Ook gewijzigd tijdens onderbreking")
        .unwrap();
    assert!(s1 > before && s2 > s1);

    let hub = TestHub::start(settings(&iso, &register, &[])).await;
    let aalst = next_on(&reader, "subscriber.aalst").await;
    let evergem = next_on(&reader, "subscriber.evergem").await;
    assert_eq!(
        v_codes(&aalst),
        vec![aalst_code.clone()],
        "only the missed change, nothing published twice"
    );
    assert_eq!(aalst[0].sequence(), s1);
    assert_eq!(v_codes(&evergem), vec![evergem_code]);
    assert_eq!(evergem[0].sequence(), s2);
    assert_nothing_on(&reader, &["subscriber.beveren"], "is not concerned").await;
    let mut db = iso.db().await;
    let checkpoint: i64 = sqlx::query_scalar("SELECT sequence FROM register_checkpoint")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(checkpoint as u64, s2);
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_association_is_announced_to_the_subscribers_that_had_it() {
    let (iso, register, hub, reader, _) = synced().await;
    let v_code = one_aalst_only(&register);
    register.remove(&v_code).unwrap();

    let aalst = next_on(&reader, "subscriber.aalst").await;
    assert_eq!(aalst.len(), 1);
    assert_eq!(aalst[0].message_type, "association.removed");
    assert_eq!(aalst[0].v_code(), v_code);
    assert_valid(&aalst[0]);
    assert!(
        aalst[0].body.get("vereniging").is_none(),
        "a removal carries no association data"
    );
    assert_nothing_on(
        &reader,
        &["subscriber.evergem", "subscriber.beveren"],
        "never had it",
    )
    .await;
    assert_eq!(stored(&iso, &v_code).await, 0);
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_documents_expired_tokens_and_register_outages_are_survived() {
    let (iso, register, hub, reader, _) = synced().await;
    let codes = expected_on(&register, AALST);

    // A malformed document is recorded with its reason and does not stop the poller.
    let broken = codes[0].clone();
    let broken_seq = register.make_malformed(&broken).unwrap();
    let renamed = codes[1].clone();
    let s1 = register
        .rename(&renamed, "Na het kapotte document")
        .unwrap();
    let got = next_on(&reader, "subscriber.aalst").await;
    assert_eq!(v_codes(&got), vec![renamed.clone()]);
    assert_eq!(got[0].sequence(), s1);
    let rejections: serde_json::Value = hub.get("/admin/rejections").await.json().await.unwrap();
    let first = &rejections[0];
    assert_eq!(first["vCode"], broken.as_str());
    assert_eq!(first["sequence"], broken_seq);
    assert!(
        first["reason"].as_str().unwrap().contains("does not parse"),
        "{first}"
    );
    hub.assert_metric_at_least("hub_register_rejections_total", 1.0)
        .await;

    // An expired token is replaced.
    let tokens_before = register.stats().token_requests;
    register.expire_tokens();
    let s2 = register.rename(&codes[2], "Na het verlopen token").unwrap();
    let got = next_on(&reader, "subscriber.aalst").await;
    assert_eq!(v_codes(&got), vec![codes[2].clone()]);
    assert_eq!(got[0].sequence(), s2);
    assert!(
        register.stats().token_requests > tokens_before,
        "a new token was fetched"
    );

    // A register answering 500 for a while.
    register.fail_next(4, 500);
    let s3 = register.rename(&codes[3], "Na de storing").unwrap();
    let got = next_on(&reader, "subscriber.aalst").await;
    assert_eq!(v_codes(&got), vec![codes[3].clone()]);
    assert_eq!(got[0].sequence(), s3);
    assert!(register.stats().faults_served >= 4);
    hub.assert_metric_at_least("hub_register_errors_total", 1.0)
        .await;

    // The broken document is fixed by its next change and then flows again.
    let s4 = register.rename(&broken, "Hersteld").unwrap();
    let got = next_on(&reader, "subscriber.aalst").await;
    assert_eq!(v_codes(&got), vec![broken]);
    assert_eq!(got[0].sequence(), s4);
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_rabbitmq_and_work_resumes_after_it_returns() {
    let iso = Isolation::new().await.unwrap();
    let register = start_register().await;
    let proxy = BrokerProxy::start().await;
    let url = iso.amqp_url_via(&proxy.addr.to_string());
    let hub = TestHub::start(settings_with_broker(&iso, &register, &url, &[])).await;
    let total = register.vcodes().len() as i64;
    eventually(SYNC, "initial sync", || async {
        association_count(&iso).await == total
    })
    .await;
    hub.wait_ready(SYNC, "ready").await;

    proxy.cut();
    eventually(SYNC, "not ready while RabbitMQ is unreachable", || async {
        hub.get("/readyz").await.status() == 503
    })
    .await;
    let body: serde_json::Value = hub.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["rabbitmq"], "down");
    assert_eq!(body["postgres"], "up");
    assert_eq!(
        hub.get("/healthz").await.status(),
        200,
        "alive though not ready"
    );

    // A change made while the broker is away is kept in the outbox...
    let v_code = one_aalst_only(&register);
    let sequence = register
        .rename(&v_code, "Tijdens de broker-storing")
        .unwrap();
    eventually(SYNC, "change recorded in the outbox", || async {
        outbox_pending(&iso).await >= 1
    })
    .await;

    // ...and delivered once the broker is back.
    proxy.restore();
    hub.wait_ready(SYNC, "ready again").await;
    let reader = QueueReader::connect(&iso).await;
    let aalst = reader.drain("subscriber.aalst", QUIET).await;
    let after: Vec<&Received> = aalst
        .iter()
        .filter(|m| m.v_code() == v_code && m.sequence() == sequence)
        .collect();
    let got_it = !after.is_empty() || {
        let more = next_on(&reader, "subscriber.aalst").await;
        more.iter()
            .any(|m| m.v_code() == v_code && m.sequence() == sequence)
    };
    assert!(got_it, "the change made during the outage arrives");
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triggered_resync_removes_what_the_register_no_longer_knows() {
    let (iso, register, hub, reader, _) = synced().await;
    // An association the hub holds (and Aalst received) that the register no longer
    // answers for, without any change-feed entry: only a resync can notice.
    let ghost = "V0099999";
    let template = one_aalst_only(&register);
    let mut db = iso.db().await;
    sqlx::query(
        "INSERT INTO association (vcode, snapshot, sequence, version)
         SELECT $1, jsonb_set(snapshot, '{vCode}', to_jsonb($1::text)), sequence, version
         FROM association WHERE vcode = $2",
    )
    .bind(ghost)
    .bind(&template)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO delivery_state (subscriber, vcode, sequence, in_scope) VALUES ('aalst', $1, 1, TRUE)")
        .bind(ghost)
        .execute(&mut db)
        .await
        .unwrap();

    let response = reqwest::Client::new()
        .post(format!("{}/admin/resync", hub.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let aalst = next_on(&reader, "subscriber.aalst").await;
    assert_eq!(aalst.len(), 1, "only the ghost changes: {aalst:?}");
    assert_eq!(aalst[0].message_type, "association.removed");
    assert_eq!(aalst[0].v_code(), ghost);
    assert_eq!(stored(&iso, ghost).await, 0);
    hub.assert_metric_at_least(
        "hub_register_passes_total{adapter=\"register\",pass=\"resync\"}",
        1.0,
    )
    .await;
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_resync_runs_on_its_interval() {
    let iso = Isolation::new().await.unwrap();
    let register = start_register().await;
    let hub = TestHub::start(settings(
        &iso,
        &register,
        &[("register.resync_interval", "1s")],
    ))
    .await;
    hub.wait_metric(
        SYNC,
        "two scheduled resyncs",
        "hub_register_passes_total{adapter=\"register\",pass=\"resync\"}",
        2.0,
    )
    .await;
    // Resyncs of an unchanged register publish nothing new.
    let total = register.vcodes().len() as i64;
    let mut db = iso.db().await;
    let outbox: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(outbox, total);
    stop_all(hub, register, iso).await;
}
