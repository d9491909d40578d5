//! The end-to-end tests' and benchmarks' harness: the register simulator, the hub's settings
//! pointed at a test's own vhost and database, a hub started in-process on port 0, and
//! checks of what it published. What is not about the hub (isolation, a RabbitMQ node of a
//! test's own, raw AMQP, waiting) is `test-support`'s, re-exported here.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hub::app::RunningHub;
use hub::config::{Settings, Sources};
use hub::runtime::metrics::Metrics;

pub use partner_sims::{RegisterSim, RegisterSimConfig};
pub use test_support::*;

/// Starts the register simulator with the checked-in seed on a free port.
pub async fn start_register() -> RegisterSim {
    start_register_with(RegisterSimConfig::with_seed()).await
}

/// Starts the register simulator with `config` on a free port.
pub async fn start_register_with(config: RegisterSimConfig) -> RegisterSim {
    RegisterSim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Stops the hub, then the register simulator, and drops the test's vhost and database:
/// the end of most tests.
pub async fn stop_all(hub: TestHub, register: RegisterSim, iso: Isolation) {
    hub.stop().await;
    register.shutdown();
    iso.cleanup().await;
}

/// The hub's settings from the checked-in `config/default.toml`, pointed at this test's
/// vhost, database and simulator, with a fast poll interval.
pub fn settings(iso: &Isolation, register: &RegisterSim, extra: &[(&str, &str)]) -> Settings {
    settings_with_broker(iso, register, &iso.amqp_url(), extra)
}

pub fn settings_with_broker(
    iso: &Isolation,
    register: &RegisterSim,
    amqp_url: &str,
    extra: &[(&str, &str)],
) -> Settings {
    settings_with_file(iso, register, amqp_url, None, extra)
}

/// Like [`settings`], with an extra TOML file applied over the defaults (e.g. to replace
/// the `[[subscribers]]`: an array in a later file replaces the earlier one).
pub fn settings_with_file(
    iso: &Isolation,
    register: &RegisterSim,
    amqp_url: &str,
    toml: Option<&str>,
    extra: &[(&str, &str)],
) -> Settings {
    settings_with_kinds(
        iso,
        register,
        amqp_url,
        toml,
        extra,
        &hub::features::applications::providers::ProviderKinds::standard(),
    )
}

/// Like [`settings_with_file`], with these provider kinds (e.g. the standard ones and a
/// test kind).
pub fn settings_with_kinds(
    iso: &Isolation,
    register: &RegisterSim,
    amqp_url: &str,
    toml: Option<&str>,
    extra: &[(&str, &str)],
    kinds: &hub::features::applications::providers::ProviderKinds,
) -> Settings {
    let file = toml.map(|text| {
        let name = format!("{}-{:08x}.toml", iso.name, rand::random::<u32>());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, text).unwrap();
        path
    });
    let mut overrides = vec![
        ("database.url".to_string(), iso.database_url()),
        ("broker.url".to_string(), amqp_url.to_string()),
        ("broker.reconnect_max_delay".to_string(), "1s".to_string()),
        ("register.base_url".to_string(), register.base_url()),
        ("register.token_url".to_string(), register.token_url()),
        ("register.poll_interval".to_string(), "200ms".to_string()),
        ("http.listen".to_string(), "127.0.0.1:0".to_string()),
        ("shutdown_grace".to_string(), "5s".to_string()),
    ];
    overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = hub::config::load_with(
        &Sources {
            dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../config").into(),
            env: None,
            file: file.clone(),
            overrides,
            environment_variables: false,
        },
        kinds,
    );
    if let Some(path) = file {
        let _ = std::fs::remove_file(path);
    }
    settings.unwrap()
}

/// Waits until every association the register seeds is projected and the outbox published
/// (so the hub has declared its topology too: what a test publishes is routed).
pub async fn wait_synced(iso: &Isolation, register: &RegisterSim, timeout: Duration) {
    let total = register.vcodes().len() as i64;
    eventually(timeout, "all seeded associations projected", || async {
        association_count(iso).await == total
    })
    .await;
    eventually(timeout, "outbox published", || async {
        outbox_pending(iso).await == 0
    })
    .await;
}

/// A hub of the test's own with `toml` and `extra` over the defaults (see
/// [`settings_with_file`]), synced with the seeded register ([`wait_synced`]), and a reader
/// of the test's vhost.
pub async fn start_synced(
    toml: Option<&str>,
    extra: &[(&str, &str)],
    timeout: Duration,
) -> (Isolation, RegisterSim, TestHub, QueueReader) {
    let iso = Isolation::new().await.unwrap();
    let register = start_register().await;
    let settings = settings_with_file(&iso, &register, &iso.amqp_url(), toml, extra);
    let hub = TestHub::start(settings).await;
    wait_synced(&iso, &register, timeout).await;
    let reader = QueueReader::connect(&iso).await;
    (iso, register, hub, reader)
}

