//! [`InsuranceSim`]: the Steunpunt Vrijwilligerswerk's volunteer-insurance service, speaking the
//! hub's MAGDA-style SOAP contract (`contracts/wsdl/vrijwilligersverzekering-v1.wsdl`):
//! `VraagErkenningAan` (ask for a recognition, decided in the same call) and `GeefErkenning`
//! (a recognition's state).
//!
//! The hub POSTs a SOAP 1.1 envelope to [`InsuranceSim::url`] (by default
//! [`DEFAULT_PATH`]) with `Content-Type: text/xml` and the operation's `SOAPAction`. The
//! simulator works on raw XML only (it depends on neither `contracts` nor an adapter) and
//!
//! - checks every request: Content-Type, a SOAP 1.1 `Envelope` whose `Body` carries
//!   `Id="Body"`, the Body's first element against the XSD
//!   (`contracts/xsd/vrijwilligersverzekering-v1.xsd` unless [`InsuranceSimConfig::xsd`] says
//!   otherwise; libxml2 on a dedicated thread), and what the XSD documents but cannot express:
//!   the element is a request operation, `SOAPAction` and `Context/Naam` name it, and
//!   `Vraag/Referte` = `Afzender/Referte`. A request failing any check is recorded as invalid
//!   and answered with an HTTP 500 SOAP fault `soapenv:Client` listing the errors;
//! - decides `VraagErkenningAan` as the Steunpunt would, refusing with one `Uitzondering` of
//!   type `FOUT` per reason: [`CODE_BETAALD_PERSONEEL`] (`BetaaldPersoneel` true),
//!   [`CODE_ZETEL`] (the seat's postcode is not in Brussels, 1000–1299, or Flanders, 1500–3999
//!   and 8000–9999; no postcode; or a country other than Belgium), [`CODE_VERENIGINGSTYPE`]
//!   (`Verenigingstype` not FV, VZER or VZW, or absent); otherwise it grants an erkenningsnummer
//!   `VV-<year>-<5 digits>` (serial per simulator), valid from today, with a `WAARSCHUWING`
//!   [`CODE_UREN`] when more than [`FREE_HOURS`] hours are estimated. An organisation (VCode)
//!   with an active recognition gets that one again, with a `WAARSCHUWING` [`CODE_AL_ERKEND`];
//! - is idempotent per `Referte`: a repeated `Referte` gets the same answer (the same
//!   erkenning in its current state, or the same refusal) and is recorded as a duplicate;
//! - answers `GeefErkenning` with the recognition (`ACTIEF`, or `INGETROKKEN` after
//!   [`InsuranceSim::withdraw`]) or a `FOUT` [`CODE_ONBEKEND`];
//! - answers a decision only after [`InsuranceSimConfig::decision_delay`] (default 200 ms; the
//!   decision is taken and recorded on arrival, so a client that gives up and asks again with
//!   the same `Referte` gets the same answer);
//! - can be told to throttle (fault `99995`), to fail with an HTTP status, or to be down
//!   (HTTP 503 to everything), in that order of precedence: down, `fail_next`, throttling,
//!   validity.
//!
//! The behaviour can also be set over HTTP with `POST /_sim/behaviour` (JSON, every member
//! optional, `reset` applied first):
//!
//! ```text
//! {"reset": true}
//! {"throttle_next": 2}
//! {"fail_next": {"count": 3, "status": 503}}
//! {"down": true}
//! {"delay_ms": 2000}
//! ```
//!
//! `GET /_sim/behaviour` shows it, `GET /_sim/requests` what arrived (without bodies),
//! `GET /_sim/recognitions` the recognitions granted, and
//! `POST /_sim/withdraw {"erkenningsnummer": "VV-2026-00001", "reden": "…"}` withdraws one.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use partner_sims::insurance::{InsuranceSim, InsuranceSimConfig};
//! let sim = InsuranceSim::start(InsuranceSimConfig::default(), "127.0.0.1:0").await?;
//! sim.throttle_next(1);                    // the next call gets the 99995 fault
//! // ... point the hub's insurance adapter at sim.url() ...
//! let granted = sim.recognitions();
//! sim.shutdown();
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::control::{self, burst, error_status, header_str, millis, take_one, ControlJson};
use crate::server::{Recorded, SimHandle, Simulator};
use crate::soap_kit::{
    self, child, escape, html_error, text, HTML_CONTENT_TYPE, XML_CONTENT_TYPE as XML,
};
use crate::xsd::XsdValidator;

/// The SOAP 1.1 envelope namespace.
pub use crate::xsd::SOAP11_NS;
/// The service's namespace (of its operation elements).
pub const VRIJWILLIGERSVERZEKERING_NS: &str =
    "http://verenigingsloket.vlaanderen.be/hub/vrijwilligersverzekering/v1";
/// `SOAPAction` of `VraagErkenningAan` (in the header it is quoted).
pub const SOAP_ACTION_VRAAG_ERKENNING_AAN: &str =
    "http://verenigingsloket.vlaanderen.be/hub/vrijwilligersverzekering/v1/VraagErkenningAan";
