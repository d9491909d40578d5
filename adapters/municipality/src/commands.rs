//! A municipality's commands to the register (pure): validation with every field error at
//! once, the register request each command becomes, and whether a command's effect is
//! already visible in a snapshot.
//!
//! The contract (`contracts::commands`, `contracts/schemas/municipality.command.v1.json`)
//! describes the shape; [`parse_command`] checks it and the value rules, reporting each
//! problem with the path of its field (`vCode`, `data.waarde`, `data.adres.postcode`,
//! `data.werkingsgebieden[1]`; empty for the whole document). The hub's integrator does
//! the I/O: it sends [`to_write`]'s `Write` with the register client, answers with a
//! `Reply`, and, when an earlier attempt's outcome is unknown and the register answers 412
//! (or refuses a repeated add as a duplicate), asks [`already_applied`] whether the
//! command's effect is there.
//!
//! Error codes: `invalid-json`, `wrong-type`, `required`, `unknown-field`, `unknown-type`,
//! `invalid-uuid`, `invalid-vcode`, `empty`, `invalid-date`, `out-of-range`,
//! `invalid-range`, `unknown-code`, `invalid-code`, `duplicate`, `invalid-combination`,
//! `invalid-value`, `read-only`, `invalid-email`, `invalid-phone`, `invalid-url`,
//! `invalid-postcode`, `nothing-to-change`, `nul-character` (a string or key holding U+0000,
//! which the hub cannot store: refused here so the command is answered, not stuck).

use std::collections::BTreeSet;

use adapter_register::beheer::{FieldError, Write, WriteMethod};
use contracts::commands::{
    AddContactgegeven, AddLocatie, ChangeBasisgegevens, ChangeContactgegeven, ChangeLocatie,
    CommandAdres, ContactgegevenType, LocatieType, CHANGE_BASISGEGEVENS_FIELDS,
    HOOFDACTIVITEITEN_VERENIGINGSLOKET, LEEFTIJD_MAX, WERKINGSGEBIED_NVT,
};
use contracts::json::kind;
use contracts::register::{Adres, Contactgegeven, Locatie};
use contracts::text::{nul_paths, without_nul, NUL_CODE, NUL_REASON};
use contracts::{Command, CommandData, CommandType, Reply, ReplyError, VCode, Vereniging};
use serde_json::{json, Map, Value};
use time::{Date, Month, OffsetDateTime};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------------------

/// Parses and validates a command. On failure, every problem found, each with the path of
/// its field; a body that is not JSON at all gives one `invalid-json` error at ``.
pub fn parse_command(body: &[u8]) -> Result<Command, Vec<ReplyError>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        vec![ReplyError::new(
            "",
            "invalid-json",
            format!("the command is not JSON: {e}"),
        )]
    })?;
    let errors = validate(&value);
    if !errors.is_empty() {
        return Err(errors);
    }
    // Everything serde checks has been checked above; this only builds the value.
    serde_json::from_value(value)
        .map_err(|e| vec![ReplyError::new("", "wrong-type", e.to_string())])
}

/// Every problem of a command given as JSON (empty: valid).
pub fn validate(value: &Value) -> Vec<ReplyError> {
    let mut e = Errors::default();
    let Some(obj) = value.as_object() else {
        e.push(
            "",
            "wrong-type",
            format!("a command is a JSON object, got {}", kind(value)),
        );
        return e.0;
    };
    const TOP: [&str; 6] = [
        "commandId",
        "type",
        "vCode",
        "expectedVersion",
        "correlationId",
        "data",
    ];
    for path in nul_paths(value) {
        e.push(&path, NUL_CODE, NUL_REASON);
    }
    e.unknown_fields(obj, "", &TOP, "a command");
    e.require(obj, "", &["commandId", "type", "vCode", "data"]);
    if let Some(v) = obj.get("commandId") {
        e.uuid(v, "commandId");
    }
    let command_type = obj.get("type").and_then(|v| {
        let s = e.string(v, "type")?;
        let t = CommandType::parse(s);
        if t.is_none() {
            let known: Vec<&str> = CommandType::ALL.iter().map(|t| t.as_str()).collect();
            e.push(
                "type",
                "unknown-type",
                format!("unknown command type {s:?}; known: {}", known.join(", ")),
            );
        }
        t
    });
    if let Some(v) = obj.get("vCode") {
        e.v_code(v, "vCode");
    }
    if let Some(v) = obj.get("expectedVersion") {
        e.unsigned(v, "expectedVersion");
    }
    if let Some(v) = obj.get("correlationId") {
        e.uuid(v, "correlationId");
    }
    if let Some(v) = obj.get("data") {
        if let Some(data) = e.object(v, "data") {
            if let Some(t) = command_type {
                validate_data(t, data, &mut e);
            }
        }
    }
    e.0
}

