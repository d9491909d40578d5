//! Reliable delivery, proven by breaking things on purpose: RabbitMQ restarted and
//! PostgreSQL sessions killed mid-run, poison and always-failing messages, a slow endpoint
//! failing in bursts, and duplicates delivered concurrently to two hub replicas.
//!
//! The broker restart disturbs every user of the broker, so that test takes an exclusive
//! lock and the others a shared one: within this binary it runs alone. (`cargo test` runs
//! test binaries one after another.)

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use hub_tests::*;
use partner_sims::{synthetic, EndpointSim};
use tokio::sync::RwLock;

static BROKER: RwLock<()> = RwLock::const_new(());

const LONG: Duration = Duration::from_secs(180);
const QUIET: Duration = Duration::from_millis(1500);

/// One subscriber only (no pilot municipalities: they would only add load).
const ALL_ON_A_QUEUE: &str = r#"
municipalities = []
services = []

[[subscribers]]
name = "all"
selector = { kind = "all" }
"#;

fn all_on_endpoint(url: &str, retry: &str) -> String {
    format!(
        r#"
municipalities = []
services = []

[[subscribers]]
name = "backoffice"
selector = {{ kind = "all" }}
channel = {{ kind = "http", url = "{url}", timeout = "5s" }}
retry = {retry}
"#
    )
}

async fn register_with(n: usize) -> RegisterSim {
    start_register_with(RegisterSimConfig {
        associations: synthetic(n, 7),
        ..RegisterSimConfig::default()
    })
    .await
}

/// An endpoint simulator on a free port.
async fn start_endpoint() -> EndpointSim {
    EndpointSim::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Every association arrived, and every copy of one association carries one message id
/// (so a receiver deduplicating by message id applies each change once).
fn assert_each_once_in_effect(received: &[Received], expected: &BTreeSet<String>) -> usize {
    let mut ids: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for m in received {
        ids.entry(m.v_code())
            .or_default()
            .insert(m.message_id.as_str());
    }
    let got: BTreeSet<String> = ids.keys().map(|v| v.to_string()).collect();
    let missing: Vec<&String> = expected.difference(&got).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} associations missing, e.g. {missing:?}",
        expected.len() - got.len().min(expected.len())
    );
    for (v_code, message_ids) in &ids {
        assert_eq!(
            message_ids.len(),
            1,
            "{v_code} was delivered as different messages: {message_ids:?}"
        );
    }
    received.len() - ids.len()
}

/// A hub syncing a 5,000-association register to one queue subscriber: the load the two
/// outage tests break things under.
struct FiveThousand {
    iso: Isolation,
    register: RegisterSim,
    expected: BTreeSet<String>,
    hub: TestHub,
}

impl FiveThousand {
    async fn start() -> Self {
        let iso = Isolation::new().await.unwrap();
        let register = register_with(5000).await;
        let expected = register.vcodes().into_iter().collect();
        let settings =
            settings_with_file(&iso, &register, &iso.amqp_url(), Some(ALL_ON_A_QUEUE), &[]);
        let hub = TestHub::start(settings).await;
        Self {
            iso,
            register,
            expected,
            hub,
        }
    }

    async fn delivered_at_least(&self, n: f64) {
        self.hub
            .wait_metric(
                LONG,
                "a first part delivered",
                "hub_messages_delivered_total",
                n,
            )
            .await;
    }

    /// Waits for every delivery, then checks that each association arrived once in effect;
    /// returns the messages received and how many of them were redelivered copies.
    async fn all_received_once_in_effect(&self) -> (usize, usize) {
        self.all_delivered().await;
        let reader = QueueReader::connect(&self.iso).await;
        let received = reader.drain("subscriber.all", QUIET).await;
        let duplicates = assert_each_once_in_effect(&received, &self.expected);
        (received.len(), duplicates)
    }

