//! Test harness: an isolated RabbitMQ vhost and PostgreSQL database per test, the register
//! simulator, a hub started in-process on port 0, and helpers to read queues.
//!
//! Isolation: every test gets `hubtest_<unix time>_<random>` as vhost and database name, so
//! tests run in parallel and on a machine where earlier runs left state behind. Leftovers
//! older than an hour (a run that crashed) are swept when the next test starts.

#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use hub::app::RunningHub;
use hub::config::{Settings, Sources};
use hub::metrics::Metrics;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::{Connection, ConnectionProperties};
use sqlx::{Connection as _, PgConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

pub use partner_sims::{RegisterSim, RegisterSimConfig};

pub const RABBITMQ: &str = "127.0.0.1:5672";
pub const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PREFIX: &str = "hubtest_";

/// Logs for a failing test: `RUST_LOG=info cargo test ...`.
pub fn init_logs() {
    let _ = tracing_subscriber_init();
}

fn tracing_subscriber_init() -> Option<()> {
    std::env::var("RUST_LOG").ok()?;
    hub::telemetry::init();
    Some(())
}

/// A vhost and a database of the test's own.
pub struct Isolation {
    pub name: String,
    cleaned: bool,
}

/// A failing test (a panic) still removes its vhost: idle quorum queues of many failed runs
/// would otherwise weigh on the shared broker. Its database is left for inspection until the
/// next sweep.
impl Drop for Isolation {
    fn drop(&mut self) {
        if !self.cleaned {
            let _ = rabbitmqctl(&["delete_vhost", &self.name]);
        }
    }
}

impl Isolation {
    pub async fn new() -> anyhow::Result<Self> {
        init_logs();
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        let name = format!("{PREFIX}{now}_{:08x}", rand::random::<u32>());
        sweep_leftovers(now).await;
        rabbitmqctl(&["add_vhost", &name])?;
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"])?;
        let mut admin = PgConnection::connect(POSTGRES_ADMIN)
            .await
            .context("PostgreSQL is not reachable")?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
        Ok(Isolation {
            name,
            cleaned: false,
        })
    }

    pub fn amqp_url(&self) -> String {
        self.amqp_url_via(RABBITMQ)
    }

    pub fn amqp_url_via(&self, addr: &str) -> String {
        format!("amqp://guest:guest@{addr}/{}", self.name)
    }

    pub fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    pub async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.database_url()).await.unwrap()
    }

    /// Removes the vhost and the database; call at the end of a passing test (a failing one
    /// leaves its database for inspection until the next sweep).
    pub async fn cleanup(mut self) {
        self.cleaned = true;
        let _ = rabbitmqctl(&["delete_vhost", &self.name]);
        if let Ok(mut admin) = PgConnection::connect(POSTGRES_ADMIN).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await;
        }
    }
}

