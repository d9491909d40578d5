//! [`KioskSim`]: KIOSK, the Department of Culture, Youth and Media's application system for
//! subsidies, grants and certificates, serving the hub's KIOSK contract
//! (`contracts/xsd/kiosk-v1.xsd`, SOAP 1.1 document/literal) over plain HTTP.
//!
//! The hub POSTs to [`KioskSim::url`] (by default `/Kiosk-01.00/soap/WebService`) with
//! `Content-Type: text/xml; charset=utf-8` and the operation's `SOAPAction`. The simulator
//!
//! - checks every request: Content-Type, a SOAP 1.1 `Envelope` with a `Body`, the Body's first
//!   element against the XSD (with libxml2 on a dedicated thread, [`crate::xsd::XsdValidator`]),
//!   that it is one of the two requests and carries its own `SOAPAction`, and what the XSD
//!   documents but cannot express (the fields each `Regeling` requires, `Einddatum` not before
//!   `Begindatum`). A request failing any of these is recorded as invalid and answered with an
//!   HTTP 500 fault `soapenv:Client` with `kiosk:Fout/Code` `ONGELDIG_VERZOEK`;
//! - `DienAanvraagIn`: opens a dossier numbered `KIOSK-<year>-<6 digits>` and answers it with
//!   status `ONTVANGEN`; a repeated `AanvraagId` opens nothing and is answered with the dossier
//!   opened the first time, in its current status (recorded as a duplicate). The dossier is
//!   opened on arrival, before any delay: a client that gives up still has it;
//! - dossiers move on with time: `ONTVANGEN`, `IN_BEHANDELING` after
//!   [`KioskSimConfig::treatment_after`], decided after [`KioskSimConfig::decision_after`]. The
//!   decision is taken on arrival (and shown only then): `AFGEWEZEN` with a `Motivering` when the
//!   body contains a substring given to [`KioskSim::refuse_when_body_contains`], when the
//!   `Regeling` is not one of [`KioskSimConfig::regelingen`], or when `GevraagdBedrag` exceeds
//!   [`KioskSimConfig::max_amount`]; `GOEDGEKEURD` otherwise, with `ToegekendBedrag` =
//!   `GevraagdBedrag` (none when no amount was asked, as for an attest);
//! - `GeefDossierStatus`: the dossier's current status; an unknown number is a `soapenv:Client`
//!   fault with code `ONBEKEND_DOSSIER`;
//! - infrastructure trouble: [`KioskSim::set_down`] (every call answers 503),
//!   [`KioskSim::fail_next`] (plain HTTP errors), [`KioskSim::set_delay`] (slow answers).
//!
//! Every request is recorded ([`KioskRequest`]); [`KioskSim::dossiers`] shows the dossiers as
//! they stand now, [`KioskSim::submissions`] the valid, non-duplicate `DienAanvraagIn`s that
//! opened one. The simulator reads raw XML only (roxmltree and the XSD file): it shares no code
//! with the hub's contracts or its KIOSK adapter.
//!
//! The behaviour can also be set over HTTP with `POST /_sim/behaviour` (JSON, every member
//! optional, `reset` applied first):
//!
//! ```text
//! {"reset": true}
//! {"fail_next": {"count": 3, "status": 503}}
//! {"down": true}
//! {"delay_ms": 2000}
//! {"refuse_when_body_contains": {"substring": "V0001001", "motivering": "Buiten de doelgroep"}}
//! ```
//!
//! `GET /_sim/behaviour` shows it, `GET /_sim/requests` what arrived (without bodies),
//! `GET /_sim/dossiers` the dossiers.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use partner_sims::kiosk::{KioskSim, KioskSimConfig};
//! use std::time::Duration;
//! let config =
//!     KioskSimConfig::with_timing(Duration::from_millis(100), Duration::from_millis(200));
//! let sim = KioskSim::start(config, "127.0.0.1:0").await?;
//! sim.refuse_when_body_contains("V0001002", "De vereniging is niet erkend.");
//! // ... point the hub's KIOSK provider at sim.url() ...
//! let opened = sim.submissions();
//! sim.shutdown();
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::control::{self, burst, error_status, header_str, take_one, ControlJson};
use crate::server::{Recorded, SimHandle, Simulator};
use crate::soap_kit::{
    self, envelope, escape_controls as escape, html_error, text, HTML_CONTENT_TYPE,
    XML_CONTENT_TYPE as XML,
};
use crate::xsd::XsdValidator;

