//! Association publications as MAGDA-style SOAP 1.1 messages, and the classification of the
//! back office's reply. Pure: no I/O (the HTTP call is `endpoint`'s).
//!
//! The contract is `contracts/xsd/publicatie-v1.xsd` (operation elements in [`NAMESPACE`],
//! child elements unqualified) and `contracts/wsdl/publicatie-v1.wsdl`; examples are in
//! `contracts/examples/soap/`. The XML is written with quick-xml's `Writer`, every text value
//! escaped, and read back with its `NsReader`.
//!
//! Rendering rules (documented in the XSD too):
//! - every string of the register is always emitted; an empty string is an empty element
//!   (`<roepnaam></roepnaam>`), so "now empty" cannot be mistaken for "not sent";
//! - a value absent in the register (`startdatum`/`einddatum` `None`, no `adres`, no
//!   `adresId`, an `insz` the field policy removed) is left out;
//! - an empty list is an empty container element (`<contactgegevens/>`);
//! - characters XML 1.0 cannot carry (control characters other than tab, LF, CR) become
//!   U+FFFD; CR is written as `&#13;` so that it survives end-of-line normalisation;
//! - `relaties`, `lidmaatschappen` and `erkenningen` (free-form JSON) are not carried in v1,
//!   nor are JSON-LD `@id`/`@type`;
//! - `Tijdstip` is the time of sending in UTC.

use std::io;

use adapter_soap::fault::{unreadable_is_transient, Fault};
use adapter_soap::text::{clip, short, snippet};
use adapter_soap::xml::{
    boolean, context_referte, parse as parse_xml, soap_body, soap_fault, xs_date, Element,
    MagdaContext, XmlWriter as Xml,
};
use contracts::register::{Status, Vereniging};
use contracts::{AssociationChanged, AssociationRemoved, MessageType, Metadata, TerritoryNotice};
use time::OffsetDateTime;

/// Namespace of the operation elements (`OntvangPublicatie`, `OntvangPublicatieResponse`).
pub const NAMESPACE: &str = "http://verenigingsloket.vlaanderen.be/hub/publicatie/v1";
pub use adapter_soap::{CONTENT_TYPE, MAX_REASON_CHARS, SOAP_ENVELOPE_NAMESPACE};
/// The operation's `SOAPAction` (sent quoted in the HTTP header).
pub const SOAP_ACTION: &str =
    "http://verenigingsloket.vlaanderen.be/hub/publicatie/v1/OntvangPublicatie";
/// `Context/Naam`.
pub const OPERATION: &str = "OntvangPublicatie";
/// `Context/Versie` of this contract.
pub const VERSION: &str = "01.00.0000";

/// What the hub delivers to a municipality's back office: one message.
#[derive(Debug, Clone, Copy)]
pub enum Publication<'a> {
    /// `association.changed`, already filtered by the municipality's field policy.
    Changed(&'a AssociationChanged),
    /// `association.removed`.
    Removed(&'a AssociationRemoved),
    /// `association.entered-territory` or `association.left-territory`.
    Notice(&'a TerritoryNotice),
}

impl<'a> Publication<'a> {
    /// The message's metadata (its `message_id` is the SOAP `Referte`).
    pub fn metadata(&self) -> &'a Metadata {
        match self {
            Publication::Changed(m) => &m.metadata,
            Publication::Removed(m) => &m.metadata,
            Publication::Notice(m) => &m.metadata,
        }
    }

    /// The `Soort` the publication is sent as. A notice is `BUITEN_GEBIED` exactly when its
    /// type is `association.left-territory`, `BINNEN_GEBIED` otherwise.
    pub fn soort(&self) -> Soort {
        match self {
            Publication::Changed(_) => Soort::Gewijzigd,
            Publication::Removed(_) => Soort::Verwijderd,
            Publication::Notice(n) => {
                if n.metadata.message_type == MessageType::AssociationLeftTerritory {
                    Soort::BuitenGebied
                } else {
                    Soort::BinnenGebied
                }
            }
        }
    }

    /// The `Referte` of the request: the hub's message id, the same on every redelivery.
    pub fn referte(&self) -> String {
        self.metadata().message_id.to_string()
    }
}

impl<'a> From<&'a AssociationChanged> for Publication<'a> {
    fn from(m: &'a AssociationChanged) -> Self {
        Publication::Changed(m)
    }
}

