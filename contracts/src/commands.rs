//! A municipality's commands to change an association in the register, and the hub's reply.
//!
//! A back office sends a `Command` (JSON, `schemas/municipality.command.v1.json`); the hub
//! validates it, turns it into one call of the register's beheer API and answers with a
//! `Reply` (`schemas/municipality.reply.v1.json`). The `data` of a command uses the
//! register's own wire names (`korteNaam`, `contactgegeventype`, `isPrimair`, …).
//!
//! Deserialising a `Command` checks the shape (known fields only, right JSON types, known
//! `type` and enum values, a valid vCode); the value rules (e-mail syntax, postcode, known
//! codes, …) and reporting every error at once are the municipality adapter's
//! (`adapter_municipality::commands::parse_command`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::ids::VCode;

time::serde::format_description!(command_date, Date, "[year]-[month]-[day]");

/// The JSON Schema (draft 2020-12) of a command: `schemas/municipality.command.v1.json`.
pub const COMMAND_SCHEMA: &str = include_str!("../schemas/municipality.command.v1.json");
/// The JSON Schema (draft 2020-12) of a reply: `schemas/municipality.reply.v1.json`.
pub const REPLY_SCHEMA: &str = include_str!("../schemas/municipality.reply.v1.json");

/// The register's fixed list of `hoofdactiviteitenVerenigingsloket` (code, naam), as the
/// register defines it (`HoofdactiviteitVerenigingsloket` in
/// `Informatievlaanderen/association-registry`).
pub const HOOFDACTIVITEITEN_VERENIGINGSLOKET: [(&str, &str); 21] = [
    ("BIAG", "Burgerinitiatief & Actiegroep"),
    ("BWWC", "Buurtwerking & Wijkcomité"),
    ("DINT", "Diversiteit & Integratie"),
    ("GEWE", "Gezondheid & Welzijn"),
    ("HOSP", "Hobby & Spel"),
    ("INOS", "Internationaal & Ontwikkelingssamenwerking"),
    ("JGDW", "Jeugdwerk"),
    ("KLDU", "Klimaat & Duurzaamheid"),
    ("KECU", "Kunsten, Erfgoed & Cultuur"),
    ("LAVI", "Landbouw & Visserij"),
    ("LEBE", "Levensbeschouwelijk"),
    ("MADP", "Maatschappelijke dienstverlening & Politiek"),
    ("MEDG", "Mediawijsheid & Digitale geletterdheid"),
    ("MROW", "Mobiliteit, Ruimtelijke ordening & Wonen"),
    ("NMDW", "Natuur, Milieu & Dierenwelzijn"),
    ("VORM", "Onderwijs & Vorming"),
    ("SOVO", "Sociaal-cultureel volwassenenwerk"),
    ("SPRT", "Sport"),
    ("ONWE", "Technologie & Wetenschap"),
    ("TOER", "Toerisme"),
    ("WESE", "Werk & Sociale economie"),
];

/// The `werkingsgebieden` code meaning "not applicable"; it cannot be combined with others.
pub const WERKINGSGEBIED_NVT: &str = "NVT";

/// The oldest and youngest age a `doelgroep` may name (the register's bounds).
pub const LEEFTIJD_MAX: u16 = 150;

// ---------------------------------------------------------------------------------------
// Command
// ---------------------------------------------------------------------------------------

/// The kinds of command; the string is the command's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CommandType {
    #[serde(rename = "association.change-basisgegevens")]
    ChangeBasisgegevens,
    #[serde(rename = "association.add-contactgegeven")]
    AddContactgegeven,
    #[serde(rename = "association.change-contactgegeven")]
    ChangeContactgegeven,
    #[serde(rename = "association.remove-contactgegeven")]
    RemoveContactgegeven,
    #[serde(rename = "association.add-locatie")]
    AddLocatie,
    #[serde(rename = "association.change-locatie")]
    ChangeLocatie,
    #[serde(rename = "association.remove-locatie")]
    RemoveLocatie,
}