/// The SOAP 1.1 envelope namespace.
pub use crate::xsd::SOAP11_NS;
/// The KIOSK contract's namespace (of the operation elements and `Fout`).
pub const KIOSK_NS: &str = "http://verenigingsloket.vlaanderen.be/hub/kiosk/v1";
/// The submit operation (request element and WSDL operation).
pub const DIEN_AANVRAAG_IN: &str = "DienAanvraagIn";
/// The status operation.
pub const GEEF_DOSSIER_STATUS: &str = "GeefDossierStatus";
/// `SOAPAction` of `DienAanvraagIn` (in the header it may be quoted).
pub const SOAP_ACTION_DIEN_AANVRAAG_IN: &str =
    "http://verenigingsloket.vlaanderen.be/hub/kiosk/v1/DienAanvraagIn";
/// `SOAPAction` of `GeefDossierStatus`.
pub const SOAP_ACTION_GEEF_DOSSIER_STATUS: &str =
    "http://verenigingsloket.vlaanderen.be/hub/kiosk/v1/GeefDossierStatus";
/// Where the simulator serves the SOAP endpoint unless configured otherwise.
pub const DEFAULT_PATH: &str = "/Kiosk-01.00/soap/WebService";
/// The regelingen the simulator knows unless configured otherwise.
pub const REGELINGEN: [&str; 4] = [
    "kiosk-projectsubsidie",
    "kiosk-werkingssubsidie",
    "kiosk-beurs",
    "kiosk-attest",
];
/// `kiosk:Fout/Code` of an invalid request.
pub const ONGELDIG_VERZOEK: &str = "ONGELDIG_VERZOEK";
/// `kiosk:Fout/Code` of `GeefDossierStatus` for a number never given.
pub const ONBEKEND_DOSSIER: &str = "ONBEKEND_DOSSIER";

/// The checked-in KIOSK XSD: `contracts/xsd/kiosk-v1.xsd` of this workspace.
pub fn default_xsd_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/xsd/kiosk-v1.xsd")
}

/// How a [`KioskSim`] starts.
#[derive(Debug, Clone)]
pub struct KioskSimConfig {
    /// A dossier is `IN_BEHANDELING` this long after it was opened (default 1 s).
    pub treatment_after: Duration,
    /// A dossier is decided this long after it was opened (default 2 s). When it is not after
    /// `treatment_after`, the dossier goes from `ONTVANGEN` straight to the decision.
    pub decision_after: Duration,
    /// The largest `GevraagdBedrag` granted, in whole euro (default 25 000); more is
    /// `AFGEWEZEN`.
    pub max_amount: u64,
    /// The regelingen KIOSK knows (default [`REGELINGEN`]); a dossier for another one is
    /// `AFGEWEZEN`.
    pub regelingen: Vec<String>,
    /// The SOAP endpoint's path (default [`DEFAULT_PATH`]).
    pub path: String,
    /// The XSD (default [`default_xsd_path`]), loaded once at start.
    pub xsd: PathBuf,
}

impl Default for KioskSimConfig {
    fn default() -> Self {
        Self {
            treatment_after: Duration::from_secs(1),
            decision_after: Duration::from_secs(2),
            max_amount: 25_000,
            regelingen: REGELINGEN.iter().map(|r| (*r).to_owned()).collect(),
            path: DEFAULT_PATH.to_owned(),
            xsd: default_xsd_path(),
        }
    }
}

impl KioskSimConfig {
    /// The defaults with dossiers in treatment after `treatment_after` and decided after
    /// `decision_after`.
    pub fn with_timing(treatment_after: Duration, decision_after: Duration) -> Self {
        Self {
            treatment_after,
            decision_after,
            ..Self::default()
        }
    }

    /// The defaults with the SOAP endpoint at `path`.
    pub fn with_path(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            ..Self::default()
        }
    }
}

/// `Status` of a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DossierStatus {
    Ontvangen,
    InBehandeling,
    Goedgekeurd,
    Afgewezen,
}

impl DossierStatus {
    /// `ONTVANGEN`, `IN_BEHANDELING`, `GOEDGEKEURD` or `AFGEWEZEN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ontvangen => "ONTVANGEN",
            Self::InBehandeling => "IN_BEHANDELING",
            Self::Goedgekeurd => "GOEDGEKEURD",
            Self::Afgewezen => "AFGEWEZEN",
        }
    }

    /// `GOEDGEKEURD` or `AFGEWEZEN`.
    pub fn is_decided(self) -> bool {
        matches!(self, Self::Goedgekeurd | Self::Afgewezen)
    }
}