impl<'a> From<&'a AssociationRemoved> for Publication<'a> {
    fn from(m: &'a AssociationRemoved) -> Self {
        Publication::Removed(m)
    }
}

impl<'a> From<&'a TerritoryNotice> for Publication<'a> {
    fn from(m: &'a TerritoryNotice) -> Self {
        Publication::Notice(m)
    }
}

/// `Publicatie/Soort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soort {
    Gewijzigd,
    Verwijderd,
    BinnenGebied,
    BuitenGebied,
}

impl Soort {
    pub fn as_str(self) -> &'static str {
        match self {
            Soort::Gewijzigd => "GEWIJZIGD",
            Soort::Verwijderd => "VERWIJDERD",
            Soort::BinnenGebied => "BINNEN_GEBIED",
            Soort::BuitenGebied => "BUITEN_GEBIED",
        }
    }
}

/// Who talks to whom: `Context/Bericht/Afzender/Identificatie` (the hub, e.g.
/// `kbbj.vlaanderen.be/verenigingsloket-hub`) and `Context/Bericht/Ontvanger/Identificatie`
/// (the back office, e.g. the municipality's OVO code). Both must be non-empty without
/// surrounding spaces (at most 255 characters) for the request to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    pub sender: String,
    pub receiver: String,
}

// ---------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------

/// The whole SOAP envelope (UTF-8, with an XML declaration) for one publication.
/// `Referte` is the message's `metadata.message_id`; `Tijdstip` is `now` in UTC.
pub fn request(p: &Publication, parties: &Parties, now: OffsetDateTime) -> String {
    let mut xml = Xml::new();
    // Writing into a Vec<u8> has no I/O that could fail.
    write_envelope(&mut xml, p, parties, now).expect("writing XML into memory cannot fail");
    xml.finish()
}

fn write_envelope(
    x: &mut Xml,
    p: &Publication,
    parties: &Parties,
    now: OffsetDateTime,
) -> io::Result<()> {
    let meta = p.metadata();
    let referte = p.referte();
    x.open_envelope("pub", NAMESPACE, OPERATION, Some("Body"))?;
    x.start("Verzoek")?;
    x.magda_context(&MagdaContext {
        naam: OPERATION,
        versie: VERSION,
        type_: "PUBLICATIE",
        sent_at: now,
        sender: &parties.sender,
        referte: &referte,
        receiver: &parties.receiver,
    })?;

    x.start("Vragen")?;
    x.start("Vraag")?;
    x.text("Referte", &referte)?;
    x.start("Inhoud")?;
    x.start("Publicatie")?;
    x.text("Soort", p.soort().as_str())?;
    x.text("CorrelatieId", &meta.correlation_id.to_string())?;
    x.text("VCode", meta.v_code.as_str())?;
    x.text("Sequentie", &meta.sequence.to_string())?;
    if let Some(version) = meta.version {
        x.text("Versie", &version.to_string())?;
    }
    match p {
        Publication::Changed(m) => {
            if !m.changed_parts.is_empty() {
                x.start("GewijzigdeDelen")?;
                for part in &m.changed_parts {
                    x.text("Deel", part.as_str())?;
                }
                x.end("GewijzigdeDelen")?;
            }
            if !m.withheld.is_empty() {
                x.start("Achtergehouden")?;
                for veld in &m.withheld {
                    x.text("Veld", veld)?;
                }
                x.end("Achtergehouden")?;
            }
            write_vereniging(x, &m.vereniging)?;
        }
        Publication::Removed(_) => {}
        Publication::Notice(n) => x.text("Gebied", &n.territory)?,
    }
    x.end("Publicatie")?;
    x.end("Inhoud")?;
    x.end("Vraag")?;
    x.end("Vragen")?;

    x.end("Verzoek")?;
    x.close_envelope("pub", OPERATION)
}