fn validate_data(t: CommandType, data: &Map<String, Value>, e: &mut Errors) {
    let what = t.as_str();
    match t {
        CommandType::ChangeBasisgegevens => {
            e.unknown_fields(data, "data", &CHANGE_BASISGEGEVENS_FIELDS, what);
            e.something_to_change(data, &CHANGE_BASISGEGEVENS_FIELDS);
            if let Some(v) = data.get("naam") {
                e.non_empty_text(v, "data.naam");
            }
            for key in ["korteNaam", "korteBeschrijving"] {
                if let Some(v) = data.get(key) {
                    e.string(v, &format!("data.{key}"));
                }
            }
            if let Some(v) = data.get("startdatum") {
                if !v.is_null() {
                    e.date(v, "data.startdatum");
                }
            }
            if let Some(v) = data.get("doelgroep") {
                e.doelgroep(v, "data.doelgroep");
            }
            if let Some(v) = data.get("hoofdactiviteitenVerenigingsloket") {
                e.hoofdactiviteiten(v, "data.hoofdactiviteitenVerenigingsloket");
            }
            if let Some(v) = data.get("werkingsgebieden") {
                e.werkingsgebieden(v, "data.werkingsgebieden");
            }
        }
        CommandType::AddContactgegeven => {
            e.unknown_fields(
                data,
                "data",
                &["contactgegeventype", "waarde", "beschrijving", "isPrimair"],
                what,
            );
            e.require(data, "data", &["contactgegeventype", "waarde"]);
            let contact_type = data
                .get("contactgegeventype")
                .and_then(|v| e.contactgegeventype(v, "data.contactgegeventype"));
            if let Some(v) = data.get("waarde") {
                if let Some(waarde) = e.non_empty_text(v, "data.waarde") {
                    if let Some(t) = contact_type {
                        e.waarde(t, waarde, "data.waarde");
                    }
                }
            }
            e.contact_extras(data);
        }
        CommandType::ChangeContactgegeven => {
            const KEYS: [&str; 4] = ["contactgegevenId", "waarde", "beschrijving", "isPrimair"];
            e.unknown_fields(data, "data", &KEYS, what);
            e.require(data, "data", &["contactgegevenId"]);
            e.something_to_change(data, &KEYS[1..]);
            if let Some(v) = data.get("contactgegevenId") {
                e.id(v, "data.contactgegevenId");
            }
            if let Some(v) = data.get("waarde") {
                e.non_empty_text(v, "data.waarde");
            }
            e.contact_extras(data);
        }
        CommandType::RemoveContactgegeven => {
            e.unknown_fields(data, "data", &["contactgegevenId"], what);
            e.require(data, "data", &["contactgegevenId"]);
            if let Some(v) = data.get("contactgegevenId") {
                e.id(v, "data.contactgegevenId");
            }
        }
        CommandType::AddLocatie => {
            e.unknown_fields(
                data,
                "data",
                &["locatietype", "isPrimair", "naam", "adres"],
                what,
            );
            e.require(data, "data", &["locatietype", "adres"]);
            e.locatie_fields(data);
        }
        CommandType::ChangeLocatie => {
            const KEYS: [&str; 5] = ["locatieId", "locatietype", "isPrimair", "naam", "adres"];
            e.unknown_fields(data, "data", &KEYS, what);
            e.require(data, "data", &["locatieId"]);
            e.something_to_change(data, &KEYS[1..]);
            if let Some(v) = data.get("locatieId") {
                e.id(v, "data.locatieId");
            }
            e.locatie_fields(data);
        }
        CommandType::RemoveLocatie => {
            e.unknown_fields(data, "data", &["locatieId"], what);
            e.require(data, "data", &["locatieId"]);
            if let Some(v) = data.get("locatieId") {
                e.id(v, "data.locatieId");
            }
        }
    }
}

/// The errors found so far, in the order the fields are checked.
#[derive(Default)]
struct Errors(Vec<ReplyError>);

impl Errors {
    /// The reply is stored and published: a NUL quoted from the command (a key in a path)
    /// is shown as U+FFFD.
    fn push(&mut self, field: &str, code: &str, reason: impl Into<String>) {
        let reason = without_nul(&reason.into());
        self.0
            .push(ReplyError::new(without_nul(field), code, reason));
    }