/// A dossier as it stands at the moment it is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dossier {
    /// `KIOSK-<year>-<6 digits>`.
    pub dossiernummer: String,
    /// The `AanvraagId` that opened it (as sent).
    pub application_id: String,
    /// `Regeling`.
    pub regeling: String,
    /// `Organisatie/VCode`.
    pub v_code: Option<String>,
    /// `Aanvraag/GevraagdBedrag` as sent (e.g. `1500.00`).
    pub gevraagd_bedrag: Option<String>,
    /// The status now.
    pub status: DossierStatus,
    /// Once `AFGEWEZEN`: why.
    pub motivering: Option<String>,
    /// Once `GOEDGEKEURD`: the amount granted (none for a dossier without amount).
    pub toegekend_bedrag: Option<String>,
    /// When the dossier reached `status` (wall clock, UTC).
    pub tijdstip: OffsetDateTime,
    /// When it was opened.
    pub opened: Instant,
}

/// What the simulator answered a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KioskAnswer {
    /// HTTP 200 with `DienAanvraagInResponse` / `GeefDossierStatusResponse`: the dossier as it
    /// stood then.
    Dossier(Dossier),
    /// HTTP 500 with a SOAP fault.
    Fault {
        /// `soapenv:Client`.
        faultcode: String,
        /// `kiosk:Fout/Code`: [`ONGELDIG_VERZOEK`] or [`ONBEKEND_DOSSIER`].
        code: String,
        /// What is wrong (the validation errors).
        faultstring: String,
    },
    /// A plain HTTP error with an HTML body (down, or a failure burst).
    HttpError { status: u16 },
}

impl KioskAnswer {
    /// The HTTP status of the answer.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Dossier(_) => 200,
            Self::Fault { .. } => 500,
            Self::HttpError { status } => *status,
        }
    }

    /// The dossier `Status` answered, if a dossier was answered.
    pub fn dossier_status(&self) -> Option<DossierStatus> {
        match self {
            Self::Dossier(d) => Some(d.status),
            _ => None,
        }
    }
}

/// One request to the SOAP endpoint, as the simulator saw it. The fields are read from
/// invalid requests too, as far as they can be found.
#[derive(Debug, Clone)]
pub struct KioskRequest {
    /// When it arrived (before validation and any delay).
    pub at: Instant,
    /// The same moment on the wall clock.
    pub received_at: OffsetDateTime,
    /// The local name of the Body's first element: `DienAanvraagIn`, `GeefDossierStatus`, ...
    pub operation: Option<String>,
    /// The `SOAPAction` header as sent.
    pub soap_action: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The raw body (lossily UTF-8).
    pub body: String,
    /// Passed every check (headers, envelope, XSD, contract rules).
    pub valid: bool,
    /// Why not (empty when valid).
    pub errors: Vec<String>,
    /// `DienAanvraagIn/AanvraagId`.
    pub application_id: Option<String>,
    /// `DienAanvraagIn/Regeling`.
    pub regeling: Option<String>,
    /// `GeefDossierStatus/Dossiernummer`, or the dossier a `DienAanvraagIn` opened or found.
    pub dossiernummer: Option<String>,
    /// A `DienAanvraagIn` whose `AanvraagId` had opened a dossier before.
    pub duplicate: bool,
    /// What was answered.
    pub answer: KioskAnswer,
    /// The answer's body.
    pub response: String,
    /// The answer was handed to the server: false while a delay runs, and for good when the
    /// client gave up first.
    pub completed: bool,
}

impl KioskRequest {
    /// The HTTP status answered.
    pub fn http_status(&self) -> u16 {
        self.answer.http_status()
    }

    /// A valid `DienAanvraagIn` that opened a dossier (not a duplicate).
    pub fn is_submission(&self) -> bool {
        self.valid
            && !self.duplicate
            && self.operation.as_deref() == Some(DIEN_AANVRAAG_IN)
            && matches!(self.answer, KioskAnswer::Dossier(_))
    }
}

/// The simulator's current behaviour, as `GET /_sim/behaviour` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    /// `(count, status)`: the next `count` requests answer a plain HTTP `status`.
    pub fail_next: Option<(u32, u16)>,
    /// Every request answers 503.
    pub down: bool,
    /// Every answer comes this late.
    pub delay_ms: u64,
    /// `(substring, motivering)`: a new dossier whose request body contains the substring is
    /// decided `AFGEWEZEN` with that motivering.
    pub refusals: Vec<(String, String)>,
}

/// How a dossier will be decided (taken on arrival).
#[derive(Debug, Clone)]
enum Decided {
    Approved { toegekend: Option<String> },
    Refused { motivering: String },
}

#[derive(Debug, Clone)]
struct DossierRecord {
    nummer: String,
    application_id: String,
    regeling: String,
    v_code: Option<String>,
    gevraagd_bedrag: Option<String>,
    opened: Instant,
    opened_at: OffsetDateTime,
    decided: Decided,
}

