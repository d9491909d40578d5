//! Throughput of the hub's distribution compared with what the same RabbitMQ does for a bare
//! lapin client, in one run on one broker.
//!
//! ```sh
//! cargo run --release -p hub-tests --bin throughput-bench -- \
//!     [--messages 100000] [--prefetch P] [--size 1024] [--vcodes 10000] [--rounds 5] \
//!     [--quiet-seconds 5] [--with-queue-arguments]
//! ```
//!
//! Each round first preloads both sides' queues, waits, and then times (1) and (2) below back
//! to back, (1) first in odd rounds and (2) first in even ones, so that both sides see the same
//! machine (its speed drifts over minutes); the last line is the median of the rounds' ratios.
//!
//! 1. **raw lapin pass-through**: N messages of `--size` bytes preloaded into the quorum queue
//!    `bench.in`; a consumer (manual acks, `basic_qos(prefetch)`) republishes each body to the
//!    quorum queue `bench.out` (persistent, publisher confirms) and acks the delivery only after
//!    that publish was confirmed, with up to `prefetch` deliveries in flight. Rate = N / (first
//!    delivery .. last ack). This is the ceiling of any consume-transform-publish service on
//!    this broker with the same guarantees.
//! 2. **the hub**, in-process, with one JSON subscriber `bench` (selector all, replacing the
//!    default file's pilot subscribers) and `broker.prefetch` = P (by default the hub's
//!    configured prefetch, which (1) then uses too). The hub is started and stopped once per
//!    run (migrations, topology exactly as it declares it); each round a child process (this
//!    binary with a hidden first argument, so generating the messages does not inflate this
//!    process's memory baseline) preloads N valid `association.changed` messages into
//!    `hub.deliver.bench`: synthetic associations, `--vcodes` distinct vCodes reused
//!    cyclically with increasing sequences (none is stale), a unique UUIDv7 message id each,
//!    each message `--size` bytes like the raw pass-through's (see `fit`: the synthetic
//!    snapshots average 2.6 KB, so at the default 1 KB they are small associations; with
//!    `--size 2600` they are whole ones).
//!    The pass starts the hub and times it from the end of its start until
//!    `subscriber.bench` holds N messages (depth polled every 100 ms), every guarantee on:
//!    parsing, the per-subscriber bookkeeping in PostgreSQL, field policy, publish with
//!    confirm, ack. It reports how many batches the hub made of them. The peak resident
//!    memory of this process (`VmRSS`, sampled every 100 ms) above the baseline taken just
//!    before the hub's first pass is reported too (later rounds reuse what the allocator
//!    kept, so a baseline of their own would hide growth).
//!
//! After the preloads and after each timed pass the bench waits `--quiet-seconds` (RabbitMQ
//! goes on writing the queues to its segment files for a few seconds; a pass timed during that
//! is slowed by it, by up to a third in trials). Both passes also report the CPU time this
//! process used per message (for (2) that is the hub's, since the hub runs in-process): less
//! noisy than the rates, and on this shared machine what the hub's own work takes away from
//! RabbitMQ.
//!
//! With `--with-queue-arguments`, `bench.in` is declared with the arguments of the hub's
//! consuming queues (at-least-once dead-lettering with `reject-publish`, the delivery limit), so
//! that the ratio leaves out what those guarantees cost the broker by themselves (for
//! information: the ratio that counts is the one against plain quorum queues).
//!
//! The last line is the median ratio hub/raw. Only that ratio, from one run, means something: the
//! development machine (2 cores, shared with RabbitMQ and PostgreSQL) drifts in speed from run
//! to run, so absolute rates from different runs are not comparable. Do not run it alongside
//! `cargo test` (load, and the reliability tests restart RabbitMQ). Each run uses its own vhost
//! and database (the harness's `Isolation`) and removes them when it succeeds.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use contracts::{AssociationChanged, MessageType, Metadata, Part, Vereniging};
use futures::stream::{FuturesUnordered, StreamExt};
use hub::features::register_sync::channels::queue::QueueSettings;
use hub_tests::*;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueuePurgeOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use partner_sims::synthetic;
use uuid::Uuid;

