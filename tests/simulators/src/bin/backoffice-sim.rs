//! `backoffice-sim`: a municipal back office that receives the hub's MAGDA-style SOAP
//! publications, for people and scripts (the tests start `BackOfficeSim` in-process).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use partner_sims::backoffice::{default_xsd_path, DEFAULT_IDENTITY};
use partner_sims::{BackOfficeSim, BackOfficeSimConfig};

/// A municipal back office speaking the hub's SOAP publication contract
/// (contracts/wsdl/publicatie-v1.wsdl): validates every request against the XSD, answers
/// ANTWOORD, and can be told to answer FOUT, throttle, fail or be slow (POST /_sim/behaviour).
#[derive(Debug, Parser)]
#[command(name = "backoffice-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8082", env = "BACKOFFICE_SIM_LISTEN")]
    listen: SocketAddr,
    /// The back office's identity in its replies (e.g. the municipality's OVO code).
    #[arg(long, default_value = DEFAULT_IDENTITY)]
    identity: String,
    /// The XSD every request is validated against.
    #[arg(long, default_value_os_t = default_xsd_path())]
    xsd: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    partner_sims::init_cli_logs();
    let args = Args::parse();
    let config = BackOfficeSimConfig {
        identity: args.identity,
        xsd: args.xsd,
        ..BackOfficeSimConfig::default()
    };
    let sim = BackOfficeSim::start(config, args.listen)
        .await
        .with_context(|| format!("starting on {}", args.listen))?;
    let base = sim.base_url();
    println!("backoffice-sim listening on {}", sim.url());
    println!(
        "control: GET {base}/_sim/requests | GET/POST {base}/_sim/behaviour (e.g. {{\"throttle_next\": 3}})"
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sim.shutdown();
    Ok(())
}
