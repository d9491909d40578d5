//! `hub`: the command line of the Verenigingsloket integration hub.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hub::config::{self, Settings, Sources};
use hub::metrics::Metrics;
use hub::store::{PgStore, Store};

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
        #[command(flatten)]
        config: ConfigArgs,
        /// Where the register simulator listens (its control API is under /_sim/).
        #[arg(long, default_value = "127.0.0.1:8081")]
        register_listen: std::net::SocketAddr,
        /// Synthetic associations added to the simulator's seed.
        #[arg(long, default_value_t = 0)]
        synthetic: usize,
    },
    /// Ask a running hub to resync the whole register now.
    Resync {
        /// The running hub's HTTP address.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
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
    hub::telemetry::init();
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
                println!(
                    "configuration is valid ({} subscriber(s))",
                    s.subscribers.len()
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
            register_listen,
            synthetic,
        } => {
            let mut settings = load(&config).map_err(|e| anyhow::anyhow!("{e}"))?;
            // The simulator starts its sequence at 1 each time, so the hub must too.
            settings.database.url = fresh_demo_database(&settings.database.url).await?;
            let mut sim_config = partner_sims::RegisterSimConfig::with_seed();
            sim_config
                .associations
                .extend(partner_sims::synthetic(synthetic, 42));
            let register = partner_sims::RegisterSim::start(sim_config, register_listen).await?;
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
            hub.wait_for(shutdown_signal()).await;
            register.shutdown();
            Ok(ExitCode::SUCCESS)
        }
        Command::Resync { url } => {
            let response = reqwest::Client::new()
                .post(format!("{}/admin/resync", url.trim_end_matches('/')))
                .send()
                .await?;
            println!("{}", response.status());
            Ok(if response.status().is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
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