/// `SOAPAction` of `GeefErkenning`.
pub const SOAP_ACTION_GEEF_ERKENNING: &str =
    "http://verenigingsloket.vlaanderen.be/hub/vrijwilligersverzekering/v1/GeefErkenning";
/// The request operation asking for a recognition.
pub const VRAAG_ERKENNING_AAN: &str = "VraagErkenningAan";
/// The request operation consulting a recognition.
pub const GEEF_ERKENNING: &str = "GeefErkenning";
/// Where the simulator serves the SOAP endpoint unless configured otherwise.
pub const DEFAULT_PATH: &str = "/Vrijwilligersverzekering-01.00/soap/WebService";
/// The service's identity unless configured otherwise.
pub const DEFAULT_IDENTITY: &str = "vrijwilligersverzekering.vlaanderen.be";
/// `faultstring` of the throttling fault (HTTP 500, `faultcode` `soapenv:Server`).
pub const THROTTLE_FAULTSTRING: &str = "99995 - Te veel gelijktijdige bevragingen";
/// Refusal: the organisation has paid staff.
pub const CODE_BETAALD_PERSONEEL: &str = "VV-101";
/// Refusal: the seat is not in the Dutch language area or Brussels (or cannot be placed).
pub const CODE_ZETEL: &str = "VV-102";
/// Refusal: not a feitelijke vereniging or vzw.
pub const CODE_VERENIGINGSTYPE: &str = "VV-103";
/// `GeefErkenning`: unknown erkenningsnummer.
pub const CODE_ONBEKEND: &str = "VV-201";
/// Warning: more hours estimated than the free ones.
pub const CODE_UREN: &str = "VV-301";
/// Warning: the organisation was recognised before; that recognition is answered.
pub const CODE_AL_ERKEND: &str = "VV-302";
/// The free volunteer hours a year the scheme covers.
pub const FREE_HOURS: u64 = 1000;
/// The verenigingstype codes that are eligible: feitelijke vereniging (FV, VZER) and vzw.
pub const ELIGIBLE_TYPES: [&str; 3] = ["FV", "VZER", "VZW"];

/// The checked-in XSD: `contracts/xsd/vrijwilligersverzekering-v1.xsd` of this workspace.
pub fn default_xsd_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/xsd/vrijwilligersverzekering-v1.xsd")
}

/// How an [`InsuranceSim`] starts.
#[derive(Debug, Clone)]
pub struct InsuranceSimConfig {
    /// The service's identity: `Afzender/Identificatie` of answers, `Oorsprong` of its
    /// `Uitzondering`s.
    pub identity: String,
    /// The SOAP endpoint's path.
    pub path: String,
    /// The XSD declaring the operations (loaded once, at start).
    pub xsd: PathBuf,
    /// How long a decision (any `ANTWOORD`) takes; [`InsuranceSim::set_delay`] changes it,
    /// [`InsuranceSim::reset`] brings it back.
    pub decision_delay: Duration,
}

impl Default for InsuranceSimConfig {
    /// Identity [`DEFAULT_IDENTITY`], path [`DEFAULT_PATH`], XSD [`default_xsd_path`],
    /// decision delay 200 ms.
    fn default() -> Self {
        Self {
            identity: DEFAULT_IDENTITY.to_owned(),
            path: DEFAULT_PATH.to_owned(),
            xsd: default_xsd_path(),
            decision_delay: Duration::from_millis(200),
        }
    }
}

impl InsuranceSimConfig {
    /// The defaults with the SOAP endpoint at `path`.
    pub fn with_path(path: &str) -> Self {
        Self {
            path: path.to_owned(),
            ..Self::default()
        }
    }
}

pub use crate::soap_kit::UitzonderingType;

/// One `Uitzondering` the simulator answered (its `Oorsprong` is the identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uitzondering {
    /// `Identificatie`, e.g. [`CODE_BETAALD_PERSONEEL`].
    pub identificatie: String,
    /// `Type`.
    #[serde(rename = "type")]
    pub kind: UitzonderingType,
    /// `Diagnose`.
    pub diagnose: String,
}

impl Uitzondering {
    fn new(code: &str, kind: UitzonderingType, diagnose: impl Into<String>) -> Self {
        Self {
            identificatie: code.to_owned(),
            kind,
            diagnose: diagnose.into(),
        }
    }
}

/// What the simulator answered a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// HTTP 200, `Antwoord/Inhoud/Erkenning` (granted, or found), with warnings.
    Erkenning {
        erkenningsnummer: String,
        uitzonderingen: Vec<Uitzondering>,
    },
    /// HTTP 200, `Antwoord` with `FOUT`s: refused (`VraagErkenningAan`) or unknown
    /// (`GeefErkenning`).
    Fout { uitzonderingen: Vec<Uitzondering> },
    /// HTTP 500 with a SOAP 1.1 fault.
    Fault {
        /// `soapenv:Client` (invalid request) or `soapenv:Server` (throttling).
        faultcode: String,
        faultstring: String,
    },
    /// A plain HTTP error (an HTML body), as a proxy or a down service answers.
    HttpError { status: u16 },
}

