//! What every integration test and benchmark of the workspace shares, and nothing of the hub
//! itself (so the hub's own integration tests use it too, without a dependency cycle):
//!
//! - [`Isolation`]: a RabbitMQ vhost and a PostgreSQL database of the test's own, named
//!   `hubtest_<unix time>_<random>`, so tests run in parallel and on a machine where earlier
//!   runs left state behind; leftovers older than an hour (a run that crashed) are swept when
//!   the next test starts.
//! - [`OwnRabbit`]: a RabbitMQ node of the test's own, leaving the machine's node alone.
//! - [`BrokerProxy`]: a TCP proxy in front of RabbitMQ that a test can cut.
//! - [`QueueReader`] and [`publish_raw`]: raw AMQP, independent of the hub's broker code.
//! - [`eventually`] and [`eventually_some`]: waiting for a condition, with a deadline;
//!   [`WAIT`], the hub's own tests' deadline.
//! - [`http_answer`]: an HTTP response as tests compare it.
//! - [`echo::EchoKind`]: a provider kind defined outside the hub.

#![allow(clippy::unwrap_used)]

pub mod echo;

use std::future::Future;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::{Connection, ConnectionProperties};
use sqlx::AssertSqlSafe;
use sqlx::{Connection as _, PgConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Logs for a failing test: `RUST_LOG=info cargo test ...`.
pub fn init_logs() {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        // A second init (another test in the same binary) keeps the first subscriber.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .try_init();
    }
}

/// How long the hub's own integration tests wait for a condition.
pub const WAIT: Duration = Duration::from_secs(20);

pub const RABBITMQ: &str = "127.0.0.1:5672";
pub const POSTGRES_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PREFIX: &str = "hubtest_";

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
        let name = unique_name();
        sweep_leftovers(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs()).await;
        rabbitmqctl(&["add_vhost", &name])?;
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"])?;
        let mut admin = PgConnection::connect(POSTGRES_ADMIN)
            .await
            .context("PostgreSQL is not reachable")?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
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
        let _ = drop_database(&self.name).await;
    }
}

/// Drops a test's database (one named by [`unique_name`]), whoever created it.
pub async fn drop_database(name: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(POSTGRES_ADMIN).await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// `rabbitmqctl -q <args>` against the machine's node; its output.
pub fn rabbitmqctl(args: &[&str]) -> anyhow::Result<String> {
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
            let _ = sqlx::query(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await;
        }
    }
}

/// Waits until `check` holds, polling; fails with `what` after `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_some(timeout, what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// Waits until `check` gives a value, polling; fails with `what` after `timeout`.
pub async fn eventually_some<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An HTTP response as tests compare it: the status, the content type ("" without one) and
/// the body as JSON (`Null` when it is not JSON).
pub async fn http_answer(response: reqwest::Response) -> (u16, String, serde_json::Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, content_type, body)
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

/// A TCP proxy in front of RabbitMQ that a test can cut, to make the broker unreachable for
/// one hub without stopping the broker other tests use.
pub struct BrokerProxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    cut: Arc<Notify>,
    freeze: Arc<Notify>,
}

impl BrokerProxy {
    pub async fn start() -> BrokerProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let freeze = Arc::new(Notify::new());
        let (o, c, f) = (open.clone(), cut.clone(), freeze.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let (c, f) = (c.clone(), f.clone());
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(RABBITMQ).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = c.notified() => {}
                        // Both sockets stay open and nothing passes, until a cut.
                        _ = f.notified() => c.notified().await,
                    }
                });
            }
        });
        BrokerProxy {
            addr,
            open,
            cut,
            freeze,
        }
    }

    /// Lets nothing through on the connections open now and keeps them open, as a broker
    /// or network that went silent would; new connections pass.
    pub fn freeze(&self) {
        self.freeze.notify_waiters();
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

/// A name no other test has: `hubtest_<unix time>_<random>`, which the sweep recognises.
pub fn unique_name() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{PREFIX}{now}_{:08x}", rand::random::<u32>())
}

/// A TCP port free on 127.0.0.1 at the time of asking.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