impl CommandType {
    pub const ALL: [CommandType; 7] = [
        CommandType::ChangeBasisgegevens,
        CommandType::AddContactgegeven,
        CommandType::ChangeContactgegeven,
        CommandType::RemoveContactgegeven,
        CommandType::AddLocatie,
        CommandType::ChangeLocatie,
        CommandType::RemoveLocatie,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommandType::ChangeBasisgegevens => "association.change-basisgegevens",
            CommandType::AddContactgegeven => "association.add-contactgegeven",
            CommandType::ChangeContactgegeven => "association.change-contactgegeven",
            CommandType::RemoveContactgegeven => "association.remove-contactgegeven",
            CommandType::AddLocatie => "association.add-locatie",
            CommandType::ChangeLocatie => "association.change-locatie",
            CommandType::RemoveLocatie => "association.remove-locatie",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One command of a municipality: change association `v_code` as `data` says.
///
/// On the wire: `{"commandId", "type", "vCode", "expectedVersion"?, "correlationId"?,
/// "data"}`; `type` is `data`'s [`CommandType`]. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Chosen by the sender; the idempotency key: the same `commandId` is applied at most
    /// once.
    pub command_id: Uuid,
    pub v_code: VCode,
    /// The register version the change was made against (sent as `If-Match`); a stale one
    /// gets `conflicted`.
    pub expected_version: Option<u64>,
    /// Ties the command, its register call and its reply together; default: `command_id`.
    pub correlation_id: Option<Uuid>,
    pub data: CommandData,
}

impl Command {
    pub fn command_type(&self) -> CommandType {
        self.data.command_type()
    }

    /// The command's `type` as it travels, e.g. `association.add-contactgegeven`.
    pub fn type_name(&self) -> &'static str {
        self.command_type().as_str()
    }

    /// The correlation id in effect: `correlationId`, else `commandId`.
    pub fn effective_correlation_id(&self) -> Uuid {
        self.correlation_id.unwrap_or(self.command_id)
    }
}

/// What a command changes, per type.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandData {
    ChangeBasisgegevens(ChangeBasisgegevens),
    AddContactgegeven(AddContactgegeven),
    ChangeContactgegeven(ChangeContactgegeven),
    RemoveContactgegeven(RemoveContactgegeven),
    AddLocatie(AddLocatie),
    ChangeLocatie(ChangeLocatie),
    RemoveLocatie(RemoveLocatie),
}

impl CommandData {
    pub fn command_type(&self) -> CommandType {
        match self {
            CommandData::ChangeBasisgegevens(_) => CommandType::ChangeBasisgegevens,
            CommandData::AddContactgegeven(_) => CommandType::AddContactgegeven,
            CommandData::ChangeContactgegeven(_) => CommandType::ChangeContactgegeven,
            CommandData::RemoveContactgegeven(_) => CommandType::RemoveContactgegeven,
            CommandData::AddLocatie(_) => CommandType::AddLocatie,
            CommandData::ChangeLocatie(_) => CommandType::ChangeLocatie,
            CommandData::RemoveLocatie(_) => CommandType::RemoveLocatie,
        }
    }
}

/// The wire names of [`ChangeBasisgegevens`]'s fields, every one optional: what the
/// municipality adapter accepts in its `data`.
pub const CHANGE_BASISGEGEVENS_FIELDS: [&str; 7] = [
    "naam",
    "korteNaam",
    "korteBeschrijving",
    "startdatum",
    "doelgroep",
    "hoofdactiviteitenVerenigingsloket",
    "werkingsgebieden",
];

/// `association.change-basisgegevens`: the given fields get the given values; absent
/// fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeBasisgegevens {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub naam: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub korte_naam: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub korte_beschrijving: Option<String>,
    /// Absent: unchanged; `null` (`Some(None)`): cleared; a date: set.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "nullable_date"
    )]
    pub startdatum: Option<Option<Date>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub doelgroep: Option<DoelgroepChange>,
    /// Codes from [`HOOFDACTIVITEITEN_VERENIGINGSLOKET`]; replaces the whole list.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub hoofdactiviteiten_verenigingsloket: Option<Vec<String>>,
    /// NUTS/LAU codes (`BE25`, `BE25535002`) or `NVT`; replaces the whole list.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub werkingsgebieden: Option<Vec<String>>,
}