    fn wrong_type(&mut self, path: &str, expected: &str, v: &Value) {
        self.push(
            path,
            "wrong-type",
            format!("expected {expected}, got {}", kind(v)),
        );
    }

    fn unknown_fields(&mut self, obj: &Map<String, Value>, path: &str, known: &[&str], what: &str) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            let reason = if key == "contactgegeventype"
                && what == CommandType::ChangeContactgegeven.as_str()
            {
                format!("{what} has no field {key}: the type of a contact cannot change")
            } else {
                format!("{what} has no field {key:?}; known: {}", known.join(", "))
            };
            self.push(&join(path, key), "unknown-field", reason);
        }
    }

    fn require(&mut self, obj: &Map<String, Value>, path: &str, required: &[&str]) {
        for key in required.iter().filter(|k| !obj.contains_key(**k)) {
            self.push(&join(path, key), "required", format!("{key} is required"));
        }
    }

    /// A change names at least one of `fields`.
    fn something_to_change(&mut self, data: &Map<String, Value>, fields: &[&str]) {
        if !fields.iter().any(|f| data.contains_key(*f)) {
            self.push(
                "data",
                "nothing-to-change",
                format!("give at least one of {}", fields.join(", ")),
            );
        }
    }

    fn object<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        let obj = v.as_object();
        if obj.is_none() {
            self.wrong_type(path, "an object", v);
        }
        obj
    }

    fn string<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a str> {
        let s = v.as_str();
        if s.is_none() {
            self.wrong_type(path, "a string", v);
        }
        s
    }

    fn non_empty_text<'a>(&mut self, v: &'a Value, path: &str) -> Option<&'a str> {
        let s = self.string(v, path)?;
        if s.trim().is_empty() {
            self.push(path, "empty", "must not be empty");
            return None;
        }
        Some(s)
    }

    fn boolean(&mut self, v: &Value, path: &str) {
        if !v.is_boolean() {
            self.wrong_type(path, "true or false", v);
        }
    }

    /// A non-negative integer that fits `u64`.
    fn unsigned(&mut self, v: &Value, path: &str) -> Option<u64> {
        match v {
            Value::Number(n) if n.is_u64() => n.as_u64(),
            Value::Number(n) if n.is_i64() => {
                self.push(path, "out-of-range", "must not be negative");
                None
            }
            _ => {
                self.wrong_type(path, "a non-negative integer", v);
                None
            }
        }
    }

    /// A contact's or location's id: an integer from 1.
    fn id(&mut self, v: &Value, path: &str) {
        let fits = match self.unsigned(v, path) {
            Some(n) => n >= 1 && i64::try_from(n).is_ok(),
            None => return,
        };
        if !fits {
            self.push(
                path,
                "out-of-range",
                format!("an id is at least 1 and at most {}", i64::MAX),
            );
        }
    }

    fn uuid(&mut self, v: &Value, path: &str) {
        if let Some(s) = self.string(v, path) {
            if parse_uuid(s).is_none() {
                self.push(
                    path,
                    "invalid-uuid",
                    format!("{s:?} is not a UUID (8-4-4-4-12 hexadecimal digits)"),
                );
            }
        }
    }

    fn v_code(&mut self, v: &Value, path: &str) {
        if let Some(s) = self.string(v, path) {
            if let Err(reason) = parse_v_code(s) {
                self.push(path, "invalid-vcode", reason);
            }
        }
    }

    fn date(&mut self, v: &Value, path: &str) {
        if let Some(s) = self.string(v, path) {
            if parse_date(s).is_none() {
                self.push(
                    path,
                    "invalid-date",
                    format!("{s:?} is not a date yyyy-MM-dd"),
                );
            }
        }
    }

    fn doelgroep(&mut self, v: &Value, path: &str) {
        let Some(obj) = self.object(v, path) else {
            return;
        };
        const KEYS: [&str; 2] = ["minimumleeftijd", "maximumleeftijd"];
        self.unknown_fields(obj, path, &KEYS, "doelgroep");
        if !KEYS.iter().any(|k| obj.contains_key(*k)) {
            self.push(
                path,
                "required",
                "give minimumleeftijd, maximumleeftijd or both",
            );
        }
        let mut ages = [None, None];
        for (age, key) in ages.iter_mut().zip(KEYS) {
            let Some(v) = obj.get(key) else { continue };
            let field = join(path, key);
            match self.unsigned(v, &field) {
                Some(n) if n <= u64::from(LEEFTIJD_MAX) => *age = Some(n),
                Some(_) => self.push(
                    &field,
                    "out-of-range",
                    format!("an age is from 0 to {LEEFTIJD_MAX}"),
                ),
                None => {}
            }
        }
        if let [Some(min), Some(max)] = ages {
            if min > max {
                self.push(
                    path,
                    "invalid-range",
                    format!("minimumleeftijd {min} is above maximumleeftijd {max}"),
                );
            }
        }
    }

    /// An array of strings without repeats; `check` judges each string.
    fn code_list<'a>(
        &mut self,
        v: &'a Value,
        path: &str,
        mut check: impl FnMut(&mut Self, &str, &str),
    ) -> Vec<&'a str> {
        let Some(items) = v.as_array() else {
            self.wrong_type(path, "an array of codes", v);
            return Vec::new();
        };
        let mut seen = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("{path}[{i}]");
            let Some(code) = self.string(item, &field) else {
                continue;
            };
            if seen.contains(&code) {
                self.push(&field, "duplicate", format!("{code} is given twice"));
                continue;
            }
            seen.push(code);
            check(self, code, &field);
        }
        seen
    }

    fn hoofdactiviteiten(&mut self, v: &Value, path: &str) {
        self.code_list(v, path, |e, code, field| {
            if !HOOFDACTIVITEITEN_VERENIGINGSLOKET
                .iter()
                .any(|(c, _)| *c == code)
            {
                e.push(
                    field,
                    "unknown-code",
                    format!(
                        "{code:?} is not one of the 21 hoofdactiviteiten of the Verenigingsloket"
                    ),
                );
            }
        });
    }

    fn werkingsgebieden(&mut self, v: &Value, path: &str) {
        let codes = self.code_list(v, path, |e, code, field| {
            if !is_werkingsgebied_code(code) {
                e.push(
                    field,
                    "invalid-code",
                    format!("{code:?} is not a NUTS/LAU code (BE…) nor {WERKINGSGEBIED_NVT}"),
                );
            }
        });
        if codes.len() > 1 && codes.contains(&WERKINGSGEBIED_NVT) {
            self.push(
                path,
                "invalid-combination",
                format!(
                    "{WERKINGSGEBIED_NVT} (not applicable) cannot be combined with other codes"
                ),
            );
        }
    }

    fn contactgegeventype(&mut self, v: &Value, path: &str) -> Option<ContactgegevenType> {
        let s = self.string(v, path)?;
        let t = ContactgegevenType::parse(s);
        if t.is_none() {
            let known: Vec<&str> = ContactgegevenType::ALL.iter().map(|t| t.as_str()).collect();
            self.push(
                path,
                "invalid-value",
                format!("{s:?} is not a contact type; known: {}", known.join(", ")),
            );
        }
        t
    }

    fn waarde(&mut self, t: ContactgegevenType, waarde: &str, path: &str) {
        let (ok, code, what) = match t {
            ContactgegevenType::EMail => (is_email(waarde), "invalid-email", "an e-mail address"),
            ContactgegevenType::Telefoon => (is_phone(waarde), "invalid-phone", "a phone number"),
            ContactgegevenType::Website | ContactgegevenType::SocialMedia => {
                (is_url(waarde), "invalid-url", "an http(s) URL")
            }
        };
        if !ok {
            self.push(path, code, format!("{waarde:?} is not {what}"));
        }
    }

    /// `beschrijving` and `isPrimair` of a contact.
    fn contact_extras(&mut self, data: &Map<String, Value>) {
        if let Some(v) = data.get("beschrijving") {
            self.string(v, "data.beschrijving");
        }
        if let Some(v) = data.get("isPrimair") {
            self.boolean(v, "data.isPrimair");
        }
    }

    /// `locatietype`, `isPrimair`, `naam` and `adres` of a location.
    fn locatie_fields(&mut self, data: &Map<String, Value>) {
        if let Some(v) = data.get("locatietype") {
            if let Some(s) = self.string(v, "data.locatietype") {
                if s == LocatieType::KBO_ZETEL {
                    self.push(
                        "data.locatietype",
                        "read-only",
                        format!("{s:?} comes from the KBO and cannot be added or set"),
                    );
                } else if LocatieType::parse(s).is_none() {
                    let known: Vec<&str> = LocatieType::ALL.iter().map(|t| t.as_str()).collect();
                    self.push(
                        "data.locatietype",
                        "invalid-value",
                        format!("{s:?} is not a location type; known: {}", known.join(", ")),
                    );
                }
            }
        }
        if let Some(v) = data.get("isPrimair") {
            self.boolean(v, "data.isPrimair");
        }
        if let Some(v) = data.get("naam") {
            self.string(v, "data.naam");
        }
        if let Some(v) = data.get("adres") {
            self.adres(v, "data.adres");
        }
    }

    fn adres(&mut self, v: &Value, path: &str) {
        let Some(obj) = self.object(v, path) else {
            return;
        };
        const REQUIRED: [&str; 5] = ["straatnaam", "huisnummer", "postcode", "gemeente", "land"];
        self.unknown_fields(
            obj,
            path,
            &[
                "straatnaam",
                "huisnummer",
                "busnummer",
                "postcode",
                "gemeente",
                "land",
            ],
            "adres",
        );
        self.require(obj, path, &REQUIRED);
        for key in ["straatnaam", "huisnummer", "gemeente", "land"] {
            if let Some(v) = obj.get(key) {
                self.non_empty_text(v, &join(path, key));
            }
        }
        if let Some(v) = obj.get("busnummer") {
            self.string(v, &join(path, "busnummer"));
        }
        if let Some(v) = obj.get("postcode") {
            let field = join(path, "postcode");
            if let Some(s) = self.string(v, &field) {
                if s.parse::<contracts::Postcode>().is_err() {
                    self.push(
                        &field,
                        "invalid-postcode",
                        format!("{s:?} is not a postcode of 4 digits"),
                    );
                }
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A UUID in its hyphenated form (8-4-4-4-12), the only form the contract accepts.
fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::parse_str(s).ok()
}

/// `V` + 7 digits, at least `V0001001` (upper-case `V`, as the contract says).
fn parse_v_code(s: &str) -> Result<VCode, String> {
    if !s.starts_with('V') {
        return Err(format!("{s:?} is not a vCode: 'V' followed by 7 digits"));
    }
    s.parse::<VCode>().map_err(|e| e.to_string())
}

/// `yyyy-MM-dd`, a real date.
fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) {
        return None;
    }
    if !digits(5..7) || !digits(8..10) {
        return None;
    }
    let year: i32 = s[0..4].parse().ok()?;
    let month: u8 = s[5..7].parse().ok()?;
    let day: u8 = s[8..10].parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

/// `NVT`, or `BE` followed by up to 8 digits (NUTS1–3 `BE2`, `BE25`, `BE255`; NUTS3 + NIS
/// code `BE25535002`). Whether the code exists is the register's to check.
fn is_werkingsgebied_code(code: &str) -> bool {
    code == WERKINGSGEBIED_NVT
        || code
            .strip_prefix("BE")
            .is_some_and(|rest| rest.len() <= 8 && rest.bytes().all(|b| b.is_ascii_digit()))
}

/// An e-mail address: see [`contracts::Email`], the one rule (the schema's pattern says the
/// same).
pub fn is_email(s: &str) -> bool {
    s.parse::<contracts::Email>().is_ok()
}

/// A phone number: an optional leading `+`, then 6 to 15 digits, optionally separated by
/// spaces or any of `./()-`.
pub fn is_phone(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    rest.chars()
        .all(|c| c.is_ascii_digit() || " ./()-".contains(c))
        && (6..=15).contains(&digits)
}

/// An absolute `http://` or `https://` URL (lower-case scheme) with a host name of at
/// least two labels of ASCII letters, digits and `-`, an optional port of 1 to 5 digits,
/// and an optional path, query or fragment without white space.
pub fn is_url(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, tail) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        && !tail.chars().any(char::is_whitespace)
}