fn write_vereniging(x: &mut Xml, v: &Vereniging) -> io::Result<()> {
    x.start("vereniging")?;
    x.text("vCode", v.v_code.as_str())?;
    x.start("verenigingstype")?;
    x.text("code", &v.verenigingstype.code)?;
    x.text("naam", &v.verenigingstype.naam)?;
    x.end("verenigingstype")?;
    x.text("naam", &v.naam)?;
    x.text("roepnaam", &v.roepnaam)?;
    x.text("korteNaam", &v.korte_naam)?;
    x.text("korteBeschrijving", &v.korte_beschrijving)?;
    if let Some(d) = v.startdatum {
        x.text("startdatum", &xs_date(d))?;
    }
    if let Some(d) = v.einddatum {
        x.text("einddatum", &xs_date(d))?;
    }
    x.text("status", status_name(v.status))?;
    x.start("doelgroep")?;
    x.text("minimumleeftijd", &v.doelgroep.minimumleeftijd.to_string())?;
    x.text("maximumleeftijd", &v.doelgroep.maximumleeftijd.to_string())?;
    x.end("doelgroep")?;

    x.list("contactgegevens", &v.contactgegevens, |x, c| {
        x.start("contactgegeven")?;
        x.text("contactgegevenId", &c.contactgegeven_id.to_string())?;
        x.text("contactgegeventype", &c.contactgegeventype)?;
        x.text("waarde", &c.waarde)?;
        x.text("beschrijving", &c.beschrijving)?;
        x.text("isPrimair", boolean(c.is_primair))?;
        x.end("contactgegeven")
    })?;

    x.list("locaties", &v.locaties, |x, l| {
        x.start("locatie")?;
        x.text("locatieId", &l.locatie_id.to_string())?;
        x.text("locatietype", &l.locatietype)?;
        x.text("isPrimair", boolean(l.is_primair))?;
        x.text("naam", &l.naam)?;
        x.text("adresvoorstelling", &l.adresvoorstelling)?;
        if let Some(a) = &l.adres {
            x.start("adres")?;
            x.text("straatnaam", &a.straatnaam)?;
            x.text("huisnummer", &a.huisnummer)?;
            x.text("busnummer", &a.busnummer)?;
            x.text("postcode", &a.postcode)?;
            x.text("gemeente", &a.gemeente)?;
            x.text("land", &a.land)?;
            x.end("adres")?;
        }
        if let Some(id) = &l.adres_id {
            x.start("adresId")?;
            x.text("broncode", &id.broncode)?;
            x.text("bronwaarde", &id.bronwaarde)?;
            x.end("adresId")?;
        }
        x.end("locatie")
    })?;

    x.list("vertegenwoordigers", &v.vertegenwoordigers, |x, r| {
        x.start("vertegenwoordiger")?;
        x.text("vertegenwoordigerId", &r.vertegenwoordiger_id.to_string())?;
        if let Some(insz) = &r.insz {
            x.text("insz", insz)?;
        }
        x.text("voornaam", &r.voornaam)?;
        x.text("achternaam", &r.achternaam)?;
        x.text("roepnaam", &r.roepnaam)?;
        x.text("rol", &r.rol)?;
        x.text("isPrimair", boolean(r.is_primair))?;
        x.text("e-mail", &r.e_mail)?;
        x.text("telefoon", &r.telefoon)?;
        x.text("mobiel", &r.mobiel)?;
        x.text("socialMedia", &r.social_media)?;
        x.end("vertegenwoordiger")
    })?;

    x.list(
        "hoofdactiviteitenVerenigingsloket",
        &v.hoofdactiviteiten_verenigingsloket,
        |x, c| {
            x.start("hoofdactiviteit")?;
            x.text("code", &c.code)?;
            x.text("naam", &c.naam)?;
            x.end("hoofdactiviteit")
        },
    )?;

    x.list("werkingsgebieden", &v.werkingsgebieden, |x, c| {
        x.start("werkingsgebied")?;
        x.text("code", &c.code)?;
        x.text("naam", &c.naam)?;
        x.end("werkingsgebied")
    })?;

    x.list("sleutels", &v.sleutels, |x, s| {
        x.start("sleutel")?;
        x.text("bron", &s.bron)?;
        x.text("waarde", &s.waarde)?;
        x.text("codeerSysteem", &s.codeer_systeem)?;
        x.end("sleutel")
    })?;

    x.end("vereniging")
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Actief => "Actief",
        Status::Gestopt => "Gestopt",
        Status::Dubbel => "Dubbel",
    }
}

// ---------------------------------------------------------------------------------------
// Reply
// ---------------------------------------------------------------------------------------

pub use adapter_soap::fault::{status_is_transient, Uitzondering, UitzonderingType};