/// The target group's ages; an absent bound stays as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoelgroepChange {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub minimumleeftijd: Option<u16>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub maximumleeftijd: Option<u16>,
}

/// The contact types the register knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContactgegevenType {
    #[serde(rename = "E-mail")]
    EMail,
    Telefoon,
    Website,
    SocialMedia,
}

impl ContactgegevenType {
    pub const ALL: [ContactgegevenType; 4] = [
        ContactgegevenType::EMail,
        ContactgegevenType::Telefoon,
        ContactgegevenType::Website,
        ContactgegevenType::SocialMedia,
    ];

    /// The register's wire name (`E-mail`, `Telefoon`, `Website`, `SocialMedia`).
    pub fn as_str(self) -> &'static str {
        match self {
            ContactgegevenType::EMail => "E-mail",
            ContactgegevenType::Telefoon => "Telefoon",
            ContactgegevenType::Website => "Website",
            ContactgegevenType::SocialMedia => "SocialMedia",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// `association.add-contactgegeven`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AddContactgegeven {
    pub contactgegeventype: ContactgegevenType,
    pub waarde: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub beschrijving: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub is_primair: Option<bool>,
}

/// `association.change-contactgegeven`: the given fields of contact `contactgegeven_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeContactgegeven {
    pub contactgegeven_id: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub waarde: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub beschrijving: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub is_primair: Option<bool>,
}

/// `association.remove-contactgegeven`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RemoveContactgegeven {
    pub contactgegeven_id: i64,
}

/// The location types a municipality may add or set. The register's third type,
/// `Maatschappelijke zetel volgens KBO`, is read-only (it comes from the KBO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LocatieType {
    Correspondentie,
    Activiteiten,
}

impl LocatieType {
    pub const ALL: [LocatieType; 2] = [LocatieType::Correspondentie, LocatieType::Activiteiten];
    /// The register's read-only location type.
    pub const KBO_ZETEL: &'static str = "Maatschappelijke zetel volgens KBO";

    pub fn as_str(self) -> &'static str {
        match self {
            LocatieType::Correspondentie => "Correspondentie",
            LocatieType::Activiteiten => "Activiteiten",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An address as a command gives it: every field but `busnummer` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandAdres {
    pub straatnaam: String,
    pub huisnummer: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub busnummer: Option<String>,
    /// 4 digits.
    pub postcode: String,
    pub gemeente: String,
    pub land: String,
}

/// `association.add-locatie`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AddLocatie {
    pub locatietype: LocatieType,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub is_primair: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub naam: Option<String>,
    pub adres: CommandAdres,
}

/// `association.change-locatie`: the given fields of location `locatie_id` (an `adres`
/// replaces the whole address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeLocatie {
    pub locatie_id: i64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub locatietype: Option<LocatieType>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub is_primair: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub naam: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub adres: Option<CommandAdres>,
}

/// `association.remove-locatie`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RemoveLocatie {
    pub locatie_id: i64,
}

