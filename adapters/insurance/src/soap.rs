//! The volunteer-insurance service's MAGDA-style SOAP 1.1 messages: the requests the hub
//! sends (`VraagErkenningAan`, `GeefErkenning`) and the reading of the service's answers.
//! Pure: no I/O (the HTTP call is `client`'s).
//!
//! The contract is `contracts/xsd/vrijwilligersverzekering-v1.xsd` (operation elements in
//! [`NAMESPACE`], child elements unqualified) and `contracts/wsdl/vrijwilligersverzekering-v1.wsdl`;
//! examples are in `contracts/examples/insurance/`. XML is written with quick-xml's `Writer`
//! (every text value escaped) and read back with its `NsReader`.
//!
//! Writing `VraagErkenningAan` from an [`EnrichedApplication`]:
//! - `Referte` is the `applicationId` (the idempotency key: every attempt carries the same);
//! - `Organisatie` holds only what the snapshot has: `VCode` always; `Naam`,
//!   `Verenigingstype`, `Ondernemingsnummer` (a valid KBO key), `Adres` (the seat, else the
//!   correspondence location: `Postcode`, `Gemeente`, `Land`) and `Email` (the primary e-mail
//!   contactgegeven, else the first) only when present and usable, never invented;
//! - `Contactpersoon` is the applicant (no INSZ, no other representative, ever); an unusable
//!   `telefoon` is left out, a missing name or an invalid e-mail refuses the request;
//! - `Vrijwilligerswerk` comes from the service fields [`FIELD_AANTAL_VRIJWILLIGERS`] (whole
//!   number 1..=1 000 000), [`FIELD_BETAALD_PERSONEEL`] (boolean) and [`FIELD_GESCHATTE_UREN`]
//!   (whole number 0..=100 000 000): a missing or wrong one is a
//!   [`ProviderError::Permanent`] naming it;
//! - text is one line (white-space runs become one space, trimmed), characters XML 1.0 cannot
//!   carry become U+FFFD, and text longer than its XSD type allows is cut.
//!
//! Reading an answer ([`read_submitted`], [`read_decision`], both on top of [`read_answer`]):
//! an `Erkenning` is a grant; `Uitzondering`s of type `FOUT` in the `Antwoord` are a refusal
//! (a business decision, not a failure); throttling (fault `99995`), a `soapenv:Server` fault,
//! HTTP 5xx/429/408 without a reply are [`ProviderError::Transient`]; a `soapenv:Client` fault,
//! a `FOUT` about the call as a whole (at `Repliek` level), an answer to another `Referte` and
//! anything unreadable are [`ProviderError::Permanent`]. Reasons keep at most
//! [`MAX_REASON_CHARS`] characters.

use std::io;

use adapter_provider::{Decision, ProviderError, Submitted};
use adapter_soap::fault::Fault;
use adapter_soap::text::{clip, collapse, short, snippet};
use adapter_soap::xml::{
    boolean, clean_text, context_referte, is_xml_char, parse as parse_xml, soap_body, soap_fault,
    Element, MagdaContext, XmlWriter as Xml,
};
use contracts::applications::EnrichedApplication;
use contracts::register::{Adres, Vereniging};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Namespace of the operation elements.
pub const NAMESPACE: &str = "http://verenigingsloket.vlaanderen.be/hub/vrijwilligersverzekering/v1";
pub use adapter_soap::{CONTENT_TYPE, MAX_REASON_CHARS, SOAP_ENVELOPE_NAMESPACE};
/// `Context/Versie` of this contract.
pub const VERSION: &str = "01.00.0000";

/// The service field with the number of volunteers (whole number, 1..=1 000 000).
pub const FIELD_AANTAL_VRIJWILLIGERS: &str = "aantalVrijwilligers";
/// The service field telling whether the organisation has paid staff (boolean).
pub const FIELD_BETAALD_PERSONEEL: &str = "betaaldPersoneel";
/// The service field with the estimated volunteer hours a year (whole number, 0..=100 000 000).
pub const FIELD_GESCHATTE_UREN: &str = "geschatteUren";

