//! KIOSK's two SOAP 1.1 operations, written and read. Pure: no I/O (the HTTP call is
//! [`crate::client`]'s).
//!
//! The contract is `contracts/xsd/kiosk-v1.xsd` (operation elements in [`NAMESPACE`], child
//! elements unqualified) and `contracts/wsdl/kiosk-v1.wsdl`; examples are in
//! `contracts/examples/kiosk/`, the description in `contracts/xsd/README.md` (section KIOSK).
//!
//! - [`submit_request`] writes `DienAanvraagIn` from an [`EnrichedApplication`]: the
//!   `applicationId` (KIOSK's idempotency key), the regeling (= the service code), when the
//!   association submitted it, the organisation (only what the snapshot holds in the parts the
//!   service may receive: nothing is made up), the applicant and the service fields
//!   ([`aanvraag`], checked per regeling: [`required_fields`]). A field missing or of the
//!   wrong type is a [`ProviderError::Permanent`] naming it; nothing is sent then.
//! - [`status_request`] writes `GeefDossierStatus` for a dossier number.
//! - [`read_submit_reply`] and [`read_status_reply`] read KIOSK's answer into a
//!   [`Submitted`] / [`Decision`], or classify the failure: a `soapenv:Server` fault, HTTP
//!   5xx/429/408 without a reply: transient; a `soapenv:Client` fault, another status, or an
//!   answer that is not a reply to this request: permanent.
//!
//! No national number (INSZ) is ever written: the contract has no element for it, the
//! applicant carries none, and the association's representatives are never rendered.

use std::fmt;
use std::io;
use std::str::FromStr;

use adapter_provider::{Decision, ProviderError, Submitted};
use adapter_soap::fault::Fault;
use adapter_soap::text::{clip, short, snippet};
use adapter_soap::xml::XmlWriter as Xml;
use adapter_soap::xml::{clean_text, parse_with, soap_fault, xs_date, Element, Limits};
use contracts::applications::{Applicant, EnrichedApplication};
use contracts::json::kind;
use contracts::register::{Adres, Vereniging};
use contracts::Part;
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

/// Namespace of the operation elements.
pub const NAMESPACE: &str = "http://verenigingsloket.vlaanderen.be/hub/kiosk/v1";
pub use adapter_soap::{CONTENT_TYPE, MAX_REASON_CHARS, SOAP_ENVELOPE_NAMESPACE};
/// The contract's version (the XSD's `version`).
pub const VERSION: &str = "01.00.0000";
/// The regelingen KIOSK knows in version 1 (the hub's service codes).
pub const REGELINGEN: [&str; 4] = [
    "kiosk-projectsubsidie",
    "kiosk-werkingssubsidie",
    "kiosk-beurs",
    "kiosk-attest",
];
/// The longest `Motivering` passed on (the XSD's limit), in characters.
pub const MAX_MOTIVERING_CHARS: usize = 2000;

// Limits of the XSD, checked before writing.
const MAX_NAAM: usize = 200;
const MAX_PROJECTNAAM: usize = 200;
const MAX_OMSCHRIJVING: usize = 4000;
const MAX_TELEFOON: usize = 50;
const MAX_CODE: usize = 50;
const MAX_REGELING: usize = 64;

/// One of the contract's operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Submit an application: opens a dossier (or answers the one opened before).
    DienAanvraagIn,
    /// Where a dossier stands.
    GeefDossierStatus,
}

impl Operation {
    /// The request element's local name (and the WSDL operation's name).
    pub fn name(self) -> &'static str {
        match self {
            Operation::DienAanvraagIn => "DienAanvraagIn",
            Operation::GeefDossierStatus => "GeefDossierStatus",
        }
    }

    /// The response element's local name.
    pub fn response_name(self) -> &'static str {
        match self {
            Operation::DienAanvraagIn => "DienAanvraagInResponse",
            Operation::GeefDossierStatus => "GeefDossierStatusResponse",
        }
    }

    /// The `SOAPAction` (sent quoted in the HTTP header).
    pub fn soap_action(self) -> &'static str {
        match self {
            Operation::DienAanvraagIn => {
                "http://verenigingsloket.vlaanderen.be/hub/kiosk/v1/DienAanvraagIn"
            }
            Operation::GeefDossierStatus => {
                "http://verenigingsloket.vlaanderen.be/hub/kiosk/v1/GeefDossierStatus"
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Service fields
// ---------------------------------------------------------------------------------------

/// The hub's field names (keys of `EnrichedApplication::fields`) this adapter reads.
pub mod field {
    pub const PROJECTNAAM: &str = "projectnaam";
    pub const GEVRAAGD_BEDRAG: &str = "gevraagdBedrag";
    pub const BEGINDATUM: &str = "begindatum";
    pub const EINDDATUM: &str = "einddatum";
    pub const OMSCHRIJVING: &str = "omschrijving";
}

/// The service fields a regeling requires (the others of [`field`] are optional):
///
/// | regeling | required |
/// |---|---|
/// | `kiosk-projectsubsidie`, `kiosk-beurs`, any unknown one | projectnaam, gevraagdBedrag, begindatum, einddatum |
/// | `kiosk-werkingssubsidie` | gevraagdBedrag, begindatum, einddatum |
/// | `kiosk-attest` | projectnaam, begindatum, einddatum |
///
/// `omschrijving` is optional everywhere.
pub fn required_fields(regeling: &str) -> &'static [&'static str] {
    use field::*;
    match regeling {
        "kiosk-werkingssubsidie" => &[GEVRAAGD_BEDRAG, BEGINDATUM, EINDDATUM],
        "kiosk-attest" => &[PROJECTNAAM, BEGINDATUM, EINDDATUM],
        _ => &[PROJECTNAAM, GEVRAAGD_BEDRAG, BEGINDATUM, EINDDATUM],
    }
}

/// An amount in euro, exact to the cent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bedrag {
    cents: u64,
}

impl Bedrag {
    /// The largest amount the contract carries: 999 999 999.99.
    pub const MAX_CENTS: u64 = 99_999_999_999;

