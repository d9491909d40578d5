//! [`BackOfficeSim`]: a municipality's legacy back office that receives the hub's publications
//! as MAGDA-style SOAP 1.1 calls (`OntvangPublicatie`), optionally over mutual TLS.
//!
//! The hub POSTs a SOAP envelope to [`BackOfficeSim::url`] (by default
//! `/Publicatie-01.00/soap/WebService`) with `Content-Type: text/xml; charset=utf-8` and
//! `SOAPAction: "…/OntvangPublicatie"`. The simulator
//!
//! - checks the request: Content-Type, SOAPAction, a SOAP 1.1 `Envelope` with a `Body`, and the
//!   Body's first element (`pub:OntvangPublicatie`) against the publication XSD
//!   (`contracts/xsd/publicatie-v1.xsd` unless [`BackOfficeSimConfig::xsd`] says otherwise,
//!   loaded once, validated with libxml2 on a dedicated thread), plus what the XSD documents
//!   but cannot express: `Body Id="Body"`, `Vraag/Referte = Afzender/Referte`, which elements
//!   each `Soort` carries, `vereniging/vCode = VCode`. A request failing any of these is recorded as invalid and answered with an HTTP 500 SOAP fault
//!   `soapenv:Client` listing the errors (the hub must treat it as permanent);
//! - records every request ([`RecordedSoapRequest`]: arrival time, headers, raw body, the
//!   verdict, the fields `Referte`, `Soort`, `VCode`, `Sequentie`, `Gebied`, … and the answer);
//! - answers a `pub:OntvangPublicatieResponse` (`Repliek/Context/Bericht/Type = ANTWOORD`, the
//!   request's `Referte` echoed, `Antwoord/Inhoud/Ontvangen = true`) unless told otherwise:
//!   an `Uitzondering` of type `FOUT` ([`BackOfficeSim::fout_next`],
//!   [`BackOfficeSim::fout_when_body_contains`]) or `WAARSCHUWING`
//!   ([`BackOfficeSim::warn_next`]), the MAGDA throttling fault `99995`
//!   ([`BackOfficeSim::throttle_next`], [`BackOfficeSim::set_max_concurrent`]), a plain HTTP
//!   error ([`BackOfficeSim::fail_next`]) or a slow answer ([`BackOfficeSim::set_delay`]);
//! - deduplicates: a request whose `Referte` was accepted before is answered `ANTWOORD` with a
//!   `WAARSCHUWING` [`DUPLICATE_CODE`] and recorded as a duplicate, not as a new acceptance.
//!
//! The behaviours can also be set over HTTP with `POST /_sim/behaviour` (JSON, every member
//! optional, `reset` applied first):
//!
//! ```text
//! {"reset": true}
//! {"fail_next": {"count": 3, "status": 503}}
//! {"throttle_next": 2}
//! {"max_concurrent": 4}                       (0: no limit)
//! {"fout_next": {"count": 1, "code": "30001", "diagnose": "Onbekende vereniging"}}
//! {"fout_when_body_contains": {"substring": "V0001001", "code": "30002", "diagnose": "…"}}
//! {"warn_next": {"count": 1, "code": "40144", "diagnose": "…"}}
//! {"delay_ms": 2000}
//! ```
//!
//! `GET /_sim/behaviour` shows the behaviour, `GET /_sim/requests` what arrived (without bodies).
//!
//! With [`BackOfficeSim::start_tls`] the simulator serves HTTPS and requires a client certificate
//! issued by [`ServerTls::client_ca_pem`] (mutual TLS, as MAGDA does); the client certificate's
//! subject CN is recorded per request. [`test_pki`] makes a throw-away CA with a server
//! certificate for `localhost`/`127.0.0.1` and a client certificate.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use partner_sims::backoffice::{test_pki, BackOfficeSim, BackOfficeSimConfig};
//! let pki = test_pki();
//! let sim = BackOfficeSim::start_tls(BackOfficeSimConfig::default(), "127.0.0.1:0", pki.server_tls()).await?;
//! sim.throttle_next(2);                  // the next two calls get the 99995 fault
//! // ... point the hub at sim.url(), trusting pki.ca_pem, with pki.client_identity_pem() ...
//! let received = sim.accepted();         // valid, answered ANTWOORD without FOUT, not duplicates
//! sim.shutdown();
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::control::{
    self, burst, error_status, header_str, take_one, ControlJson, InFlightCounter,
};
use crate::server::{Recorded, SimHandle, Simulator};
use crate::soap_kit::{
    self, child, envelope, escape, html_error, path, text, texts, XmlNode, HTML_CONTENT_TYPE,
    XML_CONTENT_TYPE as XML,
};
use crate::xsd::XsdValidator;

/// The SOAP 1.1 envelope namespace.
pub use crate::xsd::SOAP11_NS;
/// The publication service's namespace (of `OntvangPublicatie` and its response).
pub const PUBLICATIE_NS: &str = "http://verenigingsloket.vlaanderen.be/hub/publicatie/v1";
/// The SOAPAction the hub sends (in the header it is quoted).
pub const SOAP_ACTION: &str =
    "http://verenigingsloket.vlaanderen.be/hub/publicatie/v1/OntvangPublicatie";