/// The statuses of an application's timeline (`GET /applications/{id}`), oldest first.
pub fn timeline(application: &serde_json::Value) -> Vec<&str> {
    strings_at(&application["timeline"], "to")
}

/// The string at `key` of each object in the JSON array `list`, in order (objects without
/// one are skipped); panics when `list` is no array.
pub fn strings_at<'a>(list: &'a serde_json::Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .filter_map(|item| item[key].as_str())
        .collect()
}

/// ULDK's tent loan as a service without periods (so it holds on any date), for a test's
/// own catalogue.
pub const ULDK_TENTLENING: &str = r#"[[services]]
code = "uldk-tentlening"
name = "Tenten lenen"
provider = "uldk"
data = ["basisgegevens", "locaties", "contactgegevens", "hoofdactiviteitenVerenigingsloket"]
eligibility = { verenigingstypes = ["FV", "VZER", "VZW"], hoofdactiviteiten = ["JGDW"] }
fields = [
  { name = "periode", type = "object", required = true },
  { name = "tenten", type = "array", required = true },
  { name = "aantalLeden", type = "integer", required = true },
  { name = "ophaling", type = "object", required = true },
]
"#;

pub struct TestHub {
    pub hub: RunningHub,
    pub http: String,
}

impl TestHub {
    pub async fn start(settings: Settings) -> TestHub {
        let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
        let hub = hub::app::start(settings, metrics).await.unwrap();
        let http = format!("http://{}", hub.http_addr);
        TestHub { hub, http }
    }

    pub async fn stop(self) {
        self.hub.shutdown().await;
    }

    /// Waits (at most `timeout`) until `/readyz` answers 200; `what` names the wait in the
    /// panic of a timeout.
    pub async fn wait_ready(&self, timeout: Duration, what: &str) {
        eventually(timeout, what, || async {
            self.get("/readyz").await.status() == 200
        })
        .await;
    }

    /// Waits (at most `timeout`) until the metric `name_and_labels` (summed as [`Self::metric`]
    /// sums it) reaches `at_least`; `what` names the wait in the panic of a timeout.
    pub async fn wait_metric(
        &self,
        timeout: Duration,
        what: &str,
        name_and_labels: &str,
        at_least: f64,
    ) {
        eventually(timeout, what, || async {
            self.metric(name_and_labels).await >= at_least
        })
        .await;
    }

