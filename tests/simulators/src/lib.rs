//! Simulators of the hub's partners, for end-to-end tests and for people.
//!
//! [`RegisterSim`] is a realistic fake of the Verenigingsregister's public API: OAuth2 client
//! credentials, the change feed (`/v1/verenigingen/mutaties`), the detail document
//! (`/v1/verenigingen/{vCode}`) and a control API under `/_sim/` with which tests (in-process,
//! through the Rust API) or people (with curl) change associations and inject faults.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use partner_sims::{RegisterSim, RegisterSimConfig};
//! let sim = RegisterSim::start(RegisterSimConfig::with_seed(), "127.0.0.1:0".parse().unwrap()).await?;
//! let seq = sim.rename("V0001001", "Chiro Sint-Jozef Aalst-Centrum");
//! assert!(seq.is_some());
//! sim.shutdown();
//! # Ok(()) }
//! ```
//!
//! The register's write side (the beheer API: basisgegevens, stop, contactgegevens, locaties)
//! is simulated too, with the register's answers (202 with `ETag` and `VR-Sequence`, 200 for a
//! no-op, 412 on a stale `If-Match`, 400 problem+json with every field error, 404) and test
//! hooks: [`RegisterSim::writes`], [`RegisterSim::fail_writes`],
//! [`RegisterSim::delay_write_answers`]. The rules are described in the `beheer` module's
//! source documentation.
//!
//! [`EndpointSim`] (module [`endpoint`]) plays a subscriber's back office receiving the hub's
//! messages by HTTP `POST /messages`: it records every request and can answer with failure
//! bursts, always-failing messages or delays.
//!
//! The service providers' simulators ([`kiosk`], [`uldk`], [`insurance`]) can also be started
//! by provider kind at a configured URL ([`providers::start`], used by `hub demo`).

pub mod backoffice;
mod beheer;
mod control;
mod data;
pub mod endpoint;
mod http;
pub mod insurance;
pub mod kiosk;
mod merge_patch;
mod ordered;
pub mod providers;
mod server;
mod soap_kit;
mod state;
pub mod uldk;
pub mod xml_check;
pub mod xsd;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

pub use backoffice::{test_pki, BackOfficeSim, BackOfficeSimConfig, ServerTls, TestPki};
pub use beheer::WriteRecord;
pub use data::{
    flemish_postcodes, insz_is_valid, kbo_is_valid, normalize_vcode, seed, synthetic,
    synthetic_over, validate_vereniging, HOOFDACTIVITEITEN,
};
pub use endpoint::{EndpointSim, RecordedRequest};
pub use merge_patch::merge_patch;
pub use server::SimHandle;
pub use state::{SimError, Stats};

use state::{Shared, State};

/// The JSON-LD context the register puts at the top of a detail document.
pub const DETAIL_CONTEXT: &str =
    "https://publiek.verenigingen.vlaanderen.be/v1/contexten/publiek/detail-vereniging-context.json";

/// How a [`RegisterSim`] starts.
#[derive(Debug, Clone)]
pub struct RegisterSimConfig {
    /// OAuth2 client id the token endpoint accepts.
    pub client_id: String,
    /// OAuth2 client secret the token endpoint accepts.
    pub client_secret: String,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// Initial `vereniging` objects (each with a `vCode`); they get sequences 1..N in this order.
    pub associations: Vec<Value>,
}

impl RegisterSimConfig {
    /// The checked-in seed (`seed/verenigingen.json`), client `hub`/`hub-secret`, ttl 3600 s.
    pub fn with_seed() -> Self {
        Self {
            associations: seed(),
            ..Self::default()
        }
    }
}

impl Default for RegisterSimConfig {
    /// No associations, client `hub`/`hub-secret`, ttl 3600 s.
    fn default() -> Self {
        Self {
            client_id: "hub".to_owned(),
            client_secret: "hub-secret".to_owned(),
            token_ttl: Duration::from_secs(3600),
            associations: Vec::new(),
        }
    }
}

/// A running register simulator (see [`SimHandle`] for the methods every simulator has).
pub type RegisterSim = SimHandle<Shared>;