const PERSISTENT: u8 = 2;
/// Publisher confirms awaited per window when preloading.
const PRELOAD_WINDOW: usize = 1000;
const SUBSCRIBER: &str = "bench";
const RAW_IN: &str = "bench.in";
const RAW_OUT: &str = "bench.out";
/// Hidden first argument: this binary run as a child that preloads the hub's queue, so that
/// generating the messages does not inflate the benchmark process's memory baseline.
const PRELOAD_CHILD: &str = "--preload-child";

struct Args {
    messages: usize,
    /// None: the hub's configured `broker.prefetch`.
    prefetch: Option<u16>,
    size: usize,
    vcodes: usize,
    rounds: usize,
    with_queue_arguments: bool,
    /// Pause after each preload.
    quiet: Duration,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        messages: 100_000,
        prefetch: None,
        size: 1024,
        vcodes: 10_000,
        rounds: 5,
        with_queue_arguments: false,
        quiet: Duration::from_secs(5),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--messages" => a.messages = value()?.parse()?,
            "--prefetch" => a.prefetch = Some(value()?.parse()?),
            "--size" => a.size = value()?.parse()?,
            "--vcodes" => a.vcodes = value()?.parse()?,
            "--rounds" => a.rounds = value()?.parse()?,
            "--with-queue-arguments" => a.with_queue_arguments = true,
            "--quiet-seconds" => a.quiet = Duration::from_secs(value()?.parse()?),
            "-h" | "--help" => {
                println!(
                    "throughput-bench [--messages N] [--prefetch P] [--size BYTES] [--vcodes K] [--rounds R] [--quiet-seconds S] [--with-queue-arguments]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    ensure!(a.messages > 0, "--messages must be > 0");
    ensure!(a.prefetch != Some(0), "--prefetch must be > 0");
    ensure!(a.vcodes > 0, "--vcodes must be > 0");
    ensure!(a.rounds > 0, "--rounds must be > 0");
    Ok(a)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(PRELOAD_CHILD) {
        return preload_child(&argv[2..]).await;
    }
    let args = args()?;
    let iso = Isolation::new().await?;
    let result = run(&iso, &args).await;
    if result.is_ok() {
        iso.cleanup().await;
    } else {
        // The vhost goes when `iso` is dropped; later runs sweep old databases.
        eprintln!("database {} left for inspection", iso.name);
    }
    let ratios = result?;
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "hub/raw = {:.2} (median of {} rounds: {})",
        median(&ratios),
        ratios.len(),
        each.join(", ")
    );
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The rounds; returns each round's ratio hub/raw.
///
/// Both queues are preloaded before either side is timed, and the two passes of a round run
/// back to back, the raw one first in odd rounds and the hub first in even ones: the machine's
/// speed drifts over minutes, so passes close together, in both orders, see the same machine.
async fn run(iso: &Isolation, args: &Args) -> anyhow::Result<Vec<f64>> {
    let register = RegisterSim::start(RegisterSimConfig::default(), "127.0.0.1:0".parse()?).await?;
    let settings = hub_settings(iso, &register, args.prefetch)?;
    // Both sides with the hub's prefetch.
    let prefetch = settings.broker.prefetch;
    let in_arguments = if args.with_queue_arguments {
        hub_queue_arguments(&settings)?
    } else {
        quorum()
    };
    let raw = RawSide::open(iso, in_arguments, prefetch).await?;
    let hub = HubSide::open(iso, &settings).await?;
    let raw_label = if args.with_queue_arguments {
        "raw lapin pass-through (quorum, bench.in declared like the hub's queues"
    } else {
        "raw lapin pass-through (quorum"
    };
    let mut ratios = Vec::with_capacity(args.rounds);
    let mut rss_baseline = None;
    for round in 0..args.rounds {
        println!("round {}/{}", round + 1, args.rounds);
        raw.preload(args).await?;
        let average_body = hub.preload(args, round).await?;
        quiet(args).await;
        let (raw_rate, hub_result) = if round % 2 == 0 {
            let raw_rate = raw.drain(args).await?;
            quiet(args).await;
            (raw_rate, hub.drain(args, &mut rss_baseline).await?)
        } else {
            let hub_result = hub.drain(args, &mut rss_baseline).await?;
            quiet(args).await;
            (raw.drain(args).await?, hub_result)
        };
        println!(
            "{raw_label}, prefetch {prefetch}, {} B): {raw_rate:.0} msg/s",
            args.size
        );
        println!(
            "hub association.changed -> JSON subscriber (quorum, prefetch {prefetch}, {average_body} B average body): {:.0} msg/s, peak RSS +{} MB over baseline",
            hub_result.rate,
            hub_result.peak_rss_over_baseline_kb / 1024
        );
        println!(
            "round {}: hub/raw = {:.2}",
            round + 1,
            hub_result.rate / raw_rate
        );
        ratios.push(hub_result.rate / raw_rate);
        // Before the next round purges what this one delivered (see `quiet`).
        quiet(args).await;
    }
    register.shutdown();
    raw.close().await?;
    hub.close().await?;
    Ok(ratios)
}

// ---------------------------------------------------------------------------------------------
// AMQP helpers

async fn connect(iso: &Isolation, name: &str) -> anyhow::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Ok(Connection::connect(&iso.amqp_url(), properties).await?)
}

/// The arguments the hub declares its consuming queue for the bench subscriber with.
fn hub_queue_arguments(settings: &hub::config::Settings) -> anyhow::Result<FieldTable> {
    let deliver = hub::runtime::broker::topology::delivery_queue(SUBSCRIBER);
    let topology = hub::app::topology(settings);
    let spec = topology
        .queues
        .iter()
        .find(|q| q.name == deliver)
        .with_context(|| format!("the hub declares no {deliver}"))?;
    Ok(hub::runtime::broker::rabbit::queue_arguments(spec))
}

fn quorum() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args
}

