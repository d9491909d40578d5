//! The service catalogue: the services the loket offers, who provides each, which
//! associations may apply and when, what an application must carry, and which association
//! data the provider receives.
//!
//! Configuration (`[[services]]`, read by `config.rs`) deserialises into
//! [`ServiceDefinition`]s; [`ServiceCatalogue::new`] (or [`ServiceCatalogue::from_entries`],
//! which keeps the configuration's own keys) checks them and reports every problem at once,
//! each with its key path (`services[2].eligibility.open[0].from`).
//!
//! Invariant: this module is pure. No I/O, no clock: the caller passes `today`, the date in
//! Europe/Brussels (the loket's and the providers' calendar), to [`ServiceCatalogue::eligibility`].
//!
//! Decisions worth knowing:
//! - **FV and VZER are one type for the rules.** The register's v2 representation shows a
//!   feitelijke vereniging as `VZER` (subtype `FV`); the v1 representation as `FV`. The
//!   snapshot carries no subtype, so a rule naming `FV` admits `FV` and `VZER`, and a rule
//!   naming `VZER` admits `VZER` and `FV`. Consequence: a subvereniging (`VZER`, subtype
//!   `SUB`) passes a rule that names `FV`.
//! - **Periods are yearly windows** `MM-DD` to `MM-DD`, both days included; a window whose
//!   `from` comes after its `until` wraps over the new year (`09-01` to `02-18`). No
//!   windows: always open. `02-29` is a valid bound; in a year without it, a window ending on
//!   `02-29` ends on 28 February and one starting on `02-29` starts on 1 March.
//! - **Status**: only `Actief` may be configured (and is the default): stopped (`Gestopt`)
//!   and duplicate (`Dubbel`) associations are refused.
//! - **Fields**: a `null` counts as absent; a required string must not be blank; an
//!   `integer` is a JSON number without a fraction; a `date` is `yyyy-MM-dd`. Error reasons
//!   name the expected and the received JSON type, never the value.
//! - **Enrichment**: `basisgegevens` (vCode, naam, verenigingstype, status and the rest of
//!   that part) is always kept, listed in `data` or not: it identifies the association, is
//!   public in the register, and `verenigingstype` and `status` cannot be left out of a
//!   snapshot. Every other part not in `data` is emptied. Representatives' INSZ is removed
//!   always, even when `vertegenwoordigers` is listed.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use contracts::applications::{ApplicationSubmitted, EnrichedApplication};
use contracts::commands::HOOFDACTIVITEITEN_VERENIGINGSLOKET;
use contracts::register::{Status, Vereniging};
use contracts::territory::{Territory, TerritoryPart, TerritoryProblem};
use contracts::Part;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::Date;

/// The register's association types (`verenigingstype.code`).
pub const VERENIGINGSTYPES: [&str; 6] = ["FV", "VZER", "VZW", "IVZW", "PS", "SVON"];

/// Eligibility rule names, as [`Reason::rule`] carries them.
pub const RULE_STATUS: &str = "status";
pub const RULE_VERENIGINGSTYPE: &str = "verenigingstype";
pub const RULE_HOOFDACTIVITEIT: &str = "hoofdactiviteit";
pub const RULE_TERRITORY: &str = "territory";
pub const RULE_PERIOD: &str = "period";

/// Field error codes, as [`FieldError::code`] carries them.
pub const FIELD_REQUIRED: &str = "required";
pub const FIELD_INVALID_TYPE: &str = "invalid-type";
pub const FIELD_UNKNOWN: &str = "unknown-field";

// ---------------------------------------------------------------------------------------
// Configuration types
// ---------------------------------------------------------------------------------------

/// One `[[services]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDefinition {
    /// Lower-case letters, digits and `-`; unique. What the loket puts in `serviceCode`.
    pub code: String,
    /// Shown to the association.
    pub name: String,
    /// The adapter instance that handles applications for it.
    pub provider: ProviderRef,
    /// The parts of the snapshot the provider may receive (`basisgegevens` always is).
    pub data: Vec<Part>,
    #[serde(default)]
    pub eligibility: Eligibility,
    /// The service's own application fields.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// The adapter instance a service's applications go to: a provider configured under
/// `[providers.<name>]` (`kiosk`, `uldk`, ...: its name) or `municipality:<name>` (a
/// configured municipality's name). Whether the instance exists is the configuration's
/// check (`config.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProviderRef {
    /// A provider instance, by its name.
    Named(String),
    /// A municipality that provides the service itself.
    Municipality(String),
}

impl FromStr for ProviderRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("municipality:") {
            Some(name) if is_code(name) => Ok(ProviderRef::Municipality(name.to_owned())),
            Some(name) => Err(format!(
                "{name:?} is not a municipality name (lower-case letters, digits and '-')"
            )),
            None if is_code(s) => Ok(ProviderRef::Named(s.to_owned())),
            None => Err(format!(
                "unknown provider {s:?}: expected the name of a provider under [providers] \
                 (lower-case letters, digits and '-') or municipality:<name>"
            )),
        }
    }
}

impl fmt::Display for ProviderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderRef::Named(name) => f.write_str(name),
            ProviderRef::Municipality(name) => write!(f, "municipality:{name}"),
        }
    }
}

impl Serialize for ProviderRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProviderRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Who may apply, and when. Every rule left empty admits everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Eligibility {
    /// Any of these association types (`FV` and `VZER` match each other); empty: all.
    pub verenigingstypes: Vec<String>,
    /// At least one of these hoofdactiviteiten; empty: all.
    pub hoofdactiviteiten: Vec<String>,
    /// A location with one of the postcodes or one of the werkingsgebieden; absent: all.
    pub territory: Option<Territory>,
    /// Only `Actief` (the default) is accepted by the catalogue.
    pub status: Status,
    /// Yearly windows in which applications are accepted; empty: always.
    pub open: Vec<Window>,
}

impl Default for Eligibility {
    fn default() -> Self {
        Eligibility {
            verenigingstypes: Vec::new(),
            hoofdactiviteiten: Vec::new(),
            territory: None,
            status: Status::Actief,
            open: Vec::new(),
        }
    }
}

/// A yearly window, `MM-DD` to `MM-DD`, both days included; wraps over the new year when
/// `from` comes after `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub from: String,
    pub until: String,
}

impl Window {
    /// Whether `date` falls in the window; `None` when a bound is not a valid `MM-DD`
    /// (never for a service of a [`ServiceCatalogue`], which checked them).
    pub fn contains(&self, date: Date) -> Option<bool> {
        let from = MonthDay::parse(&self.from).ok()?;
        let until = MonthDay::parse(&self.until).ok()?;
        let day = MonthDay {
            month: u8::from(date.month()),
            day: date.day(),
        };
        Some(if from <= until {
            from <= day && day <= until
        } else {
            day >= from || day <= until
        })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "from {} until {}", self.from, self.until)
    }
}

/// A day of the year; ordered by month, then day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct MonthDay {
    month: u8,
    day: u8,
}

impl MonthDay {
    fn parse(s: &str) -> Result<MonthDay, String> {
        let bytes = s.as_bytes();
        let shaped = bytes.len() == 5
            && bytes[2] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 2 || b.is_ascii_digit());
        if !shaped {
            return Err(format!(
                "{s:?} is not a day of the year (MM-DD, e.g. \"02-19\")"
            ));
        }
        let month = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
        let day = (bytes[3] - b'0') * 10 + (bytes[4] - b'0');
        let last = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 => 29,
            _ => return Err(format!("{s:?}: there is no month {month}")),
        };
        if day == 0 || day > last {
            return Err(format!("{s:?}: month {month} has no day {day}"));
        }
        Ok(MonthDay { month, day })
    }
}

/// One application field of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The key in the application's `fields` (an ASCII letter, then letters, digits, `_`).
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Default false.
    #[serde(default)]
    pub required: bool,
}

/// The JSON shape a field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    String,
    /// A number without a fraction.
    Integer,
    Number,
    Boolean,
    /// A string `yyyy-MM-dd` naming a real day.
    Date,
    Object,
    Array,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Object => "object",
            FieldType::Array => "array",
        }
    }
}