    /// Waits until the hub delivered all 5,000; on a timeout, says how far it got and what
    /// its message counters and outbox show (a CI log has nothing else to go on).
    async fn all_delivered(&self) {
        let deadline = Instant::now() + LONG;
        loop {
            let delivered = self.hub.metric("hub_messages_delivered_total").await;
            if delivered >= 5000.0 {
                return;
            }
            if Instant::now() > deadline {
                let metrics = self
                    .hub
                    .get("/metrics")
                    .await
                    .text()
                    .await
                    .unwrap_or_default();
                let counters: Vec<&str> = metrics
                    .lines()
                    .filter(|l| l.starts_with("hub_messages_") || l.starts_with("hub_broker"))
                    .collect();
                panic!(
                    "{delivered} of 5000 delivered after {LONG:?}; outbox pending: {}; ready: {}\n{}",
                    outbox_pending(&self.iso).await,
                    self.hub.get("/readyz").await.status(),
                    counters.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop(self) {
        stop_all(self.hub, self.register, self.iso).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_changes_survive_a_rabbitmq_restart() {
    let _alone = BROKER.write().await;
    let run = FiveThousand::start().await;

    // Restart the broker once a part has flowed through.
    run.delivered_at_least(1000.0).await;
    restart_rabbitmq(Duration::from_secs(2));
    run.hub
        .wait_ready(LONG, "ready again after the restart")
        .await;

    let (received, duplicates) = run.all_received_once_in_effect().await;
    eprintln!(
        "{received} messages received for {} associations ({duplicates} redelivered copies)",
        run.expected.len()
    );
    assert!(duplicates <= 500, "too many duplicate copies: {duplicates}");
    assert_eq!(outbox_pending(&run.iso).await, 0);
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_changes_survive_killed_database_connections() {
    let _shared = BROKER.read().await;
    let run = FiveThousand::start().await;

    run.delivered_at_least(500.0).await;
    let mut killed = 0;
    for _ in 0..3 {
        killed += kill_database_connections(&run.iso).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(killed > 0, "there were database sessions to kill");

    eventually(LONG, "everything projected", || async {
        association_count(&run.iso).await == 5000
    })
    .await;
    let (_, duplicates) = run.all_received_once_in_effect().await;
    eprintln!("killed {killed} sessions; {duplicates} redelivered copies");
    eventually(LONG, "outbox drained", || async {
        outbox_pending(&run.iso).await == 0
    })
    .await;
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_rabbitmq_never_answers_is_retried_on_a_new_connection() {
    let _shared = BROKER.read().await;
    let iso = Isolation::new().await.unwrap();
    let register = register_with(20).await;
    let proxy = BrokerProxy::start().await;
    // Without heartbeats nothing but the hub's own round-trip timeout notices a connection
    // that went silent (with them, lapin would, after two missed beats).
    let url = format!("{}?heartbeat=0", iso.amqp_url_via(&proxy.addr.to_string()));
    let timeout = [("broker.round_trip_timeout", "2s")];
    let settings = settings_with_file(&iso, &register, &url, Some(ALL_ON_A_QUEUE), &timeout);
    let hub = TestHub::start(settings).await;
    let reader = QueueReader::connect(&iso).await;
    reader
        .take_at_least("subscriber.all", 20, LONG, QUIET)
        .await;

    proxy.freeze();
    let v_code = register.vcodes()[0].clone();
    register.rename(&v_code, "Na de stilte").unwrap();
    eventually(LONG, "the change recorded in the outbox", || async {
        outbox_pending(&iso).await == 1
    })
    .await;
    // Marked published only once RabbitMQ confirmed it: on a connection other than the
    // silent one.
    eventually(Duration::from_secs(30), "the change published", || async {
        outbox_pending(&iso).await == 0
    })
    .await;
    proxy.cut();
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_and_always_failing_messages_are_dead_lettered_and_the_rest_flow() {
    let _shared = BROKER.read().await;
    let iso = Isolation::new().await.unwrap();
    let register = start_register().await;
    let endpoint = start_endpoint().await;
    let codes = register.vcodes();
    let (poison, failing) = (codes[3].clone(), codes[7].clone());
    endpoint.fail_when_body_contains(&format!("\"vCode\":\"{poison}\""), 422);
    endpoint.fail_when_body_contains(&format!("\"vCode\":\"{failing}\""), 503);
    let retry = r#"{ base = "1s", cap = "4s", max_attempts = 4 }"#;
    let toml = all_on_endpoint(&endpoint.url(), retry);
    let hub = TestHub::start(settings_with_file(
        &iso,
        &register,
        &iso.amqp_url(),
        Some(&toml),
        &[],
    ))
    .await;

    // The others flow at once.
    let others = codes.len() - 2;
    assert!(
        endpoint.wait_for_accepted(others, LONG).await,
        "the other messages arrive"
    );
    let accepted_by = Instant::now();
    // The poison message is dead-lettered at once, the failing one after its attempts.
    hub.wait_metric(
        LONG,
        "poison dead-lettered",
        "hub_dead_letters_total{adapter=\"backoffice\",failure=\"permanent\"}",
        1.0,
    )
    .await;
    hub.wait_metric(
        LONG,
        "always-failing message dead-lettered",
        "hub_dead_letters_total{adapter=\"backoffice\",failure=\"exhausted\"}",
        1.0,
    )
    .await;
    let attempts = |v: &str| {
        endpoint
            .requests()
            .iter()
            .filter(|r| r.body["metadata"]["vCode"] == v)
            .count()
    };
    assert_eq!(attempts(&poison), 1, "a permanent failure is not retried");
    assert_eq!(
        attempts(&failing),
        4,
        "a transient failure is tried max_attempts times"
    );
    // The retries happened outside the consumer: the others did not wait for them.
    let last_other = endpoint.accepted().iter().map(|r| r.at).max().unwrap();
    let last_failing_attempt = endpoint
        .requests()
        .iter()
        .filter(|r| r.body["metadata"]["vCode"] == failing.as_str())
        .map(|r| r.at)
        .max()
        .unwrap();
    assert!(
        last_other < last_failing_attempt,
        "the other messages were held back by the retries"
    );
    assert!(accepted_by.elapsed() < LONG);

    // The dead letters keep the message, its routing, the attempts and the last error.
    let http = reqwest::Client::new();
    let list = || async {
        let url = format!("{}/admin/dlq?status=dead", hub.http);
        let v: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
        v.as_array().cloned().unwrap_or_default()
    };
    eventually(LONG, "both dead letters recorded", || async {
        list().await.len() == 2
    })
    .await;
    let dead = list().await;
    let by_failure = |f: &str| dead.iter().find(|d| d["failure"] == f).unwrap().clone();
    let (permanent, exhausted) = (by_failure("permanent"), by_failure("exhausted"));
    assert_eq!(permanent["attempts"], 1);
    assert!(
        permanent["last_error"].as_str().unwrap().contains("422"),
        "{permanent}"
    );
    assert_eq!(exhausted["attempts"], 4);
    assert!(
        exhausted["last_error"].as_str().unwrap().contains("503"),
        "{exhausted}"
    );
    let url = format!("{}/admin/dlq/{}", hub.http, permanent["id"]);
    let shown: serde_json::Value = http.get(url).send().await.unwrap().json().await.unwrap();
    assert!(
        shown["body"].as_str().unwrap().contains(poison.as_str()),
        "the message is kept"
    );

    // The cause is fixed; a replay delivers each once.
    endpoint.clear();
    for letter in [&permanent, &exhausted] {
        let replayed = http
            .post(format!("{}/admin/dlq/{}/replay", hub.http, letter["id"]))
            .header("X-Operator", "operator-test")
            .send()
            .await
            .unwrap();
        assert_eq!(
            replayed.status(),
            200,
            "{}",
            replayed.text().await.unwrap_or_default()
        );
    }
    let accepted = |v: &str| {
        endpoint
            .accepted()
            .iter()
            .filter(|r| r.body["metadata"]["vCode"] == v)
            .count()
    };
    eventually(LONG, "both replayed messages accepted", || async {
        accepted(&poison) == 1 && accepted(&failing) == 1
    })
    .await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        (accepted(&poison), accepted(&failing)),
        (1, 1),
        "each delivered once"
    );
    hub.stop().await;
    endpoint.shutdown();
    register.shutdown();
    iso.cleanup().await;
}

/// The mean retry delay the hub chose before attempt `attempt + 1` (at least 5 samples).
async fn mean_retry_delay(hub: &TestHub, attempt: u32) -> Option<f64> {
    let label = format!("{{adapter=\"backoffice\",attempt=\"{attempt}\"}}");
    let sum = hub
        .metric(&format!("hub_retry_delay_seconds_sum{label}"))
        .await;
    let count = hub
        .metric(&format!("hub_retry_delay_seconds_count{label}"))
        .await;
    (count >= 5.0).then(|| sum / count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_failing_in_bursts_gets_growing_retries_and_bounded_work() {
    let _shared = BROKER.read().await;
    let iso = Isolation::new().await.unwrap();
    let register = start_register().await;
    let endpoint = start_endpoint().await;
    let n = register.vcodes().len();
    endpoint.set_delay(Duration::from_millis(50));
    endpoint.fail_next(u32::try_from(n * 3).unwrap(), 503);
    let retry = r#"{ base = "400ms", cap = "4s", max_attempts = 12 }"#;
    let toml = all_on_endpoint(&endpoint.url(), retry);
    let prefetch = 20;
    let hub = TestHub::start(settings_with_file(
        &iso,
        &register,
        &iso.amqp_url(),
        Some(&toml),
        &[("broker.prefetch", "20")],
    ))
    .await;

    assert!(
        endpoint.wait_for_accepted(n, LONG).await,
        "everything arrives once the endpoint recovers"
    );
    tokio::time::sleep(QUIET).await;
    let accepted = endpoint.accepted();
    let ids: BTreeSet<&str> = accepted
        .iter()
        .filter_map(|r| r.message_id.as_deref())
        .collect();
    assert_eq!(ids.len(), n, "each message accepted");
    assert_eq!(accepted.len(), n, "and accepted once");
    assert!(
        endpoint.max_in_flight() <= prefetch,
        "in-flight work is bounded by the prefetch: {}",
        endpoint.max_in_flight()
    );
    assert!(
        hub.metric("hub_retries_total").await >= n as f64,
        "the burst was retried"
    );

    // The delay chosen before a retry grows with the attempts (on average: full jitter)...
    let (first, third) = (
        mean_retry_delay(&hub, 1).await.unwrap(),
        mean_retry_delay(&hub, 3).await.unwrap(),
    );
    eprintln!("mean chosen delays: attempt 1 {first:.3}s, attempt 3 {third:.3}s");
    // Expected (tiers 100 ms .. 3.2 s, the floor of a full-jitter draw): about 0.15 s
    // before the 2nd attempt, 0.54 s before the 4th.
    assert!(
        third > first * 2.0,
        "retries back off: {first:.3}s then {third:.3}s"
    );
    // ...and is really waited: no retry reached the endpoint sooner than the shortest tier.
    for id in &ids {
        for w in endpoint.attempts(id).windows(2) {
            assert!(
                w[1] - w[0] >= Duration::from_millis(100),
                "a retry came too soon"
            );
        }
    }
    hub.stop().await;
    endpoint.shutdown();
    register.shutdown();
    iso.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_delivered_twice_even_concurrently_has_one_effect() {
    let _shared = BROKER.read().await;
    let iso = Isolation::new().await.unwrap();
    // An empty register: only the injected messages flow.
    let register = start_register_with(RegisterSimConfig::default()).await;
    let settings = settings_with_file(&iso, &register, &iso.amqp_url(), Some(ALL_ON_A_QUEUE), &[]);
    // Two replicas compete for the same queue.
    let first = TestHub::start(settings.clone()).await;
    let second = TestHub::start(settings).await;
    eventually(LONG, "both ready", || async {
        first.get("/readyz").await.status() == 200 && second.get("/readyz").await.status() == 200
    })
    .await;

    let documents = partner_sims::seed();
    let mut messages = Vec::new();
    for (i, doc) in documents.iter().enumerate() {
        messages.push(association_changed(doc, 1000 + i as u64));
    }
    // Each message twice, back to back, so the two copies land on both replicas at once.
    for (id, body) in &messages {
        for _ in 0..2 {
            publish_raw(
                &iso,
                "hub.associations",
                "association.changed",
                "association.changed",
                id,
                body,
            )
            .await;
        }
    }
    let reader = QueueReader::connect(&iso).await;
    let received = reader
        .take_at_least("subscriber.all", messages.len(), LONG, QUIET)
        .await;
    let ids: BTreeSet<&str> = received.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), messages.len(), "every message arrived");
    assert_eq!(received.len(), messages.len(), "and none twice");
    let absorbed =
        first.metric("hub_duplicates_total").await + second.metric("hub_duplicates_total").await;
    assert!(
        absorbed >= messages.len() as f64,
        "the copies were absorbed as duplicates: {absorbed}"
    );
    first.stop().await;
    second.stop().await;
    register.shutdown();
    iso.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_stopped_mid_run_returns_its_work_within_the_grace_period() {
    let _shared = BROKER.read().await;
    let iso = Isolation::new().await.unwrap();
    let register = register_with(3000).await;
    let expected: BTreeSet<String> = register.vcodes().into_iter().collect();
    let settings = settings_with_file(
        &iso,
        &register,
        &iso.amqp_url(),
        Some(ALL_ON_A_QUEUE),
        &[("shutdown_grace", "3s")],
    );
    let hub = TestHub::start(settings.clone()).await;
    hub.wait_metric(
        LONG,
        "a first part delivered",
        "hub_messages_delivered_total",
        300.0,
    )
    .await;

    // What SIGTERM does (`hub run` waits for the signal, then this).
    let stopping = Instant::now();
    hub.stop().await;
    let took = stopping.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "stopped within the grace period (+ margin): {took:?}"
    );

    let hub = TestHub::start(settings).await;
    eventually(LONG, "everything delivered after the restart", || async {
        association_count(&iso).await == 3000 && outbox_pending(&iso).await == 0
    })
    .await;
    let reader = QueueReader::connect(&iso).await;
    let mut received = Vec::new();
    let deadline = Instant::now() + LONG;
    while received
        .iter()
        .map(|m: &Received| m.v_code().to_owned())
        .collect::<BTreeSet<_>>()
        .len()
        < expected.len()
        && Instant::now() < deadline
    {
        received.extend(
            reader
                .drain("subscriber.all", Duration::from_millis(300))
                .await,
        );
    }
    received.extend(reader.drain("subscriber.all", QUIET).await);
    let duplicates = assert_each_once_in_effect(&received, &expected);
    eprintln!("stopped in {took:?}; {duplicates} redelivered copies");
    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_nobody_wants_lands_in_the_unrouted_queue() {
    let _shared = BROKER.read().await;
    let iso = Isolation::new().await.unwrap();
    let register = start_register_with(RegisterSimConfig::default()).await;
    let hub = TestHub::start(settings(&iso, &register, &[])).await;
    hub.wait_ready(LONG, "ready").await;
    // The topology is declared again, identically, by a second start.
    hub.stop().await;
    let hub = TestHub::start(settings(&iso, &register, &[])).await;
    hub.wait_ready(LONG, "ready again").await;

    publish_raw(
        &iso,
        "hub.associations",
        "registration.cancelled",
        "registration.cancelled",
        "m-1",
        b"{}",
    )
    .await;
    publish_raw(
        &iso,
        "hub.subscribers",
        "nobody",
        "association.changed",
        "m-2",
        b"{}",
    )
    .await;
    let reader = QueueReader::connect(&iso).await;
    let unrouted = reader
        .take_at_least("hub.unrouted", 2, LONG, Duration::from_millis(300))
        .await;
    let ids: BTreeSet<&str> = unrouted.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["m-1", "m-2"]));
    stop_all(hub, register, iso).await;
}