const MAX_VRIJWILLIGERS: u64 = 1_000_000;
const MAX_UREN: u64 = 100_000_000;

/// The service's two operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Ask for a recognition (decided at once).
    VraagErkenningAan,
    /// Consult a recognition by erkenningsnummer.
    GeefErkenning,
}

impl Operation {
    /// The operation element's local name, also `Context/Naam`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::VraagErkenningAan => "VraagErkenningAan",
            Operation::GeefErkenning => "GeefErkenning",
        }
    }

    /// The answer's operation element.
    pub fn response_name(self) -> &'static str {
        match self {
            Operation::VraagErkenningAan => "VraagErkenningAanResponse",
            Operation::GeefErkenning => "GeefErkenningResponse",
        }
    }

    /// The `SOAPAction` (sent quoted in the HTTP header).
    pub fn soap_action(self) -> &'static str {
        match self {
            Operation::VraagErkenningAan => {
                "http://verenigingsloket.vlaanderen.be/hub/vrijwilligersverzekering/v1/VraagErkenningAan"
            }
            Operation::GeefErkenning => {
                "http://verenigingsloket.vlaanderen.be/hub/vrijwilligersverzekering/v1/GeefErkenning"
            }
        }
    }
}

/// Who talks to whom: `Afzender/Identificatie` (the hub, e.g.
/// `kbbj.vlaanderen.be/verenigingsloket-hub`) and `Ontvanger/Identificatie` (the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    pub sender: String,
    pub receiver: String,
}

impl Parties {
    /// Both identifications must be non-empty, without surrounding white space or line
    /// breaks, at most 255 characters (the XSD's `IdentificatieType`).
    pub fn check(&self) -> Result<(), String> {
        for (what, value) in [("sender", &self.sender), ("receiver", &self.receiver)] {
            let fits = !value.is_empty()
                && value.trim() == value
                && !value.contains(['\n', '\r'])
                && value.chars().all(is_xml_char)
                && value.chars().count() <= 255;
            if !fits {
                return Err(format!(
                    "the {what} identification must be 1 to 255 characters on one line \
                     without surrounding spaces, got {:?}",
                    clip(value, 60)
                ));
            }
        }
        Ok(())
    }
}

/// The service fields of an application for the volunteer insurance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceFields {
    /// [`FIELD_AANTAL_VRIJWILLIGERS`].
    pub aantal_vrijwilligers: u64,
    /// [`FIELD_BETAALD_PERSONEEL`].
    pub betaald_personeel: bool,
    /// [`FIELD_GESCHATTE_UREN`].
    pub geschatte_uren: u64,
}