impl ServiceDefinition {
    /// The parts its provider receives: `basisgegevens` and those in `data`, in
    /// [`Part::ALL`] order.
    pub fn shared_parts(&self) -> Vec<Part> {
        Part::ALL
            .into_iter()
            .filter(|p| *p == Part::Basisgegevens || self.data.contains(p))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------------------

/// The checked list of services, in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceCatalogue {
    services: Vec<ServiceDefinition>,
}

/// Why an association may not apply: one failed rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// [`RULE_STATUS`], [`RULE_VERENIGINGSTYPE`], [`RULE_HOOFDACTIVITEIT`],
    /// [`RULE_TERRITORY`] or [`RULE_PERIOD`].
    pub rule: &'static str,
    /// In English, naming the values compared.
    pub message: String,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.message)
    }
}

impl Reason {
    /// Every reason on one line (for `application.status-changed`'s `reason`).
    pub fn describe(reasons: &[Reason]) -> String {
        reasons
            .iter()
            .map(Reason::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl ServiceCatalogue {
    /// Checks every service; problems are keyed `services[<index>]...`.
    pub fn new(services: Vec<ServiceDefinition>) -> Result<Self, Vec<(String, String)>> {
        Self::from_entries(
            services
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("services[{i}]"), s))
                .collect(),
        )
    }

    /// As [`ServiceCatalogue::new`], each service with the key its problems are reported
    /// under (the configuration's own key, so that a service left out because it did not
    /// deserialise does not shift the others' indices).
    pub fn from_entries(
        entries: Vec<(String, ServiceDefinition)>,
    ) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut codes: HashMap<&str, &str> = HashMap::new();
        for (key, service) in &entries {
            check_service(key, service, &mut codes, &mut problems);
        }
        if problems.is_empty() {
            Ok(ServiceCatalogue {
                services: entries.into_iter().map(|(_, s)| s).collect(),
            })
        } else {
            Err(problems)
        }
    }

    pub fn get(&self, code: &str) -> Option<&ServiceDefinition> {
        self.services.iter().find(|s| s.code == code)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ServiceDefinition> {
        self.services.iter()
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Whether `vereniging` may apply for `service` on `today` (Europe/Brussels): `Ok`, or
    /// every rule that fails, in the order status, verenigingstype, hoofdactiviteit,
    /// territory, period.
    pub fn eligibility(
        &self,
        service: &ServiceDefinition,
        vereniging: &Vereniging,
        today: Date,
    ) -> Result<(), Vec<Reason>> {
        service.eligibility.check(vereniging, today)
    }

    /// Every service of the catalogue, in order, with whether `vereniging` may apply.
    pub fn eligible_services(
        &self,
        vereniging: &Vereniging,
        today: Date,
    ) -> Vec<(&str, Result<(), Vec<Reason>>)> {
        self.services
            .iter()
            .map(|s| (s.code.as_str(), self.eligibility(s, vereniging, today)))
            .collect()
    }
}

impl<'a> IntoIterator for &'a ServiceCatalogue {
    type Item = &'a ServiceDefinition;
    type IntoIter = std::slice::Iter<'a, ServiceDefinition>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Lower-case letters, digits and `-`, at least one: the shape of codes and names.
pub(crate) fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_field_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Indices of the items equal to an earlier one.
fn repeated<T: PartialEq>(items: &[T]) -> impl Iterator<Item = usize> + '_ {
    (0..items.len()).filter(|&i| items[..i].contains(&items[i]))
}

/// Checks one service; `codes` holds the codes seen so far, with their service's key.
fn check_service<'a>(
    key: &'a str,
    s: &'a ServiceDefinition,
    codes: &mut HashMap<&'a str, &'a str>,
    problems: &mut Vec<(String, String)>,
) {
    let mut problem = |at: String, message: String| problems.push((at, message));
    if !is_code(&s.code) {
        problem(
            format!("{key}.code"),
            format!("{:?} must be lower-case letters, digits and '-'", s.code),
        );
    }
    match codes.get(s.code.as_str()) {
        Some(first) => problem(
            format!("{key}.code"),
            format!("{:?} is already the code of {first}", s.code),
        ),
        None => {
            codes.insert(&s.code, key);
        }
    }
    if s.name.trim().is_empty() {
        problem(format!("{key}.name"), "must not be empty".to_owned());
    }
    for i in repeated(&s.data) {
        problem(
            format!("{key}.data[{i}]"),
            format!("{:?} is listed twice", s.data[i].as_str()),
        );
    }

    let e = &s.eligibility;
    let at = format!("{key}.eligibility");
    for (i, t) in e.verenigingstypes.iter().enumerate() {
        if !VERENIGINGSTYPES.contains(&t.as_str()) {
            problem(
                format!("{at}.verenigingstypes[{i}]"),
                format!(
                    "{t:?} is not an association type ({})",
                    VERENIGINGSTYPES.join(", ")
                ),
            );
        }
    }
    for i in repeated(&e.verenigingstypes) {
        problem(
            format!("{at}.verenigingstypes[{i}]"),
            format!("{:?} is listed twice", e.verenigingstypes[i]),
        );
    }
    for (i, code) in e.hoofdactiviteiten.iter().enumerate() {
        if !HOOFDACTIVITEITEN_VERENIGINGSLOKET
            .iter()
            .any(|(known, _)| known == code)
        {
            let known: Vec<&str> = HOOFDACTIVITEITEN_VERENIGINGSLOKET
                .iter()
                .map(|(c, _)| *c)
                .collect();
            problem(
                format!("{at}.hoofdactiviteiten[{i}]"),
                format!(
                    "{code:?} is not one of the register's hoofdactiviteiten ({})",
                    known.join(", ")
                ),
            );
        }
    }
    for i in repeated(&e.hoofdactiviteiten) {
        problem(
            format!("{at}.hoofdactiviteiten[{i}]"),
            format!("{:?} is listed twice", e.hoofdactiviteiten[i]),
        );
    }
    if let Some(t) = &e.territory {
        // In the order of the keys: the whole, the postcodes, the werkingsgebieden.
        let (gebieden, others): (Vec<_>, Vec<_>) = t
            .problems()
            .into_iter()
            .partition(|p| matches!(p.at, TerritoryPart::Werkingsgebied(_)));
        let mut report = |p: TerritoryProblem| match p.at {
            TerritoryPart::Whole => problem(
                format!("{at}.territory"),
                format!(
                    "{} (leave territory out to admit every location)",
                    p.message
                ),
            ),
            TerritoryPart::Postcode(i) => {
                problem(format!("{at}.territory.postcodes[{i}]"), p.message)
            }
            TerritoryPart::Werkingsgebied(i) => {
                problem(format!("{at}.territory.werkingsgebieden[{i}]"), p.message)
            }
        };
        others.into_iter().for_each(&mut report);
        for i in repeated(&t.postcodes) {
            report(TerritoryProblem {
                at: TerritoryPart::Postcode(i),
                message: format!("{:?} is listed twice", t.postcodes[i]),
            });
        }
        gebieden.into_iter().for_each(&mut report);
        for i in repeated(&t.werkingsgebieden) {
            report(TerritoryProblem {
                at: TerritoryPart::Werkingsgebied(i),
                message: format!("{:?} is listed twice", t.werkingsgebieden[i]),
            });
        }
    }
    if e.status != Status::Actief {
        problem(
            format!("{at}.status"),
            format!(
                "{:?} would admit only stopped or duplicate associations; only \"Actief\" is \
                 allowed",
                e.status
            ),
        );
    }
    for (i, w) in e.open.iter().enumerate() {
        if let Err(m) = MonthDay::parse(&w.from) {
            problem(format!("{at}.open[{i}].from"), m);
        }
        if let Err(m) = MonthDay::parse(&w.until) {
            problem(format!("{at}.open[{i}].until"), m);
        }
    }

    for (i, f) in s.fields.iter().enumerate() {
        if !is_field_name(&f.name) {
            problem(
                format!("{key}.fields[{i}].name"),
                format!(
                    "{:?} must be an ASCII letter followed by letters, digits or '_'",
                    f.name
                ),
            );
        }
    }
    let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    for i in repeated(&names) {
        problem(
            format!("{key}.fields[{i}].name"),
            format!("{:?} is already the name of an earlier field", names[i]),
        );
    }
}

// ---------------------------------------------------------------------------------------
// Eligibility
// ---------------------------------------------------------------------------------------

/// Whether an association's type satisfies a rule's type (`FV` and `VZER` are one).
fn type_matches(rule: &str, actual: &str) -> bool {
    rule == actual || matches!((rule, actual), ("FV", "VZER") | ("VZER", "FV"))
}

fn listed(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

impl Eligibility {
    /// Every rule `vereniging` fails on `today`; see [`ServiceCatalogue::eligibility`].
    pub fn check(&self, vereniging: &Vereniging, today: Date) -> Result<(), Vec<Reason>> {
        let mut reasons = Vec::new();
        if vereniging.status != self.status {
            reasons.push(Reason {
                rule: RULE_STATUS,
                message: format!(
                    "association status is {:?}; the service requires {:?}",
                    vereniging.status, self.status
                ),
            });
        }
        let actual = vereniging.verenigingstype.code.as_str();
        if !self.verenigingstypes.is_empty()
            && !self
                .verenigingstypes
                .iter()
                .any(|rule| type_matches(rule, actual))
        {
            reasons.push(Reason {
                rule: RULE_VERENIGINGSTYPE,
                message: format!(
                    "association type {actual} is not among {}",
                    self.verenigingstypes.join(", ")
                ),
            });
        }
        if !self.hoofdactiviteiten.is_empty() {
            let own: Vec<String> = vereniging
                .hoofdactiviteiten_verenigingsloket
                .iter()
                .map(|c| c.code.clone())
                .collect();
            if !own.iter().any(|c| self.hoofdactiviteiten.contains(c)) {
                let message = if own.is_empty() {
                    format!(
                        "the association has no main activity; the service requires one of {}",
                        self.hoofdactiviteiten.join(", ")
                    )
                } else {
                    format!(
                        "main activities {} are not among {}",
                        own.join(", "),
                        self.hoofdactiviteiten.join(", ")
                    )
                };
                reasons.push(Reason {
                    rule: RULE_HOOFDACTIVITEIT,
                    message,
                });
            }
        }
        if let Some(territory) = &self.territory {
            if !territory.matches(vereniging) {
                reasons.push(Reason {
                    rule: RULE_TERRITORY,
                    message: territory_message(territory, vereniging),
                });
            }
        }
        if !self.open.is_empty() && !self.open.iter().any(|w| w.contains(today) == Some(true)) {
            let windows: Vec<String> = self.open.iter().map(Window::to_string).collect();
            reasons.push(Reason {
                rule: RULE_PERIOD,
                message: format!(
                    "applications are accepted only {}; today is {today}",
                    windows.join(" or ")
                ),
            });
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons)
        }
    }
}

fn territory_message(territory: &Territory, vereniging: &Vereniging) -> String {
    let own_postcodes: Vec<String> = vereniging
        .postcodes()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let own_gebieden: Vec<String> = vereniging
        .werkingsgebieden
        .iter()
        .map(|w| w.code.clone())
        .collect();
    let by_postcode = format!(
        "no location in postcodes {} (the association's: {})",
        territory.postcodes.join(", "),
        listed(&own_postcodes)
    );
    let by_gebied = format!(
        "no werkingsgebied among {} (the association's: {})",
        territory.werkingsgebieden.join(", "),
        listed(&own_gebieden)
    );
    match (
        territory.postcodes.is_empty(),
        territory.werkingsgebieden.is_empty(),
    ) {
        (false, true) => by_postcode,
        (true, false) => by_gebied,
        _ => format!("{by_postcode} and {by_gebied}"),
    }
}

// ---------------------------------------------------------------------------------------
// Service fields
// ---------------------------------------------------------------------------------------

/// One problem with an application: its `fields` (checked here) or the rest of it (checked
/// by `applications::validate_submission`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// `fields.<name>`, `applicant.e-mail`, `vCode`, ….
    pub field: String,
    /// [`FIELD_REQUIRED`], [`FIELD_INVALID_TYPE`] or [`FIELD_UNKNOWN`].
    pub code: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            reason: reason.into(),
        }
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn has_type(value: &Value, expected: FieldType) -> bool {
    match expected {
        FieldType::String => value.is_string(),
        FieldType::Integer => value.is_i64() || value.is_u64(),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Date => value.as_str().is_some_and(is_date),
        FieldType::Object => value.is_object(),
        FieldType::Array => value.is_array(),
    }
}

fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    s.len() == 10 && Date::parse(s, &format).is_ok()
}

/// Every problem with `fields` for `service` at once: required fields missing (absent,
/// `null`, or a blank string), values of the wrong type, fields the service does not
/// define. Errors follow the service's field order, then unknown fields in key order.
pub fn validate_fields(
    service: &ServiceDefinition,
    fields: &Map<String, Value>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let error = |name: &str, code: &str, reason: String| FieldError {
        field: format!("fields.{name}"),
        code: code.to_owned(),
        reason,
    };
    for spec in &service.fields {
        let expected = spec.field_type.as_str();
        match fields.get(&spec.name) {
            None | Some(Value::Null) => {
                if spec.required {
                    errors.push(error(
                        &spec.name,
                        FIELD_REQUIRED,
                        format!("a value of type {expected} is required"),
                    ));
                }
            }
            Some(value) if !has_type(value, spec.field_type) => {
                let reason = match (spec.field_type, value) {
                    (FieldType::Date, Value::String(_)) => {
                        "expected a date yyyy-MM-dd, got a string that is not one".to_owned()
                    }
                    (FieldType::Integer, Value::Number(_)) => {
                        "expected an integer, got a number with a fraction".to_owned()
                    }
                    _ => format!("expected {expected}, got {}", json_type(value)),
                };
                errors.push(error(&spec.name, FIELD_INVALID_TYPE, reason));
            }
            Some(Value::String(s)) if spec.required && s.trim().is_empty() => {
                errors.push(error(
                    &spec.name,
                    FIELD_REQUIRED,
                    format!("a value of type {expected} is required; got a blank string"),
                ));
            }
            Some(_) => {}
        }
    }
    for name in fields.keys() {
        if !service.fields.iter().any(|f| &f.name == name) {
            errors.push(error(
                name,
                FIELD_UNKNOWN,
                format!("the service {} has no such field", service.code),
            ));
        }
    }
    errors
}

// ---------------------------------------------------------------------------------------
// Enrichment
// ---------------------------------------------------------------------------------------

/// What the provider of `service` receives for `submitted`: the snapshot with every part
/// not shared ([`ServiceDefinition::shared_parts`]) emptied and every representative's
/// INSZ removed; `parts` lists the shared parts; `submitted_at` is the message's time;
/// `service_code` is `service.code`. The caller passes the snapshot of `submitted.v_code`.
pub fn enrich(
    service: &ServiceDefinition,
    submitted: &ApplicationSubmitted,
    vereniging: &Vereniging,
) -> EnrichedApplication {
    let parts = service.shared_parts();
    let mut v = vereniging.clone();
    for part in Part::ALL {
        if !parts.contains(&part) {
            empty_part(&mut v, part);
        }
    }
    for rep in &mut v.vertegenwoordigers {
        rep.insz = None;
    }
    EnrichedApplication {
        application_id: submitted.application_id,
        service_code: service.code.clone(),
        submitted_at: submitted.metadata.time,
        applicant: submitted.applicant.clone(),
        fields: submitted.fields.clone(),
        parts,
        vereniging: v,
    }
}