// ---------------------------------------------------------------------------------------
// What can be read of an invalid command
// ---------------------------------------------------------------------------------------

/// The `commandId` of a command, valid or not, when it has a readable one (a hyphenated
/// UUID at the top level); without it a command cannot be answered.
pub fn command_id_of(body: &[u8]) -> Option<Uuid> {
    top_level_string(body, "commandId").and_then(|s| parse_uuid(&s))
}

/// The `vCode` of a command, valid or not, when it has a valid one.
pub fn v_code_of(body: &[u8]) -> Option<VCode> {
    top_level_string(body, "vCode").and_then(|s| parse_v_code(&s).ok())
}

/// The `correlationId` of a command, valid or not, when it has a readable one.
pub fn correlation_id_of(body: &[u8]) -> Option<Uuid> {
    top_level_string(body, "correlationId").and_then(|s| parse_uuid(&s))
}

fn top_level_string(body: &[u8], key: &str) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get(key)?.as_str().map(str::to_owned)
}

/// The `rejected` reply to an invalid command (`errors` from [`parse_command`]), with
/// whatever identifiers could be read of it; `None` when it has no readable `commandId`
/// (it cannot be answered).
pub fn rejected_reply(body: &[u8], errors: Vec<ReplyError>, time: OffsetDateTime) -> Option<Reply> {
    let command_id = command_id_of(body)?;
    let n = errors.len();
    let detail = format!(
        "the command is invalid ({n} error{}); it was not sent to the register",
        if n == 1 { "" } else { "s" }
    );
    Some(Reply::rejected_invalid(
        command_id,
        correlation_id_of(body),
        v_code_of(body),
        errors,
        detail,
        time,
    ))
}