impl ServiceFields {
    /// Reads the three fields; every missing or wrong one is named in one
    /// [`ProviderError::Permanent`]. Other fields are ignored. Numbers must be JSON integers
    /// (not strings, not fractions), the boolean a JSON `true`/`false`.
    pub fn from_fields(fields: &Map<String, Value>) -> Result<Self, ProviderError> {
        let whole = |name: &str, min: u64, max: u64| -> Result<u64, String> {
            match fields.get(name) {
                None | Some(Value::Null) => Err(format!("service field {name} is missing")),
                Some(v) => v
                    .as_u64()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        format!(
                            "service field {name} must be a whole number from {min} to {max}, \
                         got {}",
                            clip(&v.to_string(), 40)
                        )
                    }),
            }
        };
        let flag = |name: &str| -> Result<bool, String> {
            match fields.get(name) {
                Some(Value::Bool(b)) => Ok(*b),
                None | Some(Value::Null) => Err(format!("service field {name} is missing")),
                Some(v) => Err(format!(
                    "service field {name} must be true or false, got {}",
                    clip(&v.to_string(), 40)
                )),
            }
        };
        match (
            whole(FIELD_AANTAL_VRIJWILLIGERS, 1, MAX_VRIJWILLIGERS),
            flag(FIELD_BETAALD_PERSONEEL),
            whole(FIELD_GESCHATTE_UREN, 0, MAX_UREN),
        ) {
            (Ok(aantal_vrijwilligers), Ok(betaald_personeel), Ok(geschatte_uren)) => {
                Ok(ServiceFields {
                    aantal_vrijwilligers,
                    betaald_personeel,
                    geschatte_uren,
                })
            }
            (a, b, c) => {
                let errors: Vec<String> =
                    [a.err(), b.err(), c.err()].into_iter().flatten().collect();
                Err(ProviderError::Permanent(short(&errors.join("; "))))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

/// The whole SOAP envelope (UTF-8, with an XML declaration) asking for a recognition for the
/// application's organisation. `Referte` is the `applicationId`; `Tijdstip` is `now` in UTC.
/// A missing or wrong service field, or an applicant without a name or a valid e-mail
/// address, is a [`ProviderError::Permanent`] naming every such field.
pub fn vraag_erkenning_aan(
    application: &EnrichedApplication,
    parties: &Parties,
    now: OffsetDateTime,
) -> Result<String, ProviderError> {
    let fields = ServiceFields::from_fields(&application.fields);
    let contact = Contact::from_application(application);
    let (fields, contact) = match (fields, contact) {
        (Ok(f), Ok(c)) => (f, c),
        (Err(ProviderError::Permanent(a)), Err(b)) => {
            return Err(ProviderError::Permanent(short(&format!("{a}; {b}"))))
        }
        (Err(e), _) => return Err(e),
        (_, Err(b)) => return Err(ProviderError::Permanent(b)),
    };
    parties.check().map_err(ProviderError::Permanent)?;
    let organisatie = Organisatie::from_vereniging(&application.vereniging);
    let referte = application.application_id.to_string();
    let mut xml = Xml::new();
    write_envelope(
        &mut xml,
        Operation::VraagErkenningAan,
        parties,
        &referte,
        now,
        |x| {
            organisatie.write(x)?;
            contact.write(x)?;
            x.start("Vrijwilligerswerk")?;
            x.text(
                "AantalVrijwilligers",
                &fields.aantal_vrijwilligers.to_string(),
            )?;
            x.text("BetaaldPersoneel", boolean(fields.betaald_personeel))?;
            x.text("GeschatteUren", &fields.geschatte_uren.to_string())?;
            x.end("Vrijwilligerswerk")
        },
    )
    .map_err(|e| ProviderError::Permanent(format!("writing the request failed: {e}")))?;
    Ok(xml.finish())
}

/// The whole SOAP envelope asking for the recognition `erkenningsnummer` (which must look
/// like `VV-2026-00042`, else [`ProviderError::Permanent`]), with `referte` (a fresh GUID per
/// call) as its `Referte`.
pub fn geef_erkenning(
    erkenningsnummer: &str,
    referte: Uuid,
    parties: &Parties,
    now: OffsetDateTime,
) -> Result<String, ProviderError> {
    if !is_erkenningsnummer(erkenningsnummer) {
        return Err(ProviderError::Permanent(format!(
            "{:?} is not an erkenningsnummer (VV-yyyy-nnnnn)",
            clip(erkenningsnummer, 60)
        )));
    }
    parties.check().map_err(ProviderError::Permanent)?;
    let mut xml = Xml::new();
    write_envelope(
        &mut xml,
        Operation::GeefErkenning,
        parties,
        &referte.to_string(),
        now,
        |x| x.text("Erkenningsnummer", erkenningsnummer),
    )
    .map_err(|e| ProviderError::Permanent(format!("writing the request failed: {e}")))?;
    Ok(xml.finish())
}

/// Whether `s` is an erkenningsnummer: `VV-`, 4 digits, `-`, 5 digits.
pub fn is_erkenningsnummer(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 13
        && s.starts_with("VV-")
        && b[7] == b'-'
        && b[3..7].iter().all(u8::is_ascii_digit)
        && b[8..].iter().all(u8::is_ascii_digit)
}

/// The `Referte` (`Verzoek/Context/Bericht/Afzender/Referte`) of a request envelope made by
/// [`vraag_erkenning_aan`] or [`geef_erkenning`]; `None` when the text is not such an
/// envelope.
pub fn request_referte(envelope: &str) -> Option<String> {
    let root = parse_xml(envelope).ok()?;
    let operation = soap_body(&root)?
        .children
        .iter()
        .find(|c| c.namespace.as_deref() == Some(NAMESPACE))?;
    let referte = operation
        .path(&["Verzoek", "Context", "Bericht", "Afzender", "Referte"])?
        .text();
    (!referte.is_empty()).then(|| referte.to_owned())
}

fn write_envelope(
    x: &mut Xml,
    operation: Operation,
    parties: &Parties,
    referte: &str,
    now: OffsetDateTime,
    inhoud: impl FnOnce(&mut Xml) -> io::Result<()>,
) -> io::Result<()> {
    x.open_envelope("vv", NAMESPACE, operation.name(), Some("Body"))?;
    x.start("Verzoek")?;
    x.magda_context(&MagdaContext {
        naam: operation.name(),
        versie: VERSION,
        type_: "VRAAG",
        sent_at: now,
        sender: &parties.sender,
        referte,
        receiver: &parties.receiver,
    })?;

    x.start("Vragen")?;
    x.start("Vraag")?;
    x.text("Referte", referte)?;
    x.start("Inhoud")?;
    inhoud(x)?;
    x.end("Inhoud")?;
    x.end("Vraag")?;
    x.end("Vragen")?;

    x.end("Verzoek")?;
    x.close_envelope("vv", operation.name())
}

/// `Organisatie`: what the snapshot holds, each value ready to write.
struct Organisatie {
    v_code: String,
    naam: Option<String>,
    verenigingstype: Option<String>,
    ondernemingsnummer: Option<String>,
    adres: Option<Zetel>,
    email: Option<String>,
}

/// `Organisatie/Adres`: at least one of postcode and gemeente.
struct Zetel {
    soort: &'static str,
    postcode: Option<String>,
    gemeente: Option<String>,
    land: Option<String>,
}

/// The register's location types that can be a seat, in order of preference, with their
/// `AdresSoortType`.
const SEAT_TYPES: [(&str, &str); 2] = [
    (
        "Maatschappelijke zetel volgens KBO",
        "MAATSCHAPPELIJKE_ZETEL",
    ),
    ("Correspondentie", "CORRESPONDENTIE"),
];

impl Organisatie {
    fn from_vereniging(v: &Vereniging) -> Self {
        let verenigingstype = Some(v.verenigingstype.code.trim())
            .filter(|c| {
                (1..=20).contains(&c.len())
                    && c.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            })
            .map(str::to_owned);
        Organisatie {
            v_code: v.v_code.as_str().to_owned(),
            naam: one_line(&v.naam, 500),
            verenigingstype,
            ondernemingsnummer: v.kbo_number().map(|k| k.as_str().to_owned()),
            adres: seat(v),
            email: primary_email(v),
        }
    }

    fn write(&self, x: &mut Xml) -> io::Result<()> {
        x.start("Organisatie")?;
        x.text("VCode", &self.v_code)?;
        x.optional("Naam", self.naam.as_deref())?;
        x.optional("Verenigingstype", self.verenigingstype.as_deref())?;
        x.optional("Ondernemingsnummer", self.ondernemingsnummer.as_deref())?;
        if let Some(a) = &self.adres {
            x.start("Adres")?;
            x.text("Soort", a.soort)?;
            x.optional("Postcode", a.postcode.as_deref())?;
            x.optional("Gemeente", a.gemeente.as_deref())?;
            x.optional("Land", a.land.as_deref())?;
            x.end("Adres")?;
        }
        x.optional("Email", self.email.as_deref())?;
        x.end("Organisatie")
    }
}

/// The seat: the first usable location of the most preferred seat type (a primary one of
/// that type first). An activity location is never taken for a seat.
fn seat(v: &Vereniging) -> Option<Zetel> {
    SEAT_TYPES.iter().find_map(|(locatietype, soort)| {
        let mut candidates: Vec<_> = v
            .locaties
            .iter()
            .filter(|l| l.locatietype.trim() == *locatietype)
            .collect();
        // Stable: primary first, otherwise the register's order.
        candidates.sort_by_key(|l| !l.is_primair);
        candidates
            .into_iter()
            .filter_map(|l| l.adres.as_ref())
            .find_map(|a| zetel(soort, a))
    })
}

fn zetel(soort: &'static str, a: &Adres) -> Option<Zetel> {
    let postcode = Some(a.postcode.trim())
        .filter(|p| is_postcode(p))
        .map(str::to_owned);
    let gemeente = one_line(&a.gemeente, 200);
    if postcode.is_none() && gemeente.is_none() {
        return None;
    }
    Some(Zetel {
        soort,
        postcode,
        gemeente,
        land: one_line(&a.land, 200),
    })
}

/// The XSD's `PostcodeType`: a letter or digit, then up to 15 letters, digits, spaces or
/// dashes.
fn is_postcode(p: &str) -> bool {
    let mut chars = p.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && p.chars().count() <= 16
        && chars.all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
}

/// The primary e-mail contactgegeven, else the first; only an address the XSD accepts.
fn primary_email(v: &Vereniging) -> Option<String> {
    let mut emails: Vec<_> = v
        .contactgegevens
        .iter()
        .filter(|c| c.contactgegeventype.trim().eq_ignore_ascii_case("E-mail"))
        .collect();
    emails.sort_by_key(|c| !c.is_primair);
    emails
        .into_iter()
        .map(|c| c.waarde.trim())
        .find(|e| is_email(e))
        .map(str::to_owned)
}

/// An address the hub vouches for ([`contracts::Email`]); the XSD's `EmailType` accepts
/// every one.
pub fn is_email(e: &str) -> bool {
    e.parse::<contracts::Email>().is_ok()
}

/// The XSD's `TelefoonType`: digits, spaces, `+ ( ) / . -`, at least one digit, at most 50.
fn is_telefoon(t: &str) -> bool {
    t.chars().count() <= 50
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || " +()/.-".contains(c))
}

/// `Contactpersoon`: the applicant.
struct Contact {
    voornaam: String,
    achternaam: String,
    email: String,
    telefoon: Option<String>,
}

impl Contact {
    /// Names the applicant fields that cannot be sent.
    fn from_application(application: &EnrichedApplication) -> Result<Self, String> {
        let a = &application.applicant;
        let voornaam = one_line(&a.voornaam, 200);
        let achternaam = one_line(&a.achternaam, 200);
        let email = a.email.trim();
        let mut errors = Vec::new();
        if voornaam.is_none() {
            errors.push("applicant.voornaam is empty");
        }
        if achternaam.is_none() {
            errors.push("applicant.achternaam is empty");
        }
        if email.is_empty() {
            errors.push("applicant.e-mail is empty");
        } else if !is_email(email) {
            errors.push("applicant.e-mail is not an e-mail address");
        }
        match (voornaam, achternaam) {
            (Some(voornaam), Some(achternaam)) if errors.is_empty() => Ok(Contact {
                voornaam,
                achternaam,
                email: email.to_owned(),
                telefoon: Some(a.telefoon.trim())
                    .filter(|t| is_telefoon(t))
                    .map(str::to_owned),
            }),
            _ => Err(errors.join("; ")),
        }
    }

    fn write(&self, x: &mut Xml) -> io::Result<()> {
        x.start("Contactpersoon")?;
        x.text("Voornaam", &self.voornaam)?;
        x.text("Achternaam", &self.achternaam)?;
        x.text("Email", &self.email)?;
        x.optional("Telefoon", self.telefoon.as_deref())?;
        x.end("Contactpersoon")
    }
}

/// One line of at most `max` characters: characters XML cannot carry replaced by U+FFFD,
/// white-space runs collapsed to one space, trimmed, cut at `max`; `None` when nothing is
/// left.
fn one_line(s: &str, max: usize) -> Option<String> {
    let cleaned = clean_text(s);
    let joined = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = joined.chars().take(max).collect();
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| cut.to_owned())
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

pub use adapter_soap::fault::{status_is_transient, Uitzondering, UitzonderingType};

/// `Erkenning/Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErkenningStatus {
    Actief,
    Ingetrokken,
}