impl RegisterSim {
    /// Loads the associations (sequences 1..N), binds `addr` (port 0 picks a free port) and
    /// serves in a background task. Fails if an association has no valid `vCode` or the
    /// address cannot be bound.
    pub async fn start(config: RegisterSimConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let mut state = State::default();
        for v in config.associations {
            state
                .put(v, None)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            client_id: config.client_id,
            client_secret: config.client_secret,
            token_ttl: config.token_ttl,
        });
        Self::serve(addr, shared, http::router).await
    }

    /// `base_url() + "/oauth2/token"`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/token", self.base_url())
    }

    /// Current vCodes (removed ones left out), in vCode order.
    pub fn vcodes(&self) -> Vec<String> {
        self.state().vcodes()
    }

    /// The stored `vereniging` object (None if unknown or removed).
    pub fn get(&self, vcode: &str) -> Option<Value> {
        self.state().get(vcode)
    }

    /// Per-association version (the detail's `ETag: W/"<version>"`), None if unknown or removed.
    pub fn version(&self, vcode: &str) -> Option<u64> {
        self.state().version(vcode)
    }

    /// Creates or replaces the association with the object's `vCode`; returns the new global
    /// sequence. See [`RegisterSim::try_put`] for the fallible form.
    ///
    /// # Panics
    /// If the object has no valid `vCode` (a bug in the calling test).
    #[allow(clippy::expect_used)]
    pub fn put(&self, vereniging: Value) -> u64 {
        self.try_put(vereniging)
            .expect("RegisterSim::put needs a vereniging object with a valid vCode")
    }

    /// Like [`RegisterSim::put`] but answers an error for an object without valid `vCode`.
    pub fn try_put(&self, vereniging: Value) -> Result<u64, SimError> {
        self.state().put(vereniging, None).map(|(seq, _)| seq)
    }

    /// Applies an RFC 7386 merge patch to the `vereniging` object (its `vCode` cannot change).
    pub fn patch(&self, vcode: &str, merge_patch: Value) -> Option<u64> {
        self.state().patch(vcode, &merge_patch).ok().map(|(s, _)| s)
    }

    /// Sets `naam`.
    pub fn rename(&self, vcode: &str, naam: &str) -> Option<u64> {
        self.patch(vcode, serde_json::json!({ "naam": naam }))
    }

    /// Sets status `Gestopt` and `einddatum` (not validated here; the HTTP API validates).
    pub fn stop(&self, vcode: &str, einddatum: &str) -> Option<u64> {
        self.state().stop(vcode, einddatum).ok().map(|(s, _)| s)
    }

    /// Removes the association: the detail answers 404 and mutaties lists the removal.
    pub fn remove(&self, vcode: &str) -> Option<u64> {
        self.state().remove(vcode).ok().map(|(s, _)| s)
    }

    /// Until the next change of this vCode the detail answers 200 with a document of wrong types.
    pub fn make_malformed(&self, vcode: &str) -> Option<u64> {
        self.state().make_malformed(vcode).ok().map(|(s, _)| s)
    }

    /// Until the next change of this vCode the detail document carries an extra member
    /// `"opvulling"` of `bytes` characters (a valid document, just large).
    pub fn make_huge(&self, vcode: &str, bytes: usize) -> Option<u64> {
        self.state().make_huge(vcode, bytes).ok().map(|(s, _)| s)
    }

    /// The next `count` read requests to `/v1/...` answer `status` (problem+json); 0 clears.
    /// Beheer requests have their own [`RegisterSim::fail_writes`].
    /// A `status` that is not a valid HTTP status becomes 500.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().set_fault(count, status);
    }

    /// Every beheer request received so far (also those answered 400, 401, 404, 412 or with
    /// an injected fault), oldest first. Same as `GET /_sim/writes`.
    pub fn writes(&self) -> Vec<WriteRecord> {
        self.state().writes.clone()
    }

    /// Forgets the recorded beheer requests (same as `DELETE /_sim/writes`).
    pub fn clear_writes(&self) {
        self.state().writes.clear();
    }

    /// The next `count` beheer requests answer `status` (problem+json) without being applied;
    /// 0 clears. A `status` that is not a valid HTTP status becomes 500. Reads are not
    /// affected (see [`RegisterSim::fail_next`]). Same as `POST /_sim/write-faults`.
    pub fn fail_writes(&self, count: u32, status: u16) {
        self.state().set_write_fault(count, status);
    }

    /// Beheer requests are applied (and recorded) at once, but their answer is sent `delay`
    /// later: a client with a shorter timeout sees a timeout for a committed change.
    /// `Duration::ZERO` turns it off. Same as `POST /_sim/write-delay {"millis": n}`.
    pub fn delay_write_answers(&self, delay: Duration) {
        self.state().write_delay = delay;
    }

    /// Invalidates every issued token.
    pub fn expire_tokens(&self) {
        self.state().expire_tokens();
    }

    /// Current global sequence (0 when empty).
    pub fn sequence(&self) -> u64 {
        self.state().sequence
    }

    /// Request counters (same as `GET /_sim/stats`).
    pub fn stats(&self) -> Stats {
        self.state().stats.clone()
    }
}

/// Logs of a simulator binary on stderr, `RUST_LOG` or else `info`.
pub fn init_cli_logs() {
    use tracing_subscriber::EnvFilter;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
}