// ---------------------------------------------------------------------------------------
// The register request
// ---------------------------------------------------------------------------------------

/// The beheer API call a command becomes, as `initiator_ovo` (`VR-Initiator`), with
/// `X-Correlation-Id` = the command's correlationId (else its commandId) and
/// `If-Match: W/"<if_match>"` when given.
///
/// | command | request | body |
/// |---|---|---|
/// | change-basisgegevens | `PATCH /v1/verenigingen/{vCode}` | the given fields; codes as arrays of strings |
/// | add-contactgegeven | `POST …/contactgegevens` | `{"contactgegeven": {contactgegeventype, waarde, beschrijving?, isPrimair?}}` |
/// | change-contactgegeven | `PATCH …/contactgegevens/{id}` | `{"contactgegeven": {the given fields}}` |
/// | remove-contactgegeven | `DELETE …/contactgegevens/{id}` | none |
/// | add-locatie | `POST …/locaties` | `{"locatie": {locatietype, isPrimair?, naam?, adres}}` |
/// | change-locatie | `PATCH …/locaties/{id}` | `{"locatie": {the given fields}}` |
/// | remove-locatie | `DELETE …/locaties/{id}` | none |
pub fn to_write(command: &Command, initiator_ovo: &str, if_match: Option<u64>) -> Write {
    let (method, sub_path, body) = match &command.data {
        CommandData::ChangeBasisgegevens(d) => (
            WriteMethod::Patch,
            String::new(),
            Some(Value::Object(basisgegevens_body(d))),
        ),
        CommandData::AddContactgegeven(d) => {
            let mut c = Map::new();
            c.insert(
                "contactgegeventype".into(),
                json!(d.contactgegeventype.as_str()),
            );
            c.insert("waarde".into(), json!(d.waarde));
            insert_opt(&mut c, "beschrijving", d.beschrijving.as_ref());
            insert_opt(&mut c, "isPrimair", d.is_primair.as_ref());
            (
                WriteMethod::Post,
                "contactgegevens".to_owned(),
                Some(json!({ "contactgegeven": c })),
            )
        }
        CommandData::ChangeContactgegeven(d) => {
            let mut c = Map::new();
            insert_opt(&mut c, "waarde", d.waarde.as_ref());
            insert_opt(&mut c, "beschrijving", d.beschrijving.as_ref());
            insert_opt(&mut c, "isPrimair", d.is_primair.as_ref());
            (
                WriteMethod::Patch,
                format!("contactgegevens/{}", d.contactgegeven_id),
                Some(json!({ "contactgegeven": c })),
            )
        }
        CommandData::RemoveContactgegeven(d) => (
            WriteMethod::Delete,
            format!("contactgegevens/{}", d.contactgegeven_id),
            None,
        ),
        CommandData::AddLocatie(d) => {
            let mut l = Map::new();
            l.insert("locatietype".into(), json!(d.locatietype.as_str()));
            insert_opt(&mut l, "isPrimair", d.is_primair.as_ref());
            insert_opt(&mut l, "naam", d.naam.as_ref());
            l.insert("adres".into(), adres_body(&d.adres));
            (
                WriteMethod::Post,
                "locaties".to_owned(),
                Some(json!({ "locatie": l })),
            )
        }
        CommandData::ChangeLocatie(d) => {
            let mut l = Map::new();
            if let Some(t) = d.locatietype {
                l.insert("locatietype".into(), json!(t.as_str()));
            }
            insert_opt(&mut l, "isPrimair", d.is_primair.as_ref());
            insert_opt(&mut l, "naam", d.naam.as_ref());
            if let Some(adres) = &d.adres {
                l.insert("adres".into(), adres_body(adres));
            }
            (
                WriteMethod::Patch,
                format!("locaties/{}", d.locatie_id),
                Some(json!({ "locatie": l })),
            )
        }
        CommandData::RemoveLocatie(d) => (
            WriteMethod::Delete,
            format!("locaties/{}", d.locatie_id),
            None,
        ),
    };
    Write {
        method,
        v_code: command.v_code.clone(),
        sub_path,
        body,
        initiator: initiator_ovo.to_owned(),
        correlation_id: command.effective_correlation_id(),
        if_match,
    }
}