/// The command as it travels; `data` is decoded according to `type`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CommandWire {
    command_id: Uuid,
    #[serde(rename = "type")]
    command_type: CommandType,
    #[serde(rename = "vCode")]
    v_code: VCode,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    expected_version: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    correlation_id: Option<Uuid>,
    data: serde_json::Value,
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let data = match &self.data {
            CommandData::ChangeBasisgegevens(d) => serde_json::to_value(d),
            CommandData::AddContactgegeven(d) => serde_json::to_value(d),
            CommandData::ChangeContactgegeven(d) => serde_json::to_value(d),
            CommandData::RemoveContactgegeven(d) => serde_json::to_value(d),
            CommandData::AddLocatie(d) => serde_json::to_value(d),
            CommandData::ChangeLocatie(d) => serde_json::to_value(d),
            CommandData::RemoveLocatie(d) => serde_json::to_value(d),
        }
        .map_err(S::Error::custom)?;
        CommandWire {
            command_id: self.command_id,
            command_type: self.command_type(),
            v_code: self.v_code.clone(),
            expected_version: self.expected_version,
            correlation_id: self.correlation_id,
            data,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = CommandWire::deserialize(d)?;
        fn decode<T: serde::de::DeserializeOwned, E: Error>(v: serde_json::Value) -> Result<T, E> {
            serde_json::from_value(v).map_err(|e| E::custom(format!("data: {e}")))
        }
        let data = match wire.command_type {
            CommandType::ChangeBasisgegevens => {
                CommandData::ChangeBasisgegevens(decode(wire.data)?)
            }
            CommandType::AddContactgegeven => CommandData::AddContactgegeven(decode(wire.data)?),
            CommandType::ChangeContactgegeven => {
                CommandData::ChangeContactgegeven(decode(wire.data)?)
            }
            CommandType::RemoveContactgegeven => {
                CommandData::RemoveContactgegeven(decode(wire.data)?)
            }
            CommandType::AddLocatie => CommandData::AddLocatie(decode(wire.data)?),
            CommandType::ChangeLocatie => CommandData::ChangeLocatie(decode(wire.data)?),
            CommandType::RemoveLocatie => CommandData::RemoveLocatie(decode(wire.data)?),
        };
        Ok(Command {
            command_id: wire.command_id,
            v_code: wire.v_code,
            expected_version: wire.expected_version,
            correlation_id: wire.correlation_id,
            data,
        })
    }
}

/// An optional field: absent is `None`, but an explicit `null` is refused (omit the field
/// instead), as the schemas do.
fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// `startdatum`: absent (`None`), `null` (`Some(None)`) or `yyyy-MM-dd`.
mod nullable_date {
    use serde::{Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(v: &Option<Option<Date>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => super::command_date::option::serialize(inner, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Date>>, D::Error> {
        super::command_date::option::deserialize(d).map(Some)
    }
}

// ---------------------------------------------------------------------------------------
// Reply
// ---------------------------------------------------------------------------------------

/// How the hub settled a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The register applied the command (or it had already been applied, or changed
    /// nothing).
    Accepted,
    /// The command is invalid (the hub's validation, or the register refused it); sending
    /// it again will not help.
    Rejected,
    /// The association changed since `expectedVersion`; re-read it and decide again.
    Conflicted,
}

/// One field error of a rejected command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyError {
    /// The path of the offending field in the command: `vCode`, `data.waarde`,
    /// `data.adres.postcode`, `data.werkingsgebieden[1]`; empty for the whole document.
    pub field: String,
    /// A stable, machine-readable code (`invalid-email`, `required`, `unknown-field`, …).
    pub code: String,
    /// A human-readable explanation.
    pub reason: String,
}

impl ReplyError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        ReplyError {
            field: field.into(),
            code: code.into(),
            reason: reason.into(),
        }
    }
}

/// The hub's answer to one command.
///
/// Every reply names the command (`commandId`, `correlationId`): a command without a
/// readable `commandId` cannot be answered. `vCode` is absent only when a rejected command
/// did not carry a valid one. `accepted` carries `version` (the association's version after
/// the change, or its current one for a no-op or a command found already applied) and
/// `sequence` (the change's register sequence; absent for a no-op); `rejected` carries
/// `detail` and usually `errors`; `conflicted` carries `detail` and, when known, the
/// current `version`. `detail` may also explain an `accepted` no-op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Reply {
    pub command_id: Uuid,
    /// The command's `correlationId`, else its `commandId`.
    pub correlation_id: Uuid,
    #[serde(
        rename = "vCode",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub v_code: Option<VCode>,
    pub outcome: Outcome,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub version: Option<u64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub sequence: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ReplyError>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "non_null"
    )]
    pub detail: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