fn empty_part(v: &mut Vereniging, part: Part) {
    match part {
        // Always shared (see the module's documentation).
        Part::Basisgegevens => {}
        Part::Contactgegevens => v.contactgegevens.clear(),
        Part::Locaties => v.locaties.clear(),
        Part::Vertegenwoordigers => v.vertegenwoordigers.clear(),
        Part::HoofdactiviteitenVerenigingsloket => v.hoofdactiviteiten_verenigingsloket.clear(),
        Part::Werkingsgebieden => v.werkingsgebieden.clear(),
        Part::Sleutels => v.sleutels.clear(),
        Part::Relaties => v.relaties.clear(),
        Part::Lidmaatschappen => v.lidmaatschappen.clear(),
        Part::Erkenningen => v.erkenningen.clear(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::applications::{Applicant, ApplicationMetadata};
    use contracts::register::{CodeNaam, VerenigingDetail};
    use serde_json::json;
    use time::macros::{date, datetime};

    /// The pilot catalogue, as handed to the integrator for `config/*.toml`.
    const PILOT: &str = r#"
[[services]]
code = "uldk-tentlening"
name = "Tenten lenen bij de Uitleendienst Kampeermateriaal"
provider = "uldk"
data = ["basisgegevens", "locaties", "contactgegevens", "hoofdactiviteitenVerenigingsloket"]
[services.eligibility]
verenigingstypes = ["FV", "VZER", "VZW"]
hoofdactiviteiten = ["JGDW"]
open = [{ from = "09-01", until = "02-18" }, { from = "03-15", until = "11-15" }]
[[services.fields]]
name = "periode"
type = "object"
required = true
[[services.fields]]
name = "tenten"
type = "array"
required = true
[[services.fields]]
name = "aantalLeden"
type = "integer"
required = true
[[services.fields]]
name = "ophaling"
type = "object"
required = true

[[services]]
code = "kiosk-projectsubsidie"
name = "Projectsubsidie aanvragen via KIOSK"
provider = "kiosk"
data = ["basisgegevens", "contactgegevens", "locaties", "sleutels"]
[[services.fields]]
name = "projectnaam"
type = "string"
required = true
[[services.fields]]
name = "gevraagdBedrag"
type = "number"
required = true
[[services.fields]]
name = "begindatum"
type = "date"
required = true
[[services.fields]]
name = "einddatum"
type = "date"
required = true
[[services.fields]]
name = "omschrijving"
type = "string"
required = false

[[services]]
code = "vrijwilligersverzekering"
name = "Gratis vrijwilligersverzekering"
provider = "insurance"
data = ["basisgegevens", "contactgegevens", "locaties", "sleutels"]
[services.eligibility]
verenigingstypes = ["FV", "VZER", "VZW"]
[[services.fields]]
name = "aantalVrijwilligers"
type = "integer"
required = true
[[services.fields]]
name = "betaaldPersoneel"
type = "boolean"
required = true
[[services.fields]]
name = "geschatteUren"
type = "integer"
required = true

[[services]]
code = "aalst-jeugdsubsidie"
name = "Werkingssubsidie jeugdwerk stad Aalst"
provider = "municipality:aalst"
data = ["basisgegevens", "contactgegevens", "locaties", "hoofdactiviteitenVerenigingsloket"]
[services.eligibility]
hoofdactiviteiten = ["JGDW"]
territory = { postcodes = ["9300", "9308", "9310", "9320"] }
[[services.fields]]
name = "werkjaar"
type = "integer"
required = true
[[services.fields]]
name = "aantalLeden"
type = "integer"
required = true
"#;

    /// Reads `services` as `config.rs` does: through the `config` crate, entry by entry.
    fn from_toml(toml: &str) -> Vec<Result<ServiceDefinition, String>> {
        let config = config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()
            .expect("valid TOML");
        config
            .get::<Vec<config::Value>>("services")
            .expect("a services array")
            .into_iter()
            .map(|v| v.try_deserialize().map_err(|e| e.to_string()))
            .collect()
    }

    fn pilot() -> ServiceCatalogue {
        let services = from_toml(PILOT)
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .expect("pilot services deserialise");
        ServiceCatalogue::new(services).expect("pilot catalogue is valid")
    }

    fn service(value: Value) -> ServiceDefinition {
        serde_json::from_value(value).expect("service deserialises")
    }

    fn minimal() -> ServiceDefinition {
        service(json!({"code": "s", "name": "S", "provider": "kiosk", "data": []}))
    }

    fn base() -> Vereniging {
        let raw = include_str!("../../../../contracts/examples/register/detail-V0001001.json");
        serde_json::from_str::<VerenigingDetail>(raw)
            .expect("example parses")
            .vereniging
    }

    fn jeugdhuis() -> Vereniging {
        let mut v = base();
        v.verenigingstype.code = "FV".into();
        v.hoofdactiviteiten_verenigingsloket = vec![CodeNaam {
            code: "JGDW".into(),
            naam: "Jeugdwerk".into(),
        }];
        v
    }

    fn rules(result: &Result<(), Vec<Reason>>) -> Vec<&'static str> {
        match result {
            Ok(()) => vec![],
            Err(reasons) => reasons.iter().map(|r| r.rule).collect(),
        }
    }

    fn with_eligibility(eligibility: Value) -> ServiceDefinition {
        service(json!({
            "code": "s", "name": "S", "provider": "kiosk", "data": [],
            "eligibility": eligibility
        }))
    }

    // --- configuration --------------------------------------------------------------------

    #[test]
    fn the_pilot_catalogue_reads_from_toml() {
        let catalogue = pilot();
        let codes: Vec<&str> = catalogue.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "uldk-tentlening",
                "kiosk-projectsubsidie",
                "vrijwilligersverzekering",
                "aalst-jeugdsubsidie"
            ]
        );
        assert_eq!(catalogue.len(), 4);
        let uldk = catalogue.get("uldk-tentlening").expect("uldk");
        assert_eq!(uldk.provider, ProviderRef::Named("uldk".into()));
        assert_eq!(
            uldk.data,
            [
                Part::Basisgegevens,
                Part::Locaties,
                Part::Contactgegevens,
                Part::HoofdactiviteitenVerenigingsloket
            ]
        );
        assert_eq!(uldk.eligibility.verenigingstypes, ["FV", "VZER", "VZW"]);
        assert_eq!(uldk.eligibility.status, Status::Actief);
        assert_eq!(uldk.eligibility.open.len(), 2);
        assert_eq!(uldk.fields[2].name, "aantalLeden");
        assert_eq!(uldk.fields[2].field_type, FieldType::Integer);
        assert!(uldk.fields[2].required);
        let kiosk = catalogue.get("kiosk-projectsubsidie").expect("kiosk");
        assert_eq!(kiosk.eligibility, Eligibility::default());
        assert!(!kiosk.fields[4].required);
        let aalst = catalogue.get("aalst-jeugdsubsidie").expect("aalst");
        assert_eq!(aalst.provider, ProviderRef::Municipality("aalst".into()));
        assert_eq!(
            aalst.eligibility.territory,
            Some(Territory {
                postcodes: vec!["9300".into(), "9308".into(), "9310".into(), "9320".into()],
                werkingsgebieden: vec![],
            })
        );
        assert!(catalogue.get("onbekend").is_none());
        assert_eq!((&catalogue).into_iter().count(), 4);
    }

    /// The aalst-jeugdsubsidie example is left out on purpose: it sends `werkjaar` as
    /// `"2026-2027"` (a string) where the pilot defines an integer; one of the two must change.
    #[test]
    fn the_pilot_catalogue_accepts_the_contract_examples() {
        let catalogue = pilot();
        for raw in [
            include_str!(
                "../../../../contracts/examples/applications/application.submitted.uldk-tentlening.json"
            ),
            include_str!(
                "../../../../contracts/examples/applications/application.submitted.kiosk-projectsubsidie.json"
            ),
            include_str!(
                "../../../../contracts/examples/applications/application.submitted.vrijwilligersverzekering.json"
            ),
        ] {
            let submitted: ApplicationSubmitted = serde_json::from_str(raw).expect("example");
            let service = catalogue
                .get(&submitted.service_code)
                .expect("service in catalogue");
            assert_eq!(validate_fields(service, &submitted.fields), vec![]);
            // Sent on a day the service accepts applications.
            let mut v = jeugdhuis();
            v.locaties[0]
                .adres
                .as_mut()
                .expect("address")
                .postcode = "9300".into();
            assert_eq!(
                catalogue.eligibility(service, &v, submitted.metadata.time.date()),
                Ok(()),
                "{}",
                submitted.service_code
            );
        }
    }

    #[test]
    fn toml_and_json_refuse_unknown_keys_and_values() {
        let toml_problem = |extra: &str| {
            let toml = format!(
                "[[services]]\ncode = \"s\"\nname = \"S\"\nprovider = \"kiosk\"\ndata = []\n{extra}"
            );
            from_toml(&toml)
                .pop()
                .expect("one entry")
                .expect_err("refused")
        };
        assert!(toml_problem("kleur = \"rood\"").contains("kleur"));
        assert!(toml_problem("[services.eligibility]\nleeftijd = 12").contains("leeftijd"));
        assert!(toml_problem(
            "[services.eligibility]\nterritory = { postcodes = [\"9300\"], gemeente = \"x\" }"
        )
        .contains("gemeente"));
        assert!(toml_problem(
            "[services.eligibility]\nopen = [{ from = \"01-01\", until = \"02-01\", tot = \"x\" }]"
        )
        .contains("tot"));
        assert!(
            toml_problem("[[services.fields]]\nname = \"a\"\ntype = \"string\"\nmin = 1")
                .contains("min")
        );
        assert!(
            toml_problem("[[services.fields]]\nname = \"a\"\ntype = \"text\"").contains("text")
        );
        assert!(
            toml_problem("[services.eligibility]\nstatus = \"Verdwenen\"").contains("Verdwenen")
        );

        let refused = |value: Value| serde_json::from_value::<ServiceDefinition>(value).is_err();
        let with = |key: &str, value: Value| {
            let mut s = json!({"code": "s", "name": "S", "provider": "kiosk", "data": []});
            s[key] = value;
            s
        };
        assert!(!refused(with("data", json!([]))));
        assert!(refused(with("data", json!(["basisgegevens", "insz"]))));
        // A provider name the configuration does not declare is refused by config.rs
        // (`an_unconfigured_provider_is_refused`), which knows the instances.
        assert!(!refused(with("provider", json!("magda"))));
        assert!(refused(with("provider", json!("Magda"))));
        assert!(refused(with("provider", json!("municipality:"))));
        assert!(refused(with("provider", json!("municipality:Aalst"))));
        assert!(refused(
            json!({"code": "s", "name": "S", "provider": "kiosk"})
        ));
    }

    #[test]
    fn provider_references_round_trip() {
        for (raw, provider) in [
            ("kiosk", ProviderRef::Named("kiosk".into())),
            ("uldk", ProviderRef::Named("uldk".into())),
            ("insurance", ProviderRef::Named("insurance".into())),
            (
                "municipality:beveren",
                ProviderRef::Municipality("beveren".into()),
            ),
        ] {
            assert_eq!(raw.parse::<ProviderRef>(), Ok(provider.clone()));
            assert_eq!(provider.to_string(), raw);
            assert_eq!(
                serde_json::to_value(&provider).expect("serialises"),
                json!(raw)
            );
        }
        let err = "Kiosk".parse::<ProviderRef>().expect_err("case matters");
        assert!(err.contains("unknown provider \"Kiosk\""), "{err}");
        assert!("municipality:a b".parse::<ProviderRef>().is_err());
    }

    #[test]
    fn defaults_admit_everyone_and_fields_are_optional() {
        let s = service(json!({
            "code": "s", "name": "S", "provider": "uldk", "data": ["locaties"],
            "fields": [{"name": "x", "type": "string"}]
        }));
        assert_eq!(s.eligibility.status, Status::Actief);
        assert!(!s.fields[0].required);
        let catalogue = ServiceCatalogue::new(vec![s.clone()]).expect("valid");
        assert_eq!(
            catalogue.eligibility(&s, &base(), date!(2026 - 06 - 01)),
            Ok(())
        );
        assert_eq!(s.shared_parts(), [Part::Basisgegevens, Part::Locaties]);
    }

    #[test]
    fn the_catalogue_reports_every_problem_with_its_key() {
        let good = minimal();
        let bad = service(json!({
            "code": "Uldk Tent",
            "name": "  ",
            "provider": "municipality:aalst",
            "data": ["locaties", "sleutels", "locaties"],
            "eligibility": {
                "verenigingstypes": ["VZW", "ASBL", "VZW"],
                "hoofdactiviteiten": ["JGDW", "JEUGD", "JGDW"],
                "territory": {
                    "postcodes": ["9300", "930", "93000", "9300"],
                    "werkingsgebieden": ["BE23141002", "NVT", "BE23141002"]
                },
                "status": "Gestopt",
                "open": [
                    {"from": "09-01", "until": "02-18"},
                    {"from": "13-01", "until": "02-30"},
                    {"from": "9-1", "until": "00-10"},
                    {"from": "04-31", "until": "02-29"}
                ]
            },
            "fields": [
                {"name": "aantalLeden", "type": "integer"},
                {"name": "", "type": "string"},
                {"name": "1e", "type": "string"},
                {"name": "aantal-leden", "type": "string"},
                {"name": "aantalLeden", "type": "number"}
            ]
        }));
        let empty_territory = with_eligibility(json!({"territory": {}}));
        let dup = minimal();
        let problems =
            ServiceCatalogue::new(vec![good, bad, empty_territory, dup]).expect_err("refused");
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "services[1].code",
                "services[1].name",
                "services[1].data[2]",
                "services[1].eligibility.verenigingstypes[1]",
                "services[1].eligibility.verenigingstypes[2]",
                "services[1].eligibility.hoofdactiviteiten[1]",
                "services[1].eligibility.hoofdactiviteiten[2]",
                "services[1].eligibility.territory.postcodes[1]",
                "services[1].eligibility.territory.postcodes[2]",
                "services[1].eligibility.territory.postcodes[3]",
                "services[1].eligibility.territory.werkingsgebieden[1]",
                "services[1].eligibility.territory.werkingsgebieden[2]",
                "services[1].eligibility.status",
                "services[1].eligibility.open[1].from",
                "services[1].eligibility.open[1].until",
                "services[1].eligibility.open[2].from",
                "services[1].eligibility.open[2].until",
                "services[1].eligibility.open[3].from",
                "services[1].fields[1].name",
                "services[1].fields[2].name",
                "services[1].fields[3].name",
                "services[1].fields[4].name",
                "services[2].code",
                "services[2].eligibility.territory",
                "services[3].code",
            ]
        );
        let message = |key: &str| -> Vec<&str> {
            problems
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, m)| m.as_str())
                .collect()
        };
        assert_eq!(
            message("services[1].code"),
            ["\"Uldk Tent\" must be lower-case letters, digits and '-'"]
        );
        assert_eq!(
            message("services[1].data[2]"),
            ["\"locaties\" is listed twice"]
        );
        assert!(message("services[1].eligibility.verenigingstypes[1]")[0]
            .starts_with("\"ASBL\" is not an association type (FV, VZER, VZW, IVZW, PS, SVON)"));
        assert!(message("services[1].eligibility.hoofdactiviteiten[1]")[0]
            .contains("\"JEUGD\" is not one of the register's hoofdactiviteiten (BIAG,"));
        assert_eq!(
            message("services[1].eligibility.territory.postcodes[1]"),
            ["\"930\" is not a Belgian postcode (4 digits)"]
        );
        assert_eq!(
            message("services[1].eligibility.territory.postcodes[3]"),
            ["\"9300\" is listed twice"]
        );
        assert!(message("services[1].eligibility.status")[0].starts_with("Gestopt"));
        assert_eq!(
            message("services[1].eligibility.open[1].from"),
            ["\"13-01\": there is no month 13"]
        );
        assert_eq!(
            message("services[1].eligibility.open[1].until"),
            ["\"02-30\": month 2 has no day 30"]
        );
        assert_eq!(
            message("services[1].eligibility.open[2].from"),
            ["\"9-1\" is not a day of the year (MM-DD, e.g. \"02-19\")"]
        );
        assert_eq!(
            message("services[1].eligibility.open[3].from"),
            ["\"04-31\": month 4 has no day 31"]
        );
        assert_eq!(
            message("services[1].fields[4].name"),
            ["\"aantalLeden\" is already the name of an earlier field"]
        );
        assert_eq!(
            message("services[2].code"),
            ["\"s\" is already the code of services[0]"]
        );
        assert_eq!(
            message("services[3].code"),
            ["\"s\" is already the code of services[0]"]
        );
    }

    #[test]
    fn entries_keep_their_configuration_keys() {
        let mut second = minimal();
        second.code = "t".into();
        second.eligibility.open = vec![Window {
            from: "02-30".into(),
            until: "03-01".into(),
        }];
        let problems = ServiceCatalogue::from_entries(vec![
            ("services[0]".into(), minimal()),
            ("services[2]".into(), second),
        ])
        .expect_err("refused");
        assert_eq!(
            problems,
            [(
                "services[2].eligibility.open[0].from".to_owned(),
                "\"02-30\": month 2 has no day 30".to_owned()
            )]
        );
        assert!(ServiceCatalogue::new(vec![])
            .expect("empty is fine")
            .is_empty());
    }

    // --- eligibility ------------------------------------------------------------------------

    #[test]
    fn status_rule() {
        let s = minimal();
        let catalogue = ServiceCatalogue::default();
        let today = date!(2026 - 06 - 01);
        assert_eq!(catalogue.eligibility(&s, &base(), today), Ok(()));
        for status in [Status::Gestopt, Status::Dubbel] {
            let mut v = base();
            v.status = status;
            let reasons = catalogue.eligibility(&s, &v, today).expect_err("refused");
            assert_eq!(reasons.len(), 1);
            assert_eq!(reasons[0].rule, RULE_STATUS);
            assert_eq!(
                reasons[0].message,
                format!("association status is {status:?}; the service requires Actief")
            );
        }
    }

    #[test]
    fn verenigingstype_rule() {
        let s = with_eligibility(json!({"verenigingstypes": ["FV", "VZER"]}));
        let catalogue = ServiceCatalogue::default();
        let today = date!(2026 - 06 - 01);
        let reasons = catalogue
            .eligibility(&s, &base(), today)
            .expect_err("a VZW is refused");
        assert_eq!(
            reasons,
            [Reason {
                rule: RULE_VERENIGINGSTYPE,
                message: "association type VZW is not among FV, VZER".into(),
            }]
        );
        let mut v = base();
        for (code, ok) in [
            ("FV", true),
            ("VZER", true),
            ("VZW", false),
            ("IVZW", false),
            ("PS", false),
            ("SVON", false),
        ] {
            v.verenigingstype.code = code.into();
            assert_eq!(catalogue.eligibility(&s, &v, today).is_ok(), ok, "{code}");
        }
    }

    #[test]
    fn fv_and_vzer_are_one_type_for_the_rules() {
        let catalogue = ServiceCatalogue::default();
        let today = date!(2026 - 06 - 01);
        let fv_only = with_eligibility(json!({"verenigingstypes": ["FV"]}));
        let vzer_only = with_eligibility(json!({"verenigingstypes": ["VZER"]}));
        let vzw_only = with_eligibility(json!({"verenigingstypes": ["VZW"]}));
        let mut v = base();
        for code in ["FV", "VZER"] {
            v.verenigingstype.code = code.into();
            assert_eq!(catalogue.eligibility(&fv_only, &v, today), Ok(()), "{code}");
            assert_eq!(
                catalogue.eligibility(&vzer_only, &v, today),
                Ok(()),
                "{code}"
            );
            assert_eq!(
                rules(&catalogue.eligibility(&vzw_only, &v, today)),
                [RULE_VERENIGINGSTYPE]
            );
        }
        v.verenigingstype.code = "VZW".into();
        assert!(catalogue.eligibility(&fv_only, &v, today).is_err());
        assert!(catalogue.eligibility(&vzer_only, &v, today).is_err());
    }

    #[test]
    fn hoofdactiviteit_rule() {
        let s = with_eligibility(json!({"hoofdactiviteiten": ["JGDW", "SPRT"]}));
        let catalogue = ServiceCatalogue::default();
        let today = date!(2026 - 06 - 01);
        let reasons = catalogue
            .eligibility(&s, &base(), today)
            .expect_err("KECU is refused");
        assert_eq!(reasons[0].rule, RULE_HOOFDACTIVITEIT);
        assert_eq!(
            reasons[0].message,
            "main activities KECU are not among JGDW, SPRT"
        );
        let mut v = base();
        v.hoofdactiviteiten_verenigingsloket.push(CodeNaam {
            code: "SPRT".into(),
            naam: "Sport".into(),
        });
        assert_eq!(catalogue.eligibility(&s, &v, today), Ok(()));
        v.hoofdactiviteiten_verenigingsloket.clear();
        let reasons = catalogue.eligibility(&s, &v, today).expect_err("none");
        assert_eq!(
            reasons[0].message,
            "the association has no main activity; the service requires one of JGDW, SPRT"
        );
    }

    #[test]
    fn territory_rule() {
        let catalogue = ServiceCatalogue::default();
        let today = date!(2026 - 06 - 01);
        let aalst = with_eligibility(json!({"territory": {"postcodes": ["9300", "9320"]}}));
        let evergem = with_eligibility(json!({"territory": {"postcodes": ["9940"]}}));
        let by_gebied =
            with_eligibility(json!({"territory": {"werkingsgebieden": ["BE23444021"]}}));
        let both = with_eligibility(json!({"territory": {
            "postcodes": ["9940"], "werkingsgebieden": ["BE23444021"]
        }}));
        let v = base();
        assert_eq!(catalogue.eligibility(&aalst, &v, today), Ok(()));
        let message = |s: &ServiceDefinition, v: &Vereniging| {
            let reasons = catalogue.eligibility(s, v, today).expect_err("refused");
            assert_eq!(rules(&Err(reasons.clone())), [RULE_TERRITORY]);
            reasons[0].message.clone()
        };
        assert_eq!(
            message(&evergem, &v),
            "no location in postcodes 9940 (the association's: 9300, 9000)"
        );
        assert_eq!(
            message(&by_gebied, &v),
            "no werkingsgebied among BE23444021 (the association's: BE23041002)"
        );
        assert_eq!(
            message(&both, &v),
            "no location in postcodes 9940 (the association's: 9300, 9000) and no \
             werkingsgebied among BE23444021 (the association's: BE23041002)"
        );
        let mut moved = base();
        moved.werkingsgebieden = vec![CodeNaam {
            code: "BE23444021".into(),
            naam: "Evergem".into(),
        }];
        assert_eq!(catalogue.eligibility(&by_gebied, &moved, today), Ok(()));
        assert_eq!(catalogue.eligibility(&both, &moved, today), Ok(()));
        moved.locaties.clear();
        moved.werkingsgebieden.clear();
        assert_eq!(
            message(&evergem, &moved),
            "no location in postcodes 9940 (the association's: none)"
        );
        let mut located = base();
        if let Some(adres) = located.locaties[1].adres.as_mut() {
            adres.postcode = "9940".into();
        }
        assert_eq!(catalogue.eligibility(&evergem, &located, today), Ok(()));
    }

    #[test]
    fn period_rule_with_windows_wrapping_over_the_new_year() {
        let catalogue = ServiceCatalogue::default();
        let v = base();
        let wrapping = with_eligibility(json!({"open": [{"from": "09-01", "until": "02-18"}]}));
        for (day, open) in [
            (date!(2026 - 08 - 31), false),
            (date!(2026 - 09 - 01), true),
            (date!(2026 - 12 - 31), true),
            (date!(2027 - 01 - 01), true),
            (date!(2027 - 02 - 18), true),
            (date!(2027 - 02 - 19), false),
            (date!(2027 - 06 - 15), false),
        ] {
            assert_eq!(
                catalogue.eligibility(&wrapping, &v, day).is_ok(),
                open,
                "{day}"
            );
        }
        let reasons = catalogue
            .eligibility(&wrapping, &v, date!(2027 - 02 - 19))
            .expect_err("closed");
        assert_eq!(
            reasons,
            [Reason {
                rule: RULE_PERIOD,
                message: "applications are accepted only from 09-01 until 02-18; today is \
                          2027-02-19"
                    .into(),
            }]
        );

        let season = with_eligibility(json!({"open": [{"from": "03-15", "until": "11-15"}]}));
        for (day, open) in [
            (date!(2026 - 03 - 14), false),
            (date!(2026 - 03 - 15), true),
            (date!(2026 - 11 - 15), true),
            (date!(2026 - 11 - 16), false),
            (date!(2026 - 01 - 10), false),
        ] {
            assert_eq!(
                catalogue.eligibility(&season, &v, day).is_ok(),
                open,
                "{day}"
            );
        }

        let two = with_eligibility(json!({"open": [
            {"from": "09-01", "until": "02-18"}, {"from": "03-15", "until": "11-15"}
        ]}));
        assert!(catalogue
            .eligibility(&two, &v, date!(2027 - 05 - 12))
            .is_ok());
        assert!(catalogue
            .eligibility(&two, &v, date!(2027 - 12 - 01))
            .is_ok());
        let reasons = catalogue
            .eligibility(&two, &v, date!(2027 - 03 - 01))
            .expect_err("between the windows");
        assert_eq!(
            reasons[0].message,
            "applications are accepted only from 09-01 until 02-18 or from 03-15 until 11-15; \
             today is 2027-03-01"
        );

        let one_day = with_eligibility(json!({"open": [{"from": "12-31", "until": "12-31"}]}));
        assert!(catalogue
            .eligibility(&one_day, &v, date!(2026 - 12 - 31))
            .is_ok());
        assert!(catalogue
            .eligibility(&one_day, &v, date!(2027 - 01 - 01))
            .is_err());
        assert!(catalogue
            .eligibility(&one_day, &v, date!(2026 - 12 - 30))
            .is_err());
    }

    #[test]
    fn leap_day_bounds() {
        let until = Window {
            from: "02-01".into(),
            until: "02-29".into(),
        };
        assert_eq!(until.contains(date!(2027 - 02 - 28)), Some(true));
        assert_eq!(until.contains(date!(2027 - 03 - 01)), Some(false));
        assert_eq!(until.contains(date!(2028 - 02 - 29)), Some(true));
        let from = Window {
            from: "02-29".into(),
            until: "01-31".into(),
        };
        assert_eq!(from.contains(date!(2027 - 02 - 28)), Some(false));
        assert_eq!(from.contains(date!(2027 - 03 - 01)), Some(true));
        assert_eq!(from.contains(date!(2028 - 02 - 29)), Some(true));
        assert_eq!(from.contains(date!(2028 - 01 - 31)), Some(true));
        let broken = Window {
            from: "2-1".into(),
            until: "03-01".into(),
        };
        assert_eq!(broken.contains(date!(2027 - 02 - 15)), None);
        // A service built without the catalogue's checks: a broken window never opens.
        let s = ServiceDefinition {
            eligibility: Eligibility {
                open: vec![broken],
                ..Eligibility::default()
            },
            ..minimal()
        };
        let result = ServiceCatalogue::default().eligibility(&s, &base(), date!(2027 - 02 - 15));
        assert_eq!(rules(&result), [RULE_PERIOD]);
    }

    #[test]
    fn every_failed_rule_is_reported_at_once() {
        let catalogue = pilot();
        let uldk = catalogue.get("uldk-tentlening").expect("uldk");
        let aalst = catalogue.get("aalst-jeugdsubsidie").expect("aalst");
        let mut v = base();
        v.status = Status::Gestopt;
        v.verenigingstype.code = "PS".into();
        v.locaties.clear();
        v.werkingsgebieden.clear();
        let today = date!(2027 - 03 - 01);
        let reasons = catalogue.eligibility(uldk, &v, today).expect_err("refused");
        assert_eq!(
            rules(&Err(reasons.clone())),
            [
                RULE_STATUS,
                RULE_VERENIGINGSTYPE,
                RULE_HOOFDACTIVITEIT,
                RULE_PERIOD
            ]
        );
        assert_eq!(
            Reason::describe(&reasons[..2]),
            "status: association status is Gestopt; the service requires Actief; \
             verenigingstype: association type PS is not among FV, VZER, VZW"
        );
        assert_eq!(
            rules(&catalogue.eligibility(aalst, &v, today)),
            [RULE_STATUS, RULE_HOOFDACTIVITEIT, RULE_TERRITORY]
        );
        let mut with_period = aalst.clone();
        with_period.eligibility.open = vec![Window {
            from: "09-01".into(),
            until: "10-31".into(),
        }];
        with_period.eligibility.verenigingstypes = vec!["VZW".into()];
        assert_eq!(
            rules(&catalogue.eligibility(&with_period, &v, today)),
            [
                RULE_STATUS,
                RULE_VERENIGINGSTYPE,
                RULE_HOOFDACTIVITEIT,
                RULE_TERRITORY,
                RULE_PERIOD
            ]
        );
    }

    #[test]
    fn eligible_services_lists_every_service_with_its_reasons() {
        let catalogue = pilot();
        let mut v = jeugdhuis();
        v.status = Status::Actief;
        // V0001001 is located in 9300 (Aalst) and 9000 (Gent).
        let out = catalogue.eligible_services(&v, date!(2027 - 03 - 01));
        let summary: Vec<(&str, Vec<&str>)> =
            out.iter().map(|(code, r)| (*code, rules(r))).collect();
        assert_eq!(
            summary,
            [
                ("uldk-tentlening", vec![RULE_PERIOD]),
                ("kiosk-projectsubsidie", vec![]),
                ("vrijwilligersverzekering", vec![]),
                ("aalst-jeugdsubsidie", vec![]),
            ]
        );
        let vzw_cultuur = base();
        let out = catalogue.eligible_services(&vzw_cultuur, date!(2026 - 10 - 01));
        let summary: Vec<(&str, Vec<&str>)> =
            out.iter().map(|(code, r)| (*code, rules(r))).collect();
        assert_eq!(
            summary,
            [
                ("uldk-tentlening", vec![RULE_HOOFDACTIVITEIT]),
                ("kiosk-projectsubsidie", vec![]),
                ("vrijwilligersverzekering", vec![]),
                ("aalst-jeugdsubsidie", vec![RULE_HOOFDACTIVITEIT]),
            ]
        );
    }

    // --- fields -----------------------------------------------------------------------------

    fn fields(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn all_types() -> ServiceDefinition {
        service(json!({
            "code": "s", "name": "S", "provider": "kiosk", "data": [],
            "fields": [
                {"name": "s", "type": "string", "required": true},
                {"name": "i", "type": "integer", "required": true},
                {"name": "n", "type": "number", "required": true},
                {"name": "b", "type": "boolean", "required": true},
                {"name": "d", "type": "date", "required": true},
                {"name": "o", "type": "object", "required": true},
                {"name": "a", "type": "array", "required": true},
                {"name": "opt", "type": "string"}
            ]
        }))
    }

    #[test]
    fn valid_fields_pass() {
        let s = all_types();
        let ok = fields(json!({
            "s": "x", "i": -3, "n": 2.5, "b": false, "d": "2027-02-28",
            "o": {"k": 1}, "a": [], "opt": ""
        }));
        assert_eq!(validate_fields(&s, &ok), vec![]);
        let mut without_optional = ok.clone();
        without_optional.remove("opt");
        assert_eq!(validate_fields(&s, &without_optional), vec![]);
        without_optional.insert("opt".into(), Value::Null);
        assert_eq!(validate_fields(&s, &without_optional), vec![]);
        let mut integral = ok;
        integral.insert("n".into(), json!(7));
        integral.insert("i".into(), json!(u64::MAX));
        assert_eq!(validate_fields(&s, &integral), vec![]);
        assert_eq!(validate_fields(&minimal(), &Map::new()), vec![]);
    }

    #[test]
    fn every_field_error_at_once() {
        let s = all_types();
        let bad = fields(json!({
            "s": "   ",
            "i": 3.5,
            "n": "12",
            "b": "ja",
            "d": "2027-02-30",
            "o": null,
            "zz": 1,
            "kleur": "rood"
        }));
        let errors = validate_fields(&s, &bad);
        let summary: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("fields.s", FIELD_REQUIRED),
                ("fields.i", FIELD_INVALID_TYPE),
                ("fields.n", FIELD_INVALID_TYPE),
                ("fields.b", FIELD_INVALID_TYPE),
                ("fields.d", FIELD_INVALID_TYPE),
                ("fields.o", FIELD_REQUIRED),
                ("fields.a", FIELD_REQUIRED),
                ("fields.kleur", FIELD_UNKNOWN),
                ("fields.zz", FIELD_UNKNOWN),
            ]
        );
        let reason = |field: &str| {
            errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.reason.as_str())
                .unwrap_or_default()
        };
        assert_eq!(
            reason("fields.s"),
            "a value of type string is required; got a blank string"
        );
        assert_eq!(
            reason("fields.i"),
            "expected an integer, got a number with a fraction"
        );
        assert_eq!(reason("fields.n"), "expected number, got string");
        assert_eq!(reason("fields.b"), "expected boolean, got string");
        assert_eq!(
            reason("fields.d"),
            "expected a date yyyy-MM-dd, got a string that is not one"
        );
        assert_eq!(reason("fields.a"), "a value of type array is required");
        assert_eq!(reason("fields.kleur"), "the service s has no such field");
        // Reasons never echo the value.
        assert!(errors.iter().all(|e| !e.reason.contains("rood")));
    }

    #[test]
    fn field_types_are_strict() {
        let s = all_types();
        let valid = fields(json!({
            "s": "x", "i": 1, "n": 1, "b": true, "d": "2028-02-29", "o": {}, "a": [1]
        }));
        assert_eq!(validate_fields(&s, &valid), vec![]);
        for (name, value, got) in [
            ("s", json!(1), "integer"),
            ("i", json!("1"), "string"),
            ("i", json!(true), "boolean"),
            ("b", json!(1), "integer"),
            ("d", json!(20270101), "integer"),
            ("o", json!([]), "array"),
            ("a", json!({}), "object"),
        ] {
            let mut f = valid.clone();
            f.insert(name.into(), value);
            let errors = validate_fields(&s, &f);
            assert_eq!(errors.len(), 1, "{name}");
            assert_eq!(errors[0].code, FIELD_INVALID_TYPE);
            assert!(
                errors[0].reason.ends_with(&format!("got {got}")),
                "{errors:?}"
            );
        }
        for date in [
            "2027-2-1",
            "01/02/2027",
            "2027-02-29",
            "2027-02-01T00:00:00Z",
            "",
            "+2027-02-01",
        ] {
            let mut f = valid.clone();
            f.insert("d".into(), json!(date));
            let errors = validate_fields(&s, &f);
            assert_eq!(errors.len(), 1, "{date}");
            assert_eq!(errors[0].code, FIELD_INVALID_TYPE, "{date}");
        }
    }

    // --- enrichment -------------------------------------------------------------------------

    fn submitted(service_code: &str, vereniging: &Vereniging) -> ApplicationSubmitted {
        ApplicationSubmitted {
            metadata: ApplicationMetadata {
                message_id: uuid::Uuid::now_v7(),
                message_type: "application.submitted".into(),
                time: datetime!(2027-01-15 10:30:00 UTC),
                source: "loket".into(),
                correlation_id: uuid::Uuid::now_v7(),
            },
            application_id: uuid::Uuid::now_v7(),
            v_code: vereniging.v_code.clone(),
            service_code: service_code.into(),
            applicant: Applicant {
                vertegenwoordiger_id: Some(1),
                voornaam: "An".into(),
                achternaam: "Peeters".into(),
                email: "an.peeters@example.be".into(),
                telefoon: String::new(),
            },
            fields: fields(json!({"aantalLeden": 42})),
        }
    }

    #[test]
    fn enrichment_shares_only_the_listed_parts() {
        let v = base();
        let catalogue = pilot();
        let uldk = catalogue.get("uldk-tentlening").expect("uldk");
        let app = submitted("uldk-tentlening", &v);
        let out = enrich(uldk, &app, &v);
        assert_eq!(
            out.parts,
            [
                Part::Basisgegevens,
                Part::Contactgegevens,
                Part::Locaties,
                Part::HoofdactiviteitenVerenigingsloket
            ]
        );
        assert_eq!(out.application_id, app.application_id);
        assert_eq!(out.service_code, "uldk-tentlening");
        assert_eq!(out.submitted_at, datetime!(2027-01-15 10:30:00 UTC));
        assert_eq!(out.applicant, app.applicant);
        assert_eq!(out.fields, app.fields);
        let e = &out.vereniging;
        assert_eq!(e.v_code, v.v_code);
        assert_eq!(e.naam, v.naam);
        assert_eq!(e.verenigingstype, v.verenigingstype);
        assert_eq!(e.status, v.status);
        assert_eq!(e.doelgroep, v.doelgroep);
        assert_eq!(e.contactgegevens, v.contactgegevens);
        assert_eq!(e.locaties, v.locaties);
        assert_eq!(
            e.hoofdactiviteiten_verenigingsloket,
            v.hoofdactiviteiten_verenigingsloket
        );
        assert!(e.vertegenwoordigers.is_empty());
        assert!(e.werkingsgebieden.is_empty());
        assert!(e.sleutels.is_empty());
        assert!(e.relaties.is_empty() && e.lidmaatschappen.is_empty() && e.erkenningen.is_empty());
        // Every part outside `parts` is empty: nothing else changed.
        let mut only_shared = v.clone();
        only_shared.vertegenwoordigers.clear();
        only_shared.werkingsgebieden.clear();
        only_shared.sleutels.clear();
        assert_eq!(*e, only_shared);
    }

    #[test]
    fn basisgegevens_are_always_shared() {
        let v = base();
        let s = minimal();
        let out = enrich(&s, &submitted("s", &v), &v);
        assert_eq!(out.parts, [Part::Basisgegevens]);
        // Only the parts outside `basisgegevens` differ from the snapshot.
        assert_eq!(
            Part::changed(Some(&v), &out.vereniging),
            [
                Part::Contactgegevens,
                Part::Locaties,
                Part::Vertegenwoordigers,
                Part::HoofdactiviteitenVerenigingsloket,
                Part::Werkingsgebieden,
                Part::Sleutels
            ]
        );
        assert!(out.vereniging.locaties.is_empty() && out.vereniging.contactgegevens.is_empty());
    }

    #[test]
    fn enrichment_never_leaks_an_insz() {
        let v = base();
        assert!(v.vertegenwoordigers[0].insz.is_some());
        for data in [
            json!(["vertegenwoordigers"]),
            json!(["basisgegevens", "vertegenwoordigers", "sleutels"]),
            json!([]),
            json!(Part::ALL.map(Part::as_str)),
        ] {
            let s = service(json!({"code": "s", "name": "S", "provider": "kiosk", "data": data}));
            let out = enrich(&s, &submitted("s", &v), &v);
            let text = serde_json::to_string(&out).expect("serialises");
            assert!(!text.contains("85071512397"), "{text}");
            assert!(!text.contains("\"insz\""), "{text}");
            assert!(out
                .vereniging
                .vertegenwoordigers
                .iter()
                .all(|r| r.insz.is_none()));
            if s.data.contains(&Part::Vertegenwoordigers) {
                assert_eq!(out.vereniging.vertegenwoordigers[0].achternaam, "Peeters");
                assert!(out.parts.contains(&Part::Vertegenwoordigers));
            } else {
                assert!(out.vereniging.vertegenwoordigers.is_empty());
                assert!(!out.parts.contains(&Part::Vertegenwoordigers));
            }
        }
        let all = service(json!({"code": "s", "name": "S", "provider": "kiosk",
                                  "data": ["vertegenwoordigers", "sleutels"]}));
        let out = enrich(&all, &submitted("s", &v), &v);
        assert_eq!(
            out.parts,
            [
                Part::Basisgegevens,
                Part::Vertegenwoordigers,
                Part::Sleutels
            ]
        );
    }
}