fn basisgegevens_body(d: &ChangeBasisgegevens) -> Map<String, Value> {
    let mut b = Map::new();
    insert_opt(&mut b, "naam", d.naam.as_ref());
    insert_opt(&mut b, "korteNaam", d.korte_naam.as_ref());
    insert_opt(&mut b, "korteBeschrijving", d.korte_beschrijving.as_ref());
    if let Some(startdatum) = d.startdatum {
        let v = startdatum.map_or(Value::Null, |date| Value::String(date_string(date)));
        b.insert("startdatum".into(), v);
    }
    if let Some(doelgroep) = &d.doelgroep {
        let mut g = Map::new();
        insert_opt(
            &mut g,
            "minimumleeftijd",
            doelgroep.minimumleeftijd.as_ref(),
        );
        insert_opt(
            &mut g,
            "maximumleeftijd",
            doelgroep.maximumleeftijd.as_ref(),
        );
        b.insert("doelgroep".into(), Value::Object(g));
    }
    insert_opt(
        &mut b,
        "hoofdactiviteitenVerenigingsloket",
        d.hoofdactiviteiten_verenigingsloket.as_ref(),
    );
    insert_opt(&mut b, "werkingsgebieden", d.werkingsgebieden.as_ref());
    b
}

fn adres_body(a: &CommandAdres) -> Value {
    let mut m = Map::new();
    m.insert("straatnaam".into(), json!(a.straatnaam));
    m.insert("huisnummer".into(), json!(a.huisnummer));
    insert_opt(&mut m, "busnummer", a.busnummer.as_ref());
    m.insert("postcode".into(), json!(a.postcode));
    m.insert("gemeente".into(), json!(a.gemeente));
    m.insert("land".into(), json!(a.land));
    Value::Object(m)
}