impl Reply {
    /// The register applied `command`: the new `version` and the change's `sequence`; for
    /// a no-op (or a command found already applied) the current version and no sequence.
    pub fn accepted(
        command: &Command,
        version: u64,
        sequence: Option<u64>,
        time: OffsetDateTime,
    ) -> Reply {
        Reply {
            version: Some(version),
            sequence,
            ..Reply::base(command, Outcome::Accepted, time)
        }
    }

    /// `command` was made against a version that is no longer current.
    pub fn conflicted(
        command: &Command,
        detail: impl Into<String>,
        current_version: Option<u64>,
        time: OffsetDateTime,
    ) -> Reply {
        Reply {
            version: current_version,
            detail: Some(detail.into()),
            ..Reply::base(command, Outcome::Conflicted, time)
        }
    }

    /// A valid `command` that the register refused (or that names something absent).
    pub fn rejected(
        command: &Command,
        errors: Vec<ReplyError>,
        detail: impl Into<String>,
        time: OffsetDateTime,
    ) -> Reply {
        Reply {
            errors,
            detail: Some(detail.into()),
            ..Reply::base(command, Outcome::Rejected, time)
        }
    }

    /// An invalid command: its `commandId`, whatever else could be read of it (a
    /// `correlationId`, a valid `vCode`), and every error.
    pub fn rejected_invalid(
        command_id: Uuid,
        correlation_id: Option<Uuid>,
        v_code: Option<VCode>,
        errors: Vec<ReplyError>,
        detail: impl Into<String>,
        time: OffsetDateTime,
    ) -> Reply {
        Reply {
            command_id,
            correlation_id: correlation_id.unwrap_or(command_id),
            v_code,
            outcome: Outcome::Rejected,
            version: None,
            sequence: None,
            errors,
            detail: Some(detail.into()),
            time,
        }
    }

    fn base(command: &Command, outcome: Outcome, time: OffsetDateTime) -> Reply {
        Reply {
            command_id: command.command_id,
            correlation_id: command.effective_correlation_id(),
            v_code: Some(command.v_code.clone()),
            outcome,
            version: None,
            sequence: None,
            errors: Vec::new(),
            detail: None,
            time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for t in CommandType::ALL {
            assert_eq!(CommandType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).ok(),
                Some(serde_json::Value::String(t.as_str().into()))
            );
        }
        for t in ContactgegevenType::ALL {
            assert_eq!(ContactgegevenType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_value(t).ok(),
                Some(serde_json::Value::String(t.as_str().into()))
            );
        }
        for t in LocatieType::ALL {
            assert_eq!(LocatieType::parse(t.as_str()), Some(t));
        }
        assert_eq!(LocatieType::parse(LocatieType::KBO_ZETEL), None);
    }

    #[test]
    fn startdatum_absent_null_and_set_are_distinct() {
        let absent: ChangeBasisgegevens = serde_json::from_str(r#"{"naam":"x"}"#).expect("absent");
        assert_eq!(absent.startdatum, None);
        let null: ChangeBasisgegevens =
            serde_json::from_str(r#"{"startdatum":null}"#).expect("null");
        assert_eq!(null.startdatum, Some(None));
        let set: ChangeBasisgegevens =
            serde_json::from_str(r#"{"startdatum":"2024-02-29"}"#).expect("set");
        assert_eq!(
            set.startdatum,
            Some(Some(time::macros::date!(2024 - 02 - 29)))
        );
        assert_eq!(
            serde_json::to_string(&null).ok().as_deref(),
            Some(r#"{"startdatum":null}"#)
        );
        assert_eq!(
            serde_json::to_string(&absent).ok().as_deref(),
            Some(r#"{"naam":"x"}"#)
        );
    }

    #[test]
    fn correlation_defaults_to_command_id() {
        let raw = r#"{"commandId":"6f1c2b7e-3d4a-4e59-9b8c-1a2d3e4f5a6b","type":"association.remove-locatie","vCode":"V0001001","data":{"locatieId":2}}"#;
        let c: Command = serde_json::from_str(raw).expect("command");
        assert_eq!(c.effective_correlation_id(), c.command_id);
        assert_eq!(c.command_type(), CommandType::RemoveLocatie);
    }
}