/// What the back office's answer means. Every reason is at most [`MAX_REASON_CHARS`]
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// HTTP 2xx, a well-formed `Repliek` whose `Antwoord` echoes the `Referte`, and no
    /// `FOUT`: delivered. `WAARSCHUWING`s and `INFORMATIE`s (context and answer level) are
    /// passed on to be logged.
    Delivered { warnings: Vec<Uitzondering> },
    /// An `Uitzondering` of type `FOUT` anywhere in the `Repliek` (the first one): refused
    /// for good.
    Refused(Uitzondering),
    /// SOAP fault `99995` (too many concurrent calls): retry later. Holds the faultstring.
    Throttled(String),
    /// Another SOAP fault: `soapenv:Server` is transient, `soapenv:Client` (and
    /// `VersionMismatch`, `MustUnderstand`) permanent; an unknown faultcode follows the HTTP
    /// status (5xx, 429, 408 transient).
    Fault { transient: bool, reason: String },
    /// Neither a reply nor a fault: for a non-2xx status, transient for 5xx, 429 and 408 and
    /// permanent otherwise; for a 2xx (not a reply, or a reply to another message)
    /// permanent.
    Unreadable { transient: bool, reason: String },
}

impl Reply {
    /// Whether it is a failure worth retrying later.
    pub fn is_transient(&self) -> bool {
        match self {
            Reply::Delivered { .. } | Reply::Refused(_) => false,
            Reply::Throttled(_) => true,
            Reply::Fault { transient, .. } | Reply::Unreadable { transient, .. } => *transient,
        }
    }
}

/// Classifies the back office's answer to a publication without knowing which `Referte`
/// was sent: the `Antwoord`'s `Referte` must then agree with the one echoed in the reply's
/// `Context/Bericht/Ontvanger/Referte` (when that is present). Prefer
/// [`classify_reply_to`] when the request is at hand.
pub fn classify_reply(status: u16, body: &str) -> Reply {
    classify(status, body, None)
}

/// Like [`classify_reply`], and a reply that does not echo `sent_referte` (the request's
/// `Referte`, compared case-insensitively) is `Unreadable` and permanent.
pub fn classify_reply_to(status: u16, body: &str, sent_referte: &str) -> Reply {
    classify(status, body, Some(sent_referte.trim()))
}

/// The `Referte` (`Verzoek/Context/Bericht/Afzender/Referte`) of a request envelope, e.g.
/// one made by [`request`]; `None` when the text is not such an envelope.
pub fn request_referte(envelope: &str) -> Option<String> {
    let root = parse_xml(envelope).ok()?;
    let operation = soap_body(&root)?.child_qualified(NAMESPACE, OPERATION)?;
    let referte = operation
        .path(&["Verzoek", "Context", "Bericht", "Afzender", "Referte"])?
        .text();
    (!referte.is_empty()).then(|| referte.to_owned())
}

fn classify(status: u16, body: &str, sent: Option<&str>) -> Reply {
    let success = (200..=299).contains(&status);
    let doc = parse_xml(body);
    let soap_body = doc.as_ref().ok().and_then(soap_body);
    if let Some(soap_body) = soap_body {
        if let Some(fault) = soap_fault(soap_body) {
            return classify_fault(status, fault);
        }
        if let Some(response) = soap_body.child_qualified(NAMESPACE, "OntvangPublicatieResponse") {
            return classify_response(status, response, sent);
        }
    }
    if !success {
        return not_a_reply(status, &snippet(body));
    }
    let why = match (&doc, soap_body) {
        (Err(e), _) => e.clone(),
        (Ok(_), None) => "no SOAP 1.1 Envelope with a Body".to_owned(),
        (Ok(_), Some(_)) => "no OntvangPublicatieResponse or Fault in the Body".to_owned(),
    };
    not_a_reply(status, &why)
}

/// Neither a fault nor a usable reply: permanent for a 2xx, by status otherwise.
fn not_a_reply(status: u16, why: &str) -> Reply {
    if (200..=299).contains(&status) {
        Reply::Unreadable {
            transient: false,
            reason: short(&format!("HTTP {status} but not a reply: {why}")),
        }
    } else {
        Reply::Unreadable {
            transient: unreadable_is_transient(status),
            reason: short(&format!("HTTP {status}: {why}")),
        }
    }
}

fn classify_fault(status: u16, fault: &Element) -> Reply {
    let fault = Fault::of(fault);
    if fault.is_throttled() {
        return Reply::Throttled(short(fault.string));
    }
    Reply::Fault {
        transient: fault.is_transient(status),
        reason: short(&format!("SOAP fault {}: {}", fault.code, fault.string)),
    }
}