fn insert_opt<T: serde::Serialize>(m: &mut Map<String, Value>, key: &str, v: Option<&T>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), json!(v));
    }
}

fn date_string(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

// ---------------------------------------------------------------------------------------
// Idempotency: is the command's effect already there?
// ---------------------------------------------------------------------------------------

/// Whether `command`'s effect is visible in `current` (the association's snapshot), so that
/// a retry whose earlier attempt's outcome is unknown must not be applied again.
///
/// - change-basisgegevens: every given field has the given value (codes compared as sets);
/// - add-contactgegeven: a contact of that type with that waarde exists;
/// - change-contactgegeven / change-locatie: the entity exists and has every given value;
/// - remove-contactgegeven / remove-locatie: the id is gone;
/// - add-locatie: a location of that type with the same address exists.
///
/// Texts are compared without surrounding white space; e-mail addresses and address fields
/// ignore case. A snapshot of another association is never "applied".
pub fn already_applied(command: &Command, current: &Vereniging) -> bool {
    if command.v_code != current.v_code {
        return false;
    }
    match &command.data {
        CommandData::ChangeBasisgegevens(d) => basisgegevens_applied(d, current),
        CommandData::AddContactgegeven(d) => contact_added(d, &current.contactgegevens),
        CommandData::ChangeContactgegeven(d) => current
            .contactgegevens
            .iter()
            .find(|c| c.contactgegeven_id == d.contactgegeven_id)
            .is_some_and(|c| contact_changed(d, c)),
        CommandData::RemoveContactgegeven(d) => !current
            .contactgegevens
            .iter()
            .any(|c| c.contactgegeven_id == d.contactgegeven_id),
        CommandData::AddLocatie(d) => current.locaties.iter().any(|l| locatie_added(d, l)),
        CommandData::ChangeLocatie(d) => current
            .locaties
            .iter()
            .find(|l| l.locatie_id == d.locatie_id)
            .is_some_and(|l| locatie_changed(d, l)),
        CommandData::RemoveLocatie(d) => !current
            .locaties
            .iter()
            .any(|l| l.locatie_id == d.locatie_id),
    }
}

fn basisgegevens_applied(d: &ChangeBasisgegevens, v: &Vereniging) -> bool {
    let text_ok =
        |given: &Option<String>, have: &str| given.as_ref().is_none_or(|g| same_text(g, have));
    let codes = |items: &[contracts::register::CodeNaam]| -> BTreeSet<String> {
        items.iter().map(|c| c.code.trim().to_uppercase()).collect()
    };
    let given_codes = |items: &Option<Vec<String>>, have: &[contracts::register::CodeNaam]| {
        items.as_ref().is_none_or(|g| {
            g.iter()
                .map(|c| c.trim().to_uppercase())
                .collect::<BTreeSet<_>>()
                == codes(have)
        })
    };
    text_ok(&d.naam, &v.naam)
        && text_ok(&d.korte_naam, &v.korte_naam)
        && text_ok(&d.korte_beschrijving, &v.korte_beschrijving)
        && d.startdatum.is_none_or(|s| s == v.startdatum)
        && d.doelgroep.as_ref().is_none_or(|g| {
            g.minimumleeftijd
                .is_none_or(|m| m == v.doelgroep.minimumleeftijd)
                && g.maximumleeftijd
                    .is_none_or(|m| m == v.doelgroep.maximumleeftijd)
        })
        && given_codes(
            &d.hoofdactiviteiten_verenigingsloket,
            &v.hoofdactiviteiten_verenigingsloket,
        )
        && given_codes(&d.werkingsgebieden, &v.werkingsgebieden)
}

fn same_waarde(t: &str, a: &str, b: &str) -> bool {
    if t == ContactgegevenType::EMail.as_str() {
        a.trim().eq_ignore_ascii_case(b.trim())
    } else {
        same_text(a, b)
    }
}

fn contact_added(d: &AddContactgegeven, contacts: &[Contactgegeven]) -> bool {
    let t = d.contactgegeventype.as_str();
    contacts
        .iter()
        .any(|c| c.contactgegeventype == t && same_waarde(t, &d.waarde, &c.waarde))
}

fn contact_changed(d: &ChangeContactgegeven, c: &Contactgegeven) -> bool {
    d.waarde
        .as_ref()
        .is_none_or(|w| same_waarde(&c.contactgegeventype, w, &c.waarde))
        && d.beschrijving
            .as_ref()
            .is_none_or(|b| same_text(b, &c.beschrijving))
        && d.is_primair.is_none_or(|p| p == c.is_primair)
}

fn locatie_added(d: &AddLocatie, l: &Locatie) -> bool {
    l.locatietype == d.locatietype.as_str()
        && l.adres.as_ref().is_some_and(|a| same_adres(&d.adres, a))
}

fn locatie_changed(d: &ChangeLocatie, l: &Locatie) -> bool {
    d.locatietype.is_none_or(|t| l.locatietype == t.as_str())
        && d.is_primair.is_none_or(|p| p == l.is_primair)
        && d.naam.as_ref().is_none_or(|n| same_text(n, &l.naam))
        && d.adres
            .as_ref()
            .is_none_or(|given| l.adres.as_ref().is_some_and(|a| same_adres(given, a)))
}

fn same_adres(given: &CommandAdres, have: &Adres) -> bool {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    same(&given.straatnaam, &have.straatnaam)
        && same(&given.huisnummer, &have.huisnummer)
        && same(given.busnummer.as_deref().unwrap_or(""), &have.busnummer)
        && same(&given.postcode, &have.postcode)
        && same(&given.gemeente, &have.gemeente)
        && same(&given.land, &have.land)
}

fn same_text(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}

// ---------------------------------------------------------------------------------------
// The register's field errors in the command's terms
// ---------------------------------------------------------------------------------------

/// The register's field errors (`400` problem document) as the command's: its field paths
/// (`contactgegeven.waarde`, `locatie.adres.postcode`, `naam`, `Contactgegeven.Waarde`,
/// `$.contactgegeven.waarde`) become the command's (`data.waarde`, `data.adres.postcode`,
/// `data.naam`); an error about the request as a whole is put on `data`. Codes and reasons
/// are passed on; an empty code becomes `rejected-by-register`.
pub fn rejected_by_register(errors: &[FieldError]) -> Vec<ReplyError> {
    errors
        .iter()
        .map(|e| {
            let code = if e.code.trim().is_empty() {
                "rejected-by-register".to_owned()
            } else {
                e.code.clone()
            };
            let reason = if e.reason.trim().is_empty() {
                "the register refused this value".to_owned()
            } else {
                e.reason.clone()
            };
            ReplyError::new(command_field(&e.field), code, reason)
        })
        .collect()
}

fn command_field(register_field: &str) -> String {
    // ASP.NET may report JSON paths (`$.contactgegeven.waarde`).
    let segments: Vec<String> = register_field
        .trim()
        .trim_start_matches('$')
        .split('.')
        .filter(|s| !s.is_empty())
        .map(lower_first)
        .collect();
    let rest = match segments.first().map(String::as_str) {
        Some("contactgegeven" | "locatie" | "request") => &segments[1..],
        _ => &segments[..],
    };
    match rest {
        [] => "data".to_owned(),
        [only] if only == "vCode" => "vCode".to_owned(),
        _ => format!("data.{}", rest.join(".")),
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