impl DossierRecord {
    fn view(&self, config: &KioskSimConfig, now: Instant) -> Dossier {
        let elapsed = now.saturating_duration_since(self.opened);
        let (status, since) = if elapsed >= config.decision_after {
            let status = match self.decided {
                Decided::Approved { .. } => DossierStatus::Goedgekeurd,
                Decided::Refused { .. } => DossierStatus::Afgewezen,
            };
            (status, config.decision_after)
        } else if elapsed >= config.treatment_after {
            (DossierStatus::InBehandeling, config.treatment_after)
        } else {
            (DossierStatus::Ontvangen, Duration::ZERO)
        };
        let (motivering, toegekend_bedrag) = match (&self.decided, status) {
            (Decided::Refused { motivering }, DossierStatus::Afgewezen) => {
                (Some(motivering.clone()), None)
            }
            (Decided::Approved { toegekend }, DossierStatus::Goedgekeurd) => {
                (None, toegekend.clone())
            }
            _ => (None, None),
        };
        Dossier {
            dossiernummer: self.nummer.clone(),
            application_id: self.application_id.clone(),
            regeling: self.regeling.clone(),
            v_code: self.v_code.clone(),
            gevraagd_bedrag: self.gevraagd_bedrag.clone(),
            status,
            motivering,
            toegekend_bedrag,
            tijdstip: self.opened_at + since,
            opened: self.opened,
        }
    }
}

/// What the KIOSK simulator keeps behind its lock: the requests, the behaviour and the
/// dossiers.
pub type KioskState = Recorded<KioskRequest, Behaviour, Dossiers>;

/// The dossiers the KIOSK simulator opened.
#[derive(Default)]
pub struct Dossiers {
    dossiers: Vec<DossierRecord>,
    /// Lower-cased `AanvraagId` → index in `dossiers`.
    by_application: HashMap<String, usize>,
    /// Dossiernummer → index in `dossiers`.
    by_number: HashMap<String, usize>,
    last_number: u32,
}

impl KioskState {
    /// The answer to a request and whether it is a duplicate: infrastructure first (down, a
    /// failure burst), then validity, then the operation.
    fn decide(
        &mut self,
        config: &KioskSimConfig,
        request: &Inspected,
        errors: &[String],
        raw: &str,
        now: Instant,
        now_wall: OffsetDateTime,
    ) -> (KioskAnswer, bool) {
        if self.behaviour.down {
            return (KioskAnswer::HttpError { status: 503 }, false);
        }
        if let Some(status) = take_one(&mut self.behaviour.fail_next) {
            return (KioskAnswer::HttpError { status }, false);
        }
        if !errors.is_empty() {
            return (
                KioskAnswer::Fault {
                    faultcode: "soapenv:Client".to_owned(),
                    code: ONGELDIG_VERZOEK.to_owned(),
                    faultstring: format!("Ongeldig verzoek: {}", errors.join("; ")),
                },
                false,
            );
        }
        match request.operation.as_deref() {
            Some(DIEN_AANVRAAG_IN) => {
                let application_id = request.application_id.clone().unwrap_or_default();
                let key = application_id.to_ascii_lowercase();
                if let Some(&i) = self.books.by_application.get(&key) {
                    return (
                        KioskAnswer::Dossier(self.books.dossiers[i].view(config, now)),
                        true,
                    );
                }
                self.books.last_number += 1;
                let nummer = format!(
                    "KIOSK-{:04}-{:06}",
                    now_wall.year().clamp(0, 9999),
                    self.books.last_number % 1_000_000
                );
                let regeling = request.regeling.clone().unwrap_or_default();
                let decided = self.decision(config, &regeling, request, raw);
                let record = DossierRecord {
                    nummer: nummer.clone(),
                    application_id,
                    regeling,
                    v_code: request.v_code.clone(),
                    gevraagd_bedrag: request.gevraagd_bedrag.clone(),
                    opened: now,
                    opened_at: now_wall,
                    decided,
                };
                let answer = KioskAnswer::Dossier(record.view(config, now));
                self.books.dossiers.push(record);
                let i = self.books.dossiers.len() - 1;
                self.books.by_application.insert(key, i);
                self.books.by_number.insert(nummer, i);
                (answer, false)
            }
            _ => {
                let nummer = request.dossiernummer.clone().unwrap_or_default();
                match self.books.by_number.get(&nummer) {
                    Some(&i) => (
                        KioskAnswer::Dossier(self.books.dossiers[i].view(config, now)),
                        false,
                    ),
                    None => (
                        KioskAnswer::Fault {
                            faultcode: "soapenv:Client".to_owned(),
                            code: ONBEKEND_DOSSIER.to_owned(),
                            faultstring: format!("Dossier {nummer} is bij KIOSK niet bekend"),
                        },
                        false,
                    ),
                }
            }
        }
    }