async fn declare_quorum(
    channel: &Channel,
    name: &str,
    arguments: FieldTable,
) -> anyhow::Result<()> {
    let options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_declare(name.into(), options, arguments)
        .await
        .with_context(|| format!("declaring {name}"))?;
    Ok(())
}

/// Messages ready in an existing queue (passive declare).
async fn depth(channel: &Channel, name: &str) -> anyhow::Result<u32> {
    hub::runtime::broker::rabbit::ready_messages(channel, name)
        .await
        .with_context(|| {
            format!("reading the depth of {name} (a lost connection, e.g. RabbitMQ restarted by another test, ends the run)")
        })
}

fn confirmed(confirmation: Confirmation) -> anyhow::Result<()> {
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_)) => bail!("message returned unroutable"),
        Confirmation::Nack(_) => bail!("broker nacked a message"),
        Confirmation::NotRequested => bail!("publisher confirms are off"),
    }
}

/// Publishes every body to `queue` through the default exchange (persistent, mandatory),
/// waiting for the confirms a window at a time.
async fn preload(
    channel: &Channel,
    queue: &str,
    bodies: impl Iterator<Item = (Vec<u8>, BasicProperties)>,
) -> anyhow::Result<usize> {
    let mut window = Vec::with_capacity(PRELOAD_WINDOW);
    let mut count = 0;
    let options = BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    for (body, properties) in bodies {
        let confirm = channel
            .basic_publish("".into(), queue.into(), options, &body, properties)
            .await?;
        window.push(confirm);
        count += 1;
        if window.len() == PRELOAD_WINDOW {
            for c in window.drain(..) {
                confirmed(c.await?)?;
            }
        }
    }
    for c in window {
        confirmed(c.await?)?;
    }
    Ok(count)
}

/// After a preload RabbitMQ goes on writing the queue's log to its segment files for a few
/// seconds; a pass timed during that would measure the preload too. Deleting quorum queues
/// during that writing once crashed RabbitMQ 3.10's segment writer here (every connection got
/// an INTERNAL_ERROR), so the bench also waits before it deletes queues or its vhost.
async fn quiet(args: &Args) {
    tokio::time::sleep(args.quiet).await;
}

// ---------------------------------------------------------------------------------------------
// (a) raw lapin pass-through

/// The raw side's queues, declared once per run: `bench.in` (plain quorum, or as the hub's
/// queues are) and `bench.out`.
struct RawSide {
    connection: Connection,
    admin: Channel,
    publisher: Channel,
    /// One for the whole run: each pass consumes and cancels on it, so that its last
    /// acknowledgements cannot race a channel close (which would return their deliveries).
    consumer_channel: Channel,
}

