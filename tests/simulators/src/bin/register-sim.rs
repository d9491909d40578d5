//! `register-sim`: a fake Verenigingsregister for people and scripts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use partner_sims::{seed, synthetic, RegisterSim, RegisterSimConfig};

/// A realistic fake of the Verenigingsregister's public API (OAuth2, mutaties, detail, and the
/// beheer write API) with a control API under /_sim/.
#[derive(Debug, Parser)]
#[command(name = "register-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081", env = "REGISTER_SIM_LISTEN")]
    listen: SocketAddr,
    /// JSON file with an array of `vereniging` objects; default the built-in seed.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Adds N synthetic associations after the seed.
    #[arg(long, default_value_t = 0)]
    synthetic: usize,
    /// Random seed of the synthetic associations.
    #[arg(long, default_value_t = 42)]
    synthetic_seed: u64,
    /// OAuth2 client id.
    #[arg(long, default_value = "hub", env = "REGISTER_SIM_CLIENT_ID")]
    client_id: String,
    /// OAuth2 client secret.
    #[arg(long, default_value = "hub-secret", env = "REGISTER_SIM_CLIENT_SECRET")]
    client_secret: String,
    /// Lifetime of access tokens in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    partner_sims::init_cli_logs();
    let args = Args::parse();

    let mut associations = match &args.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<Vec<serde_json::Value>>(&text).with_context(|| {
                format!("{} is not a JSON array of verenigingen", path.display())
            })?
        }
        None => seed(),
    };
    associations.extend(synthetic(args.synthetic, args.synthetic_seed));
    let count = associations.len();

    let config = RegisterSimConfig {
        client_id: args.client_id,
        client_secret: args.client_secret,
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        associations,
    };
    let sim = RegisterSim::start(config, args.listen)
        .await
        .with_context(|| format!("starting on {}", args.listen))?;
    let base = sim.base_url();
    println!(
        "register-sim listening on {base} ({count} verenigingen, sequence {})",
        sim.sequence()
    );
    println!(
        "control: GET {base}/_sim/verenigingen | PATCH/PUT/DELETE {base}/_sim/verenigingen/{{vCode}} | POST {base}/_sim/faults | POST {base}/_sim/tokens/expire | GET {base}/_sim/stats | GET/DELETE {base}/_sim/writes | POST {base}/_sim/write-faults | POST {base}/_sim/write-delay"
    );

    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("Ctrl-C: stopping");
    sim.shutdown();
    sim.stopped().await?;
    Ok(())
}