    /// The decision for a new dossier: a refusal rule, an unknown regeling, too much money;
    /// else granted as asked.
    fn decision(
        &self,
        config: &KioskSimConfig,
        regeling: &str,
        request: &Inspected,
        raw: &str,
    ) -> Decided {
        if let Some((_, motivering)) = self
            .behaviour
            .refusals
            .iter()
            .find(|(s, _)| raw.contains(s.as_str()))
        {
            return Decided::Refused {
                motivering: motivering.clone(),
            };
        }
        if !config.regelingen.iter().any(|r| r == regeling) {
            return Decided::Refused {
                motivering: format!("De regeling {regeling} is bij KIOSK niet bekend."),
            };
        }
        let cents = request.gevraagd_bedrag.as_deref().and_then(cents);
        if let Some(cents) = cents {
            if cents > u128::from(config.max_amount) * 100 {
                return Decided::Refused {
                    motivering: format!(
                        "Het gevraagde bedrag van {} EUR overschrijdt het maximum van {}.00 EUR \
                         voor deze regeling.",
                        euro(cents),
                        config.max_amount
                    ),
                };
            }
        }
        Decided::Approved {
            toegekend: cents.map(euro),
        }
    }
}

/// `1500.00` → 150000 (the XSD guarantees digits, a point and two decimals; be lenient).
fn cents(amount: &str) -> Option<u128> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if fraction.len() > 2 || whole.is_empty() {
        return None;
    }
    let whole: u128 = whole.parse().ok()?;
    let fraction: u128 = format!("{fraction:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(fraction)
}

fn euro(cents: u128) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// What a running KIOSK simulator shares with its server.
pub struct Shared {
    started: Instant,
    config: KioskSimConfig,
    validator: XsdValidator,
    state: Mutex<KioskState>,
}

impl Simulator for Shared {
    const NAME: &'static str = "KioskSim";
    type State = KioskState;
    fn state(&self) -> MutexGuard<'_, KioskState> {
        control::lock(&self.state)
    }
}

/// A running KIOSK simulator (see [`SimHandle`] for the methods every simulator has).
pub type KioskSim = SimHandle<Shared>;

impl KioskSim {
    /// Loads the XSD, binds `addr` (port 0 picks a free port) and serves in a background
    /// task. Fails if the XSD cannot be read or compiled, or the address cannot be bound.
    pub async fn start(
        config: KioskSimConfig,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<Self> {
        let addr = control::resolve(addr).await?;
        let validator = XsdValidator::spawn(&config.xsd, "kiosk-xsd").await?;
        let shared = Arc::new(Shared {
            started: Instant::now(),
            config,
            validator,
            state: Mutex::new(KioskState::default()),
        });
        Self::serve(addr, shared, router).await
    }

    /// The SOAP endpoint, e.g. `http://127.0.0.1:41234/Kiosk-01.00/soap/WebService`.
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url(), self.shared.config.path)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &KioskSimConfig {
        &self.shared.config
    }

    /// The next `count` requests answer a plain HTTP `status` with an HTML body, whatever
    /// they carry (0 ends a burst). A `status` that is not an HTTP error status becomes 500.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().behaviour.fail_next = burst(count, error_status(status));
    }

    /// While down, every request answers 503 (nothing is opened or looked up).
    pub fn set_down(&self, down: bool) {
        self.state().behaviour.down = down;
    }

    /// Every request is answered only after `delay` (zero: at once). A `DienAanvraagIn`
    /// opens its dossier on arrival all the same.
    pub fn set_delay(&self, delay: Duration) {
        self.state().behaviour.delay_ms = control::millis(delay);
    }

    /// Every new dossier whose `DienAanvraagIn` body contains `substring` (e.g. a vCode) is
    /// decided `AFGEWEZEN` with `motivering`, until [`Self::reset`].
    pub fn refuse_when_body_contains(&self, substring: &str, motivering: &str) {
        self.state()
            .behaviour
            .refusals
            .push((substring.to_owned(), motivering.to_owned()));
    }

    /// Back to normal: up, no burst, no delay, no refusal rules. Dossiers (and their
    /// decisions) and recorded requests are kept.
    pub fn reset(&self) {
        self.state().behaviour = Behaviour::default();
    }

    /// The valid, non-duplicate `DienAanvraagIn`s that opened a dossier, in arrival order.
    pub fn submissions(&self) -> Vec<KioskRequest> {
        self.requests_where(KioskRequest::is_submission)
    }

    /// The requests that failed validation, in arrival order.
    pub fn invalid(&self) -> Vec<KioskRequest> {
        self.requests_where(|r| !r.valid)
    }

    /// Every dossier as it stands now, in the order opened.
    pub fn dossiers(&self) -> Vec<Dossier> {
        let now = Instant::now();
        let config = &self.shared.config;
        self.state()
            .books
            .dossiers
            .iter()
            .map(|d| d.view(config, now))
            .collect()
    }

    /// One dossier as it stands now.
    pub fn dossier(&self, dossiernummer: &str) -> Option<Dossier> {
        let now = Instant::now();
        let config = &self.shared.config;
        let state = self.state();
        let i = *state.books.by_number.get(dossiernummer)?;
        state.books.dossiers.get(i).map(|d| d.view(config, now))
    }

    /// Waits until at least `n` dossiers were opened; false after `timeout`.
    pub async fn wait_for_submissions(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.books.dossiers.len() >= n)
            .await
    }
}