/// The operation: `Context/Naam` of request and reply.
pub const OPERATION: &str = "OntvangPublicatie";
/// Where the simulator serves the SOAP endpoint unless configured otherwise.
pub const DEFAULT_PATH: &str = "/Publicatie-01.00/soap/WebService";
/// The back office's identity unless configured otherwise (the `Ontvanger` in the examples).
pub const DEFAULT_IDENTITY: &str = "OVO002067";
/// `faultstring` of the throttling fault (HTTP 500, `faultcode` `soapenv:Server`).
pub const THROTTLE_FAULTSTRING: &str = "99995 - Te veel gelijktijdige bevragingen";
/// `Uitzondering/Identificatie` (type `WAARSCHUWING`) of the answer to an already received
/// `Referte`.
pub const DUPLICATE_CODE: &str = "40143";

/// The checked-in publication XSD: `contracts/xsd/publicatie-v1.xsd` of this workspace.
pub fn default_xsd_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/xsd/publicatie-v1.xsd")
}

/// How a [`BackOfficeSim`] starts.
#[derive(Debug, Clone)]
pub struct BackOfficeSimConfig {
    /// The back office's identity: `Afzender/Identificatie` of replies and `Oorsprong` of its
    /// `Uitzondering`s.
    pub identity: String,
    /// The SOAP endpoint's path.
    pub path: String,
    /// The XSD that declares `OntvangPublicatie` (loaded once, at start).
    pub xsd: PathBuf,
    /// The SOAPAction a request must carry (quoted or not).
    pub soap_action: String,
}

impl Default for BackOfficeSimConfig {
    /// Identity [`DEFAULT_IDENTITY`], path [`DEFAULT_PATH`], XSD [`default_xsd_path`],
    /// SOAPAction [`SOAP_ACTION`].
    fn default() -> Self {
        Self {
            identity: DEFAULT_IDENTITY.to_owned(),
            path: DEFAULT_PATH.to_owned(),
            xsd: default_xsd_path(),
            soap_action: SOAP_ACTION.to_owned(),
        }
    }
}

impl BackOfficeSimConfig {
    /// The defaults with another identity.
    pub fn with_identity(identity: &str) -> Self {
        Self {
            identity: identity.to_owned(),
            ..Self::default()
        }
    }
}

pub use crate::soap_kit::UitzonderingType;

/// One `Antwoord/Uitzonderingen/Uitzondering` the simulator answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uitzondering {
    /// `Identificatie`: the code, e.g. `30001`.
    pub identificatie: String,
    /// `Oorsprong`: the back office's identity.
    pub oorsprong: String,
    /// `Type`.
    #[serde(rename = "type")]
    pub kind: UitzonderingType,
    /// `Diagnose`: a human-readable text.
    pub diagnose: String,
}

/// What the simulator answered a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// HTTP 200 with an `OntvangPublicatieResponse` (`Bericht/Type = ANTWOORD`).
    Antwoord {
        /// The `Uitzondering`s in the `Antwoord` (none: a plain acceptance).
        uitzonderingen: Vec<Uitzondering>,
    },
    /// HTTP 500 with a SOAP 1.1 fault.
    Fault {
        /// `soapenv:Client` (invalid request) or `soapenv:Server` (throttling).
        faultcode: String,
        /// E.g. [`THROTTLE_FAULTSTRING`], or the validation errors.
        faultstring: String,
    },
    /// A plain HTTP error (an HTML body), as a proxy or a down server answers.
    HttpError {
        /// The status.
        status: u16,
    },
}

impl Answer {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Antwoord { .. } => 200,
            Self::Fault { .. } => 500,
            Self::HttpError { status } => *status,
        }
    }

    /// An `ANTWOORD` without an `Uitzondering` of type `FOUT` (warnings allowed).
    pub fn is_accepted(&self) -> bool {
        match self {
            Self::Antwoord { uitzonderingen } => uitzonderingen
                .iter()
                .all(|u| u.kind != UitzonderingType::Fout),
            _ => false,
        }
    }

    /// An `ANTWOORD` with an `Uitzondering` of type `FOUT`.
    pub fn is_fout(&self) -> bool {
        matches!(self, Self::Antwoord { uitzonderingen }
            if uitzonderingen.iter().any(|u| u.kind == UitzonderingType::Fout))
    }

    /// The throttling fault (`99995`).
    pub fn is_throttled(&self) -> bool {
        matches!(self, Self::Fault { faultstring, .. } if faultstring == THROTTLE_FAULTSTRING)
    }

    /// The `Uitzondering`s of an `ANTWOORD` (empty for faults and HTTP errors).
    pub fn uitzonderingen(&self) -> &[Uitzondering] {
        match self {
            Self::Antwoord { uitzonderingen } => uitzonderingen,
            _ => &[],
        }
    }
}