impl Answer {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Erkenning { .. } | Self::Fout { .. } => 200,
            Self::Fault { .. } => 500,
            Self::HttpError { status } => *status,
        }
    }

    /// An `ANTWOORD` (an Erkenning or FOUTs): the service decided (or looked up).
    pub fn is_antwoord(&self) -> bool {
        matches!(self, Self::Erkenning { .. } | Self::Fout { .. })
    }

    /// The erkenningsnummer of an `Erkenning` answer.
    pub fn erkenningsnummer(&self) -> Option<&str> {
        match self {
            Self::Erkenning {
                erkenningsnummer, ..
            } => Some(erkenningsnummer),
            _ => None,
        }
    }

    /// The codes of the `Uitzondering`s (FOUTs and warnings), in order.
    pub fn codes(&self) -> Vec<&str> {
        match self {
            Self::Erkenning { uitzonderingen, .. } | Self::Fout { uitzonderingen } => {
                uitzonderingen
                    .iter()
                    .map(|u| u.identificatie.as_str())
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The throttling fault (`99995`).
    pub fn is_throttled(&self) -> bool {
        matches!(self, Self::Fault { faultstring, .. } if faultstring == THROTTLE_FAULTSTRING)
    }
}

/// What a `VraagErkenningAan` declared, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Aanvraag {
    /// `Organisatie/VCode`.
    pub v_code: Option<String>,
    /// `Organisatie/Naam`.
    pub naam: Option<String>,
    /// `Organisatie/Verenigingstype`.
    pub verenigingstype: Option<String>,
    /// `Organisatie/Ondernemingsnummer`.
    pub ondernemingsnummer: Option<String>,
    /// `Organisatie/Adres/Soort`.
    pub adres_soort: Option<String>,
    /// `Organisatie/Adres/Postcode`.
    pub postcode: Option<String>,
    /// `Organisatie/Adres/Gemeente`.
    pub gemeente: Option<String>,
    /// `Organisatie/Adres/Land`.
    pub land: Option<String>,
    /// `Organisatie/Email`.
    pub email: Option<String>,
    /// `Contactpersoon/Email`.
    pub contact_email: Option<String>,
    /// `Vrijwilligerswerk/AantalVrijwilligers`.
    pub aantal_vrijwilligers: Option<u64>,
    /// `Vrijwilligerswerk/BetaaldPersoneel`.
    pub betaald_personeel: Option<bool>,
    /// `Vrijwilligerswerk/GeschatteUren`.
    pub geschatte_uren: Option<u64>,
}

/// One request to the SOAP endpoint, as the simulator saw it. The extracted fields are read
/// from invalid requests too, as far as they can be found.
#[derive(Debug, Clone)]
pub struct InsuranceRequest {
    /// When it arrived (before validation and the delay).
    pub at: Instant,
    /// The same moment on the wall clock.
    pub time: OffsetDateTime,
    /// The Body's first element's local name: `VraagErkenningAan` or `GeefErkenning` (or
    /// whatever an invalid request carried).
    pub operation: Option<String>,
    /// The `SOAPAction` header, as sent.
    pub soap_action: Option<String>,
    /// The raw body (lossily decoded as UTF-8).
    pub body: String,
    /// Passed every check (headers, envelope, XSD, consistency).
    pub valid: bool,
    /// Why not (empty when valid).
    pub errors: Vec<String>,
    /// `Context/Bericht/Afzender/Referte`, else `Vragen/Vraag/Referte`.
    pub referte: Option<String>,
    /// `Organisatie/VCode` (`VraagErkenningAan`).
    pub v_code: Option<String>,
    /// `Inhoud/Erkenningsnummer` (`GeefErkenning`).
    pub erkenningsnummer: Option<String>,
    /// What a `VraagErkenningAan` declared.
    pub aanvraag: Option<Aanvraag>,
    /// What the simulator answered (decided on arrival).
    pub answer: Answer,
    /// The body of the answer.
    pub response: String,
    /// A `VraagErkenningAan` whose `Referte` was decided before: answered as then.
    pub duplicate: bool,
    /// The answer was handed to the server: false while the delay runs, and for good when
    /// the client gave up first.
    pub completed: bool,
}

impl InsuranceRequest {
    /// A valid `VraagErkenningAan` that got a decision and is not a duplicate.
    pub fn is_submission(&self) -> bool {
        self.valid
            && self.operation.as_deref() == Some(VRAAG_ERKENNING_AAN)
            && self.answer.is_antwoord()
            && !self.duplicate
    }
}

/// `Erkenning/Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecognitionStatus {
    Actief,
    Ingetrokken,
}

impl RecognitionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actief => "ACTIEF",
            Self::Ingetrokken => "INGETROKKEN",
        }
    }
}

/// A recognition the simulator granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recognition {
    /// `VV-<year>-<5 digits>`.
    pub erkenningsnummer: String,
    /// The organisation.
    pub v_code: String,
    /// The `Referte` of the request that got it.
    pub referte: String,
    /// The organisation's `Naam` in that request.
    pub naam: Option<String>,
    /// `yyyy-MM-dd`.
    pub geldig_vanaf: String,
    pub status: RecognitionStatus,
    /// `yyyy-MM-dd`, once withdrawn.
    pub ingetrokken_op: Option<String>,
    /// Why it was withdrawn.
    pub reden: Option<String>,
}