// ---------------------------------------------------------------------------------------------
// Reading requests

/// What the simulator reads from a request (with roxmltree; the XSD check is separate).
#[derive(Debug, Default)]
struct Inspected {
    /// A SOAP 1.1 Envelope with a Body holding an element: worth an XSD check.
    has_operation: bool,
    /// The Body's first element's local name.
    element: Option<String>,
    /// `DienAanvraagIn` or `GeefDossierStatus` in the KIOSK namespace.
    operation: Option<String>,
    application_id: Option<String>,
    regeling: Option<String>,
    v_code: Option<String>,
    projectnaam: bool,
    gevraagd_bedrag: Option<String>,
    begindatum: Option<String>,
    einddatum: Option<String>,
    dossiernummer: Option<String>,
}

/// Reads the envelope and the fields; answers what is wrong beyond the XSD.
fn inspect(body: &[u8]) -> (Inspected, Vec<String>) {
    let mut found = Inspected::default();
    let doc = match soap_kit::parse(body) {
        Ok(doc) => doc,
        Err(e) => return (found, vec![e]),
    };
    let operation = match soap_kit::body_and_operation(&doc) {
        Ok((_, operation)) => operation,
        Err(e) => return (found, vec![e]),
    };
    found.has_operation = true;
    let name = operation.tag_name().name().to_owned();
    found.element = Some(name.clone());
    let in_kiosk_ns = operation.tag_name().namespace() == Some(KIOSK_NS);

    let mut errors = Vec::new();
    match name.as_str() {
        DIEN_AANVRAAG_IN if in_kiosk_ns => {
            found.operation = Some(name);
            let op = Some(operation);
            found.application_id = text(op, &["AanvraagId"]);
            found.regeling = text(op, &["Regeling"]);
            found.v_code = text(op, &["Organisatie", "VCode"]);
            found.projectnaam = text(op, &["Aanvraag", "Projectnaam"]).is_some();
            found.gevraagd_bedrag = text(op, &["Aanvraag", "GevraagdBedrag"]);
            found.begindatum = text(op, &["Aanvraag", "Begindatum"]);
            found.einddatum = text(op, &["Aanvraag", "Einddatum"]);
            errors.extend(contract_errors(&found));
        }
        GEEF_DOSSIER_STATUS if in_kiosk_ns => {
            found.operation = Some(name);
            found.dossiernummer = text(Some(operation), &["Dossiernummer"]);
        }
        _ if in_kiosk_ns => errors.push(format!("{name} is not a request of the KIOSK service")),
        // The XSD reports a foreign element.
        _ => {}
    }
    (found, errors)
}

/// The rules the XSD documents but cannot express: the fields each regeling requires, the
/// order of the dates.
fn contract_errors(found: &Inspected) -> Vec<String> {
    let mut errors = Vec::new();
    let regeling = found.regeling.as_deref().unwrap_or_default();
    let (projectnaam, bedrag) = match regeling {
        "kiosk-werkingssubsidie" => (false, true),
        "kiosk-attest" => (true, false),
        _ => (true, true),
    };
    if projectnaam && !found.projectnaam {
        errors.push(format!(
            "de regeling {regeling} vereist Aanvraag/Projectnaam"
        ));
    }
    if bedrag && found.gevraagd_bedrag.is_none() {
        errors.push(format!(
            "de regeling {regeling} vereist Aanvraag/GevraagdBedrag"
        ));
    }
    if let (Some(begin), Some(end)) = (&found.begindatum, &found.einddatum) {
        // yyyy-mm-dd (the XSD checks the form) compares as text.
        if end < begin {
            errors.push(format!("Einddatum {end} ligt voor Begindatum {begin}"));
        }
    }
    errors
}