    pub fn from_cents(cents: u64) -> Option<Self> {
        (cents <= Self::MAX_CENTS).then_some(Bedrag { cents })
    }

    pub fn cents(self) -> u64 {
        self.cents
    }
}

impl fmt::Display for Bedrag {
    /// Always two decimals: `1500.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.cents / 100, self.cents % 100)
    }
}

impl FromStr for Bedrag {
    type Err = String;

    /// A plain decimal: digits, optionally a point and one or two decimals (`1500`,
    /// `1500.5`, `1500.50`); no sign, exponent, separators or more decimals (an amount is
    /// never rounded).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (whole, fraction) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || s.ends_with('.') {
            return Err(format!("{:?} is not a decimal amount", clip(s, 40)));
        }
        if fraction.len() > 2 {
            return Err("has more than two decimals".to_owned());
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 9 {
            return Err("is larger than 999999999.99".to_owned());
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| "is not a number".to_owned())?
        };
        let cents_part: u64 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<u64>().map_err(|_| "bad decimals")? * 10,
            _ => fraction.parse::<u64>().map_err(|_| "bad decimals")?,
        };
        Bedrag::from_cents(whole * 100 + cents_part)
            .ok_or_else(|| "is larger than 999999999.99".to_owned())
    }
}

/// The service fields as KIOSK receives them (`DienAanvraagIn/Aanvraag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aanvraag {
    pub projectnaam: Option<String>,
    pub gevraagd_bedrag: Option<Bedrag>,
    pub begindatum: Date,
    pub einddatum: Date,
    pub omschrijving: Option<String>,
}

/// Reads and checks the service fields for `regeling` ([`required_fields`]). Every problem
/// is reported at once, each naming its field: a required field missing (or `null`), a
/// value of the wrong type (`projectnaam`, `omschrijving`: a string; `gevraagdBedrag`: a
/// JSON number or a decimal string, more than 0, at most two decimals; `begindatum`,
/// `einddatum`: a `yyyy-mm-dd` string), text that is blank or too long (200 characters for
/// `projectnaam`, 4000 for `omschrijving`), an `einddatum` before the `begindatum`. An
/// optional field that is `null` or a blank string counts as absent. Other fields are not
/// KIOSK's and are not sent.
pub fn aanvraag(regeling: &str, fields: &Map<String, Value>) -> Result<Aanvraag, Vec<String>> {
    let mut f = Fields {
        regeling,
        required: required_fields(regeling),
        fields,
        errors: Vec::new(),
    };
    let projectnaam = f.text(field::PROJECTNAAM, MAX_PROJECTNAAM);
    let gevraagd_bedrag = f.amount(field::GEVRAAGD_BEDRAG);
    let begindatum = f.date(field::BEGINDATUM);
    let einddatum = f.date(field::EINDDATUM);
    let omschrijving = f.text(field::OMSCHRIJVING, MAX_OMSCHRIJVING);
    let mut errors = f.errors;
    if let (Some(begin), Some(end)) = (begindatum, einddatum) {
        if end < begin {
            errors.push(format!(
                "{}: {} is before {} {}",
                field::EINDDATUM,
                xs_date(end),
                field::BEGINDATUM,
                xs_date(begin)
            ));
        }
    }
    match (begindatum, einddatum) {
        (Some(begindatum), Some(einddatum)) if errors.is_empty() => Ok(Aanvraag {
            projectnaam,
            gevraagd_bedrag,
            begindatum,
            einddatum,
            omschrijving,
        }),
        _ => Err(errors),
    }
}

/// Reading service fields, collecting every problem.
struct Fields<'a> {
    regeling: &'a str,
    required: &'static [&'static str],
    fields: &'a Map<String, Value>,
    errors: Vec<String>,
}

impl<'a> Fields<'a> {
    fn is_required(&self, key: &str) -> bool {
        self.required.contains(&key)
    }

    /// The value, `None` (and an error when required) when absent or `null`, or a blank
    /// string for an optional field.
    fn value(&mut self, key: &str) -> Option<&'a Value> {
        let value = match self.fields.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() && !self.required.contains(&key) => None,
            Some(v) => Some(v),
        };
        if value.is_none() && self.is_required(key) {
            self.errors
                .push(format!("{key}: required for {}", self.regeling));
        }
        value
    }

    fn text(&mut self, key: &str, max: usize) -> Option<String> {
        let outcome = match self.value(key)? {
            Value::String(s) => {
                let cleaned = clean_text(s.trim());
                if cleaned.is_empty() {
                    Err(format!("{key}: must not be empty"))
                } else if cleaned.chars().count() > max {
                    Err(format!("{key}: longer than {max} characters"))
                } else {
                    Ok(cleaned)
                }
            }
            other => Err(format!("{key}: must be a string, not {}", kind(other))),
        };
        outcome.map_err(|e| self.errors.push(e)).ok()
    }

    fn amount(&mut self, key: &str) -> Option<Bedrag> {
        let outcome = amount(self.value(key)?).map_err(|why| format!("{key}: {why}"));
        outcome.map_err(|e| self.errors.push(e)).ok()
    }

    fn date(&mut self, key: &str) -> Option<Date> {
        let outcome = match self.value(key)? {
            Value::String(s) => parse_date(s.trim())
                .ok_or_else(|| format!("{key}: {:?} is not a date yyyy-mm-dd", clip(s, 40))),
            other => Err(format!("{key}: must be a date string, not {}", kind(other))),
        };
        outcome.map_err(|e| self.errors.push(e)).ok()
    }
}

fn amount(value: &Value) -> Result<Bedrag, String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        other => return Err(format!("must be an amount, not {}", kind(other))),
    };
    if text.starts_with('-') {
        return Err("must be more than 0".to_owned());
    }
    // serde_json writes a float with a fraction (`1500.0`) or in exponent form; the
    // decimal reader refuses exponents.
    let bedrag: Bedrag = text.parse()?;
    if bedrag.cents() == 0 {
        return Err("must be more than 0".to_owned());
    }
    Ok(bedrag)
}

fn parse_date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let bytes = s.as_bytes();
    // Exactly yyyy-mm-dd (time's parser would accept a longer year).
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    Date::parse(s, format).ok()
}