fn classify_response(status: u16, response: &Element, sent: Option<&str>) -> Reply {
    let Some(repliek) = response.child("Repliek") else {
        return not_a_reply(status, "OntvangPublicatieResponse without a Repliek");
    };
    let antwoord = repliek.path(&["Antwoorden", "Antwoord"]);
    let exceptions = uitzonderingen(repliek).and_then(|mut all| {
        if let Some(a) = antwoord {
            all.extend(uitzonderingen(a)?);
        }
        Ok(all)
    });
    let exceptions = match exceptions {
        Ok(all) => all,
        Err(why) => return not_a_reply(status, &why),
    };
    if let Some(fout) = exceptions
        .iter()
        .find(|u| u.type_ == UitzonderingType::Fout)
    {
        return Reply::Refused(fout.clone());
    }
    if !(200..=299).contains(&status) {
        return not_a_reply(status, "a reply without a FOUT");
    }
    let Some(antwoord) = antwoord else {
        return not_a_reply(status, "a Repliek without an Antwoord");
    };
    let echoed = antwoord.child_text("Referte");
    if echoed.is_empty() {
        return not_a_reply(status, "an Antwoord without a Referte");
    }
    if let Some(sent) = sent {
        if !echoed.eq_ignore_ascii_case(sent) {
            return not_a_reply(
                status,
                &format!("the Antwoord echoes Referte {echoed}, not {sent}"),
            );
        }
    }
    if let Some(context_echo) = context_referte(repliek) {
        if !context_echo.eq_ignore_ascii_case(echoed) {
            return not_a_reply(
                status,
                &format!("the Context echoes Referte {context_echo}, the Antwoord {echoed}"),
            );
        }
    }
    if let Some(ontvangen) = antwoord.path(&["Inhoud", "Ontvangen"]) {
        if matches!(ontvangen.text(), "false" | "0") {
            return not_a_reply(status, "Ontvangen is false without a FOUT");
        }
    }
    Reply::Delivered {
        warnings: exceptions,
    }
}