/// What is wrong with the SOAP 1.1 headers, given the operation found in the body.
fn header_errors(
    content_type: Option<&str>,
    soap_action: Option<&str>,
    operation: Option<&str>,
) -> Vec<String> {
    let mut errors = soap_kit::content_type_errors(content_type);
    let expected = match operation {
        Some(DIEN_AANVRAAG_IN) => Some(SOAP_ACTION_DIEN_AANVRAAG_IN),
        Some(GEEF_DOSSIER_STATUS) => Some(SOAP_ACTION_GEEF_DOSSIER_STATUS),
        _ => None,
    };
    match (soap_action.map(|a| a.trim().trim_matches('"')), expected) {
        (None, _) => errors.push("the SOAPAction header is missing".to_owned()),
        (Some(a), Some(e)) if a != e => {
            errors.push(format!(
                "SOAPAction must be \"{e}\" for this request, not {a}"
            ));
        }
        (Some(a), None)
            if a != SOAP_ACTION_DIEN_AANVRAAG_IN && a != SOAP_ACTION_GEEF_DOSSIER_STATUS =>
        {
            errors.push(format!("unknown SOAPAction {a}"));
        }
        _ => {}
    }
    errors
}

// ---------------------------------------------------------------------------------------------
// Writing answers

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

fn dossier_xml(request: &Inspected, d: &Dossier) -> String {
    let (element, echo) = match request.operation.as_deref() {
        Some(DIEN_AANVRAAG_IN) => (
            "DienAanvraagInResponse",
            format!(
                "<AanvraagId>{}</AanvraagId>",
                escape(request.application_id.as_deref().unwrap_or_default())
            ),
        ),
        _ => ("GeefDossierStatusResponse", String::new()),
    };
    let mut x = format!(
        "<kiosk:{element} xmlns:kiosk=\"{KIOSK_NS}\">{echo}<Dossiernummer>{}</Dossiernummer>\
         <Status>{}</Status>",
        escape(&d.dossiernummer),
        d.status.as_str()
    );
    if let Some(m) = &d.motivering {
        x.push_str(&format!("<Motivering>{}</Motivering>", escape(m)));
    }
    if let Some(b) = &d.toegekend_bedrag {
        x.push_str(&format!("<ToegekendBedrag>{}</ToegekendBedrag>", escape(b)));
    }
    x.push_str(&format!(
        "<Tijdstip>{}</Tijdstip></kiosk:{element}>",
        rfc3339(d.tijdstip)
    ));
    envelope(&x)
}

fn fault_xml(faultcode: &str, code: &str, faultstring: &str) -> String {
    let detail = format!(
        "<detail><kiosk:Fout xmlns:kiosk=\"{KIOSK_NS}\"><Code>{}</Code><Omschrijving>{}\
         </Omschrijving></kiosk:Fout></detail>",
        escape(code),
        escape(faultstring),
    );
    envelope(&soap_kit::fault(escape, faultcode, faultstring, &detail))
}