/// One request to the SOAP endpoint, as the simulator saw it. The extracted fields are read
/// from invalid requests too, as far as they can be found.
#[derive(Debug, Clone)]
pub struct RecordedSoapRequest {
    /// When the request arrived (before validation and any delay).
    pub at: Instant,
    /// The `SOAPAction` header, as sent (with its quotes).
    pub soap_action: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// Subject CN of the client certificate (mutual TLS only).
    pub client_cn: Option<String>,
    /// The raw body (lossily decoded as UTF-8).
    pub body: String,
    /// Passed every check (headers, envelope, XSD, consistency).
    pub valid: bool,
    /// Why not (empty when valid).
    pub errors: Vec<String>,
    /// `Context/Bericht/Afzender/Referte`, else `Vragen/Vraag/Referte`.
    pub referte: Option<String>,
    /// `Context/Bericht/Afzender/Identificatie`.
    pub afzender: Option<String>,
    /// `Context/Bericht/Ontvanger/Identificatie`.
    pub ontvanger: Option<String>,
    /// `Publicatie/Soort`: `GEWIJZIGD`, `VERWIJDERD`, `BINNEN_GEBIED`, `BUITEN_GEBIED`.
    pub soort: Option<String>,
    /// `Publicatie/CorrelatieId`.
    pub correlatie_id: Option<String>,
    /// `Publicatie/VCode`.
    pub v_code: Option<String>,
    /// `Publicatie/Sequentie` (None when absent or not a number).
    pub sequentie: Option<u64>,
    /// `Publicatie/Versie` (None when absent or not a number).
    pub versie: Option<u64>,
    /// `Publicatie/Gebied`.
    pub gebied: Option<String>,
    /// `Publicatie/GewijzigdeDelen/Deel`.
    pub gewijzigde_delen: Vec<String>,
    /// `Publicatie/Achtergehouden/Veld`.
    pub achtergehouden: Vec<String>,
    /// What the simulator answers (decided on arrival, after validation).
    pub answer: Answer,
    /// The body of the answer.
    pub response: String,
    /// Its `Referte` had been accepted before: answered with a [`DUPLICATE_CODE`] warning.
    pub duplicate: bool,
    /// The answer was handed to the server: false while a delay is running, and for good when
    /// the client gave up (closed the connection) before the delay was over.
    pub completed: bool,
}

impl RecordedSoapRequest {
    /// Valid, answered `ANTWOORD` without `FOUT`, not a duplicate and not given up by the
    /// client: the back office processed it.
    pub fn is_accepted(&self) -> bool {
        self.valid && self.answer.is_accepted() && !self.duplicate && self.completed
    }
}

/// The `Identificatie` (code) and `Diagnose` of an `Uitzondering` to answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UitzonderingRule {
    /// `Identificatie`.
    pub code: String,
    /// `Diagnose`.
    pub diagnose: String,
}

impl UitzonderingRule {
    fn new(code: &str, diagnose: &str) -> Self {
        Self {
            code: code.to_owned(),
            diagnose: diagnose.to_owned(),
        }
    }
}

/// The simulator's current behaviour, as `GET /_sim/behaviour` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Behaviour {
    /// `(count, status)`: the next `count` requests answer a plain HTTP `status`.
    pub fail_next: Option<(u32, u16)>,
    /// The next this many requests get the throttling fault.
    pub throttle_next: u32,
    /// Requests arriving while this many are being handled get the throttling fault.
    pub max_concurrent: Option<usize>,
    /// The next `count` valid requests are answered with an `Uitzondering` `FOUT`.
    pub fout_next: Option<(u32, UitzonderingRule)>,
    /// Every valid request whose raw body contains the substring is answered with a `FOUT`.
    pub fout_bodies: Vec<(String, UitzonderingRule)>,
    /// The next `count` valid requests are accepted with an `Uitzondering` `WAARSCHUWING`.
    pub warn_next: Option<(u32, UitzonderingRule)>,
    /// Every request is answered only after this long.
    pub delay_ms: u64,
}

/// What the back-office simulator keeps behind its lock: the requests, the behaviour and (its
/// books) the `Referte`s accepted so far (answered and not given up by the client).
pub type BackOfficeState = Recorded<RecordedSoapRequest, Behaviour, HashSet<String>>;

impl BackOfficeState {
    /// The answer to a request, and whether it is a duplicate. Infrastructure in front of the
    /// service first (an HTTP error burst, throttling), then validity, deduplication, and the
    /// business rules.
    fn decide(
        &mut self,
        identity: &str,
        request: &Inspected,
        errors: &[String],
        raw: &str,
        in_flight: usize,
    ) -> (Answer, bool) {
        let b = &mut self.behaviour;
        if let Some(status) = take_one(&mut b.fail_next) {
            return (Answer::HttpError { status }, false);
        }
        let throttled = if b.throttle_next > 0 {
            b.throttle_next -= 1;
            true
        } else {
            b.max_concurrent.is_some_and(|max| in_flight > max)
        };
        if throttled {
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
        let uitzondering = |kind, rule: UitzonderingRule| Uitzondering {
            identificatie: rule.code,
            oorsprong: identity.to_owned(),
            kind,
            diagnose: rule.diagnose,
        };
        if let Some(referte) = request.referte().filter(|r| self.books.contains(*r)) {
            let rule = UitzonderingRule {
                code: DUPLICATE_CODE.to_owned(),
                diagnose: format!("Publicatie met referte {referte} werd al ontvangen"),
            };
            let uitzonderingen = vec![uitzondering(UitzonderingType::Waarschuwing, rule)];
            return (Answer::Antwoord { uitzonderingen }, true);
        }
        let b = &mut self.behaviour;
        let fout = take_one(&mut b.fout_next).or_else(|| {
            b.fout_bodies
                .iter()
                .find(|(s, _)| raw.contains(s.as_str()))
                .map(|(_, rule)| rule.clone())
        });
        let uitzonderingen = if let Some(rule) = fout {
            vec![uitzondering(UitzonderingType::Fout, rule)]
        } else if let Some(rule) = take_one(&mut b.warn_next) {
            vec![uitzondering(UitzonderingType::Waarschuwing, rule)]
        } else {
            Vec::new()
        };
        (Answer::Antwoord { uitzonderingen }, false)
    }
}

/// What a running back-office simulator shares with its server.
pub struct Shared {
    started: Instant,
    config: BackOfficeSimConfig,
    validator: XsdValidator,
    state: Mutex<BackOfficeState>,
    in_flight: InFlightCounter,
    rejected_handshakes: AtomicUsize,
    /// Serving HTTPS (mutual TLS).
    tls: bool,
}

impl Simulator for Shared {
    const NAME: &'static str = "BackOfficeSim";
    type State = BackOfficeState;
    fn state(&self) -> MutexGuard<'_, BackOfficeState> {
        control::lock(&self.state)
    }
    fn tls(&self) -> Option<bool> {
        Some(self.tls)
    }
}