impl ErkenningStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ErkenningStatus::Actief => "ACTIEF",
            ErkenningStatus::Ingetrokken => "INGETROKKEN",
        }
    }
}

/// A recognition, as the service answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erkenning {
    /// E.g. `VV-2026-00042`.
    pub erkenningsnummer: String,
    /// The recognised organisation.
    pub v_code: String,
    pub status: ErkenningStatus,
    /// `yyyy-MM-dd`.
    pub geldig_vanaf: String,
    /// `yyyy-MM-dd`, when withdrawn.
    pub ingetrokken_op: Option<String>,
    /// Why it was withdrawn.
    pub reden: Option<String>,
}

impl Erkenning {
    /// What the loket shows for a grant: `erkenningsnummer VV-2026-00042`.
    pub fn detail(&self) -> String {
        format!("erkenningsnummer {}", self.erkenningsnummer)
    }

    /// Why a withdrawn recognition no longer counts, e.g.
    /// `erkenning VV-2026-00042 ingetrokken op 2026-05-01: Betaald personeel in dienst`.
    pub fn withdrawal(&self) -> String {
        let mut text = format!("erkenning {} ingetrokken", self.erkenningsnummer);
        if let Some(op) = &self.ingetrokken_op {
            text.push_str(" op ");
            text.push_str(op);
        }
        if let Some(reden) = &self.reden {
            text.push_str(": ");
            text.push_str(reden);
        }
        short(&text)
    }