impl RawSide {
    async fn open(
        iso: &Isolation,
        in_arguments: FieldTable,
        prefetch: u16,
    ) -> anyhow::Result<Self> {
        let connection = connect(iso, "throughput-bench raw").await?;
        let admin = connection.create_channel().await?;
        declare_quorum(&admin, RAW_IN, in_arguments).await?;
        declare_quorum(&admin, RAW_OUT, quorum()).await?;
        let publisher = connection.create_channel().await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let consumer_channel = connection.create_channel().await?;
        consumer_channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        Ok(RawSide {
            connection,
            admin,
            publisher,
            consumer_channel,
        })
    }

    fn properties() -> BasicProperties {
        BasicProperties::default().with_delivery_mode(PERSISTENT)
    }

    /// Empties `bench.out` (what the last round delivered) and fills `bench.in` with N bodies.
    async fn preload(&self, args: &Args) -> anyhow::Result<()> {
        let n = args.messages;
        self.admin
            .queue_purge(RAW_OUT.into(), QueuePurgeOptions::default())
            .await?;
        ensure!(
            depth(&self.admin, RAW_IN).await? == 0,
            "{RAW_IN} is not empty"
        );
        let body: Vec<u8> = (0..args.size).map(|i| b'a' + (i % 26) as u8).collect();
        let t = Instant::now();
        preload(
            &self.publisher,
            RAW_IN,
            std::iter::repeat_n((body, Self::properties()), n),
        )
        .await?;
        ensure!(
            depth(&self.admin, RAW_IN).await? as usize == n,
            "{RAW_IN} not preloaded"
        );
        println!(
            "  preloaded {n} messages into {RAW_IN} in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The timed pass; returns the rate.
    async fn drain(&self, args: &Args) -> anyhow::Result<f64> {
        let n = args.messages;
        let tag = format!("throughput-bench-{}", Uuid::new_v4());
        let mut consumer = self
            .consumer_channel
            .basic_consume(
                RAW_IN.into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;

        // Each delivery: publish its body, await that publish's confirm, then ack. Up to
        // `prefetch` of them run at once (the broker sends no more unacked deliveries).
        let mut in_flight = FuturesUnordered::new();
        let (mut received, mut acked) = (0usize, 0usize);
        let mut first_delivery = None;
        let cpu = cpu_time();
        while acked < n {
            tokio::select! {
                delivery = consumer.next(), if received < n => {
                    let delivery = delivery.context("consumer ended")??;
                    first_delivery.get_or_insert_with(Instant::now);
                    received += 1;
                    let publisher = self.publisher.clone();
                    in_flight.push(async move {
                        let confirm = publisher
                            .basic_publish(
                                "".into(),
                                RAW_OUT.into(),
                                BasicPublishOptions { mandatory: true, ..Default::default() },
                                &delivery.data,
                                Self::properties(),
                            )
                            .await?;
                        confirmed(confirm.await?)?;
                        delivery.acker.ack(BasicAckOptions::default()).await?;
                        anyhow::Ok(())
                    });
                }
                Some(done) = in_flight.next() => {
                    done?;
                    acked += 1;
                }
            }
        }
        let elapsed = first_delivery.map(|t| t.elapsed()).unwrap_or_default();
        let cpu = cpu_per_message(cpu, n);

        let out = depth(&self.admin, RAW_OUT).await? as usize;
        ensure!(out == n, "{RAW_OUT} holds {out} messages, expected {n}");
        self.consumer_channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await?;
        println!(
            "  raw: {n} messages passed through in {:.2}s, {cpu:.0} µs of this process's CPU per message",
            elapsed.as_secs_f64()
        );
        Ok(n as f64 / elapsed.as_secs_f64())
    }

    /// The queues go with the run's vhost (after the last `quiet`).
    async fn close(self) -> anyhow::Result<()> {
        self.connection.close(200, "done".into()).await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// (b) the hub

struct HubResult {
    rate: f64,
    peak_rss_over_baseline_kb: u64,
}

/// The default configuration (through the harness) with its three pilot subscribers replaced
/// by one subscriber `bench` receiving everything: a later file's array replaces the earlier
/// one's in the `config` crate (tables are merged key by key, anything else is overwritten).
fn hub_settings(
    iso: &Isolation,
    register: &RegisterSim,
    prefetch: Option<u16>,
) -> anyhow::Result<hub::config::Settings> {
    let toml =
        format!("municipalities = []\nservices = []\n[[subscribers]]\nname = \"{SUBSCRIBER}\"\nselector = {{ kind = \"all\" }}\n");
    let prefetch = prefetch.map(|p| p.to_string());
    let mut overrides = vec![("register.poll_interval", "1s")];
    if let Some(prefetch) = &prefetch {
        overrides.push(("broker.prefetch", prefetch.as_str()));
    }
    let settings = settings_with_file(iso, register, &iso.amqp_url(), Some(&toml), &overrides);
    let names: Vec<&str> = settings
        .subscribers
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    ensure!(
        names == [SUBSCRIBER],
        "expected the file's subscribers to replace the defaults', got {names:?} (the config crate merged the arrays)"
    );
    Ok(settings)
}

/// `n` valid `association.changed` bodies of `size` bytes (see [`fit`]) over `vcodes` synthetic
/// associations; message `i` has sequence `first + i + 1`, so every vCode's sequences increase.
fn changed_messages(
    n: usize,
    vcodes: usize,
    first: usize,
    size: usize,
) -> anyhow::Result<impl Iterator<Item = (Vec<u8>, BasicProperties)>> {
    let associations: Vec<Vereniging> = synthetic(vcodes.min(n), 42)
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()
        .context("a synthetic association does not parse as contracts::Vereniging")?;
    let now = time::OffsetDateTime::now_utc();
    Ok((0..n).map(move |i| {
        let vereniging = associations[i % associations.len()].clone();
        let mut message = AssociationChanged {
            metadata: Metadata {
                message_id: Uuid::now_v7(),
                message_type: MessageType::AssociationChanged,
                time: now,
                source: "hub/register".to_owned(),
                correlation_id: Uuid::now_v7(),
                v_code: vereniging.v_code.clone(),
                sequence: (first + i) as u64 + 1,
                version: Some(1),
            },
            changed_parts: Part::ALL.to_vec(),
            withheld: Vec::new(),
            vereniging,
        };
        let properties = BasicProperties::default()
            .with_message_id(message.metadata.message_id.to_string().into())
            .with_correlation_id(message.metadata.correlation_id.to_string().into())
            .with_type(MessageType::AssociationChanged.as_str().into())
            .with_content_type("application/json".into())
            .with_delivery_mode(PERSISTENT);
        (fit(&mut message, size).unwrap(), properties)
    }))
}

/// The message's JSON at about `size` bytes, so that the hub handles messages as large as the
/// raw pass-through's: a larger association loses optional content (all but one of its
/// representatives, contacts, locations and activities, then areas and keys, then the last
/// representative, location and contact: at 1 KB most have none left, so the field policy has
/// no INSZ to remove), a smaller one gets a description that fills it up.
fn fit(message: &mut AssociationChanged, size: usize) -> serde_json::Result<Vec<u8>> {
    let mut body = serde_json::to_vec(message)?;
    while body.len() > size && shrink(&mut message.vereniging) {
        body = serde_json::to_vec(message)?;
    }
    if body.len() < size {
        // Each ASCII letter added to a JSON string adds one byte.
        let filler = "x".repeat(size - body.len());
        message.vereniging.korte_beschrijving.push_str(&filler);
        body = serde_json::to_vec(message)?;
    }
    Ok(body)
}

/// Drops one piece of optional content, the extra ones of each kind first; false when none is
/// left.
fn shrink(v: &mut Vereniging) -> bool {
    fn pop_beyond<T>(list: &mut Vec<T>, keep: usize) -> bool {
        list.len() > keep && list.pop().is_some()
    }
    pop_beyond(&mut v.vertegenwoordigers, 1)
        || pop_beyond(&mut v.contactgegevens, 1)
        || pop_beyond(&mut v.locaties, 1)
        || pop_beyond(&mut v.hoofdactiviteiten_verenigingsloket, 1)
        || pop_beyond(&mut v.werkingsgebieden, 0)
        || pop_beyond(&mut v.sleutels, 0)
        || pop_beyond(&mut v.vertegenwoordigers, 0)
        || pop_beyond(&mut v.locaties, 0)
        || pop_beyond(&mut v.contactgegevens, 0)
        || !std::mem::take(&mut v.korte_beschrijving).is_empty()
}

/// The child: `--preload-child <amqp url> <queue> <n> <vcodes> <first sequence> <size>`; prints the
/// average body size as its last line.
async fn preload_child(argv: &[String]) -> anyhow::Result<()> {
    let [url, queue, n, vcodes, first, size] = argv else {
        bail!("usage: {PRELOAD_CHILD} <amqp url> <queue> <n> <vcodes> <first sequence> <size>");
    };
    let n: usize = n.parse()?;
    let connection = Connection::connect(
        url,
        ConnectionProperties::default().with_connection_name("throughput-bench preload".into()),
    )
    .await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let mut bytes = 0;
    let messages = changed_messages(n, vcodes.parse()?, first.parse()?, size.parse()?)?.inspect(
        |(body, _)| {
            bytes += body.len();
        },
    );
    preload(&channel, queue, messages).await?;
    connection.close(200, "done".into()).await?;
    println!("{}", bytes / n);
    Ok(())
}

/// CPU time this process has used (user and system, all threads; `/proc/self/stat` counts it in
/// USER_HZ ticks, 100 per second on Linux). Less noisy than rates on a drifting machine: the
/// CPU a message costs the hub is what it takes away from RabbitMQ on a shared machine.
fn cpu_time() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The fields after the command name, which is in parentheses; utime and stime are
            // the 14th and 15th of the whole line.
            let rest = s.get(s.rfind(')')? + 2..)?;
            let mut fields = rest.split_whitespace().skip(11);
            let utime: u64 = fields.next()?.parse().ok()?;
            let stime: u64 = fields.next()?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Microseconds of this process's CPU per message since `start`.
fn cpu_per_message(start: Duration, n: usize) -> f64 {
    cpu_time().saturating_sub(start).as_secs_f64() * 1e6 / n as f64
}

/// This process's resident set size in kB (`VmRSS` of /proc/self/status).
fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The hub's side: its subscriber's queues, declared by the hub itself.
struct HubSide {
    settings: hub::config::Settings,
    amqp_url: String,
    deliver: String,
    subscriber_queue: String,
    connection: Connection,
    channel: Channel,
}

impl HubSide {
    /// Starts the hub once, to migrate the database and declare the topology exactly as the
    /// hub does, and stops it again.
    async fn open(iso: &Isolation, settings: &hub::config::Settings) -> anyhow::Result<Self> {
        let channel = &settings.subscribers[0].channel;
        let Some(queue) = channel.settings::<QueueSettings>() else {
            bail!("the bench subscriber must use the queue channel, not {channel:?}")
        };
        let subscriber_queue = queue.queue.clone();
        let hub = TestHub::start(settings.clone()).await;
        eventually(Duration::from_secs(60), "the hub ready", || async {
            hub.get("/readyz").await.status().is_success()
        })
        .await;
        hub.stop().await;
        let connection = connect(iso, "throughput-bench hub").await?;
        let channel = connection.create_channel().await?;
        Ok(HubSide {
            settings: settings.clone(),
            amqp_url: iso.amqp_url(),
            deliver: hub::runtime::broker::topology::delivery_queue(SUBSCRIBER),
            subscriber_queue,
            connection,
            channel,
        })
    }

    /// Empties the subscriber's queue (what the last round delivered) and fills the hub's
    /// consuming queue, through the child process; returns the average body size.
    async fn preload(&self, args: &Args, round: usize) -> anyhow::Result<usize> {
        let n = args.messages;
        let deliver = &self.deliver;
        ensure!(
            depth(&self.channel, deliver).await? == 0,
            "{deliver} is not empty"
        );
        self.channel
            .queue_purge(
                self.subscriber_queue.as_str().into(),
                QueuePurgeOptions::default(),
            )
            .await?;
        let t = Instant::now();
        let child = tokio::process::Command::new(std::env::current_exe()?)
            .args([
                PRELOAD_CHILD,
                &self.amqp_url,
                deliver,
                &n.to_string(),
                &args.vcodes.to_string(),
                // Sequences go on from the earlier rounds', so that none is stale.
                &(round * n).to_string(),
                &args.size.to_string(),
            ])
            .stderr(std::process::Stdio::inherit())
            .output()
            .await?;
        ensure!(
            child.status.success(),
            "preloading {deliver} failed: {}",
            child.status
        );
        let average_body: usize = String::from_utf8_lossy(&child.stdout)
            .lines()
            .last()
            .context("the preloading child printed nothing")?
            .trim()
            .parse()?;
        let queued = depth(&self.channel, deliver).await? as usize;
        ensure!(queued == n, "{deliver} holds {queued}, expected {n}");
        println!(
            "  preloaded {n} association.changed messages ({} vCodes, {average_body} B on average) into {deliver} in {:.1}s",
            args.vcodes.min(n),
            t.elapsed().as_secs_f64()
        );
        Ok(average_body)
    }

    /// The timed pass: starts the hub and waits until the subscriber's queue holds N messages.
    async fn drain(
        &self,
        args: &Args,
        rss_baseline: &mut Option<u64>,
    ) -> anyhow::Result<HubResult> {
        let n = args.messages;
        let (deliver, subscriber_queue) = (&self.deliver, &self.subscriber_queue);
        // Memory: the hub runs in this process; sample from just before it starts.
        let baseline = *rss_baseline.get_or_insert_with(rss_kb);
        let peak = Arc::new(AtomicU64::new(rss_kb()));
        let sampler = {
            let peak = peak.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tick.tick().await;
                    peak.fetch_max(rss_kb(), Ordering::Relaxed);
                }
            })
        };

        let hub = TestHub::start(self.settings.clone()).await;
        let started = Instant::now();
        let cpu = cpu_time();
        let mut last_progress = (0u32, Instant::now());
        let mut last_report = Instant::now();
        let elapsed = loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let delivered = depth(&self.channel, subscriber_queue).await?;
            if delivered as usize >= n {
                break started.elapsed();
            }
            if delivered > last_progress.0 {
                last_progress = (delivered, Instant::now());
            } else if last_progress.1.elapsed() > Duration::from_secs(60) {
                let left = depth(&self.channel, deliver).await?;
                let dead = depth(&self.channel, hub::runtime::broker::topology::DEAD_LETTERS)
                    .await
                    .unwrap_or(0);
                bail!("no progress for 60 s: {delivered}/{n} on {subscriber_queue}, {left} left on {deliver}, {dead} dead-lettered");
            }
            if last_report.elapsed() > Duration::from_secs(5) {
                println!(
                    "  {:>5.1}s {delivered}/{n} on {subscriber_queue}",
                    started.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
        };
        let cpu = cpu_per_message(cpu, n);
        sampler.abort();
        peak.fetch_max(rss_kb(), Ordering::Relaxed);
        let skipped = hub.metric("hub_messages_skipped_total").await;
        let failed = hub.metric("hub_messages_failed_total").await;
        let batches = hub
            .metric("hub_stage_duration_seconds_count{stage=\"deliver_batch\"}")
            .await;
        hub.stop().await;
        println!(
            "  hub: {n} messages delivered in {:.2}s in {batches} batches ({:.0} messages each on average), {cpu:.0} µs of this process's CPU per message (RSS baseline {} MB, peak {} MB)",
            elapsed.as_secs_f64(),
            n as f64 / batches.max(1.0),
            baseline / 1024,
            peak.load(Ordering::Relaxed) / 1024
        );
        if skipped > 0.0 || failed > 0.0 {
            println!("  warning: the hub skipped {skipped} and failed {failed} deliveries");
        }
        Ok(HubResult {
            rate: n as f64 / elapsed.as_secs_f64(),
            peak_rss_over_baseline_kb: peak.load(Ordering::Relaxed).saturating_sub(baseline),
        })
    }

    async fn close(self) -> anyhow::Result<()> {
        self.connection.close(200, "done".into()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_messages_are_as_large_as_asked() {
        for size in [1024, 2600, 4096] {
            let bodies: Vec<Vec<u8>> = changed_messages(300, 300, 0, size)
                .unwrap()
                .map(|(body, _)| body)
                .collect();
            // A few associations stay larger than 1 KB with nothing optional left.
            let exact = bodies.iter().filter(|b| b.len() == size).count();
            assert!(exact * 10 >= bodies.len() * 9, "{size} B: {exact} exact");
            let mean = bodies.iter().map(Vec::len).sum::<usize>() / bodies.len();
            assert!(
                mean.abs_diff(size) * 50 <= size,
                "{size} B: {mean} B on average"
            );
            for body in &bodies {
                let message: AssociationChanged = serde_json::from_slice(body).unwrap();
                assert_eq!(
                    message.metadata.message_type,
                    MessageType::AssociationChanged
                );
            }
        }
    }
}