/// A running back-office simulator (see [`SimHandle`] for the methods every simulator has).
pub type BackOfficeSim = SimHandle<Shared>;

impl BackOfficeSim {
    /// Loads the XSD, binds `addr` (port 0 picks a free port) and serves plain HTTP in a
    /// background task. Fails if the XSD cannot be read or compiled, or the address cannot be
    /// bound.
    pub async fn start(
        config: BackOfficeSimConfig,
        addr: impl tokio::net::ToSocketAddrs,
    ) -> std::io::Result<Self> {
        let addr = control::resolve(addr).await?;
        let shared = Self::shared(config, false).await?;
        Self::serve(addr, shared, router).await
    }

    /// Like [`BackOfficeSim::start`] but serves HTTPS with `tls.certificate_pem` and refuses
    /// every client that does not present a certificate issued by `tls.client_ca_pem` (the
    /// TLS handshake fails). Fails as well if the PEM texts do not hold what they should.
    pub async fn start_tls(
        config: BackOfficeSimConfig,
        addr: impl tokio::net::ToSocketAddrs,
        tls: ServerTls,
    ) -> std::io::Result<Self> {
        let addr = control::resolve(addr).await?;
        let tls_config = tls.rustls_config()?;
        let shared = Self::shared(config, true).await?;
        let server = TlsServer::start(addr, tls_config, shared.clone()).await?;
        Ok(Self::new(shared, server))
    }

    async fn shared(config: BackOfficeSimConfig, tls: bool) -> std::io::Result<Arc<Shared>> {
        let validator = XsdValidator::spawn(&config.xsd, "backoffice-xsd").await?;
        Ok(Arc::new(Shared {
            started: Instant::now(),
            config,
            validator,
            state: Mutex::new(BackOfficeState::default()),
            in_flight: InFlightCounter::default(),
            rejected_handshakes: AtomicUsize::new(0),
            tls,
        }))
    }

    /// Serving HTTPS (mutual TLS).
    pub fn is_tls(&self) -> bool {
        self.shared.tls
    }