    /// What the recognition means for the application, whichever operation answered it:
    /// `ACTIEF` grants it ([`Erkenning::detail`]), `INGETROKKEN` refuses it
    /// ([`Erkenning::withdrawal`]).
    fn decision(&self) -> Decision {
        match self.status {
            ErkenningStatus::Actief => Decision::Approved {
                detail: Some(self.detail()),
            },
            ErkenningStatus::Ingetrokken => Decision::Refused {
                reason: self.withdrawal(),
            },
        }
    }
}

/// A readable answer of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `Antwoord/Inhoud/Erkenning`: granted (`VraagErkenningAan`) or found (`GeefErkenning`);
    /// `remarks` are the `WAARSCHUWING`s and `INFORMATIE`s (context and answer level).
    Erkenning {
        referte: String,
        erkenning: Erkenning,
        remarks: Vec<Uitzondering>,
    },
    /// One or more `FOUT`s in the `Antwoord`: refused (`VraagErkenningAan`) or not found
    /// (`GeefErkenning`). `referte` is the echoed `Referte` (`None` when the answer left it
    /// out).
    Fout {
        referte: Option<String>,
        fouten: Vec<Uitzondering>,
    },
}

/// Reads the service's answer to `operation` (HTTP `status` and `body`), sent with
/// `sent_referte`. `Ok` for an `Erkenning` or `FOUT`s in the `Antwoord`; otherwise the
/// failure, classified (see the module documentation).
pub fn read_answer(
    operation: Operation,
    status: u16,
    body: &str,
    sent_referte: &str,
) -> Result<Answer, ProviderError> {
    let success = (200..=299).contains(&status);
    let doc = parse_xml(body);
    let soap_body = doc.as_ref().ok().and_then(soap_body);
    if let Some(soap_body) = soap_body {
        if let Some(fault) = soap_fault(soap_body) {
            return Err(fault_error(status, fault));
        }
        if let Some(response) = soap_body.child_qualified(NAMESPACE, operation.response_name()) {
            return read_response(status, response, sent_referte.trim());
        }
    }
    let why = match (&doc, soap_body) {
        _ if !success => snippet(body),
        (Err(e), _) => e.clone(),
        (Ok(_), None) => "no SOAP 1.1 Envelope with a Body".to_owned(),
        (Ok(_), Some(_)) => format!("no {} or Fault in the Body", operation.response_name()),
    };
    Err(not_a_reply(status, &why))
}