/// The answer's body and its Content-Type.
fn render(request: &Inspected, answer: &KioskAnswer) -> (String, &'static str) {
    match answer {
        KioskAnswer::Dossier(d) => (dossier_xml(request, d), XML),
        KioskAnswer::Fault {
            faultcode,
            code,
            faultstring,
        } => (fault_xml(faultcode, code, faultstring), XML),
        KioskAnswer::HttpError { status } => (html_error(*status), HTML_CONTENT_TYPE),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

type AppState = Arc<Shared>;

fn router(shared: AppState) -> Router {
    let path = shared.config.path.clone();
    control::control_routes(set_behaviour, list_requests)
        .route(&path, post(receive))
        .route("/_sim/dossiers", get(list_dossiers))
        .with_state(shared)
}

async fn receive(State(shared): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let at = Instant::now();
    let received_at = OffsetDateTime::now_utc();
    let content_type = header_str(&headers, header::CONTENT_TYPE);
    let soap_action = header_str(&headers, "soapaction");
    let (request, semantic_errors) = inspect(&body);
    let mut errors = header_errors(
        content_type.as_deref(),
        soap_action.as_deref(),
        request.operation.as_deref(),
    );
    if request.has_operation {
        errors.extend(shared.validator.validate(body.clone()).await);
    }
    errors.extend(semantic_errors);
    let raw = String::from_utf8_lossy(&body).into_owned();

    let (index, answer, response, content_type_out, delay) = {
        let mut state = shared.state();
        let (answer, duplicate) =
            state.decide(&shared.config, &request, &errors, &raw, at, received_at);
        let (response, content_type_out) = render(&request, &answer);
        let dossiernummer = match &answer {
            KioskAnswer::Dossier(d) => Some(d.dossiernummer.clone()),
            _ => request.dossiernummer.clone(),
        };
        state.requests.push(KioskRequest {
            at,
            received_at,
            operation: request.element.clone(),
            soap_action,
            content_type,
            body: raw,
            valid: errors.is_empty(),
            errors,
            application_id: request.application_id.clone(),
            regeling: request.regeling.clone(),
            dossiernummer,
            duplicate,
            answer: answer.clone(),
            response: response.clone(),
            completed: false,
        });
        let delay = Duration::from_millis(state.behaviour.delay_ms);
        (
            state.requests.len() - 1,
            answer,
            response,
            content_type_out,
            delay,
        )
    };
    crate::control::pause(delay).await;
    if let Some(r) = shared.state().requests.get_mut(index) {
        r.completed = true;
    }
    soap_kit::answer(answer.http_status(), content_type_out, response)
}

/// `POST /_sim/behaviour`: every member optional; `reset` (alias `clear`) is applied first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourRequest {
    #[serde(default, alias = "clear")]
    reset: bool,
    fail_next: Option<control::FailNext>,
    down: Option<bool>,
    delay_ms: Option<u64>,
    refuse_when_body_contains: Option<Refusal>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Refusal {
    substring: String,
    motivering: String,
}

async fn set_behaviour(
    State(shared): State<AppState>,
    ControlJson(request): ControlJson<BehaviourRequest>,
) -> Response {
    let mut state = shared.state();
    let b = &mut state.behaviour;
    if request.reset {
        *b = Behaviour::default();
    }
    if let Some(f) = request.fail_next {
        b.fail_next = burst(f.count, error_status(f.status));
    }
    if let Some(down) = request.down {
        b.down = down;
    }
    if let Some(ms) = request.delay_ms {
        b.delay_ms = ms;
    }
    if let Some(r) = request.refuse_when_body_contains {
        b.refusals.push((r.substring, r.motivering));
    }
    Json(b.clone()).into_response()
}

fn dossier_json(d: &Dossier) -> Value {
    json!({
        "dossiernummer": d.dossiernummer,
        "applicationId": d.application_id,
        "regeling": d.regeling,
        "vCode": d.v_code,
        "gevraagdBedrag": d.gevraagd_bedrag,
        "status": d.status,
        "motivering": d.motivering,
        "toegekendBedrag": d.toegekend_bedrag,
        "tijdstip": rfc3339(d.tijdstip),
    })
}

/// `GET /_sim/requests`: what arrived (milliseconds since the simulator started), without
/// bodies.
async fn list_requests(State(shared): State<AppState>) -> Json<Value> {
    control::json_list(&shared.state().requests, |r| {
        json!({
            "msSinceStart": control::ms_since(shared.started, r.at),
            "operation": r.operation,
            "applicationId": r.application_id,
            "regeling": r.regeling,
            "dossiernummer": r.dossiernummer,
            "valid": r.valid,
            "errors": r.errors,
            "duplicate": r.duplicate,
            "httpStatus": r.http_status(),
            "dossierStatus": r.answer.dossier_status(),
            "completed": r.completed,
        })
    })
}

/// `GET /_sim/dossiers`: every dossier as it stands now.
async fn list_dossiers(State(shared): State<AppState>) -> Json<Value> {
    let now = Instant::now();
    let state = shared.state();
    let list: Vec<Value> = state
        .books
        .dossiers
        .iter()
        .map(|d| dossier_json(&d.view(&shared.config, now)))
        .collect();
    Json(Value::Array(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_compare_exactly() {
        assert_eq!(cents("1500.00"), Some(150_000));
        assert_eq!(cents("25000.01"), Some(2_500_001));
        assert_eq!(cents("7.5"), Some(750));
        assert_eq!(cents("7"), Some(700));
        assert_eq!(cents("7.123"), None);
        assert_eq!(euro(2_500_001), "25000.01");
    }

    #[test]
    fn the_soap_action_must_match_the_operation() {
        let ok = header_errors(
            Some("text/xml; charset=utf-8"),
            Some("\"http://verenigingsloket.vlaanderen.be/hub/kiosk/v1/DienAanvraagIn\""),
            Some(DIEN_AANVRAAG_IN),
        );
        assert!(ok.is_empty(), "{ok:?}");
        let crossed = header_errors(
            Some("text/xml"),
            Some(SOAP_ACTION_GEEF_DOSSIER_STATUS),
            Some(DIEN_AANVRAAG_IN),
        );
        assert_eq!(crossed.len(), 1, "{crossed:?}");
        assert_eq!(
            header_errors(Some("application/soap+xml"), None, None).len(),
            2
        );
    }
}