    /// The SOAP endpoint: `base_url()` + the configured path, e.g.
    /// `http://127.0.0.1:41234/Publicatie-01.00/soap/WebService`.
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url(), self.shared.config.path)
    }

    /// The back office's identity (`Afzender/Identificatie` of its replies).
    pub fn identity(&self) -> &str {
        &self.shared.config.identity
    }

    /// The next `count` requests answer a plain HTTP `status` with an HTML body, whatever they
    /// carry (0 ends a burst). A `status` that is not an HTTP error status becomes 500.
    pub fn fail_next(&self, count: u32, status: u16) {
        self.state().behaviour.fail_next = burst(count, error_status(status));
    }

    /// The next `count` requests, whatever they carry, are answered with the throttling fault
    /// (HTTP 500, `soapenv:Server`, [`THROTTLE_FAULTSTRING`]); 0 ends it.
    pub fn throttle_next(&self, count: u32) {
        self.state().behaviour.throttle_next = count;
    }

    /// A request arriving while `max` requests are already being handled gets the throttling
    /// fault (MAGDA's limit on simultaneous calls); `None` (or `Some(0)`) lifts the limit.
    pub fn set_max_concurrent(&self, max: Option<usize>) {
        self.state().behaviour.max_concurrent = max.filter(|m| *m > 0);
    }

    /// The next `count` valid (and not duplicate) requests are answered `ANTWOORD` with an
    /// `Uitzondering` of type `FOUT` (`code`, `diagnose`): a business error, not processed.
    pub fn fout_next(&self, count: u32, code: &str, diagnose: &str) {
        self.state().behaviour.fout_next = burst(count, UitzonderingRule::new(code, diagnose));
    }

    /// Every valid (and not duplicate) request whose raw body contains `substring` (e.g. a
    /// vCode) is answered with a `FOUT` until [`Self::reset`]: a poison message.
    pub fn fout_when_body_contains(&self, substring: &str, code: &str, diagnose: &str) {
        self.state()
            .behaviour
            .fout_bodies
            .push((substring.to_owned(), UitzonderingRule::new(code, diagnose)));
    }

    /// The next `count` valid requests that would be accepted plainly are accepted with an
    /// `Uitzondering` of type `WAARSCHUWING`.
    pub fn warn_next(&self, count: u32, code: &str, diagnose: &str) {
        self.state().behaviour.warn_next = burst(count, UitzonderingRule::new(code, diagnose));
    }

    /// Every request is answered only after `delay` (zero: at once).
    pub fn set_delay(&self, delay: Duration) {
        self.state().behaviour.delay_ms = control::millis(delay);
    }

    /// Back to accepting everything valid at once: ends the bursts, forgets the rules, the
    /// limit and the delay. The recorded requests and the received `Referte`s are kept.
    pub fn reset(&self) {
        self.state().behaviour = Behaviour::default();
    }

    /// The requests the back office processed ([`RecordedSoapRequest::is_accepted`]), in
    /// arrival order: at most one per `Referte`.
    pub fn accepted(&self) -> Vec<RecordedSoapRequest> {
        self.requests_where(RecordedSoapRequest::is_accepted)
    }

    /// The requests answered as duplicates of an accepted `Referte`, in arrival order.
    pub fn duplicates(&self) -> Vec<RecordedSoapRequest> {
        self.requests_where(|r| r.duplicate)
    }

    /// The requests that failed validation, in arrival order.
    pub fn invalid(&self) -> Vec<RecordedSoapRequest> {
        self.requests_where(|r| !r.valid)
    }

    /// Arrival times of every request with this `Referte`, whatever it was answered.
    pub fn attempts(&self, referte: &str) -> Vec<Instant> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.referte.as_deref() == Some(referte))
            .map(|r| r.at)
            .collect()
    }

    /// The largest number of requests to the SOAP endpoint handled at once so far.
    pub fn max_in_flight(&self) -> usize {
        self.shared.in_flight.max()
    }

    /// Requests to the SOAP endpoint being handled right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.current()
    }

    /// TLS handshakes that failed (e.g. a client without an acceptable certificate).
    pub fn rejected_handshakes(&self) -> usize {
        self.shared.rejected_handshakes.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests were accepted; false after `timeout`.
    pub async fn wait_for_accepted(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| {
            s.requests.iter().filter(|r| r.is_accepted()).count() >= n
        })
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
    versie: Option<String>,
    afzender: Option<String>,
    afzender_referte: Option<String>,
    ontvanger: Option<String>,
    vraag_referte: Option<String>,
    soort: Option<String>,
    correlatie_id: Option<String>,
    v_code: Option<String>,
    sequentie: Option<String>,
    publicatie_versie: Option<String>,
    gebied: Option<String>,
    gewijzigde_delen: Vec<String>,
    achtergehouden: Vec<String>,
}

impl Inspected {
    fn referte(&self) -> Option<&str> {
        self.afzender_referte
            .as_deref()
            .or(self.vraag_referte.as_deref())
    }
}

/// Reads the envelope and the fields; answers what is wrong beyond the XSD.
fn inspect(body: &[u8]) -> (Inspected, Vec<String>) {
    let mut found = Inspected::default();
    let doc = match soap_kit::parse(body) {
        Ok(doc) => doc,
        Err(e) => return (found, vec![e]),
    };
    let (body, operation) = match soap_kit::body_and_operation(&doc) {
        Ok(found) => found,
        Err(e) => return (found, vec![e]),
    };
    found.has_operation = true;

    let verzoek = child(operation, "Verzoek");
    let context = verzoek.and_then(|v| child(v, "Context"));
    let bericht = context.and_then(|c| child(c, "Bericht"));
    let vraag = verzoek.and_then(|v| path(v, &["Vragen", "Vraag"]));
    let publicatie = vraag.and_then(|v| path(v, &["Inhoud", "Publicatie"]));
    found.versie = text(context, &["Versie"]);
    found.afzender = text(bericht, &["Afzender", "Identificatie"]);
    found.afzender_referte = text(bericht, &["Afzender", "Referte"]);
    found.ontvanger = text(bericht, &["Ontvanger", "Identificatie"]);
    found.vraag_referte = text(vraag, &["Referte"]);
    found.soort = text(publicatie, &["Soort"]);
    found.correlatie_id = text(publicatie, &["CorrelatieId"]);
    found.v_code = text(publicatie, &["VCode"]);
    found.sequentie = text(publicatie, &["Sequentie"]);
    found.publicatie_versie = text(publicatie, &["Versie"]);
    found.gebied = text(publicatie, &["Gebied"]);
    found.gewijzigde_delen = texts(publicatie, &["GewijzigdeDelen"], "Deel");
    found.achtergehouden = texts(publicatie, &["Achtergehouden"], "Veld");

    let mut errors = Vec::new();
    if body.attribute("Id") != Some("Body") {
        errors.push("the SOAP Body does not carry Id=\"Body\"".to_owned());
    }
    let is_operation = operation.tag_name().namespace() == Some(PUBLICATIE_NS)
        && operation.tag_name().name() == OPERATION;
    if is_operation {
        errors.extend(contract_errors(&found, publicatie));
    }
    (found, errors)
}