/// The answer to `VraagErkenningAan` for the application with `referte` (its
/// `applicationId`) and `v_code`, as the hub's [`Submitted`]:
/// - an `Erkenning` `ACTIEF` → `Approved { detail: "erkenningsnummer VV-…" }`, reference the
///   erkenningsnummer (an `INGETROKKEN` one → `Refused` with the withdrawal);
/// - `FOUT`s → `Refused { reason: "<code>: <Diagnose>" }` (several joined by `; `), reference
///   the echoed `Referte` (or `-`);
/// - an `Erkenning` for another organisation → [`ProviderError::Permanent`].
pub fn read_submitted(
    status: u16,
    body: &str,
    referte: &str,
    v_code: &str,
) -> Result<Submitted, ProviderError> {
    match read_answer(Operation::VraagErkenningAan, status, body, referte)? {
        Answer::Erkenning { erkenning, .. } => {
            if erkenning.v_code != v_code {
                return Err(ProviderError::Permanent(short(&format!(
                    "the service answered erkenning {} for {}, not for {v_code}",
                    erkenning.erkenningsnummer, erkenning.v_code
                ))));
            }
            Ok(Submitted {
                decision: erkenning.decision(),
                reference: erkenning.erkenningsnummer,
            })
        }
        Answer::Fout { referte, fouten } => Ok(Submitted {
            reference: referte.unwrap_or_else(|| "-".to_owned()),
            decision: Decision::Refused {
                reason: refusal_reason(&fouten),
            },
        }),
    }
}