/// The simulator's current behaviour, as `GET /_sim/behaviour` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    /// Every request is answered HTTP 503.
    pub down: bool,
    /// `(count, status)`: the next `count` requests answer a plain HTTP `status`.
    pub fail_next: Option<(u32, u16)>,
    /// The next this many requests get the throttling fault.
    pub throttle_next: u32,
    /// An `ANTWOORD` is sent this long after the request arrived.
    pub delay_ms: u64,
}

/// What the volunteer-insurance simulator keeps behind its lock: the requests, the behaviour
/// and the recognitions.
pub type SimState = Recorded<InsuranceRequest, Behaviour, Recognitions>;

/// The recognitions the volunteer-insurance simulator granted, and its decisions.
#[derive(Default)]
pub struct Recognitions {
    recognitions: Vec<Recognition>,
    /// The decided answer per `Referte` (lower case) of `VraagErkenningAan`.
    decided: HashMap<String, Answer>,
    /// The serial number of the last erkenningsnummer issued.
    serial: u32,
}

impl SimState {
    /// Withdraws a recognition from today; the recognition after, `None` when unknown. The
    /// reason is kept on one line, at most 500 characters (the XSD's `Reden`).
    fn withdraw(&mut self, nummer: &str, reden: &str) -> Option<Recognition> {
        let today = datum(OffsetDateTime::now_utc().date());
        let r = self
            .books
            .recognitions
            .iter_mut()
            .find(|r| r.erkenningsnummer == nummer)?;
        let reden: String = reden
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(500)
            .collect();
        r.status = RecognitionStatus::Ingetrokken;
        r.ingetrokken_op = Some(today);
        r.reden = Some(reden.trim_end().to_owned()).filter(|r| !r.is_empty());
        Some(r.clone())
    }

    /// The answer to a request, and whether it is a duplicate: the infrastructure in front of
    /// the service first (down, an HTTP error burst, throttling), then validity, then the
    /// operation.
    fn decide(&mut self, request: &Inspected, errors: &[String]) -> (Answer, bool) {
        let b = &mut self.behaviour;
        if b.down {
            return (Answer::HttpError { status: 503 }, false);
        }
        if let Some(status) = take_one(&mut b.fail_next) {
            return (Answer::HttpError { status }, false);
        }
        if b.throttle_next > 0 {
            b.throttle_next -= 1;
            return (
                Answer::Fault {
                    faultcode: "soapenv:Server".to_owned(),
                    faultstring: THROTTLE_FAULTSTRING.to_owned(),
                },
                false,
            );
        }
        if !errors.is_empty() {
            return (
                Answer::Fault {
                    faultcode: "soapenv:Client".to_owned(),
                    faultstring: format!("Ongeldig verzoek: {}", errors.join("; ")),
                },
                false,
            );
        }
        match request.operation.as_deref() {
            Some(GEEF_ERKENNING) => (self.look_up(request), false),
            _ => {
                let referte = request.referte().unwrap_or_default().to_ascii_lowercase();
                if let Some(answer) = self.books.decided.get(&referte) {
                    return (answer.clone(), true);
                }
                let answer = self.grant_or_refuse(request);
                self.books.decided.insert(referte, answer.clone());
                (answer, false)
            }
        }
    }

    fn look_up(&self, request: &Inspected) -> Answer {
        let nummer = request.erkenningsnummer.as_deref().unwrap_or_default();
        if self
            .books
            .recognitions
            .iter()
            .any(|r| r.erkenningsnummer == nummer)
        {
            Answer::Erkenning {
                erkenningsnummer: nummer.to_owned(),
                uitzonderingen: Vec::new(),
            }
        } else {
            Answer::Fout {
                uitzonderingen: vec![Uitzondering::new(
                    CODE_ONBEKEND,
                    UitzonderingType::Fout,
                    format!("Onbekend erkenningsnummer {nummer}"),
                )],
            }
        }
    }

    fn grant_or_refuse(&mut self, request: &Inspected) -> Answer {
        let aanvraag = &request.aanvraag;
        let fouten = refusals(aanvraag);
        if !fouten.is_empty() {
            return Answer::Fout {
                uitzonderingen: fouten,
            };
        }
        let v_code = aanvraag.v_code.clone().unwrap_or_default();
        let mut uitzonderingen = Vec::new();
        if let Some(uren) = aanvraag.geschatte_uren.filter(|u| *u > FREE_HOURS) {
            uitzonderingen.push(Uitzondering::new(
                CODE_UREN,
                UitzonderingType::Waarschuwing,
                format!(
                    "Geschat {uren} uren per jaar: de verzekering dekt {FREE_HOURS} uren \
                     vrijwilligerswerk per jaar gratis, de overige uren zijn niet gratis"
                ),
            ));
        }
        if let Some(existing) = self
            .books
            .recognitions
            .iter()
            .find(|r| r.v_code == v_code && r.status == RecognitionStatus::Actief)
        {
            uitzonderingen.push(Uitzondering::new(
                CODE_AL_ERKEND,
                UitzonderingType::Waarschuwing,
                format!(
                    "Organisatie {v_code} is al erkend sinds {} met erkenningsnummer {}",
                    existing.geldig_vanaf, existing.erkenningsnummer
                ),
            ));
            return Answer::Erkenning {
                erkenningsnummer: existing.erkenningsnummer.clone(),
                uitzonderingen,
            };
        }
        self.books.serial += 1;
        let today = OffsetDateTime::now_utc().date();
        let erkenningsnummer = format!("VV-{:04}-{:05}", today.year(), self.books.serial % 100_000);
        self.books.recognitions.push(Recognition {
            erkenningsnummer: erkenningsnummer.clone(),
            v_code,
            referte: request.referte().unwrap_or_default().to_owned(),
            naam: aanvraag.naam.clone(),
            geldig_vanaf: datum(today),
            status: RecognitionStatus::Actief,
            ingetrokken_op: None,
            reden: None,
        });
        Answer::Erkenning {
            erkenningsnummer,
            uitzonderingen,
        }
    }
}

