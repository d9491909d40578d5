//! The service providers' simulators by provider kind, for `hub demo`: [`start`] runs the
//! simulator of a kind (`kiosk`, `uldk`, `insurance`, as the hub's provider kinds are
//! named) at the address and path of the URL a configuration gives the instance, so that
//! the configuration is the only place the addresses are written.
//!
//! A new provider's simulator is added here with one line in [`start`]'s match.

use std::net::SocketAddr;

use crate::insurance::{InsuranceSim, InsuranceSimConfig};
use crate::kiosk::{KioskSim, KioskSimConfig};
use crate::server::{SimHandle, Simulator};
use crate::uldk::{UldkSim, UldkSimConfig};

/// A running provider simulator, whatever its kind.
#[derive(Debug)]
pub struct ProviderSim {
    url: String,
    sim: Box<dyn Running>,
}

/// A simulator's handle with its kind left out: what a [`ProviderSim`] needs of it.
trait Running: std::fmt::Debug + Send + Sync {
    fn shutdown(&self);
}

impl<S: Simulator> Running for SimHandle<S> {
    fn shutdown(&self) {
        SimHandle::shutdown(self);
    }
}

impl ProviderSim {
    fn new<S: Simulator>(url: String, sim: SimHandle<S>) -> Self {
        ProviderSim {
            url,
            sim: Box::new(sim),
        }
    }

    /// Where it serves (the URL the configuration gives the provider).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops it (idempotent); dropping it stops it too.
    pub fn shutdown(&self) {
        self.sim.shutdown();
    }
}

/// Starts the simulator of provider kind `kind` with its default behaviour, listening at
/// `url`'s host and port and serving at its path (ULDK: at the root). `None` when there is
/// no simulator for the kind; an error when the URL is not `http://host:port/path` or the
/// address cannot be bound.
pub async fn start(kind: &str, url: &str) -> Option<std::io::Result<ProviderSim>> {
    let started = match kind {
        "kiosk" => start_kiosk(url).await,
        "uldk" => start_uldk(url).await,
        "insurance" => start_insurance(url).await,
        _ => return None,
    };
    Some(started)
}

async fn start_kiosk(url: &str) -> std::io::Result<ProviderSim> {
    let (addr, path) = split(url)?;
    let sim = KioskSim::start(KioskSimConfig::with_path(path), addr).await?;
    Ok(ProviderSim::new(sim.url(), sim))
}

async fn start_uldk(url: &str) -> std::io::Result<ProviderSim> {
    let (addr, path) = split(url)?;
    if !path.trim_end_matches('/').is_empty() {
        return Err(invalid(
            url,
            "the ULDK simulator serves at the root (no path)",
        ));
    }
    let sim = UldkSim::start(UldkSimConfig::default(), addr).await?;
    Ok(ProviderSim::new(sim.base_url(), sim))
}

async fn start_insurance(url: &str) -> std::io::Result<ProviderSim> {
    let (addr, path) = split(url)?;
    let sim = InsuranceSim::start(InsuranceSimConfig::with_path(path), addr).await?;
    Ok(ProviderSim::new(sim.url(), sim))
}

/// `http://host:port/path` → the address and the path (`""` when there is none).
fn split(url: &str) -> std::io::Result<(SocketAddr, &str)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(url, "a simulator serves plain http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let addr = authority.parse::<SocketAddr>().map_err(|_| {
        invalid(
            url,
            "expected an IP address and a port, e.g. 127.0.0.1:8083",
        )
    })?;
    Ok((addr, path))
}

fn invalid(url: &str, why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{url}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_address_and_path() {
        let (addr, path) = split("http://127.0.0.1:8083/Kiosk-01.00/soap/WebService")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(addr, SocketAddr::from(([127, 0, 0, 1], 8083)));
        assert_eq!(path, "/Kiosk-01.00/soap/WebService");
        let (addr, path) = split("http://127.0.0.1:8084").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((addr.port(), path), (8084, ""));
        assert!(split("https://127.0.0.1:8084").is_err());
        assert!(split("http://localhost/x").is_err());
    }

    #[tokio::test]
    async fn each_kind_starts_at_its_configured_url() {
        assert!(start("magda", "http://127.0.0.1:0").await.is_none());
        for (kind, path) in [
            ("kiosk", "/Kiosk-01.00/soap/WebService"),
            ("uldk", ""),
            (
                "insurance",
                "/Vrijwilligersverzekering-01.00/soap/WebService",
            ),
        ] {
            let sim = start(kind, &format!("http://127.0.0.1:0{path}"))
                .await
                .unwrap_or_else(|| panic!("{kind} has a simulator"))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(sim.url().starts_with("http://127.0.0.1:"), "{}", sim.url());
            assert!(sim.url().ends_with(path), "{}", sim.url());
            sim.shutdown();
        }
        assert!(start("uldk", "http://127.0.0.1:0/v2")
            .await
            .is_some_and(|r| r.is_err()));
    }
}