/// The answer to `GeefErkenning` for `erkenningsnummer`, sent with `referte`, as the hub's
/// [`Decision`]: `ACTIEF` → `Approved { detail: "erkenningsnummer VV-…" }`, `INGETROKKEN` →
/// `Refused` with the withdrawal; a `FOUT` (e.g. `VV-201`, unknown number) or an answer about
/// another recognition → [`ProviderError::Permanent`].
pub fn read_decision(
    status: u16,
    body: &str,
    referte: &str,
    erkenningsnummer: &str,
) -> Result<Decision, ProviderError> {
    match read_answer(Operation::GeefErkenning, status, body, referte)? {
        Answer::Erkenning { erkenning, .. } => {
            if erkenning.erkenningsnummer != erkenningsnummer {
                return Err(ProviderError::Permanent(short(&format!(
                    "asked for erkenning {erkenningsnummer}, the service answered {}",
                    erkenning.erkenningsnummer
                ))));
            }
            Ok(erkenning.decision())
        }
        Answer::Fout { fouten, .. } => Err(ProviderError::Permanent(short(&format!(
            "erkenning {erkenningsnummer}: {}",
            refusal_reason(&fouten)
        )))),
    }
}

/// `<code>: <Diagnose>` per `FOUT`, joined by `; `, at most [`MAX_REASON_CHARS`].
fn refusal_reason(fouten: &[Uitzondering]) -> String {
    let text = fouten
        .iter()
        .map(|u| format!("{}: {}", u.identificatie, u.diagnose))
        .collect::<Vec<_>>()
        .join("; ");
    short(&text)
}

/// Neither a fault nor a usable answer: permanent for a 2xx, by status otherwise.
fn not_a_reply(status: u16, why: &str) -> ProviderError {
    if (200..=299).contains(&status) {
        ProviderError::Permanent(short(&format!("HTTP {status} but not an answer: {why}")))
    } else if status_is_transient(status) {
        ProviderError::Transient(short(&format!("HTTP {status}: {why}")))
    } else {
        ProviderError::Permanent(short(&format!("HTTP {status}: {why}")))
    }
}

fn fault_error(status: u16, fault: &Element) -> ProviderError {
    let fault = Fault::of(fault);
    if fault.is_throttled() {
        return ProviderError::Transient(short(&format!("throttled: {}", fault.string)));
    }
    let reason = short(&format!("SOAP fault {}: {}", fault.code, fault.string));
    if fault.is_transient(status) {
        ProviderError::Transient(reason)
    } else {
        ProviderError::Permanent(reason)
    }
}

