//! Scale: the initial sync of a register of N synthetic associations spread over the Flemish
//! postcodes, with M municipalities whose territories partition those postcodes, for several
//! M in one invocation (3 and 300 by default), so that the figures compare side by side.
//!
//! ```sh
//! cargo build --release -p hub && \
//!   cargo run --release -p hub-tests --bin scale-bench -- [--associations N] [--municipalities 3,300]
//! ```
//!
//! Each run gets a RabbitMQ node of its own (see [`OwnRabbit`]: hundreds of quorum queues need
//! more file descriptors than the machine's node has), a database of its own, and the `hub`
//! binary as a child process (so its CPU and memory are its own), configured with the generated
//! municipalities on the queue channel. Printed per M: the time from start until every
//! delivery is done, the hub's CPU seconds, its peak RSS and threads, when it was first ready
//! and when it was ready after a restart against the same broker and database (its queues
//! then exist), the queues on the broker, the messages the broker received, and deliveries per
//! second.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hub_tests::*;

struct Figures {
    municipalities: usize,
    deliveries: usize,
    done: Duration,
    ready: Duration,
    /// Ready after a restart against the same broker and database (the queues exist).
    ready_again: Duration,
    threads: usize,
    cpu_seconds: f64,
    peak_rss_mb: f64,
    queues: usize,
    broker_messages: u64,
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The `hub` binary next to this one (built by `cargo build --release -p hub`).
fn hub_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let hub = exe.with_file_name("hub");
    anyhow::ensure!(
        hub.exists(),
        "{} is missing: build it first (cargo build --release -p hub)",
        hub.display()
    );
    Ok(hub)
}

/// utime + stime of a process, in seconds (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; the fields after it are fixed.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn threads(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Asks the hub to stop (SIGTERM) and waits for it.
fn stop(hub: &mut Child) {
    let _ = Command::new("kill").arg(hub.id().to_string()).status();
    let _ = hub.wait();
}

async fn metric(http: &str, name: &str) -> f64 {
    let Ok(response) = reqwest::get(format!("{http}/metrics")).await else {
        return 0.0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn run(
    m: usize,
    register: &RegisterSim,
    postcodes: &[String],
    expected: usize,
) -> anyhow::Result<Figures> {
    let rabbit = OwnRabbit::start("bench")?;
    let iso = Isolation::new().await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let config = std::env::temp_dir().join(format!("{}-scale.toml", iso.name));
    std::fs::write(
        &config,
        format!(
            "services = []\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n[database]\nurl = \"{db}\"\n\n\
             [broker]\nurl = \"{amqp}\"\n\n[register]\nbase_url = \"{base}\"\ntoken_url = \"{token}\"\n\
             poll_interval = \"200ms\"\nbatch_size = 500\n\n{municipalities}",
            db = iso.database_url(),
            amqp = rabbit.amqp_url(),
            base = register.base_url(),
            token = register.token_url(),
            municipalities = municipalities_toml(m, postcodes),
        ),
    )?;
    let start_hub = || -> anyhow::Result<Child> {
        Ok(Command::new(hub_binary()?)
            .args(["run", "--config-dir"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"))
            .args(["--env", "none", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?)
    };
    let started = Instant::now();
    let mut hub = start_hub()?;
    let http = format!("http://127.0.0.1:{port}");
    let mut ready = None;
    let limit = Duration::from_secs(3600);
    let mut last_report = Instant::now();
    loop {
        if ready.is_none()
            && reqwest::get(format!("{http}/readyz"))
                .await
                .is_ok_and(|r| r.status().is_success())
        {
            ready = Some(started.elapsed());
        }
        let delivered = metric(&http, "hub_messages_delivered_total").await as usize;
        if delivered >= expected {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "M = {m}: not done within {limit:?}"
        );
        if last_report.elapsed() > Duration::from_secs(10) {
            println!(
                "  M = {m}: {:>6.1}s, {delivered}/{expected} delivered",
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = started.elapsed();
    let pid = hub.id();
    let cpu_seconds = cpu_seconds(pid);
    let peak_rss_mb = peak_rss_mb(pid);
    let threads = threads(pid);
    let queues = rabbit.queue_count()?;
    let broker_messages = rabbit.messages_received()?;
    stop(&mut hub);
    // Again, now that the broker has the queues and the database the projection.
    let restarted = Instant::now();
    let mut hub = start_hub()?;
    let ready_again = loop {
        if reqwest::get(format!("{http}/readyz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break restarted.elapsed();
        }
        anyhow::ensure!(
            restarted.elapsed() < Duration::from_secs(300),
            "M = {m}: not ready again within 300 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    stop(&mut hub);
    let figures = Figures {
        municipalities: m,
        deliveries: expected,
        done,
        ready: ready.unwrap_or(done),
        ready_again,
        threads,
        cpu_seconds,
        peak_rss_mb,
        queues,
        broker_messages,
    };
    let _ = std::fs::remove_file(config);
    iso.cleanup().await;
    Ok(figures)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = arg("--associations").map_or(Ok(10_000), |a| a.parse())?;
    let ms: Vec<usize> = arg("--municipalities")
        .unwrap_or_else(|| "3,300".into())
        .split(',')
        .map(|m| m.trim().parse())
        .collect::<Result<_, _>>()?;
    let postcodes = partner_sims::flemish_postcodes();
    let register = RegisterSim::start(
        RegisterSimConfig {
            associations: partner_sims::synthetic_over(n, 42, &postcodes),
            ..RegisterSimConfig::default()
        },
        "127.0.0.1:0".parse()?,
    )
    .await?;
    // Every association with an address belongs to exactly one municipality.
    let expected = register
        .vcodes()
        .iter()
        .filter(|v| {
            register
                .get(v)
                .is_some_and(|d| d["locaties"][0]["adres"]["postcode"].is_string())
        })
        .count();
    println!(
        "{n} synthetic associations over {} postcodes; {expected} deliveries per run",
        postcodes.len()
    );
    let mut rows = Vec::new();
    for m in ms {
        println!("M = {m} municipalities …");
        rows.push(run(m, &register, &postcodes, expected).await?);
    }
    println!();
    println!("| municipalities | start → every delivery done | hub CPU | peak RSS of the hub | hub threads | ready after first start | ready after a restart | RabbitMQ queues | messages the broker received | deliveries/s |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in &rows {
        println!(
            "| {} | {:.1} s | {:.1} s | {:.0} MB | {} | {:.1} s | {:.1} s | {} | {} | {:.0} |",
            f.municipalities,
            f.done.as_secs_f64(),
            f.cpu_seconds,
            f.peak_rss_mb,
            f.threads,
            f.ready.as_secs_f64(),
            f.ready_again.as_secs_f64(),
            f.queues,
            f.broker_messages,
            f.deliveries as f64 / f.done.as_secs_f64()
        );
    }
    register.shutdown();
    Ok(())
}