/// Every reason to refuse, in code order.
fn refusals(a: &Aanvraag) -> Vec<Uitzondering> {
    let fout =
        |code: &str, diagnose: String| Uitzondering::new(code, UitzonderingType::Fout, diagnose);
    let mut out = Vec::new();
    if a.betaald_personeel == Some(true) {
        out.push(fout(
            CODE_BETAALD_PERSONEEL,
            "Organisatie met betaald personeel komt niet in aanmerking".to_owned(),
        ));
    }
    if let Err(diagnose) = seat_is_eligible(a.postcode.as_deref(), a.land.as_deref()) {
        out.push(fout(CODE_ZETEL, diagnose));
    }
    match a.verenigingstype.as_deref() {
        Some(t) if ELIGIBLE_TYPES.contains(&t) => {}
        Some(t) => out.push(fout(
            CODE_VERENIGINGSTYPE,
            format!(
                "Verenigingstype {t} komt niet in aanmerking: enkel feitelijke verenigingen \
                 en vzw's"
            ),
        )),
        None => out.push(fout(
            CODE_VERENIGINGSTYPE,
            "Verenigingstype onbekend: enkel feitelijke verenigingen en vzw's komen in \
             aanmerking"
                .to_owned(),
        )),
    }
    out
}

/// Whether the seat lies in the Dutch language area (Flanders: postcodes 1500–3999,
/// 8000–9999) or Brussels (1000–1299); the `Diagnose` when not (Wallonia: 1300–1499,
/// 4000–7999; abroad; unknown).
pub fn seat_is_eligible(postcode: Option<&str>, land: Option<&str>) -> Result<(), String> {
    const BELGIUM: [&str; 6] = ["belgië", "belgie", "belgium", "belgique", "belgien", "be"];
    if let Some(land) = land {
        if !BELGIUM.contains(&land.trim().to_lowercase().as_str()) {
            return Err(format!(
                "Zetel in het buitenland ({land}) ligt buiten het Nederlandse taalgebied en Brussel"
            ));
        }
    }
    let Some(postcode) = postcode else {
        return Err(
            "Geen postcode van de zetel: ligging in het Nederlandse taalgebied of Brussel niet \
             aangetoond"
                .to_owned(),
        );
    };
    let number = Some(postcode.trim())
        .filter(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|p| p.parse::<u16>().ok());
    match number {
        Some(1000..=1299 | 1500..=3999 | 8000..=9999) => Ok(()),
        Some(_) => Err(format!(
            "Zetel met postcode {postcode} ligt buiten het Nederlandse taalgebied en Brussel"
        )),
        None => Err(format!("Postcode {postcode} is geen Belgische postcode")),
    }
}

/// What a running volunteer-insurance simulator shares with its server.
pub struct Shared {
    started: Instant,
    config: InsuranceSimConfig,
    validator: XsdValidator,
    state: Mutex<SimState>,
}

impl Simulator for Shared {
    const NAME: &'static str = "InsuranceSim";
    type State = SimState;
    fn state(&self) -> MutexGuard<'_, SimState> {
        control::lock(&self.state)
    }
}

impl Shared {
    fn default_behaviour(&self) -> Behaviour {
        Behaviour {
            delay_ms: millis(self.config.decision_delay),
            ..Behaviour::default()
        }
    }
}

/// A running volunteer-insurance simulator (see [`SimHandle`] for the methods every simulator
/// has).
pub type InsuranceSim = SimHandle<Shared>;