/// The rules of the contract that XML Schema 1.0 cannot express (see the XSD's documentation
/// of `PublicatieType`): the Referte repeated, and which elements each Soort carries.
fn contract_errors(found: &Inspected, publicatie: Option<XmlNode<'_, '_>>) -> Vec<String> {
    let mut errors: Vec<String> = soap_kit::referte_error(
        found.afzender_referte.as_ref(),
        found.vraag_referte.as_ref(),
    )
    .into_iter()
    .collect();
    let Some(publicatie) = publicatie else {
        return errors;
    };
    let has = |name: &str| child(publicatie, name).is_some();
    let soort = found.soort.as_deref().unwrap_or_default();
    let (required, forbidden): (&[&str], &[&str]) = match soort {
        // GewijzigdeDelen is not required: the hub leaves it out when no part changed.
        "GEWIJZIGD" => (&["vereniging"], &["Gebied"]),
        "VERWIJDERD" => (
            &[],
            &["Gebied", "GewijzigdeDelen", "Achtergehouden", "vereniging"],
        ),
        "BINNEN_GEBIED" | "BUITEN_GEBIED" => (
            &["Gebied"],
            &["GewijzigdeDelen", "Achtergehouden", "vereniging"],
        ),
        _ => (&[], &[]),
    };
    for name in required.iter().filter(|n| !has(n)) {
        errors.push(format!("a {soort} Publicatie needs {name}"));
    }
    for name in forbidden.iter().filter(|n| has(n)) {
        errors.push(format!("a {soort} Publicatie carries no {name}"));
    }
    let vereniging_vcode = text(Some(publicatie), &["vereniging", "vCode"]);
    if let (Some(inner), Some(outer)) = (&vereniging_vcode, &found.v_code) {
        if inner != outer {
            errors.push(format!(
                "vereniging/vCode {inner} differs from VCode {outer}"
            ));
        }
    }
    errors
}

/// What is wrong with the SOAP 1.1 headers.
fn header_errors(
    config: &BackOfficeSimConfig,
    content_type: Option<&str>,
    soap_action: Option<&str>,
) -> Vec<String> {
    let mut errors = soap_kit::content_type_errors(content_type);
    errors.extend(soap_kit::soap_action_error(
        soap_action,
        &config.soap_action,
    ));
    errors
}

// ---------------------------------------------------------------------------------------------
// Writing answers

/// `(Datum, Tijd)` now (UTC): `yyyy-MM-dd`, `HH:mm:ss.SSS`.
fn tijdstip() -> (String, String) {
    use time::macros::format_description;
    let now = time::OffsetDateTime::now_utc();
    let datum = now
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    let tijd = now
        .format(format_description!(
            "[hour]:[minute]:[second].[subsecond digits:3]"
        ))
        .unwrap_or_default();
    (datum, tijd)
}

/// The `OntvangPublicatieResponse` envelope.
fn antwoord_xml(identity: &str, request: &Inspected, uitzonderingen: &[Uitzondering]) -> String {
    let (datum, tijd) = tijdstip();
    let e = |v: Option<&str>| escape(v.unwrap_or_default());
    let mut x = String::new();
    x.push_str(&format!(
        "<pub:OntvangPublicatieResponse xmlns:pub=\"{PUBLICATIE_NS}\"><Repliek><Context>\
         <Naam>{OPERATION}</Naam><Versie>{versie}</Versie>\
         <Bericht><Type>ANTWOORD</Type><Tijdstip><Datum>{datum}</Datum><Tijd>{tijd}</Tijd></Tijdstip>\
         <Afzender><Identificatie>{afzender}</Identificatie><Referte>{referte}</Referte></Afzender>\
         <Ontvanger><Identificatie>{ontvanger}</Identificatie><Referte>{echo}</Referte></Ontvanger>\
         </Bericht></Context><Antwoorden><Antwoord><Referte>{vraag}</Referte>",
        versie = escape(request.versie.as_deref().unwrap_or("01.00.0000")),
        afzender = escape(identity),
        referte = uuid::Uuid::new_v4(),
        ontvanger = e(request.afzender.as_deref()),
        echo = e(request.referte()),
        vraag = e(request.vraag_referte.as_deref().or(request.referte())),
    ));
    if uitzonderingen
        .iter()
        .all(|u| u.kind != UitzonderingType::Fout)
    {
        x.push_str("<Inhoud><Ontvangen>true</Ontvangen></Inhoud>");
    }
    if !uitzonderingen.is_empty() {
        x.push_str("<Uitzonderingen>");
        for u in uitzonderingen {
            x.push_str(&format!(
                "<Uitzondering><Identificatie>{}</Identificatie><Oorsprong>{}</Oorsprong>\
                 <Type>{}</Type><Tijdstip><Datum>{datum}</Datum><Tijd>{tijd}</Tijd></Tijdstip>\
                 <Diagnose>{}</Diagnose></Uitzondering>",
                escape(&u.identificatie),
                escape(&u.oorsprong),
                u.kind.as_str(),
                escape(&u.diagnose),
            ));
        }
        x.push_str("</Uitzonderingen>");
    }
    x.push_str("</Antwoord></Antwoorden></Repliek></pub:OntvangPublicatieResponse>");
    envelope(&x)
}

fn fault_xml(faultcode: &str, faultstring: &str) -> String {
    envelope(&soap_kit::fault(escape, faultcode, faultstring, ""))
}