    /// Asserts that the metric `name_and_labels` (summed as [`Self::metric`] sums it) is at
    /// least `at_least` now.
    pub async fn assert_metric_at_least(&self, name_and_labels: &str, at_least: f64) {
        let value = self.metric(name_and_labels).await;
        assert!(
            value >= at_least,
            "{name_and_labels} is {value}, expected at least {at_least}"
        );
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.http)).await.unwrap()
    }

    /// GETs `path` and reads the answer as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.get(path).await.json().await.unwrap()
    }

    /// POSTs `body` as JSON to `path` with `client`: the status, and the answer as JSON
    /// (null when it is none).
    pub async fn post_json(
        &self,
        client: &reqwest::Client,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = client
            .post(format!("{}{path}", self.http))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn metric(&self, name_and_labels: &str) -> f64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with(name_and_labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// The one row `sql` returns in the test's database once it returns any, polled every 200 ms
/// for at most `timeout`; fails unless it then returns exactly one.
pub async fn one_row_within<T>(iso: &Isolation, sql: &str, timeout: Duration) -> T
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin + std::fmt::Debug,
{
    let mut db = iso.db().await;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut rows: Vec<T> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut db)
            .await
            .unwrap();
        if !rows.is_empty() || tokio::time::Instant::now() >= deadline {
            assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
            return rows.remove(0);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn association_count(iso: &Isolation) -> i64 {
    let mut db = iso.db().await;
    sqlx::query_scalar("SELECT count(*) FROM association")
        .fetch_one(&mut db)
        .await
        .unwrap_or(0)
}

pub async fn outbox_pending(iso: &Isolation) -> i64 {
    let mut db = iso.db().await;
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(&mut db)
        .await
        .unwrap_or(-1)
}

/// Builds an `association.changed` as the hub's ingest would, from a register document.
pub fn association_changed(vereniging: &serde_json::Value, sequence: u64) -> (String, Vec<u8>) {
    let vereniging: contracts::Vereniging = serde_json::from_value(vereniging.clone()).unwrap();
    let message_id = uuid::Uuid::now_v7();
    let message = contracts::AssociationChanged {
        metadata: contracts::Metadata {
            message_id,
            message_type: contracts::MessageType::AssociationChanged,
            time: time::OffsetDateTime::now_utc(),
            source: "test".into(),
            correlation_id: uuid::Uuid::new_v4(),
            v_code: vereniging.v_code.clone(),
            sequence,
            version: Some(1),
        },
        changed_parts: contracts::Part::ALL.to_vec(),
        withheld: vec![],
        vereniging,
    };
    (
        message_id.to_string(),
        serde_json::to_vec(&message).unwrap(),
    )
}

/// Validates a message against its checked-in JSON Schema.
pub fn assert_valid(message: &Received) {
    let message_type = contracts::MessageType::parse(&message.message_type)
        .unwrap_or_else(|| panic!("unknown type {:?}", message.message_type));
    let schema: serde_json::Value =
        serde_json::from_str(contracts::schemas::schema(message_type)).unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&message.body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} {} is invalid: {errors:?}",
        message.message_type,
        message.v_code()
    );
}

/// The types of `messages`, in order.
pub fn message_types(messages: &[Received]) -> Vec<&str> {
    messages.iter().map(|m| m.message_type.as_str()).collect()
}

/// `application` (with id `id`) as the loket's `application.submitted` message over
/// RabbitMQ: with its metadata.
pub fn as_submitted(id: &str, application: &serde_json::Value) -> serde_json::Value {
    let mut submitted = application.clone();
    submitted["metadata"] = serde_json::json!({
        "messageId": uuid::Uuid::new_v4().to_string(),
        "type": "application.submitted",
        "time": "2026-11-28T10:00:00Z",
        "source": "loket",
        "correlationId": id,
    });
    submitted
}

/// Whether one of `messages` is about `v_code` and carries `text` (e.g. its new name).
pub fn any_about(messages: &[Received], v_code: &str, text: &str) -> bool {
    messages
        .iter()
        .any(|m| m.v_code() == v_code && m.raw.contains(text))
}

/// Takes what arrives on `queue` (at least one message within `within`, then until `quiet`
/// passes without another) and asserts that one is about `v_code` and contains `text`;
/// returns everything taken.
pub async fn assert_arrives(
    reader: &QueueReader,
    queue: &str,
    v_code: &str,
    text: &str,
    within: std::time::Duration,
    quiet: std::time::Duration,
) -> Vec<Received> {
    let taken = reader.take_at_least(queue, 1, within, quiet).await;
    assert!(
        any_about(&taken, v_code, text),
        "no message about {v_code} with {text:?} on {queue}: {taken:?}"
    );
    taken
}

/// The postcodes of a register `vereniging` document, read independently of the hub's code.
pub fn postcodes_of(vereniging: &serde_json::Value) -> Vec<String> {
    vereniging["locaties"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["adres"]["postcode"].as_str().map(str::to_owned))
        .collect()
}

pub const AALST: &[&str] = &["9300", "9308", "9310", "9320"];
pub const EVERGEM: &[&str] = &["9940"];
pub const BEVEREN: &[&str] = &["9120", "9130", "9150", "2070"];

/// The simulator's associations with a location in one of `postcodes`.
pub fn expected_on(register: &RegisterSim, postcodes: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = register
        .vcodes()
        .into_iter()
        .filter(|v| {
            let doc = register.get(v).unwrap();
            postcodes_of(&doc)
                .iter()
                .any(|p| postcodes.contains(&p.as_str()))
        })
        .collect();
    out.sort();
    out
}

/// The territories of `m` generated municipalities (`m000`, `m001`, …) that partition
/// `postcodes` (round robin), as `[[municipalities]]` TOML on the queue channel.
pub fn municipalities_toml(m: usize, postcodes: &[String]) -> String {
    (0..m)
        .map(|i| {
            let territory: Vec<String> = postcodes
                .iter()
                .skip(i)
                .step_by(m.max(1))
                .map(|p| format!("\"{p}\""))
                .collect();
            format!(
                "[[municipalities]]\nname = \"{}\"\novo_code = \"OVO{:06}\"\nterritory = {{ postcodes = [{}] }}\n\n",
                municipality_name(i),
                100_000 + i,
                territory.join(", ")
            )
        })
        .collect()
}

/// The name [`municipalities_toml`] gives the `i`th municipality.
/// The associations on Aalst's territory and on no other pilot municipality's.
pub fn aalst_only(register: &RegisterSim) -> Vec<String> {
    let others: Vec<String> = expected_on(register, EVERGEM)
        .into_iter()
        .chain(expected_on(register, BEVEREN))
        .collect();
    expected_on(register, AALST)
        .into_iter()
        .filter(|v| !others.contains(v))
        .collect()
}

pub fn municipality_name(i: usize) -> String {
    format!("m{i:03}")
}