/// RFC 3339 in UTC, milliseconds when there are any: `2026-11-03T08:15:02Z`.
fn tijdstip(t: OffsetDateTime) -> Option<String> {
    let utc = t.checked_to_offset(UtcOffset::UTC)?;
    if !(0..=9999).contains(&utc.year()) {
        return None;
    }
    let mut out = format!(
        "{}T{:02}:{:02}:{:02}",
        xs_date(utc.date()),
        utc.hour(),
        utc.minute(),
        utc.second()
    );
    if utc.millisecond() != 0 {
        out.push_str(&format!(".{:03}", utc.millisecond()));
    }
    out.push('Z');
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// The whole SOAP envelope (UTF-8, with an XML declaration) of `DienAanvraagIn` for an
/// application. `Permanent` (naming every field at fault) when the application cannot be
/// sent as it is: a service code that is not a regeling code, an applicant without a valid
/// name or e-mail, service fields missing or of the wrong type ([`aanvraag`]).
pub fn submit_request(application: &EnrichedApplication) -> Result<String, ProviderError> {
    let regeling = application.service_code.as_str();
    let mut errors = Vec::new();
    if !is_regeling(regeling) {
        errors.push(format!(
            "serviceCode: {:?} is not a KIOSK regeling code",
            clip(regeling, 80)
        ));
    }
    let aanvrager = aanvrager(&application.applicant).map_err(|e| errors.extend(e));
    let fields = aanvraag(regeling, &application.fields).map_err(|e| errors.extend(e));
    let ingediend_op = tijdstip(application.submitted_at);
    if ingediend_op.is_none() {
        errors.push("submittedAt: not representable".to_owned());
    }
    let (Ok(aanvrager), Ok(fields), Some(ingediend_op), true) =
        (aanvrager, fields, ingediend_op, errors.is_empty())
    else {
        return Err(ProviderError::Permanent(short(&format!(
            "application {} cannot be sent to KIOSK: {}",
            application.application_id,
            errors.join("; ")
        ))));
    };
    let organisatie = organisatie(&application.vereniging, &application.parts);

    let mut x = Xml::new();
    let written = (|| -> io::Result<()> {
        x.open_envelope("kiosk", NAMESPACE, Operation::DienAanvraagIn.name(), None)?;
        x.text("AanvraagId", &application.application_id.to_string())?;
        x.text("Regeling", regeling)?;
        x.text("IngediendOp", &ingediend_op)?;

        x.start("Organisatie")?;
        x.text("VCode", &organisatie.v_code)?;
        x.optional("Naam", organisatie.naam.as_deref())?;
        x.optional("Verenigingstype", organisatie.verenigingstype.as_deref())?;
        x.optional("KboNummer", organisatie.kbo_nummer.as_deref())?;
        if let Some(adres) = &organisatie.adres {
            x.start("Adres")?;
            for (name, value) in adres {
                x.text(name, value)?;
            }
            x.end("Adres")?;
        }
        x.optional("Email", organisatie.email.as_deref())?;
        x.end("Organisatie")?;

        x.start("Aanvrager")?;
        x.text("Voornaam", &aanvrager.voornaam)?;
        x.text("Achternaam", &aanvrager.achternaam)?;
        x.text("Email", &aanvrager.email)?;
        x.optional("Telefoon", aanvrager.telefoon.as_deref())?;
        x.end("Aanvrager")?;

        x.start("Aanvraag")?;
        x.optional("Projectnaam", fields.projectnaam.as_deref())?;
        if let Some(bedrag) = fields.gevraagd_bedrag {
            x.text("GevraagdBedrag", &bedrag.to_string())?;
        }
        x.text("Begindatum", &xs_date(fields.begindatum))?;
        x.text("Einddatum", &xs_date(fields.einddatum))?;
        x.optional("Omschrijving", fields.omschrijving.as_deref())?;
        x.end("Aanvraag")?;

        x.close_envelope("kiosk", Operation::DienAanvraagIn.name())
    })();
    written.map_err(|e| ProviderError::Permanent(format!("cannot write the request: {e}")))?;
    Ok(x.finish())
}

/// The whole SOAP envelope of `GeefDossierStatus`. `Permanent` when `dossiernummer` is not
/// a KIOSK dossier number ([`is_dossiernummer`]): KIOSK could never answer it.
pub fn status_request(dossiernummer: &str) -> Result<String, ProviderError> {
    if !is_dossiernummer(dossiernummer) {
        return Err(ProviderError::Permanent(format!(
            "{:?} is not a KIOSK dossier number (KIOSK-yyyy-nnnnnn)",
            clip(dossiernummer, 60)
        )));
    }
    let mut x = Xml::new();
    let written = (|| -> io::Result<()> {
        x.open_envelope(
            "kiosk",
            NAMESPACE,
            Operation::GeefDossierStatus.name(),
            None,
        )?;
        x.text("Dossiernummer", dossiernummer)?;
        x.close_envelope("kiosk", Operation::GeefDossierStatus.name())
    })();
    written.map_err(|e| ProviderError::Permanent(format!("cannot write the request: {e}")))?;
    Ok(x.finish())
}

/// `KIOSK-` + 4 digits + `-` + 6 digits.
pub fn is_dossiernummer(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("KIOSK-") else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 11
        && b[4] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// A regeling code: lower-case letters and digits in dash-separated words, at most 64.
pub fn is_regeling(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_REGELING
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

struct Aanvrager {
    voornaam: String,
    achternaam: String,
    email: String,
    telefoon: Option<String>,
}

fn aanvrager(a: &Applicant) -> Result<Aanvrager, Vec<String>> {
    let mut errors = Vec::new();
    let mut name = |key: &str, value: &str| -> String {
        let cleaned = clean_text(value.trim());
        if cleaned.is_empty() {
            errors.push(format!("applicant.{key}: must not be empty"));
        } else if cleaned.chars().count() > MAX_NAAM {
            errors.push(format!(
                "applicant.{key}: longer than {MAX_NAAM} characters"
            ));
        }
        cleaned
    };
    let voornaam = name("voornaam", &a.voornaam);
    let achternaam = name("achternaam", &a.achternaam);
    let email = a.email.trim();
    if !is_email(email) {
        errors.push("applicant.e-mail: not an e-mail address".to_owned());
    }
    let telefoon = clean_text(a.telefoon.trim());
    if telefoon.chars().count() > MAX_TELEFOON {
        errors.push(format!(
            "applicant.telefoon: longer than {MAX_TELEFOON} characters"
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Aanvrager {
        voornaam,
        achternaam,
        email: email.to_owned(),
        telefoon: (!telefoon.is_empty()).then_some(telefoon),
    })
}

/// An address the hub vouches for ([`contracts::Email`]); the XSD's `EmailType` accepts
/// every one.
fn is_email(s: &str) -> bool {
    s.parse::<contracts::Email>().is_ok()
}

/// What the request says about the association.
struct Organisatie {
    v_code: String,
    naam: Option<String>,
    verenigingstype: Option<String>,
    kbo_nummer: Option<String>,
    /// `(element, value)` of the address parts that are not blank.
    adres: Option<Vec<(&'static str, String)>>,
    email: Option<String>,
}

/// Only what the snapshot holds, and only from the parts the service may receive.
fn organisatie(v: &Vereniging, parts: &[Part]) -> Organisatie {
    let granted = |p: Part| parts.contains(&p);
    let non_blank = |s: &str| {
        let cleaned = clean_text(s.trim());
        (!cleaned.is_empty()).then_some(cleaned)
    };
    let basis = granted(Part::Basisgegevens);
    Organisatie {
        v_code: v.v_code.as_str().to_owned(),
        naam: basis.then(|| non_blank(&v.naam)).flatten(),
        verenigingstype: basis
            .then(|| non_blank(&v.verenigingstype.code))
            .flatten()
            .filter(|c| c.chars().count() <= MAX_CODE),
        kbo_nummer: granted(Part::Sleutels)
            .then(|| v.kbo_number().map(|k| k.as_str().to_owned()))
            .flatten(),
        adres: granted(Part::Locaties)
            .then(|| adres_of(v))
            .flatten()
            .map(|a| {
                [
                    ("Straatnaam", &a.straatnaam),
                    ("Huisnummer", &a.huisnummer),
                    ("Busnummer", &a.busnummer),
                    ("Postcode", &a.postcode),
                    ("Gemeente", &a.gemeente),
                    ("Land", &a.land),
                ]
                .into_iter()
                .filter_map(|(name, value)| non_blank(value).map(|v| (name, v)))
                .collect::<Vec<_>>()
            })
            .filter(|parts| !parts.is_empty()),
        email: granted(Part::Contactgegevens)
            .then(|| email_of(v))
            .flatten(),
    }
}

/// The correspondence location's address, else the first location's that has one.
fn adres_of(v: &Vereniging) -> Option<&Adres> {
    v.locaties
        .iter()
        .filter(|l| l.locatietype.eq_ignore_ascii_case("Correspondentie"))
        .find_map(|l| l.adres.as_ref())
        .or_else(|| v.locaties.iter().find_map(|l| l.adres.as_ref()))
}

/// The primary e-mail address, else the first (only ones the contract can carry).
fn email_of(v: &Vereniging) -> Option<String> {
    let emails: Vec<_> = v
        .contactgegevens
        .iter()
        .filter(|c| c.contactgegeventype.eq_ignore_ascii_case("E-mail"))
        .filter(|c| is_email(c.waarde.trim()))
        .collect();
    emails
        .iter()
        .find(|c| c.is_primair)
        .or_else(|| emails.first())
        .map(|c| c.waarde.trim().to_owned())
}

// ---------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------

/// Reads KIOSK's answer to `DienAanvraagIn` for `application_id`: the dossier (its number
/// and where it stands, [`read_status_reply`]'s mapping). Failures as documented at the
/// module; a reply that echoes another `AanvraagId` is permanent.
pub fn read_submit_reply(
    status: u16,
    body: &str,
    application_id: Uuid,
) -> Result<Submitted, ProviderError> {
    let op = Operation::DienAanvraagIn;
    let response = response(op, status, body)?;
    let echoed = response.child_text("AanvraagId");
    let matches = Uuid::parse_str(echoed).is_ok_and(|id| id == application_id);
    if !matches {
        return Err(unreadable(
            status,
            &format!("the answer echoes AanvraagId {echoed:?}, not {application_id}"),
        ));
    }
    let (reference, decision) = stand(&response).map_err(|why| unreadable(status, &why))?;
    Ok(Submitted {
        reference,
        decision,
    })
}

/// Reads KIOSK's answer to `GeefDossierStatus` for `dossiernummer`:
/// `ONTVANGEN` → [`Decision::Received`], `IN_BEHANDELING` → [`Decision::InTreatment`],
/// `GOEDGEKEURD` → [`Decision::Approved`] (detail `toegekend bedrag 1500.00 EUR` when KIOSK
/// says the amount), `AFGEWEZEN` → [`Decision::Refused`] with the `Motivering`. Failures as
/// documented at the module; an answer about another dossier is permanent.
pub fn read_status_reply(
    status: u16,
    body: &str,
    dossiernummer: &str,
) -> Result<Decision, ProviderError> {
    let response = response(Operation::GeefDossierStatus, status, body)?;
    let (echoed, decision) = stand(&response).map_err(|why| unreadable(status, &why))?;
    if echoed != dossiernummer.trim() {
        return Err(unreadable(
            status,
            &format!("the answer is about dossier {echoed}, not {dossiernummer}"),
        ));
    }
    Ok(decision)
}

pub use adapter_soap::fault::status_is_transient;

/// The operation's response element, or the failure the answer means.
fn response(op: Operation, status: u16, body: &str) -> Result<Element, ProviderError> {
    let doc = parse_xml(body);
    let mut soap_body = doc
        .ok()
        .filter(|root| root.is(SOAP_ENVELOPE_NAMESPACE, "Envelope"))
        .and_then(|root| {
            root.children
                .into_iter()
                .find(|c| c.is(SOAP_ENVELOPE_NAMESPACE, "Body"))
        });
    if let Some(b) = &soap_body {
        if let Some(fault) = soap_fault(b) {
            return Err(fault_error(status, fault));
        }
    }
    let found = soap_body.as_mut().and_then(|b| {
        let i = b
            .children
            .iter()
            .position(|c| c.is(NAMESPACE, op.response_name()))?;
        Some(b.children.swap_remove(i))
    });
    match found {
        Some(response) if (200..=299).contains(&status) => Ok(response),
        Some(_) => Err(unreadable(status, "a response with an error status")),
        None if (200..=299).contains(&status) => Err(unreadable(
            status,
            &format!("no {} or Fault in a SOAP 1.1 Body", op.response_name()),
        )),
        None => Err(unreadable(status, &snippet(body))),
    }
}

/// `Dossiernummer` and the decision of a `DossierStandGroup`.
fn stand(response: &Element) -> Result<(String, Decision), String> {
    let nummer = response.child_text("Dossiernummer");
    if !is_dossiernummer(nummer) {
        return Err(format!("{:?} is not a dossier number", clip(nummer, 40)));
    }
    let status = response.child_text("Status");
    let decision = match status {
        "ONTVANGEN" => Decision::Received,
        "IN_BEHANDELING" => Decision::InTreatment,
        "GOEDGEKEURD" => {
            let detail = match response.child("ToegekendBedrag") {
                None => None,
                Some(b) => {
                    let bedrag: Bedrag = b
                        .text()
                        .parse()
                        .map_err(|why| format!("ToegekendBedrag {why}"))?;
                    Some(format!("toegekend bedrag {bedrag} EUR"))
                }
            };
            Decision::Approved { detail }
        }
        "AFGEWEZEN" => {
            let motivering = response.child_text("Motivering");
            let reason = if motivering.is_empty() {
                "afgewezen door KIOSK (zonder motivering)".to_owned()
            } else {
                clip(motivering, MAX_MOTIVERING_CHARS)
            };
            Decision::Refused { reason }
        }
        other => return Err(format!("unknown Status {:?}", clip(other, 40))),
    };
    Ok((nummer.to_owned(), decision))
}

/// A SOAP 1.1 fault: `Server` transient; `Client`, `VersionMismatch`, `MustUnderstand`
/// permanent; another code follows the HTTP status. The reason names the code, the
/// `kiosk:Fout/Code` when there is one, and the faultstring.
fn fault_error(status: u16, fault: &Element) -> ProviderError {
    let Fault { code, string } = Fault::of(fault);
    let detail_code = fault
        .child("detail")
        .and_then(|d| d.children.iter().find(|c| c.name == "Fout"))
        .map(|f| f.child_text("Code"))
        .filter(|c| !c.is_empty());
    let transient = Fault { code, string }.is_transient(status);
    let reason = match detail_code {
        Some(c) => short(&format!("KIOSK fault {code} {c}: {string}")),
        None => short(&format!("KIOSK fault {code}: {string}")),
    };
    if transient {
        ProviderError::Transient(reason)
    } else {
        ProviderError::Permanent(reason)
    }
}

/// Neither a fault nor a usable reply: permanent for a 2xx, by status otherwise.
fn unreadable(status: u16, why: &str) -> ProviderError {
    if (200..=299).contains(&status) {
        ProviderError::Permanent(short(&format!("HTTP {status} but not a reply: {why}")))
    } else if status_is_transient(status) {
        ProviderError::Transient(short(&format!("HTTP {status}: {why}")))
    } else {
        ProviderError::Permanent(short(&format!("HTTP {status}: {why}")))
    }
}

/// Replies bigger than this are not replies to these operations.
const LIMITS: Limits = Limits {
    max_depth: 64,
    max_elements: 10_000,
};

/// Parses a reply within [`LIMITS`].
fn parse_xml(input: &str) -> Result<Element, String> {
    parse_with(input, LIMITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use adapter_soap::fixtures::NOT_SOAP;
    use contracts::fixtures::{self, register_example};
    use contracts::register::{Contactgegeven, Locatie};
    use serde_json::json;

    const APPLICATION_ID: &str = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c";

    /// The example application, fixed in id and time, sharing every part.
    fn application(service_code: &str, fields: Value) -> EnrichedApplication {
        EnrichedApplication {
            application_id: APPLICATION_ID.parse().expect("uuid"),
            submitted_at: time::macros::datetime!(2026-11-03 09:15:02.431 +01:00),
            parts: Part::ALL.to_vec(),
            ..fixtures::application(service_code, fields)
        }
    }

    fn project_fields() -> Value {
        json!({
            "projectnaam": "Zomerconcert",
            "gevraagdBedrag": 1500,
            "begindatum": "2027-06-01",
            "einddatum": "2027-08-31",
        })
    }

    fn permanent(r: Result<impl fmt::Debug, ProviderError>) -> String {
        match r {
            Err(ProviderError::Permanent(reason)) => reason,
            other => panic!("expected a permanent error, got {other:?}"),
        }
    }

    fn transient(r: Result<impl fmt::Debug, ProviderError>) -> String {
        match r {
            Err(ProviderError::Transient(reason)) => reason,
            other => panic!("expected a transient error, got {other:?}"),
        }
    }

    #[test]
    fn amounts_are_exact_decimals() {
        for (text, shown) in [
            ("1500", "1500.00"),
            ("1500.5", "1500.50"),
            ("0.07", "0.07"),
            ("007.10", "7.10"),
            ("999999999.99", "999999999.99"),
        ] {
            assert_eq!(
                text.parse::<Bedrag>().map(|b| b.to_string()),
                Ok(shown.to_owned())
            );
        }
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "+1",
            "1e3",
            "1,50",
            "1 000",
            "1000000000",
            "abc",
        ] {
            assert!(bad.parse::<Bedrag>().is_err(), "{bad:?}");
        }
        let ok = |v: Value| amount(&v).map(|b| b.to_string());
        assert_eq!(ok(json!(1500)), Ok("1500.00".into()));
        assert_eq!(ok(json!(1500.25)), Ok("1500.25".into()));
        assert_eq!(ok(json!(1500.0)), Ok("1500.00".into()));
        assert_eq!(ok(json!("1500.25")), Ok("1500.25".into()));
        assert!(ok(json!(0)).is_err());
        assert!(ok(json!(-5)).is_err());
        assert!(ok(json!(0.001)).is_err());
        assert!(ok(json!(1e30)).is_err());
        assert!(ok(json!(true)).is_err());
        assert!(ok(json!("veel")).is_err());
    }

    #[test]
    fn service_fields_are_required_per_regeling() {
        assert_eq!(
            required_fields("kiosk-projectsubsidie"),
            &["projectnaam", "gevraagdBedrag", "begindatum", "einddatum"]
        );
        assert_eq!(
            required_fields("kiosk-werkingssubsidie"),
            &["gevraagdBedrag", "begindatum", "einddatum"]
        );
        assert_eq!(
            required_fields("kiosk-attest"),
            &["projectnaam", "begindatum", "einddatum"]
        );
        assert_eq!(
            required_fields("kiosk-beurs"),
            required_fields("kiosk-nieuw")
        );

        let dates = json!({"begindatum": "2027-01-01", "einddatum": "2027-12-31"});
        let Value::Object(dates) = dates else {
            unreachable!()
        };
        let werking = aanvraag("kiosk-werkingssubsidie", &dates).expect_err("no amount");
        assert_eq!(
            werking,
            vec!["gevraagdBedrag: required for kiosk-werkingssubsidie"]
        );
        let attest = aanvraag("kiosk-attest", &dates).expect_err("no projectnaam");
        assert_eq!(attest, vec!["projectnaam: required for kiosk-attest"]);

        let mut with_name = dates.clone();
        with_name.insert("projectnaam".into(), json!("Erkenning jeugdwerk"));
        let a = aanvraag("kiosk-attest", &with_name).expect("an attest needs no amount");
        assert_eq!(a.gevraagd_bedrag, None);
        assert_eq!(a.omschrijving, None);
    }

    #[test]
    fn every_field_problem_is_named_at_once() {
        let Value::Object(fields) = json!({
            "projectnaam": 42,
            "gevraagdBedrag": "duizend",
            "begindatum": "01/06/2027",
            "omschrijving": ["x"],
            "nietVanKiosk": true,
        }) else {
            unreachable!()
        };
        // Each problem once, in the fields' order; a field KIOSK does not know is ignored.
        let errors = aanvraag("kiosk-projectsubsidie", &fields).expect_err("garbage");
        assert_eq!(
            errors,
            [
                "projectnaam: must be a string, not a number",
                "gevraagdBedrag: \"duizend\" is not a decimal amount",
                "begindatum: \"01/06/2027\" is not a date yyyy-mm-dd",
                "einddatum: required for kiosk-projectsubsidie",
                "omschrijving: must be a string, not an array",
            ]
        );

        let Value::Object(fields) = json!({
            "projectnaam": "  ",
            "gevraagdBedrag": 10,
            "begindatum": "2027-06-01",
            "einddatum": "2027-05-31",
            "omschrijving": "",
        }) else {
            unreachable!()
        };
        let errors = aanvraag("kiosk-beurs", &fields).expect_err("garbage");
        assert_eq!(
            errors,
            vec![
                "projectnaam: must not be empty",
                "einddatum: 2027-05-31 is before begindatum 2027-06-01"
            ]
        );
        let Value::Object(fields) = json!({
            "projectnaam": "x".repeat(201),
            "gevraagdBedrag": 10,
            "begindatum": "2027-02-30",
            "einddatum": null,
        }) else {
            unreachable!()
        };
        let errors = aanvraag("kiosk-beurs", &fields).expect_err("garbage");
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn a_bad_application_is_permanent_and_names_the_fields() {
        let mut app = application("kiosk-projectsubsidie", json!({"projectnaam": "X"}));
        app.applicant.email = "geen adres".into();
        app.service_code = "KIOSK Project".into();
        let reason = permanent(submit_request(&app));
        assert!(reason.contains(APPLICATION_ID), "{reason}");
        for named in [
            "serviceCode",
            "applicant.e-mail",
            "gevraagdBedrag",
            "begindatum",
        ] {
            assert!(reason.contains(named), "{named}: {reason}");
        }
        assert!(reason.chars().count() <= MAX_REASON_CHARS);
        let mut nameless = application("kiosk-projectsubsidie", project_fields());
        nameless.applicant.voornaam = " ".into();
        assert!(permanent(submit_request(&nameless)).contains("applicant.voornaam"));
    }

    #[test]
    fn the_request_carries_the_application_and_no_insz() {
        let mut app = application("kiosk-projectsubsidie", project_fields());
        app.applicant.telefoon = "053 21 00 00".into();
        let xml = submit_request(&app).expect("valid application");
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        for expected in [
            "<kiosk:DienAanvraagIn xmlns:kiosk=\"http://verenigingsloket.vlaanderen.be/hub/kiosk/v1\">",
            &format!("<AanvraagId>{APPLICATION_ID}</AanvraagId>"),
            "<Regeling>kiosk-projectsubsidie</Regeling>",
            // 09:15:02.431 at +01:00.
            "<IngediendOp>2026-11-03T08:15:02.431Z</IngediendOp>",
            "<VCode>V0001001</VCode>",
            "<Naam>Koninklijke Harmonie Sint-Cecilia Aalst</Naam>",
            "<Verenigingstype>VZW</Verenigingstype>",
            "<KboNummer>0417497106</KboNummer>",
            "<Straatnaam>Grote Markt</Straatnaam>",
            "<Email>info@harmonie-aalst.be</Email>",
            "<Voornaam>An</Voornaam>",
            "<Telefoon>053 21 00 00</Telefoon>",
            "<Projectnaam>Zomerconcert</Projectnaam>",
            "<GevraagdBedrag>1500.00</GevraagdBedrag>",
            "<Begindatum>2027-06-01</Begindatum>",
            "<Einddatum>2027-08-31</Einddatum>",
        ] {
            assert!(xml.contains(expected), "{expected} missing from\n{xml}");
        }
        // The empty busnummer is left out, as is the absent omschrijving.
        assert!(!xml.contains("Busnummer") && !xml.contains("Omschrijving"));
        // The representatives (with their INSZ) are never rendered.
        assert!(!xml.contains("85071512397"));
        assert!(!xml.to_lowercase().contains("insz"));
        assert!(!xml.contains("Voorzitter") && !xml.contains("0470 12 34 56"));
    }

    #[test]
    fn only_granted_parts_and_present_values_are_rendered() {
        let mut app = application("kiosk-werkingssubsidie", project_fields());
        app.parts = vec![Part::Basisgegevens];
        let xml = submit_request(&app).expect("valid");
        assert!(xml.contains("<Naam>Koninklijke"));
        for absent in ["KboNummer", "Adres", "<Email>info@"] {
            assert!(!xml.contains(absent), "{absent} in\n{xml}");
        }

        app.parts = vec![];
        let xml = submit_request(&app).expect("valid");
        assert!(xml.contains("<VCode>V0001001</VCode>"));
        assert!(!xml.contains("<Naam>") && !xml.contains("Verenigingstype"));

        // Granted but empty: nothing is made up.
        app.parts = Part::ALL.to_vec();
        let v = &mut app.vereniging;
        v.naam = " ".into();
        v.verenigingstype.code = String::new();
        v.sleutels.clear();
        v.locaties.clear();
        v.contactgegevens.clear();
        let xml = submit_request(&app).expect("valid");
        for absent in [
            "<Naam>",
            "Verenigingstype",
            "KboNummer",
            "Adres",
            "<Email>info",
        ] {
            assert!(!xml.contains(absent), "{absent} in\n{xml}");
        }
    }

    #[test]
    fn an_email_the_hub_cannot_vouch_for_is_passed_over() {
        let mut v = register_example();
        for c in &mut v.contactgegevens {
            if c.contactgegeventype == "E-mail" {
                // One `@` with text on both sides (the XSD's minimum), but no domain.
                c.waarde = "info@harmonie-aalst".into();
            }
        }
        v.contactgegevens.push(Contactgegeven {
            contactgegeven_id: 9,
            contactgegeventype: "E-mail".into(),
            waarde: "secretariaat@example.be".into(),
            beschrijving: String::new(),
            is_primair: false,
        });
        let o = organisatie(&v, &Part::ALL);
        assert_eq!(o.email.as_deref(), Some("secretariaat@example.be"));
    }

    #[test]
    fn the_correspondence_address_and_the_primary_email_win() {
        let mut v = register_example();
        let mut correspondentie: Locatie = v.locaties[1].clone();
        correspondentie.locatietype = "Correspondentie".into();
        if let Some(a) = correspondentie.adres.as_mut() {
            a.straatnaam = "Postbuslaan".into();
            a.busnummer = "B".into();
        }
        v.locaties.push(correspondentie);
        let other = Contactgegeven {
            contactgegeven_id: 9,
            contactgegeventype: "E-mail".into(),
            waarde: "secretariaat@example.be".into(),
            beschrijving: String::new(),
            is_primair: false,
        };
        v.contactgegevens.insert(0, other);
        let o = organisatie(&v, &Part::ALL);
        let adres = o.adres.expect("adres");
        assert!(adres.contains(&("Straatnaam", "Postbuslaan".to_owned())));
        assert!(adres.contains(&("Busnummer", "B".to_owned())));
        assert_eq!(o.email.as_deref(), Some("info@harmonie-aalst.be"));
        for c in &mut v.contactgegevens {
            c.is_primair = false;
        }
        let o = organisatie(&v, &Part::ALL);
        assert_eq!(o.email.as_deref(), Some("secretariaat@example.be"));
    }

    #[test]
    fn awkward_text_is_escaped() {
        let mut app = application("kiosk-projectsubsidie", project_fields());
        app.fields.insert(
            "omschrijving".into(),
            json!("Tom & Jerry <vzw>\r\nlijn 2 ]]> bell\u{7} 日本"),
        );
        let xml = submit_request(&app).expect("valid");
        assert!(xml.contains(
            "<Omschrijving>Tom &amp; Jerry &lt;vzw&gt;&#13;\nlijn 2 ]]&gt; bell\u{FFFD} 日本</Omschrijving>"
        ));
    }

    #[test]
    fn status_requests_need_a_dossier_number() {
        let xml = status_request("KIOSK-2026-000123").expect("valid");
        assert!(xml.contains("<Dossiernummer>KIOSK-2026-000123</Dossiernummer>"));
        assert!(xml.contains("<kiosk:GeefDossierStatus "));
        for bad in [
            "",
            "KIOSK-26-000123",
            "kiosk-2026-000123",
            "KIOSK-2026-00012a",
            "<x/>",
        ] {
            assert!(!is_dossiernummer(bad), "{bad}");
            permanent(status_request(bad));
        }
    }

    // --- replies ---------------------------------------------------------------------------

    fn envelope(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<s:Envelope xmlns:s=\"{SOAP_ENVELOPE_NAMESPACE}\"><s:Body>\
             {body}</s:Body></s:Envelope>"
        )
    }

    fn status_reply(nummer: &str, inner: &str) -> String {
        envelope(&format!(
            "<k:GeefDossierStatusResponse xmlns:k=\"{NAMESPACE}\"><Dossiernummer>{nummer}\
             </Dossiernummer>{inner}<Tijdstip>2026-11-04T10:00:00Z</Tijdstip>\
             </k:GeefDossierStatusResponse>"
        ))
    }

    fn fault(code: &str, string: &str, detail: &str) -> String {
        envelope(&format!(
            "<s:Fault><faultcode>{code}</faultcode><faultstring>{string}</faultstring>{detail}\
             </s:Fault>"
        ))
    }

    const NR: &str = "KIOSK-2026-000123";

    #[test]
    fn statuses_map_to_decisions() {
        let read = |inner: &str| read_status_reply(200, &status_reply(NR, inner), NR);
        assert_eq!(read("<Status>ONTVANGEN</Status>"), Ok(Decision::Received));
        assert_eq!(
            read("<Status>IN_BEHANDELING</Status>"),
            Ok(Decision::InTreatment)
        );
        assert_eq!(
            read("<Status>GOEDGEKEURD</Status><ToegekendBedrag>1500.00</ToegekendBedrag>"),
            Ok(Decision::Approved {
                detail: Some("toegekend bedrag 1500.00 EUR".into())
            })
        );
        assert_eq!(
            read("<Status>GOEDGEKEURD</Status>"),
            Ok(Decision::Approved { detail: None })
        );
        assert_eq!(
            read("<Status>AFGEWEZEN</Status><Motivering>Buiten de doelgroep &amp; te laat</Motivering>"),
            Ok(Decision::Refused {
                reason: "Buiten de doelgroep & te laat".into()
            })
        );
        assert!(matches!(
            read("<Status>AFGEWEZEN</Status>"),
            Ok(Decision::Refused { reason }) if reason.contains("zonder motivering")
        ));
        // A qualified child is forgiven.
        let qualified = status_reply(NR, "<k:Status>ONTVANGEN</k:Status>");
        assert_eq!(
            read_status_reply(200, &qualified, NR),
            Ok(Decision::Received)
        );
        // Unknown status, bad amount: not a reply, for good.
        permanent(read("<Status>GEARCHIVEERD</Status>"));
        permanent(read(
            "<Status>GOEDGEKEURD</Status><ToegekendBedrag>veel</ToegekendBedrag>",
        ));
        // Another dossier's answer.
        let other = status_reply("KIOSK-2026-000999", "<Status>ONTVANGEN</Status>");
        assert!(permanent(read_status_reply(200, &other, NR)).contains("KIOSK-2026-000999"));
    }

    #[test]
    fn a_submit_reply_must_echo_the_application() {
        let id: Uuid = APPLICATION_ID.parse().expect("uuid");
        let reply = |echo: &str, nummer: &str| {
            envelope(&format!(
                "<k:DienAanvraagInResponse xmlns:k=\"{NAMESPACE}\"><AanvraagId>{echo}</AanvraagId>\
                 <Dossiernummer>{nummer}</Dossiernummer><Status>ONTVANGEN</Status>\
                 <Tijdstip>2026-11-03T08:15:03Z</Tijdstip></k:DienAanvraagInResponse>"
            ))
        };
        assert_eq!(
            read_submit_reply(200, &reply(APPLICATION_ID, NR), id),
            Ok(Submitted {
                reference: NR.into(),
                decision: Decision::Received
            })
        );
        assert!(read_submit_reply(200, &reply(&APPLICATION_ID.to_uppercase(), NR), id).is_ok());
        permanent(read_submit_reply(
            200,
            &reply("00000000-0000-4000-8000-000000000000", NR),
            id,
        ));
        permanent(read_submit_reply(200, &reply(APPLICATION_ID, "123"), id));
        // The status answer is not the submit answer.
        permanent(read_submit_reply(
            200,
            &status_reply(NR, "<Status>ONTVANGEN</Status>"),
            id,
        ));
    }

    #[test]
    fn faults_are_classified_by_code() {
        let detail =
            "<detail><k:Fout xmlns:k=\"http://verenigingsloket.vlaanderen.be/hub/kiosk/v1\">\
            <Code>ONBEKEND_DOSSIER</Code><Omschrijving>?</Omschrijving></k:Fout></detail>";
        let reason = permanent(read_status_reply(
            500,
            &fault("soapenv:Client", "Dossier onbekend", detail),
            NR,
        ));
        assert_eq!(
            reason,
            "KIOSK fault soapenv:Client ONBEKEND_DOSSIER: Dossier onbekend"
        );
        transient(read_status_reply(
            500,
            &fault("s:Server", "Onderhoud", ""),
            NR,
        ));
        transient(read_status_reply(
            500,
            &fault("s:Server.Busy", "later", ""),
            NR,
        ));
        permanent(read_status_reply(
            500,
            &fault("s:VersionMismatch", "?", ""),
            NR,
        ));
        transient(read_status_reply(503, &fault("x:Anders", "?", ""), NR));
        permanent(read_status_reply(400, &fault("x:Anders", "?", ""), NR));
        // A fault with HTTP 200 is still a fault.
        transient(read_status_reply(
            200,
            &fault("soapenv:Server", "?", ""),
            NR,
        ));
    }

    #[test]
    fn other_answers_follow_the_status() {
        let html = "<html><body><h1>503 Service Unavailable</h1></body></html>";
        assert!(transient(read_status_reply(503, html, NR)).starts_with("HTTP 503: <html>"));
        for status in [429, 408, 500, 502] {
            transient(read_status_reply(status, "", NR));
        }
        for status in [400, 401, 404, 301] {
            permanent(read_status_reply(status, "nope", NR));
        }
        let empty = envelope("");
        for garbage in NOT_SOAP.into_iter().chain([empty.as_str()]) {
            permanent(read_status_reply(200, garbage, NR));
        }
        let ok = status_reply(NR, "<Status>ONTVANGEN</Status>");
        // A response with an error status is not trusted.
        transient(read_status_reply(502, &ok, NR));
    }

    #[test]
    fn reasons_are_short() {
        let long = "x".repeat(5000);
        for r in [
            read_status_reply(500, &fault("s:Client", &long, ""), NR),
            read_status_reply(503, &long, NR),
            read_status_reply(200, &format!("<{long}"), NR),
        ] {
            let reason = match r {
                Err(ProviderError::Transient(r) | ProviderError::Permanent(r)) => r,
                Ok(d) => panic!("{d:?}"),
            };
            assert!(reason.chars().count() <= MAX_REASON_CHARS);
        }
        let refused = read_status_reply(
            200,
            &status_reply(
                NR,
                &format!("<Status>AFGEWEZEN</Status><Motivering>{long}</Motivering>"),
            ),
            NR,
        );
        assert!(matches!(refused, Ok(Decision::Refused { reason })
            if reason.chars().count() == MAX_MOTIVERING_CHARS));
    }
}
