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

use adapter_subscriber::Selector;
use contracts::applications::{ApplicationSubmitted, EnrichedApplication};
use contracts::commands::HOOFDACTIVITEITEN_VERENIGINGSLOKET;
use contracts::register::{Status, Vereniging};
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

/// The adapter instance a service's applications go to: `kiosk`, `uldk`, `insurance` or
/// `municipality:<name>` (a configured municipality's name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProviderRef {
    Kiosk,
    Uldk,
    Insurance,
    Municipality(String),
}

impl FromStr for ProviderRef {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kiosk" => Ok(ProviderRef::Kiosk),
            "uldk" => Ok(ProviderRef::Uldk),
            "insurance" => Ok(ProviderRef::Insurance),
            _ => match s.strip_prefix("municipality:") {
                Some(name) if is_code(name) => Ok(ProviderRef::Municipality(name.to_owned())),
                Some(name) => Err(format!(
                    "{name:?} is not a municipality name (lower-case letters, digits and '-')"
                )),
                None => Err(format!(
                    "unknown provider {s:?}: expected kiosk, uldk, insurance or municipality:<name>"
                )),
            },
        }
    }
}

impl fmt::Display for ProviderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProviderRef::Kiosk => f.write_str("kiosk"),
            ProviderRef::Uldk => f.write_str("uldk"),
            ProviderRef::Insurance => f.write_str("insurance"),
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

/// A territory, as a municipality's: postcodes of locations, werkingsgebied (LAU) codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Territory {
    pub postcodes: Vec<String>,
    pub werkingsgebieden: Vec<String>,
}

impl Territory {
    /// Matches as a municipality's selector does ([`Selector::Territory`]).
    pub fn matches(&self, vereniging: &Vereniging) -> bool {
        Selector::Territory {
            postcodes: self.postcodes.clone(),
            werkingsgebieden: self.werkingsgebieden.clone(),
        }
        .matches(vereniging)
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
            return Err(format!("{s:?} is not a day of the year (MM-DD, e.g. \"02-19\")"));
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
            check_service(key, service, &mut problems);
            match codes.get(service.code.as_str()) {
                Some(first) => problems.push((
                    format!("{key}.code"),
                    format!("{:?} is already the code of {first}", service.code),
                )),
                None => {
                    codes.insert(&service.code, key);
                }
            }
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

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_field_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_postcode(s: &str) -> bool {
    s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Basisgegevens => "basisgegevens",
        Part::Contactgegevens => "contactgegevens",
        Part::Locaties => "locaties",
        Part::Vertegenwoordigers => "vertegenwoordigers",
        Part::HoofdactiviteitenVerenigingsloket => "hoofdactiviteitenVerenigingsloket",
        Part::Werkingsgebieden => "werkingsgebieden",
        Part::Sleutels => "sleutels",
        Part::Relaties => "relaties",
        Part::Lidmaatschappen => "lidmaatschappen",
        Part::Erkenningen => "erkenningen",
    }
}

/// Indices of the items equal to an earlier one.
fn repeated<T: PartialEq>(items: &[T]) -> impl Iterator<Item = usize> + '_ {
    (0..items.len()).filter(|&i| items[..i].contains(&items[i]))
}

fn check_service(key: &str, s: &ServiceDefinition, problems: &mut Vec<(String, String)>) {
    let mut problem = |at: String, message: String| problems.push((at, message));
    if !is_code(&s.code) {
        problem(
            format!("{key}.code"),
            format!("{:?} must be lower-case letters, digits and '-'", s.code),
        );
    }
    if s.name.trim().is_empty() {
        problem(format!("{key}.name"), "must not be empty".to_owned());
    }
    for i in repeated(&s.data) {
        problem(
            format!("{key}.data[{i}]"),
            format!("{:?} is listed twice", part_name(s.data[i])),
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
        if t.postcodes.is_empty() && t.werkingsgebieden.is_empty() {
            problem(
                format!("{at}.territory"),
                "must list at least one postcode or werkingsgebied (leave territory out to \
                 admit every location)"
                    .to_owned(),
            );
        }
        for (i, p) in t.postcodes.iter().enumerate() {
            if !is_postcode(p) {
                problem(
                    format!("{at}.territory.postcodes[{i}]"),
                    format!("{p:?} is not a Belgian postcode (4 digits)"),
                );
            }
        }
        for i in repeated(&t.postcodes) {
            problem(
                format!("{at}.territory.postcodes[{i}]"),
                format!("{:?} is listed twice", t.postcodes[i]),
            );
        }
        for (i, w) in t.werkingsgebieden.iter().enumerate() {
            if w.len() < 3 || !w.starts_with("BE") {
                problem(
                    format!("{at}.territory.werkingsgebieden[{i}]"),
                    format!("{w:?} is not a NUTS/LAU code (BE...)"),
                );
            }
        }
        for i in repeated(&t.werkingsgebieden) {
            problem(
                format!("{at}.territory.werkingsgebieden[{i}]"),
                format!("{:?} is listed twice", t.werkingsgebieden[i]),
            );
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

/// One problem with an application's `fields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// `fields.<name>`.
    pub field: String,
    /// [`FIELD_REQUIRED`], [`FIELD_INVALID_TYPE`] or [`FIELD_UNKNOWN`].
    pub code: String,
    pub reason: String,
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
pub fn validate_fields(service: &ServiceDefinition, fields: &Map<String, Value>) -> Vec<FieldError> {
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
                        format!("a {expected} is required"),
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
                    format!("a {expected} is required; got a blank string"),
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