fn rabbitmqctl(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("rabbitmqctl")
        .args(["-q"])
        .args(args)
        .output()
        .context("running rabbitmqctl")?;
    if !out.status.success() {
        bail!(
            "rabbitmqctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn stale(name: &str, now: u64) -> bool {
    name.strip_prefix(PREFIX)
        .and_then(|rest| rest.split('_').next())
        .and_then(|t| t.parse::<u64>().ok())
        .is_some_and(|t| t + 3600 < now)
}

async fn sweep_leftovers(now: u64) {
    if let Ok(list) = rabbitmqctl(&["list_vhosts", "name"]) {
        for vhost in list.lines().map(str::trim).filter(|v| stale(v, now)) {
            let _ = rabbitmqctl(&["delete_vhost", vhost]);
        }
    }
    if let Ok(mut admin) = PgConnection::connect(POSTGRES_ADMIN).await {
        let names: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'hubtest_%'")
                .fetch_all(&mut admin)
                .await
                .unwrap_or_default();
        for name in names.iter().filter(|n| stale(n, now)) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

/// Starts the register simulator with the checked-in seed on a free port.
pub async fn start_register() -> RegisterSim {
    RegisterSim::start(
        RegisterSimConfig::with_seed(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
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
        &hub::providers::ProviderKinds::standard(),
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
    kinds: &hub::providers::ProviderKinds,
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

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("{}{path}", self.http)).await.unwrap()
    }

    pub async fn metric(&self, name_and_labels: &str) -> f64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with(name_and_labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// Waits until `check` holds, polling; fails with `what` after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
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

/// One message taken off a subscriber's queue.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_type: String,
    pub message_id: String,
    pub body: serde_json::Value,
    pub raw: String,
}

impl Received {
    pub fn v_code(&self) -> &str {
        self.body["metadata"]["vCode"].as_str().unwrap_or_default()
    }
    pub fn sequence(&self) -> u64 {
        self.body["metadata"]["sequence"]
            .as_u64()
            .unwrap_or_default()
    }
}

/// Reads a queue of the test's vhost.
pub struct QueueReader {
    channel: lapin::Channel,
    _connection: Connection,
}

impl QueueReader {
    pub async fn connect(iso: &Isolation) -> QueueReader {
        QueueReader::connect_to(&iso.amqp_url()).await
    }

    pub async fn connect_to(amqp_url: &str) -> QueueReader {
        let connection = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        QueueReader {
            channel,
            _connection: connection,
        }
    }

    /// Takes every message until the queue has stayed empty for `quiet`.
    pub async fn drain(&self, queue: &str, quiet: Duration) -> Vec<Received> {
        let mut out = Vec::new();
        let mut idle_since = tokio::time::Instant::now();
        loop {
            match self
                .channel
                .basic_get(queue.into(), BasicGetOptions::default())
                .await
                .unwrap()
            {
                Some(msg) => {
                    let d = msg.delivery;
                    let raw = String::from_utf8(d.data.clone()).unwrap();
                    out.push(Received {
                        message_type: d
                            .properties
                            .kind()
                            .as_ref()
                            .map(|k| k.to_string())
                            .unwrap_or_default(),
                        message_id: d
                            .properties
                            .message_id()
                            .as_ref()
                            .map(|k| k.to_string())
                            .unwrap_or_default(),
                        body: serde_json::from_str(&raw).unwrap(),
                        raw,
                    });
                    d.acker.ack(BasicAckOptions::default()).await.unwrap();
                    idle_since = tokio::time::Instant::now();
                }
                None => {
                    if idle_since.elapsed() >= quiet {
                        return out;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Waits until at least `n` messages arrived (or `timeout`), then drains for `quiet`.
    pub async fn take_at_least(
        &self,
        queue: &str,
        n: usize,
        timeout: Duration,
        quiet: Duration,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n && tokio::time::Instant::now() < deadline {
            out.extend(self.drain(queue, Duration::from_millis(200)).await);
        }
        out.extend(self.drain(queue, quiet).await);
        out
    }
}

/// Publishes a message as the hub's relay would (persistent, confirmed), for tests that
/// inject messages directly.
pub async fn publish_raw(
    iso: &Isolation,
    exchange: &str,
    routing_key: &str,
    message_type: &str,
    message_id: &str,
    body: &[u8],
) {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    let connection = Connection::connect(&iso.amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let properties = lapin::BasicProperties::default()
        .with_type(message_type.into())
        .with_message_id(message_id.into())
        .with_content_type("application/json".into())
        .with_delivery_mode(2);
    let confirm = channel
        .basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(confirm.is_ack());
    let _ = connection.close(200, "done".into()).await;
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

/// Stops and starts the RabbitMQ application (connections drop, durable queues stay).
/// Affects every user of the broker: callers make sure no other test runs meanwhile.
pub fn restart_rabbitmq(down_for: Duration) {
    rabbitmqctl(&["stop_app"]).unwrap();
    std::thread::sleep(down_for);
    rabbitmqctl(&["start_app"]).unwrap();
    rabbitmqctl(&["await_startup"]).unwrap();
}

/// Kills every PostgreSQL session of the test's database (as an operator or a failover would).
pub async fn kill_database_connections(iso: &Isolation) -> u64 {
    let mut admin = PgConnection::connect(POSTGRES_ADMIN).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&iso.name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    killed.into_iter().filter(|k| *k).count() as u64
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

/// A TCP proxy in front of RabbitMQ that a test can cut, to make the broker unreachable for
/// one hub without stopping the broker other tests use.
pub struct BrokerProxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl BrokerProxy {
    pub async fn start() -> BrokerProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let (o, c) = (open.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let c = c.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(RABBITMQ).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = c.notified() => {}
                    }
                });
            }
        });
        BrokerProxy { addr, open, cut }
    }

    /// Drops every connection and refuses new ones, as a stopped broker would.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
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
pub fn municipality_name(i: usize) -> String {
    format!("m{i:03}")
}

/// A RabbitMQ node of a test's own, for tests whose topology is more than the machine's node
/// is set up for (hundreds of quorum queues need more file descriptors than its 1024): its
/// own node name, ports, configuration, data and log directories (owned by the `rabbitmq`
/// user), started with a raised file-descriptor limit, stopped and removed on drop. The
/// machine's node on 5672 is left alone.
pub struct OwnRabbit {
    node: String,
    port: u16,
    dir: std::path::PathBuf,
}

impl OwnRabbit {
    pub fn start(name: &str) -> anyhow::Result<OwnRabbit> {
        let port = free_port()?;
        let dist_port = free_port()?;
        let node = format!("{name}{}@localhost", std::process::id());
        let dir = std::env::temp_dir().join(format!("hubtest-rabbit-{name}-{port}"));
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::create_dir_all(dir.join("log"))?;
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{port}\nloopback_users = none\n"),
        )?;
        // No plugins: the management listener would take the machine node's port.
        std::fs::write(dir.join("enabled_plugins"), "[].\n")?;
        let owned = Command::new("chown")
            .args(["-R", "rabbitmq:rabbitmq"])
            .arg(&dir)
            .status()?;
        if !owned.success() {
            bail!("chown of {} failed", dir.display());
        }
        // rabbitmq-server switches to the rabbitmq user through su, whose PAM session resets
        // the file-descriptor limit; setpriv keeps the one raised here.
        let started = Command::new("sh")
            .args([
                "-c",
                "ulimit -n \"$(ulimit -Hn)\" && exec setpriv --reuid=rabbitmq --regid=rabbitmq \
                 --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server -detached",
            ])
            .env("HOME", "/var/lib/rabbitmq")
            .env("RABBITMQ_NODENAME", &node)
            .env("RABBITMQ_NODE_PORT", port.to_string())
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
            .env("RABBITMQ_MNESIA_BASE", dir.join("data"))
            .env("RABBITMQ_LOG_BASE", dir.join("log"))
            .status()?;
        if !started.success() {
            bail!("rabbitmq-server for {node} did not start");
        }
        let rabbit = OwnRabbit { node, port, dir };
        // `await_startup` fails at once while the node has not registered yet.
        for _ in 0..60 {
            let ready = Command::new("rabbitmqctl")
                .args([
                    "-q",
                    "-n",
                    &rabbit.node,
                    "--timeout",
                    "120",
                    "await_startup",
                ])
                .output()?;
            if ready.status.success() {
                return Ok(rabbit);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        bail!("{} did not start up", rabbit.node)
    }

    /// The default vhost of this node (the node is the test's own).
    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    fn ctl(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("rabbitmqctl")
            .args(["-q", "-n", &self.node])
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "rabbitmqctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Queues on the node.
    pub fn queue_count(&self) -> anyhow::Result<usize> {
        Ok(self.ctl(&["list_queues", "name"])?.lines().count())
    }

    /// Messages the node received from publishers since it started (AMQP 0-9-1).
    pub fn messages_received(&self) -> anyhow::Result<u64> {
        let out = self.ctl(&[
            "eval",
            "maps:get(messages_received_total, maps:get([{protocol,amqp091}], rabbit_global_counters:overview())).",
        ])?;
        Ok(out.trim().parse()?)
    }
}

impl Drop for OwnRabbit {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl")
            .args(["-q", "-n", &self.node, "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
