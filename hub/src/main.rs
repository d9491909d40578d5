//! `hub`: the command line of the Verenigingsloket integration hub.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hub::config::{self, Settings, Sources};
use hub::runtime::metrics::Metrics;
use hub::runtime::store::dead_letters::{DeadLetterFilter, DeadLetterStatus, DeadLetterStore};
use hub::runtime::store::{PgStore, Store};

#[derive(Parser)]
#[command(name = "hub", version, about = "Verenigingsloket integration hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ConfigArgs {
    /// An extra configuration file, applied over config/default.toml and config/<HUB_ENV>.toml.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Directory holding default.toml and the environment files.
    #[arg(long, default_value = "config", env = "HUB_CONFIG_DIR")]
    config_dir: PathBuf,
    /// Environment name: loads <config-dir>/<env>.toml when it exists.
    #[arg(long, default_value = "local", env = "HUB_ENV")]
    env: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub until Ctrl-C or SIGTERM.
    Run(ConfigArgs),
    /// Check a configuration and report every problem at once.
    CheckConfig(ConfigArgs),
    /// List the register detail documents the hub rejected, newest first.
    Rejections {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Run the hub with the register simulator in-process: the quickest way to watch changes
    /// flow. Needs RabbitMQ and PostgreSQL as configured.
    #[cfg(feature = "demo")]
    Demo {
        /// An extra configuration file, applied over the others.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Directory holding default.toml and the environment files.
        #[arg(long, default_value = "config", env = "HUB_CONFIG_DIR")]
        config_dir: PathBuf,
        /// Environment name; the default `pilot` has Beveren on the SOAP channel, served
        /// by the back-office simulator the demo starts.
        #[arg(long, default_value = "pilot")]
        env: String,
        /// Where the register simulator listens (its control API is under /_sim/).
        #[arg(long, default_value = "127.0.0.1:8081")]
        register_listen: std::net::SocketAddr,
        /// Where the municipal back-office simulator (SOAP) listens; config/pilot.toml
        /// points Beveren's SOAP channel here.
        #[arg(long, default_value = "127.0.0.1:8082")]
        backoffice_listen: std::net::SocketAddr,
        /// Synthetic associations added to the simulator's seed.
        #[arg(long, default_value_t = 0)]
        synthetic: usize,
    },
    /// Ask a running hub to resync the whole register now (recorded with $USER as operator).
    Resync {
        /// The running hub's HTTP address.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The hub's `http.admin_token`, when it has one.
        #[arg(long, env = "HUB_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Dead letters: list, show, replay or discard (replay and discard are recorded in the
    /// audit trail with the operator's name).
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// What the broker gave up on in a queue partners publish into (hub.quarantine), read
    /// through RabbitMQ's management API (`broker.management_url`) without removing it: the
    /// messages the AMQP client may not even parse. JSON, oldest first.
    Quarantine {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Queues of the hub's vhost that its configuration no longer declares (those of a
    /// removed subscriber or municipality), with their depth, read through the management
    /// API. `--delete` deletes the empty ones; RabbitMQ keeps any that hold messages.
    Orphans {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        delete: bool,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List dead letters, newest first.
    List {
        #[command(flatten)]
        config: ConfigArgs,
        /// Only those of this queue (e.g. hub.deliver.aalst).
        #[arg(long)]
        queue: Option<String>,
        #[arg(long, default_value = "dead", value_parser = ["dead", "replayed", "discarded", "all"])]
        status: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show one dead letter with its properties, headers and body (JSON).
    Show {
        #[command(flatten)]
        config: ConfigArgs,
        id: i64,
    },
    /// Republish a dead letter to the queue it died in, with its message id.
    Replay {
        #[command(flatten)]
        config: ConfigArgs,
        id: i64,
        /// Who replays it (default: $USER).
        #[arg(long)]
        actor: Option<String>,
    },
    /// Give up on a dead letter (it stays in the table, marked discarded).
    Discard {
        #[command(flatten)]
        config: ConfigArgs,
        id: i64,
        /// Who discards it (default: $USER).
        #[arg(long)]
        actor: Option<String>,
    },
}

fn load(args: &ConfigArgs) -> Result<Settings, config::ConfigErrors> {
    config::load(&Sources {
        dir: args.config_dir.clone(),
        env: Some(args.env.clone()),
        file: args.config.clone(),
        overrides: Vec::new(),
        environment_variables: true,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    hub::runtime::telemetry::init();
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::CheckConfig(args) => match load(&args) {
            Ok(s) => {
                let municipalities = s.municipalities().count();
                println!(
                    "configuration is valid ({} subscriber(s), {municipalities} of them municipalities; {} service(s); providers: {})",
                    s.subscribers.len(),
                    s.services.len(),
                    s.providers.names().join(", ")
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprint!("{e}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Run(args) => {
            let settings = load(&args).map_err(|e| anyhow::anyhow!("{e}"))?;
            let metrics = Metrics::new(prometheus::Registry::new())?;
            let hub = hub::app::start(settings, metrics).await?;
            hub.wait_for(shutdown_signal()).await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rejections { config, limit } => {
            let settings = load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
            let d = &settings.database;
            let store = PgStore::connect_lazy(&d.url, 1, d.connect_timeout)?;
            let rejections = store.rejections(limit).await?;
            if rejections.is_empty() {
                println!("no rejected documents");
            }
            for r in rejections {
                let at = r.recorded_at.map(|t| t.to_string()).unwrap_or_default();
                println!("{at}  {}  sequence {}  {}", r.v_code, r.sequence, r.reason);
            }
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            config,
            config_dir,
            env,
            register_listen,
            backoffice_listen,
            synthetic,
        } => {
            let config = ConfigArgs {
                config,
                config_dir,
                env,
            };
            let mut settings = load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
            // The simulator starts its sequence at 1 each time, so the hub must too.
            settings.database.url = fresh_demo_database(&settings.database.url).await?;
            let mut sim_config = partner_sims::RegisterSimConfig::with_seed();
            sim_config
                .associations
                .extend(partner_sims::synthetic(synthetic, 42));
            let register = partner_sims::RegisterSim::start(sim_config, register_listen).await?;
            let backoffice = partner_sims::BackOfficeSim::start(
                partner_sims::BackOfficeSimConfig::default(),
                backoffice_listen,
            )
            .await?;
            // The service providers' simulators, where the configuration points each
            // provider instance.
            let mut providers = Vec::new();
            for provider in settings.providers.iter() {
                let Some(url) = provider.endpoint() else {
                    continue;
                };
                match partner_sims::providers::start(provider.kind, url).await {
                    Some(sim) => {
                        let sim = sim.map_err(|e| {
                            anyhow::anyhow!("providers.{}: simulator: {e}", provider.name)
                        })?;
                        providers.push((provider.name.clone(), sim));
                    }
                    None => println!(
                        "provider {} (kind {}): no simulator; the hub calls {url}",
                        provider.name, provider.kind
                    ),
                }
            }
            settings.register.base_url = register.base_url();
            settings.register.token_url = register.token_url();
            settings.register.client_id = "hub".into();
            settings.register.client_secret = "hub-secret".to_owned().into();
            let metrics = Metrics::new(prometheus::Registry::new())?;
            let hub = hub::app::start(settings, metrics).await?;
            let base = register.base_url();
            let http = hub.http_addr;
            println!(
                "register simulator: {base} ({} associations)",
                register.vcodes().len()
            );
            println!("hub metrics:        http://{http}/metrics   readiness: http://{http}/readyz");
            println!("try:  curl -X PATCH {base}/_sim/verenigingen/V0001001 -H 'content-type: application/json' -d '{{\"naam\":\"Nieuwe naam\"}}'");
            println!(
                "then: the message appears on the RabbitMQ queues subscriber.<name> (Ctrl-C stops)"
            );
            println!(
                "back-office simulator (SOAP): {} (what arrived: {}/_sim/requests)",
                backoffice.url(),
                backoffice.base_url()
            );
            for (name, sim) in &providers {
                println!("provider {name} (simulator): {}", sim.url());
            }
            println!(
                "apply:  curl -X POST http://{http}/applications -H 'content-type: application/json' -d @contracts/examples/applications/application.submitted.kiosk-projectsubsidie.json"
            );
            hub.wait_for(shutdown_signal()).await;
            register.shutdown();
            backoffice.shutdown();
            for (_, sim) in &providers {
                sim.shutdown();
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dlq { command } => dlq(command).await,
        Command::Quarantine { config, limit } => {
            let settings = load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
            let quarantine = hub::runtime::management::Management::new(
                &settings.broker.url,
                settings.broker.management_url.as_ref(),
            )?;
            let messages = quarantine.list(limit).await?;
            println!("{}", serde_json::to_string_pretty(&messages)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Orphans { config, delete } => orphans(&config, delete).await,
        Command::Resync { url, token } => {
            let mut request = reqwest::Client::new()
                .post(format!("{}/admin/resync", url.trim_end_matches('/')))
                .header(hub::runtime::http::OPERATOR_HEADER, default_actor());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await?;
            println!("{}", response.status());
            Ok(if response.status().is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `hub orphans`: the queues named like the hub's (`hub.*`, `subscriber.*`,
/// `municipality.*`) that the configuration's topology does not declare.
async fn orphans(config: &ConfigArgs, delete: bool) -> anyhow::Result<ExitCode> {
    let settings = load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let api = hub::runtime::management::Management::new(
        &settings.broker.url,
        settings.broker.management_url.as_ref(),
    )?;
    let topology = hub::app::topology(&settings);
    let mut found = 0;
    for (queue, messages) in api.orphans(&topology).await? {
        found += 1;
        let outcome = if !delete {
            String::new()
        } else if messages > 0 {
            " (kept: not empty)".to_owned()
        } else {
            match api.delete_queue(&queue).await {
                Ok(()) => " (deleted)".to_owned(),
                Err(e) => format!(" (not deleted: {e})"),
            }
        };
        println!("{queue}\t{messages} messages{outcome}");
    }
    if found == 0 {
        println!("no orphaned queues");
    }
    Ok(ExitCode::SUCCESS)
}

/// The operator's name: $USER (or $LOGNAME), else "unknown".
fn default_actor() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `hub dlq ...`: straight against PostgreSQL (and, for a replay, RabbitMQ) as configured,
/// so that it works whether or not a hub runs.
async fn dlq(command: DlqCommand) -> anyhow::Result<ExitCode> {
    let config = match &command {
        DlqCommand::List { config, .. }
        | DlqCommand::Show { config, .. }
        | DlqCommand::Replay { config, .. }
        | DlqCommand::Discard { config, .. } => config,
    };
    let settings = load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let d = &settings.database;
    let store = PgStore::connect_lazy(&d.url, 2, d.connect_timeout)?;
    match command {
        DlqCommand::List {
            queue,
            status,
            limit,
            offset,
            ..
        } => {
            let filter = DeadLetterFilter {
                queue,
                status: DeadLetterStatus::parse(&status),
                limit,
                offset,
            };
            let list = store.list(&filter).await?;
            if list.is_empty() {
                println!("no dead letters ({status})");
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<[String; 8]> = list
                .iter()
                .map(|l| {
                    [
                        l.id.to_string(),
                        l.status.to_string(),
                        l.queue.clone(),
                        l.failure.clone(),
                        l.attempts.to_string(),
                        l.dead_lettered_at
                            .format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default(),
                        l.message_id.clone().unwrap_or_else(|| "-".into()),
                        one_line(&l.last_error, 80),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "STATUS",
                    "QUEUE",
                    "FAILURE",
                    "ATTEMPTS",
                    "DEAD-LETTERED AT",
                    "MESSAGE ID",
                    "LAST ERROR",
                ],
                &rows,
            );
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Show { id, .. } => match store.get(id).await? {
            Some(letter) => {
                println!("{}", serde_json::to_string_pretty(&letter)?);
                Ok(ExitCode::SUCCESS)
            }
            None => anyhow::bail!("no dead letter {id}"),
        },
        DlqCommand::Replay { id, actor, .. } => {
            // A broker of its own with an empty topology: the CLI declares nothing (a
            // replay into a queue that does not exist is refused, not created).
            let rabbit = hub::runtime::broker::RabbitBroker::from_settings(
                &settings.broker,
                hub::runtime::broker::Topology::default(),
            );
            let stop = tokio_util::sync::CancellationToken::new();
            let supervisor = tokio::spawn(rabbit.clone().supervise(stop.clone()));
            let actor = actor.unwrap_or_else(default_actor);
            let replayed = hub::features::dead_letters::replay(&*rabbit, &store, id, &actor).await;
            stop.cancel();
            let _ = supervisor.await;
            let done = replayed?;
            println!(
                "dead letter {id} replayed to {} by {actor} (message id {})",
                done.queue,
                done.message_id.as_deref().unwrap_or("-")
            );
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Discard { id, actor, .. } => {
            let actor = actor.unwrap_or_else(default_actor);
            hub::features::dead_letters::discard(&store, id, &actor).await?;
            println!("dead letter {id} discarded by {actor}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The first line of `s`, at most `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or_default();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None if line.len() < s.len() => format!("{line}…"),
        None => line.to_owned(),
    }
}

fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Same server as configured, database `hub_demo`, emptied.
#[cfg(feature = "demo")]
async fn fresh_demo_database(url: &secrecy::SecretString) -> anyhow::Result<secrecy::SecretString> {
    use secrecy::ExposeSecret;
    use sqlx::migrate::MigrateDatabase;
    let url = url.expose_secret();
    let (without_query, query) = url.split_once('?').unwrap_or((url, ""));
    let server = without_query
        .rsplit_once('/')
        .filter(|(head, _)| head.contains("://") && !head.ends_with('/'))
        .map(|(head, _)| head)
        .ok_or_else(|| anyhow::anyhow!("database.url has no database name"))?;
    let demo = if query.is_empty() {
        format!("{server}/hub_demo")
    } else {
        format!("{server}/hub_demo?{query}")
    };
    if sqlx::Postgres::database_exists(&demo).await? {
        sqlx::Postgres::force_drop_database(&demo).await?;
    }
    Ok(demo.into())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}