impl InsuranceSim {
    /// Loads the XSD, binds `addr` (port 0 picks a free port) and serves plain HTTP in a
    /// background task. Fails if the XSD cannot be read or compiled, or the address cannot be
    /// bound.
    pub async fn start(
        config: InsuranceSimConfig,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<Self> {
        let addr = control::resolve(addr).await?;
        let validator = XsdValidator::spawn(&config.xsd, "insurance-xsd").await?;
        let behaviour = Behaviour {
            delay_ms: millis(config.decision_delay),
            ..Behaviour::default()
        };
        let shared = Arc::new(Shared {
            started: Instant::now(),
            config,
            validator,
            state: Mutex::new(SimState::new(behaviour)),
        });
        Self::serve(addr, shared, router).await
    }

    /// The SOAP endpoint: `base_url()` + the configured path.
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url(), self.shared.config.path)
    }

    /// The service's identity (`Afzender/Identificatie` of its answers).
    pub fn identity(&self) -> &str {
        &self.shared.config.identity
    }

    /// The next `count` requests get the throttling fault (HTTP 500, `soapenv:Server`,
    /// [`THROTTLE_FAULTSTRING`]), whatever they carry; 0 ends it.
    pub fn throttle_next(&self, count: u32) {
        self.state().behaviour.throttle_next = count;
    }

    /// The next `count` requests answer a plain HTTP `status` with an HTML body (0 ends a
    /// burst). A `status` that is not an HTTP error status becomes 500.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().behaviour.fail_next = burst(count, error_status(status));
    }

    /// While down, every request is answered HTTP 503 (nothing is decided or recorded as a
    /// submission).
    pub fn set_down(&self, down: bool) {
        self.state().behaviour.down = down;
    }

    /// Answers (`ANTWOORD`s) are sent `delay` after the request arrived (zero: at once).
    pub fn set_delay(&self, delay: Duration) {
        self.state().behaviour.delay_ms = millis(delay);
    }

    /// Back to the configuration: up, no bursts, the configured decision delay. Requests,
    /// recognitions and decided `Referte`s are kept.
    pub fn reset(&self) {
        let behaviour = self.shared.default_behaviour();
        self.state().behaviour = behaviour;
    }

    /// Withdraws a recognition (status `INGETROKKEN` from today, with `reden`); false when
    /// there is no such recognition.
    pub fn withdraw(&self, erkenningsnummer: &str, reden: &str) -> bool {
        self.state().withdraw(erkenningsnummer, reden).is_some()
    }

    /// The recognitions granted, in the order they were granted (in their current state).
    pub fn recognitions(&self) -> Vec<Recognition> {
        self.state().books.recognitions.clone()
    }

    /// The `VraagErkenningAan` requests the service decided ([`InsuranceRequest::is_submission`]):
    /// at most one per `Referte`, in arrival order.
    pub fn submissions(&self) -> Vec<InsuranceRequest> {
        self.requests_where(InsuranceRequest::is_submission)
    }
}

// ---------------------------------------------------------------------------------------------
// Reading requests

/// What the simulator reads from a request (with roxmltree; the XSD check is separate).
#[derive(Debug, Default)]
struct Inspected {
    /// A SOAP 1.1 Envelope with a Body holding an element: worth an XSD check.
    has_operation: bool,
    operation: Option<String>,
    naam: Option<String>,
    versie: Option<String>,
    afzender: Option<String>,
    afzender_referte: Option<String>,
    vraag_referte: Option<String>,
    erkenningsnummer: Option<String>,
    aanvraag: Aanvraag,
}

impl Inspected {
    fn referte(&self) -> Option<&str> {
        self.afzender_referte
            .as_deref()
            .or(self.vraag_referte.as_deref())
    }
}

/// Reads the envelope and the fields; answers what is wrong beyond the XSD.
fn inspect(body: &[u8], soap_action: Option<&str>) -> (Inspected, Vec<String>) {
    let mut found = Inspected::default();
    let doc = match soap_kit::parse(body) {
        Ok(doc) => doc,
        Err(e) => return (found, vec![e]),
    };
    let (soap_body, operation) = match soap_kit::body_and_operation(&doc) {
        Ok(found) => found,
        Err(e) => return (found, vec![e]),
    };
    found.has_operation = true;
    let name = operation.tag_name().name().to_owned();
    found.operation = Some(name.clone());

    let verzoek = child(operation, "Verzoek");
    let context = verzoek.and_then(|v| child(v, "Context"));
    let bericht = context.and_then(|c| child(c, "Bericht"));
    let vraag = verzoek
        .and_then(|v| child(v, "Vragen"))
        .and_then(|v| child(v, "Vraag"));
    let inhoud = vraag.and_then(|v| child(v, "Inhoud"));
    found.naam = text(context, &["Naam"]);
    found.versie = text(context, &["Versie"]);
    found.afzender = text(bericht, &["Afzender", "Identificatie"]);
    found.afzender_referte = text(bericht, &["Afzender", "Referte"]);
    found.vraag_referte = text(vraag, &["Referte"]);
    found.erkenningsnummer = text(inhoud, &["Erkenningsnummer"]);
    let organisatie = inhoud.and_then(|i| child(i, "Organisatie"));
    let number = |t: Option<String>| t.and_then(|t| t.parse::<u64>().ok());
    let flag = |t: Option<String>| match t.as_deref() {
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        _ => None,
    };
    found.aanvraag = Aanvraag {
        v_code: text(organisatie, &["VCode"]),
        naam: text(organisatie, &["Naam"]),
        verenigingstype: text(organisatie, &["Verenigingstype"]),
        ondernemingsnummer: text(organisatie, &["Ondernemingsnummer"]),
        adres_soort: text(organisatie, &["Adres", "Soort"]),
        postcode: text(organisatie, &["Adres", "Postcode"]),
        gemeente: text(organisatie, &["Adres", "Gemeente"]),
        land: text(organisatie, &["Adres", "Land"]),
        email: text(organisatie, &["Email"]),
        contact_email: text(inhoud, &["Contactpersoon", "Email"]),
        aantal_vrijwilligers: number(text(inhoud, &["Vrijwilligerswerk", "AantalVrijwilligers"])),
        betaald_personeel: flag(text(inhoud, &["Vrijwilligerswerk", "BetaaldPersoneel"])),
        geschatte_uren: number(text(inhoud, &["Vrijwilligerswerk", "GeschatteUren"])),
    };

    let mut errors = Vec::new();
    if soap_body.attribute("Id") != Some("Body") {
        errors.push("the SOAP Body does not carry Id=\"Body\"".to_owned());
    }
    let is_ours = operation.tag_name().namespace() == Some(VRIJWILLIGERSVERZEKERING_NS);
    let expected_action = match name.as_str() {
        VRAAG_ERKENNING_AAN if is_ours => Some(SOAP_ACTION_VRAAG_ERKENNING_AAN),
        GEEF_ERKENNING if is_ours => Some(SOAP_ACTION_GEEF_ERKENNING),
        _ => None,
    };
    match expected_action {
        None if is_ours => errors.push(format!("{name} is not a request of this service")),
        None => {}
        Some(expected) => {
            errors.extend(soap_kit::soap_action_error(soap_action, expected));
            if let Some(naam) = found.naam.as_deref().filter(|n| *n != name) {
                errors.push(format!(
                    "Context/Naam {naam} differs from the operation {name}"
                ));
            }
            errors.extend(soap_kit::referte_error(
                found.afzender_referte.as_ref(),
                found.vraag_referte.as_ref(),
            ));
        }
    }
    (found, errors)
}