fn read_response(status: u16, response: &Element, sent: &str) -> Result<Answer, ProviderError> {
    let Some(repliek) = response.child("Repliek") else {
        return Err(not_a_reply(status, "a response without a Repliek"));
    };
    let mut remarks = uitzonderingen(repliek).map_err(|why| not_a_reply(status, &why))?;
    if let Some(fout) = remarks.iter().find(|u| u.type_ == UitzonderingType::Fout) {
        return Err(ProviderError::Permanent(short(&format!(
            "the service refused the call: {fout}"
        ))));
    }
    let Some(antwoord) = repliek.path(&["Antwoorden", "Antwoord"]) else {
        return Err(not_a_reply(status, "a Repliek without an Antwoord"));
    };
    let exceptions = uitzonderingen(antwoord).map_err(|why| not_a_reply(status, &why))?;
    let (fouten, others): (Vec<_>, Vec<_>) = exceptions
        .into_iter()
        .partition(|u| u.type_ == UitzonderingType::Fout);
    remarks.extend(others);

    let echoed = antwoord.child_text("Referte");
    if !echoed.is_empty() && !echoed.eq_ignore_ascii_case(sent) {
        return Err(not_a_reply(
            status,
            &format!("the Antwoord echoes Referte {echoed}, not {sent}"),
        ));
    }
    if let Some(context_echo) = context_referte(repliek) {
        if !context_echo.eq_ignore_ascii_case(sent) {
            return Err(not_a_reply(
                status,
                &format!("the Context echoes Referte {context_echo}, not {sent}"),
            ));
        }
    }
    if !fouten.is_empty() {
        return Ok(Answer::Fout {
            referte: (!echoed.is_empty()).then(|| echoed.to_owned()),
            fouten,
        });
    }
    if echoed.is_empty() {
        return Err(not_a_reply(status, "an Antwoord without a Referte"));
    }
    if !(200..=299).contains(&status) {
        return Err(not_a_reply(status, "an Antwoord without a FOUT"));
    }
    let Some(erkenning) = antwoord.path(&["Inhoud", "Erkenning"]) else {
        return Err(not_a_reply(
            status,
            "an Antwoord with neither an Erkenning nor a FOUT",
        ));
    };
    let erkenning = read_erkenning(erkenning).map_err(|why| not_a_reply(status, &why))?;
    Ok(Answer::Erkenning {
        referte: echoed.to_owned(),
        erkenning,
        remarks,
    })
}

fn read_erkenning(e: &Element) -> Result<Erkenning, String> {
    let nummer = e.child_text("Erkenningsnummer");
    if !is_erkenningsnummer(nummer) {
        return Err(format!(
            "an Erkenning with Erkenningsnummer {:?}",
            clip(nummer, 40)
        ));
    }
    let v_code = e.child_text("VCode");
    if v_code.is_empty() {
        return Err("an Erkenning without a VCode".to_owned());
    }
    let status = match e.child_text("Status") {
        "ACTIEF" => ErkenningStatus::Actief,
        "INGETROKKEN" => ErkenningStatus::Ingetrokken,
        other => {
            return Err(format!(
                "an Erkenning with an unknown Status {:?}",
                clip(other, 40)
            ))
        }
    };
    let geldig_vanaf = e.child_text("GeldigVanaf");
    if geldig_vanaf.is_empty() {
        return Err("an Erkenning without GeldigVanaf".to_owned());
    }
    let optional = |name: &str| {
        Some(e.child_text(name))
            .filter(|t| !t.is_empty())
            .map(|t| clip(t, MAX_REASON_CHARS))
    };
    Ok(Erkenning {
        erkenningsnummer: nummer.to_owned(),
        v_code: clip(v_code, 40),
        status,
        geldig_vanaf: clip(geldig_vanaf, 40),
        ingetrokken_op: optional("IngetrokkenOp"),
        reden: optional("Reden"),
    })
}

/// The `Uitzonderingen/Uitzondering`s directly under `parent`, each text on one line and
/// at most [`MAX_REASON_CHARS`] characters.
fn uitzonderingen(parent: &Element) -> Result<Vec<Uitzondering>, String> {
    adapter_soap::fault::uitzonderingen(parent, |s| clip(&collapse(s), MAX_REASON_CHARS))
}