/// The answer's body and its Content-Type.
fn render(identity: &str, request: &Inspected, answer: &Answer) -> (String, &'static str) {
    match answer {
        Answer::Antwoord { uitzonderingen } => {
            (antwoord_xml(identity, request, uitzonderingen), XML)
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
        .with_state(shared)
}

fn number(text: Option<&String>) -> Option<u64> {
    text.and_then(|t| t.parse().ok())
}

async fn receive(
    State(shared): State<AppState>,
    peer: Option<Extension<ConnectInfo<PeerInfo>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_in_flight, in_flight_now) = shared.in_flight.enter();
    let at = Instant::now();
    let content_type = header_str(&headers, header::CONTENT_TYPE);
    let soap_action = header_str(&headers, "soapaction");
    let mut errors = header_errors(
        &shared.config,
        content_type.as_deref(),
        soap_action.as_deref(),
    );
    let (request, semantic_errors) = inspect(&body);
    if request.has_operation {
        errors.extend(shared.validator.validate(body.clone()).await);
    }
    errors.extend(semantic_errors);
    let raw = String::from_utf8_lossy(&body).into_owned();
    let identity = shared.config.identity.as_str();

    let (index, answer, response, content_type_out, delay) = {
        let mut state = shared.state();
        let (answer, duplicate) = state.decide(identity, &request, &errors, &raw, in_flight_now);
        let (response, content_type_out) = render(identity, &request, &answer);
        state.requests.push(RecordedSoapRequest {
            at,
            soap_action,
            content_type,
            client_cn: peer.and_then(|Extension(ConnectInfo(p))| p.client_cn),
            body: raw,
            valid: errors.is_empty(),
            errors,
            referte: request.referte().map(str::to_owned),
            afzender: request.afzender.clone(),
            ontvanger: request.ontvanger.clone(),
            soort: request.soort.clone(),
            correlatie_id: request.correlatie_id.clone(),
            v_code: request.v_code.clone(),
            sequentie: number(request.sequentie.as_ref()),
            versie: number(request.publicatie_versie.as_ref()),
            gebied: request.gebied.clone(),
            gewijzigde_delen: request.gewijzigde_delen.clone(),
            achtergehouden: request.achtergehouden.clone(),
            answer: answer.clone(),
            response: response.clone(),
            duplicate,
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
    {
        let mut state = shared.state();
        let accepted_referte = state.requests.get_mut(index).and_then(|r| {
            r.completed = true;
            r.is_accepted().then(|| r.referte.clone()).flatten()
        });
        if let Some(referte) = accepted_referte {
            state.books.insert(referte);
        }
    }
    soap_kit::answer(answer.status(), content_type_out, response)
}

/// `POST /_sim/behaviour`: every member optional; `reset` (alias `clear`) is applied first.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourRequest {
    #[serde(default, alias = "clear")]
    reset: bool,
    fail_next: Option<control::FailNext>,
    throttle_next: Option<u32>,
    max_concurrent: Option<usize>,
    fout_next: Option<RuleBurst>,
    fout_when_body_contains: Option<RuleBody>,
    warn_next: Option<RuleBurst>,
    delay_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleBurst {
    count: u32,
    code: String,
    diagnose: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    substring: String,
    code: String,
    diagnose: String,
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
    if let Some(n) = request.throttle_next {
        b.throttle_next = n;
    }
    if let Some(max) = request.max_concurrent {
        b.max_concurrent = (max > 0).then_some(max);
    }
    if let Some(r) = request.fout_next {
        b.fout_next = burst(r.count, UitzonderingRule::new(&r.code, &r.diagnose));
    }
    if let Some(r) = request.fout_when_body_contains {
        b.fout_bodies
            .push((r.substring, UitzonderingRule::new(&r.code, &r.diagnose)));
    }
    if let Some(r) = request.warn_next {
        b.warn_next = burst(r.count, UitzonderingRule::new(&r.code, &r.diagnose));
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
            "referte": r.referte,
            "soort": r.soort,
            "vCode": r.v_code,
            "sequentie": r.sequentie,
            "gebied": r.gebied,
            "clientCn": r.client_cn,
            "valid": r.valid,
            "errors": r.errors,
            "answer": r.answer,
            "status": r.answer.status(),
            "duplicate": r.duplicate,
            "completed": r.completed,
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Mutual TLS

/// The simulator's TLS material, as PEM text.
#[derive(Clone)]
pub struct ServerTls {
    /// The server's certificate (chain), leaf first.
    pub certificate_pem: String,
    /// The server certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_pem: String,
    /// The CA certificate(s) client certificates must be issued by.
    pub client_ca_pem: String,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

fn invalid_tls(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {e}"))
}

impl ServerTls {
    fn rustls_config(&self) -> std::io::Result<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certificates = CertificateDer::pem_slice_iter(self.certificate_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid_tls("certificate_pem", e))?;
        if certificates.is_empty() {
            return Err(invalid_tls("certificate_pem", "no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(self.private_key_pem.as_bytes())
            .map_err(|e| invalid_tls("private_key_pem", e))?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_slice_iter(self.client_ca_pem.as_bytes()) {
            let ca = ca.map_err(|e| invalid_tls("client_ca_pem", e))?;
            roots.add(ca).map_err(|e| invalid_tls("client_ca_pem", e))?;
        }
        if roots.is_empty() {
            return Err(invalid_tls("client_ca_pem", "no certificate"));
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| invalid_tls("client_ca_pem", e))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid_tls("protocol versions", e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certificates, key)
            .map_err(|e| invalid_tls("certificate_pem/private_key_pem", e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// Who is on the other end of a connection (the per-connection "address" of the TLS listener).
#[derive(Debug, Clone)]
struct PeerInfo {
    client_cn: Option<String>,
}

type TlsStream = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

/// Hands axum the connections whose TLS handshake succeeded; the handshakes run in their own
/// tasks so that a slow or failing client does not hold up the others.
struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream, PeerInfo)>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream;
    type Addr = PeerInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The acceptor stopped (shutdown): nothing will come any more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(PeerInfo { client_cn: None })
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for PeerInfo
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// The subject CN of the client's certificate.
fn client_cn(stream: &TlsStream) -> Option<String> {
    let der = stream.get_ref().1.peer_certificates()?.first()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let cn = certificate.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn accept_tls(
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    ready: tokio::sync::mpsc::Sender<(TlsStream, PeerInfo)>,
    cancel: CancellationToken,
    shared: Arc<Shared>,
) {
    loop {
        let (stream, remote) = tokio::select! {
            () = cancel.cancelled() => return,
            () = ready.closed() => return,
            accepted = tcp.accept() => match accepted {
                Ok(connection) => connection,
                Err(e) => {
                    tracing::debug!(error = %e, "backoffice-sim: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let client_cn = client_cn(&tls);
                    let _ = ready.send((tls, PeerInfo { client_cn })).await;
                }
                Ok(Err(e)) => {
                    shared.rejected_handshakes.fetch_add(1, Ordering::SeqCst);
                    tracing::debug!(%remote, error = %e, "backoffice-sim: TLS handshake refused");
                }
                Err(_) => {
                    shared.rejected_handshakes.fetch_add(1, Ordering::SeqCst);
                    tracing::debug!(%remote, "backoffice-sim: TLS handshake timed out");
                }
            }
        });
    }
}

/// Serves the router behind [`TlsListener`].
struct TlsServer;

impl TlsServer {
    async fn start(
        addr: SocketAddr,
        config: rustls::ServerConfig,
        shared: Arc<Shared>,
    ) -> std::io::Result<crate::server::Server> {
        let tcp = tokio::net::TcpListener::bind(addr).await?;
        let addr = tcp.local_addr()?;
        let cancel = CancellationToken::new();
        let (ready_tx, ready_rx) = tokio::sync::mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        tokio::spawn(accept_tls(
            tcp,
            acceptor,
            ready_tx,
            cancel.clone(),
            shared.clone(),
        ));
        let listener = TlsListener { ready: ready_rx };
        let app = router(shared).into_make_service_with_connect_info::<PeerInfo>();
        let stop = cancel.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
        });
        Ok(crate::server::Server::serving(addr, cancel, task))
    }
}

// ---------------------------------------------------------------------------------------------
// A throw-away PKI for tests

/// A CA with a server certificate (for `localhost`, `127.0.0.1` and `::1`) and a client
/// certificate, all as PEM, for tests of mutual TLS. The keys are ECDSA P-256 (PKCS#8).
#[derive(Clone)]
pub struct TestPki {
    /// The CA's certificate: the trust anchor of both sides.
    pub ca_pem: String,
    /// The server's certificate (issued by the CA).
    pub server_cert_pem: String,
    /// The server certificate's key.
    pub server_key_pem: String,
    /// The client's certificate (issued by the CA).
    pub client_cert_pem: String,
    /// The client certificate's key.
    pub client_key_pem: String,
    /// The client certificate's subject CN.
    pub client_cn: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("client_cn", &self.client_cn)
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// A fresh CA, server certificate and client certificate with subject CN `client_cn`.
    pub fn generate(client_cn: &str) -> std::io::Result<Self> {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let e = |e: rcgen::Error| std::io::Error::other(format!("rcgen: {e}"));

        let ca_key = KeyPair::generate().map_err(e)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca.distinguished_name
            .push(DnType::CommonName, "backoffice-sim test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).map_err(e)?;

        let server_key = KeyPair::generate().map_err(e)?;
        let mut server = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])
        .map_err(e)?;
        server
            .distinguished_name
            .push(DnType::CommonName, "backoffice-sim");
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server
            .signed_by(&server_key, &ca_cert, &ca_key)
            .map_err(e)?;

        let client_key = KeyPair::generate().map_err(e)?;
        let mut client = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        client
            .distinguished_name
            .push(DnType::CommonName, client_cn);
        client.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client
            .signed_by(&client_key, &ca_cert, &ca_key)
            .map_err(e)?;

        Ok(Self {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            client_cn: client_cn.to_owned(),
        })
    }

    /// What [`BackOfficeSim::start_tls`] needs: the server certificate and key, client
    /// certificates checked against this CA.
    pub fn server_tls(&self) -> ServerTls {
        ServerTls {
            certificate_pem: self.server_cert_pem.clone(),
            private_key_pem: self.server_key_pem.clone(),
            client_ca_pem: self.ca_pem.clone(),
        }
    }

    /// The client certificate followed by its key: the PEM `reqwest::Identity::from_pem`
    /// takes.
    pub fn client_identity_pem(&self) -> String {
        format!("{}{}", self.client_cert_pem, self.client_key_pem)
    }
}

/// [`TestPki::generate`] with client CN `verenigingsloket-hub`.
///
/// # Panics
/// If the key generation fails (no input can make it fail; see [`TestPki::generate`] for the
/// fallible form).
#[allow(clippy::expect_used)]
pub fn test_pki() -> TestPki {
    TestPki::generate("verenigingsloket-hub").expect("generating a test PKI")
}