// ---------------------------------------------------------------------------------------------
// Writing answers

fn datum(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `<Tijdstip>` now (UTC).
fn tijdstip() -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        "<Tijdstip><Datum>{}</Datum><Tijd>{:02}:{:02}:{:02}.{:03}</Tijd></Tijdstip>",
        datum(now.date()),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

fn erkenning_xml(r: &Recognition) -> String {
    let mut x = format!(
        "<Erkenning><Erkenningsnummer>{}</Erkenningsnummer><VCode>{}</VCode>\
         <Status>{}</Status><GeldigVanaf>{}</GeldigVanaf>",
        escape(&r.erkenningsnummer),
        escape(&r.v_code),
        r.status.as_str(),
        escape(&r.geldig_vanaf)
    );
    if let Some(op) = &r.ingetrokken_op {
        x.push_str(&format!("<IngetrokkenOp>{}</IngetrokkenOp>", escape(op)));
    }
    if let Some(reden) = &r.reden {
        x.push_str(&format!("<Reden>{}</Reden>", escape(reden)));
    }
    x.push_str("</Erkenning>");
    x
}

/// The `<Operation>Response` envelope of an `ANTWOORD`.
fn antwoord_xml(
    identity: &str,
    request: &Inspected,
    erkenning: Option<&Recognition>,
    uitzonderingen: &[Uitzondering],
) -> String {
    let operation = request.operation.as_deref().unwrap_or(VRAAG_ERKENNING_AAN);
    let tijdstip = tijdstip();
    let referte = escape(request.referte().unwrap_or_default());
    let mut x = format!(
        "<vv:{operation}Response xmlns:vv=\"{VRIJWILLIGERSVERZEKERING_NS}\"><Repliek><Context>\
         <Naam>{operation}</Naam><Versie>{versie}</Versie>\
         <Bericht><Type>ANTWOORD</Type>{tijdstip}\
         <Afzender><Identificatie>{afzender}</Identificatie><Referte>{eigen}</Referte></Afzender>\
         <Ontvanger><Identificatie>{ontvanger}</Identificatie><Referte>{referte}</Referte></Ontvanger>\
         </Bericht></Context><Antwoorden><Antwoord><Referte>{vraag}</Referte>",
        versie = escape(request.versie.as_deref().unwrap_or("01.00.0000")),
        afzender = escape(identity),
        eigen = uuid::Uuid::new_v4(),
        ontvanger = escape(request.afzender.as_deref().unwrap_or_default()),
        vraag = escape(
            request
                .vraag_referte
                .as_deref()
                .or(request.referte())
                .unwrap_or_default()
        ),
    );
    if let Some(r) = erkenning {
        x.push_str(&format!("<Inhoud>{}</Inhoud>", erkenning_xml(r)));
    }
    if !uitzonderingen.is_empty() {
        x.push_str("<Uitzonderingen>");
        for u in uitzonderingen {
            x.push_str(&format!(
                "<Uitzondering><Identificatie>{}</Identificatie><Oorsprong>{}</Oorsprong>\
                 <Type>{}</Type>{tijdstip}<Diagnose>{}</Diagnose></Uitzondering>",
                escape(&u.identificatie),
                escape(identity),
                u.kind.as_str(),
                escape(&u.diagnose),
            ));
        }
        x.push_str("</Uitzonderingen>");
    }
    x.push_str(&format!(
        "</Antwoord></Antwoorden></Repliek></vv:{operation}Response>"
    ));
    soap_kit::envelope_with_body_id(&x)
}

fn fault_xml(faultcode: &str, faultstring: &str) -> String {
    soap_kit::envelope_without_header(&soap_kit::fault(escape, faultcode, faultstring, ""))
}

/// The answer's body and its Content-Type.
fn render(
    identity: &str,
    request: &Inspected,
    answer: &Answer,
    state: &SimState,
) -> (String, &'static str) {
    match answer {
        Answer::Erkenning {
            erkenningsnummer,
            uitzonderingen,
        } => {
            let recognition = state
                .books
                .recognitions
                .iter()
                .find(|r| &r.erkenningsnummer == erkenningsnummer);
            (
                antwoord_xml(identity, request, recognition, uitzonderingen),
                XML,
            )
        }
        Answer::Fout { uitzonderingen } => {
            (antwoord_xml(identity, request, None, uitzonderingen), XML)
        }
        Answer::Fault {
            faultcode,
            faultstring,
        } => (fault_xml(faultcode, faultstring), XML),
        Answer::HttpError { status } => (html_error(*status), HTML_CONTENT_TYPE),
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

type AppState = Arc<Shared>;

fn router(shared: AppState) -> Router {
    let path = shared.config.path.clone();
    control::control_routes(set_behaviour, list_requests)
        .route(&path, post(receive))
        .route("/_sim/recognitions", get(list_recognitions))
        .route("/_sim/withdraw", post(withdraw))
        .with_state(shared)
}

async fn receive(State(shared): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let at = Instant::now();
    let time = OffsetDateTime::now_utc();
    let content_type = header_str(&headers, header::CONTENT_TYPE);
    let soap_action = header_str(&headers, "soapaction");
    let mut errors = soap_kit::content_type_errors(content_type.as_deref());
    let (request, semantic_errors) = inspect(&body, soap_action.as_deref());
    if request.has_operation {
        errors.extend(shared.validator.validate(body.clone()).await);
    }
    errors.extend(semantic_errors);
    let identity = shared.config.identity.as_str();

    let (index, answer, response, content_type_out, delay) = {
        let mut state = shared.state();
        let (answer, duplicate) = state.decide(&request, &errors);
        let (response, content_type_out) = render(identity, &request, &answer, &state);
        let is_aanvraag = request.operation.as_deref() == Some(VRAAG_ERKENNING_AAN);
        state.requests.push(InsuranceRequest {
            at,
            time,
            operation: request.operation.clone(),
            soap_action,
            body: String::from_utf8_lossy(&body).into_owned(),
            valid: errors.is_empty(),
            errors,
            referte: request.referte().map(str::to_owned),
            v_code: request.aanvraag.v_code.clone(),
            erkenningsnummer: request.erkenningsnummer.clone(),
            aanvraag: is_aanvraag.then(|| request.aanvraag.clone()),
            answer: answer.clone(),
            response: response.clone(),
            duplicate,
            completed: false,
        });
        let delay = if answer.is_antwoord() {
            Duration::from_millis(state.behaviour.delay_ms)
        } else {
            Duration::ZERO
        };
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
    soap_kit::answer(answer.status(), content_type_out, response)
}

/// `POST /_sim/behaviour`: every member optional; `reset` is applied first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourRequest {
    #[serde(default)]
    reset: bool,
    throttle_next: Option<u32>,
    fail_next: Option<control::FailNext>,
    down: Option<bool>,
    delay_ms: Option<u64>,
}

async fn set_behaviour(
    State(shared): State<AppState>,
    ControlJson(request): ControlJson<BehaviourRequest>,
) -> Response {
    let defaults = shared.default_behaviour();
    let mut state = shared.state();
    let b = &mut state.behaviour;
    if request.reset {
        *b = defaults;
    }
    if let Some(n) = request.throttle_next {
        b.throttle_next = n;
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
    Json(b.clone()).into_response()
}

/// `GET /_sim/requests`: what arrived (milliseconds since the simulator started), without
/// bodies.
async fn list_requests(State(shared): State<AppState>) -> Json<Value> {
    control::json_list(&shared.state().requests, |r| {
        json!({
            "msSinceStart": control::ms_since(shared.started, r.at),
            "operation": r.operation,
            "referte": r.referte,
            "vCode": r.v_code,
            "erkenningsnummer": r.erkenningsnummer,
            "aanvraag": r.aanvraag,
            "valid": r.valid,
            "errors": r.errors,
            "answer": r.answer,
            "status": r.answer.status(),
            "duplicate": r.duplicate,
            "completed": r.completed,
        })
    })
}

async fn list_recognitions(State(shared): State<AppState>) -> Json<Vec<Recognition>> {
    Json(shared.state().books.recognitions.clone())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawRequest {
    erkenningsnummer: String,
    #[serde(default)]
    reden: String,
}

/// `POST /_sim/withdraw {"erkenningsnummer": "…", "reden": "…"}`: 200 with the recognition,
/// 404 when unknown.
async fn withdraw(
    State(shared): State<AppState>,
    ControlJson(request): ControlJson<WithdrawRequest>,
) -> Response {
    let withdrawn = shared
        .state()
        .withdraw(&request.erkenningsnummer, &request.reden);
    match withdrawn {
        Some(r) => Json(r).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such recognition"})),
        )
            .into_response(),
    }
}