/// The `Uitzonderingen/Uitzondering`s directly under `parent`, each text clipped to
/// [`MAX_REASON_CHARS`].
fn uitzonderingen(parent: &Element) -> Result<Vec<Uitzondering>, String> {
    adapter_soap::fault::uitzonderingen(parent, |s| clip(s, MAX_REASON_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::register::Status;
    use contracts::{fixtures, Crossing};
    use uuid::Uuid;

    const MESSAGE_ID: &str = "019a4a2e-5f3c-7a21-9c4e-3b8d2f6e1a07";

    fn metadata(t: MessageType) -> Metadata {
        Metadata {
            message_id: MESSAGE_ID.parse().expect("uuid"),
            message_type: t,
            time: OffsetDateTime::UNIX_EPOCH,
            source: "hub/register".into(),
            correlation_id: Uuid::nil(),
            v_code: "V0001001".parse().expect("vcode"),
            sequence: 48213,
            version: Some(7),
        }
    }

    fn changed() -> AssociationChanged {
        AssociationChanged {
            metadata: metadata(MessageType::AssociationChanged),
            changed_parts: vec![contracts::Part::Basisgegevens, contracts::Part::Locaties],
            withheld: vec![],
            vereniging: fixtures::register_example(),
        }
    }

    fn parties() -> Parties {
        Parties {
            sender: "kbbj.vlaanderen.be/verenigingsloket-hub".into(),
            receiver: "OVO002949".into(),
        }
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-03 09:15:02.431 +01:00)
    }

    fn publicatie(envelope: &str) -> Element {
        let root = parse_xml(envelope).expect("our envelope parses");
        let mut body = root
            .children
            .into_iter()
            .find(|c| c.is(SOAP_ENVELOPE_NAMESPACE, "Body"))
            .expect("body");
        let mut op = body.children.remove(0);
        assert!(op.is(NAMESPACE, OPERATION));
        let verzoek = op.children.remove(0);
        assert_eq!(verzoek.name, "Verzoek");
        verzoek
    }

    #[test]
    fn a_change_carries_metadata_parts_and_the_snapshot() {
        let m = changed();
        let envelope = request(&Publication::Changed(&m), &parties(), now());
        assert!(envelope.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(envelope.contains("<soapenv:Body Id=\"Body\">"));
        let v = publicatie(&envelope);
        let bericht = v.path(&["Context", "Bericht"]).expect("bericht");
        assert_eq!(bericht.child_text("Type"), "PUBLICATIE");
        // 09:15 at +01:00 is 08:15 UTC.
        assert_eq!(
            bericht.path_text(&["Tijdstip", "Datum"]),
            Some("2026-11-03")
        );
        assert_eq!(
            bericht.path_text(&["Tijdstip", "Tijd"]),
            Some("08:15:02.431")
        );
        assert_eq!(
            bericht.path_text(&["Afzender", "Referte"]),
            Some(MESSAGE_ID)
        );
        assert_eq!(
            bericht.path_text(&["Ontvanger", "Identificatie"]),
            Some("OVO002949")
        );
        let vraag = v.path(&["Vragen", "Vraag"]).expect("vraag");
        assert_eq!(vraag.child_text("Referte"), MESSAGE_ID);
        let p = vraag.path(&["Inhoud", "Publicatie"]).expect("publicatie");
        assert_eq!(p.child_text("Soort"), "GEWIJZIGD");
        assert_eq!(p.child_text("VCode"), "V0001001");
        assert_eq!(p.child_text("Sequentie"), "48213");
        assert_eq!(p.child_text("Versie"), "7");
        assert!(p.child("Gebied").is_none());
        let delen: Vec<&str> = p
            .child("GewijzigdeDelen")
            .expect("delen")
            .children
            .iter()
            .map(Element::text)
            .collect();
        assert_eq!(delen, vec!["basisgegevens", "locaties"]);
        let ver = p.child("vereniging").expect("vereniging");
        assert_eq!(ver.child_text("roepnaam"), "Harmonie Aalst");
        assert_eq!(ver.child_text("startdatum"), "1998-09-01");
        assert!(ver.child("einddatum").is_none(), "absent date left out");
        let rep = ver
            .path(&["vertegenwoordigers", "vertegenwoordiger"])
            .expect("rep");
        assert_eq!(rep.child_text("e-mail"), "an.peeters@example.be");
        assert_eq!(rep.child_text("insz"), "85071512397");
        // An empty string is an empty element, present.
        assert!(rep.child("roepnaam").is_some());
        assert!(envelope.contains("<roepnaam></roepnaam>"));
        let locaties: Vec<&Element> = ver
            .child("locaties")
            .expect("locaties")
            .children_named("locatie")
            .collect();
        assert_eq!(locaties.len(), 2);
        assert!(locaties[1].child("adresId").is_none());
        assert_eq!(locaties[0].path_text(&["adres", "postcode"]), Some("9300"));
        assert!(!envelope.contains("@id") && !envelope.contains("relaties"));
        assert_eq!(request_referte(&envelope).as_deref(), Some(MESSAGE_ID));
    }

    #[test]
    fn withheld_fields_are_listed_and_empty_lists_are_empty_elements() {
        let mut m = changed();
        m.withheld = vec!["vertegenwoordigers".into()];
        m.vereniging.vertegenwoordigers.clear();
        m.vereniging.status = Status::Gestopt;
        m.metadata.version = None;
        let envelope = request(&Publication::Changed(&m), &parties(), now());
        assert!(envelope.contains("<vertegenwoordigers/>"));
        let v = publicatie(&envelope);
        let p = v
            .path(&["Vragen", "Vraag", "Inhoud", "Publicatie"])
            .expect("publicatie");
        assert_eq!(
            p.path_text(&["Achtergehouden", "Veld"]),
            Some("vertegenwoordigers")
        );
        assert!(p.child("Versie").is_none());
        assert_eq!(p.path_text(&["vereniging", "status"]), Some("Gestopt"));
    }

    #[test]
    fn removals_and_notices_carry_no_association_data() {
        let removed = AssociationRemoved {
            metadata: metadata(MessageType::AssociationRemoved),
        };
        let envelope = request(&Publication::Removed(&removed), &parties(), now());
        let v = publicatie(&envelope);
        let p = v
            .path(&["Vragen", "Vraag", "Inhoud", "Publicatie"])
            .expect("publicatie");
        assert_eq!(p.child_text("Soort"), "VERWIJDERD");
        assert!(p.child("vereniging").is_none() && p.child("GewijzigdeDelen").is_none());

        let cause = metadata(MessageType::AssociationChanged);
        for (crossing, soort) in [
            (Crossing::Entered, "BINNEN_GEBIED"),
            (Crossing::Left, "BUITEN_GEBIED"),
        ] {
            let notice = TerritoryNotice::for_change(&cause, "aalst", crossing);
            let publication = Publication::from(&notice);
            assert_eq!(publication.soort().as_str(), soort);
            let envelope = request(&publication, &parties(), now());
            let v = publicatie(&envelope);
            let p = v
                .path(&["Vragen", "Vraag", "Inhoud", "Publicatie"])
                .expect("publicatie");
            assert_eq!(p.child_text("Soort"), soort);
            assert_eq!(p.child_text("Gebied"), "aalst");
            assert!(p.child("vereniging").is_none());
            assert_eq!(
                request_referte(&envelope),
                Some(notice.metadata.message_id.to_string())
            );
        }
    }

    #[test]
    fn text_is_escaped_and_unrepresentable_characters_replaced() {
        let mut m = changed();
        m.vereniging.naam = "Tom & Jerry <vzw> \"quoted\" 'single' ]]> Brûlé €\r\n".into();
        m.vereniging.korte_beschrijving = "bell\u{7}nul\u{0}end".into();
        let envelope = request(&Publication::Changed(&m), &parties(), now());
        assert!(envelope.contains("Tom &amp; Jerry &lt;vzw&gt;"));
        assert!(envelope.contains("&#13;"));
        assert!(!envelope.contains('\u{7}') && !envelope.contains('\u{0}'));
        let v = publicatie(&envelope);
        let ver = v
            .path(&["Vragen", "Vraag", "Inhoud", "Publicatie", "vereniging"])
            .expect("vereniging");
        let naam = ver.child("naam").expect("naam");
        assert_eq!(
            naam.text,
            "Tom & Jerry <vzw> \"quoted\" 'single' ]]> Brûlé €\r\n"
        );
        assert_eq!(
            ver.child_text("korteBeschrijving"),
            "bell\u{FFFD}nul\u{FFFD}end"
        );
    }

    // --- replies ---------------------------------------------------------------------------

    fn reply(context_exc: &str, antwoord_exc: &str, referte: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <pub:OntvangPublicatieResponse xmlns:pub="{NAMESPACE}">
   <Repliek>
    <Context>
     <Naam>OntvangPublicatie</Naam><Versie>01.00.0000</Versie>
     <Bericht><Type>ANTWOORD</Type>
      <Tijdstip><Datum>2026-11-03</Datum><Tijd>08:15:02.611</Tijd></Tijdstip>
      <Afzender><Identificatie>OVO002949</Identificatie><Referte>7b0e2f57-3c1d-4e8a-9f21-5d6c4b3a2e10</Referte></Afzender>
      <Ontvanger><Identificatie>kbbj.vlaanderen.be/verenigingsloket-hub</Identificatie><Referte>{referte}</Referte></Ontvanger>
     </Bericht>
    </Context>
    {context_exc}
    <Antwoorden><Antwoord><Referte>{referte}</Referte><Inhoud><Ontvangen>true</Ontvangen></Inhoud>{antwoord_exc}</Antwoord></Antwoorden>
   </Repliek>
  </pub:OntvangPublicatieResponse>
 </soapenv:Body>
</soapenv:Envelope>"#
        )
    }

    fn exc(code: &str, type_: &str, diagnose: &str) -> String {
        format!(
            "<Uitzonderingen><Uitzondering><Identificatie>{code}</Identificatie>\
             <Oorsprong>aalst</Oorsprong><Type>{type_}</Type><Diagnose>{diagnose}</Diagnose>\
             </Uitzondering></Uitzonderingen>"
        )
    }

    fn fault(code: &str, string: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode>{code}</faultcode><faultstring>{string}</faultstring></s:Fault></s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn an_echoing_reply_is_delivered_and_keeps_warnings() {
        assert_eq!(
            classify_reply_to(200, &reply("", "", MESSAGE_ID), MESSAGE_ID),
            Reply::Delivered { warnings: vec![] }
        );
        let warned = reply(
            "",
            &exc("40143", "WAARSCHUWING", "Reeds ontvangen"),
            MESSAGE_ID,
        );
        match classify_reply(200, &warned) {
            Reply::Delivered { warnings } => {
                assert_eq!(warnings.len(), 1);
                assert_eq!(warnings[0].type_, UitzonderingType::Waarschuwing);
                assert_eq!(
                    warnings[0].to_string(),
                    "WAARSCHUWING 40143 from aalst: Reeds ontvangen"
                );
            }
            other => panic!("{other:?}"),
        }
        // A GUID echoed in upper case is still ours.
        let upper = reply("", "", &MESSAGE_ID.to_uppercase());
        assert!(matches!(
            classify_reply_to(202, &upper, MESSAGE_ID),
            Reply::Delivered { .. }
        ));
    }

    #[test]
    fn a_fout_anywhere_refuses() {
        let at_answer = reply(
            "",
            &exc("40046", "FOUT", "Onbekend ondernemingsnummer"),
            MESSAGE_ID,
        );
        match classify_reply_to(200, &at_answer, MESSAGE_ID) {
            Reply::Refused(u) => {
                assert_eq!(u.identificatie, "40046");
                assert_eq!(
                    u.to_string(),
                    "FOUT 40046 from aalst: Onbekend ondernemingsnummer"
                );
            }
            other => panic!("{other:?}"),
        }
        let at_context = reply(&exc("30001", "fout", "Afzender onbekend"), "", MESSAGE_ID);
        assert!(matches!(
            classify_reply(200, &at_context),
            Reply::Refused(Uitzondering {
                type_: UitzonderingType::Fout,
                ..
            })
        ));
    }

    #[test]
    fn a_reply_to_another_message_is_unreadable_for_good() {
        let other = reply("", "", "11111111-2222-3333-4444-555555555555");
        match classify_reply_to(200, &other, MESSAGE_ID) {
            Reply::Unreadable { transient, reason } => {
                assert!(!transient);
                assert!(reason.contains("echoes Referte"), "{reason}");
            }
            r => panic!("{r:?}"),
        }
        let not_received = reply("", "", MESSAGE_ID).replace(
            "<Ontvangen>true</Ontvangen>",
            "<Ontvangen>false</Ontvangen>",
        );
        assert!(matches!(
            classify_reply(200, &not_received),
            Reply::Unreadable {
                transient: false,
                ..
            }
        ));
        let unknown_type = reply("", &exc("1", "PROBLEEM", "?"), MESSAGE_ID);
        assert!(matches!(
            classify_reply(200, &unknown_type),
            Reply::Unreadable {
                transient: false,
                ..
            }
        ));
    }

    #[test]
    fn faults_are_classified_by_code() {
        assert_eq!(
            classify_reply(
                500,
                &fault("s:Server", "99995 - Te veel gelijktijdige bevragingen")
            ),
            Reply::Throttled("99995 - Te veel gelijktijdige bevragingen".into())
        );
        assert!(matches!(
            classify_reply(500, &fault("s:Server.Busy", "later")),
            Reply::Fault {
                transient: true,
                ..
            }
        ));
        match classify_reply(500, &fault("s:Client", "Ongeldig bericht")) {
            Reply::Fault { transient, reason } => {
                assert!(!transient);
                assert_eq!(reason, "SOAP fault s:Client: Ongeldig bericht");
            }
            other => panic!("{other:?}"),
        }
        assert!(classify_reply(503, &fault("x:Other", "?")).is_transient());
        assert!(!classify_reply(400, &fault("x:Other", "?")).is_transient());
    }

    #[test]
    fn other_answers_follow_the_status() {
        let html = "<html><body><h1>503 Service Unavailable</h1></body></html>";
        match classify_reply(503, html) {
            Reply::Unreadable { transient, reason } => {
                assert!(transient);
                assert!(reason.starts_with("HTTP 503: <html>"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        for status in [429, 408, 500, 502] {
            assert!(classify_reply(status, "").is_transient(), "{status}");
        }
        for status in [400, 401, 404, 301] {
            assert!(!classify_reply(status, "nope").is_transient(), "{status}");
        }
        // Bodies that are no reply at all: tests/soap.rs, replies_are_classified.
    }

    #[test]
    fn reasons_are_short() {
        let long = "x".repeat(5000);
        let cases = [
            classify_reply(500, &fault("s:Client", &long)),
            classify_reply(500, &fault("s:Server", &format!("99995 {long}"))),
            classify_reply(503, &long),
            classify_reply(200, &format!("<{long}")),
            classify_reply(200, &reply("", &exc(&long, "FOUT", &long), MESSAGE_ID)),
        ];
        for case in cases {
            let text = match case {
                Reply::Throttled(r)
                | Reply::Fault { reason: r, .. }
                | Reply::Unreadable { reason: r, .. } => r,
                Reply::Refused(u) => {
                    assert!(u.diagnose.chars().count() <= MAX_REASON_CHARS);
                    assert!(u.identificatie.chars().count() <= MAX_REASON_CHARS);
                    continue;
                }
                Reply::Delivered { .. } => panic!("delivered"),
            };
            assert!(text.chars().count() <= MAX_REASON_CHARS, "{}", text.len());
        }
    }
}
