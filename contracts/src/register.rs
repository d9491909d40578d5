//! The Verenigingsregister's documents, with its wire names kept exactly.
//!
//! Parsing is tolerant where the register's conventions allow it (unknown fields are
//! ignored, a `null` string reads as empty, a missing collection as empty) and strict where
//! a wrong value would mislead a partner (a number where a name belongs, an unknown status,
//! a malformed vCode or date).

use serde::{Deserialize, Deserializer, Serialize};
use time::Date;

use crate::ids::{KboNumber, VCode};

time::serde::format_description!(register_date, Date, "[year]-[month]-[day]");

/// One entry of `GET /v1/verenigingen/mutaties?sinds=N`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutatie {
    #[serde(rename = "vCode")]
    pub v_code: VCode,
    pub sequence: u64,
}

/// The body of `GET /v1/verenigingen/{vCode}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerenigingDetail {
    #[serde(rename = "@context", default)]
    pub context: serde_json::Value,
    pub vereniging: Vereniging,
    #[serde(default)]
    pub metadata: Option<DetailMetadata>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailMetadata {
    #[serde(default, deserialize_with = "string_or_null")]
    pub datum_laatste_aanpassing: String,
}

/// An association as the register describes it: the hub's snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vereniging {
    #[serde(rename = "vCode")]
    pub v_code: VCode,
    pub verenigingstype: Verenigingstype,
    pub naam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub roepnaam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub korte_naam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub korte_beschrijving: String,
    #[serde(default, with = "register_date::option")]
    pub startdatum: Option<Date>,
    #[serde(default, with = "register_date::option")]
    pub einddatum: Option<Date>,
    pub status: Status,
    #[serde(default, deserialize_with = "default_if_null")]
    pub doelgroep: Doelgroep,
    #[serde(default, deserialize_with = "default_if_null")]
    pub contactgegevens: Vec<Contactgegeven>,
    #[serde(default, deserialize_with = "default_if_null")]
    pub locaties: Vec<Locatie>,
    #[serde(default, deserialize_with = "default_if_null")]
    pub vertegenwoordigers: Vec<Vertegenwoordiger>,
    #[serde(default, deserialize_with = "default_if_null")]
    pub hoofdactiviteiten_verenigingsloket: Vec<CodeNaam>,
    #[serde(default, deserialize_with = "default_if_null")]
    pub werkingsgebieden: Vec<CodeNaam>,
    #[serde(default, deserialize_with = "default_if_null")]
    pub sleutels: Vec<Sleutel>,
    /// Kept as the register sends them: their shapes vary by relation kind.
    #[serde(default, deserialize_with = "default_if_null")]
    pub relaties: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "default_if_null")]
    pub lidmaatschappen: Vec<serde_json::Value>,
    #[serde(default, deserialize_with = "default_if_null")]
    pub erkenningen: Vec<serde_json::Value>,
}

impl Vereniging {
    /// Every postcode of the association's locations (without duplicates, in order).
    pub fn postcodes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for code in self
            .locaties
            .iter()
            .filter_map(|l| l.adres.as_ref())
            .map(|a| a.postcode.as_str())
            .filter(|p| !p.is_empty())
        {
            if !out.contains(&code) {
                out.push(code);
            }
        }
        out
    }

    /// The KBO number among the keys (`sleutels` with `bron` `KBO`), when valid.
    pub fn kbo_number(&self) -> Option<KboNumber> {
        self.sleutels
            .iter()
            .find(|s| s.bron == "KBO")
            .and_then(|s| s.waarde.parse().ok())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verenigingstype {
    pub code: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub naam: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Actief,
    Gestopt,
    Dubbel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doelgroep {
    #[serde(default)]
    pub minimumleeftijd: u16,
    #[serde(default = "Doelgroep::default_maximum")]
    pub maximumleeftijd: u16,
}

impl Doelgroep {
    fn default_maximum() -> u16 {
        150
    }
}

impl Default for Doelgroep {
    fn default() -> Self {
        Doelgroep {
            minimumleeftijd: 0,
            maximumleeftijd: 150,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contactgegeven {
    pub contactgegeven_id: i64,
    /// `E-mail`, `Telefoon`, `Website` or `SocialMedia`.
    pub contactgegeventype: String,
    pub waarde: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub beschrijving: String,
    #[serde(default)]
    pub is_primair: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Locatie {
    pub locatie_id: i64,
    /// `Correspondentie`, `Activiteiten` or `Maatschappelijke zetel volgens KBO`.
    pub locatietype: String,
    #[serde(default)]
    pub is_primair: bool,
    #[serde(default, deserialize_with = "string_or_null")]
    pub naam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub adresvoorstelling: String,
    #[serde(default)]
    pub adres: Option<Adres>,
    #[serde(default)]
    pub adres_id: Option<AdresId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adres {
    #[serde(default, deserialize_with = "string_or_null")]
    pub straatnaam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub huisnummer: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub busnummer: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub postcode: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub gemeente: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub land: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdresId {
    #[serde(default, deserialize_with = "string_or_null")]
    pub broncode: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub bronwaarde: String,
}

/// A representative. Personal data: the field policy decides who receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vertegenwoordiger {
    pub vertegenwoordiger_id: i64,
    /// Absent when the receiver is not granted INSZ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insz: Option<String>,
    #[serde(default, deserialize_with = "string_or_null")]
    pub voornaam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub achternaam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub roepnaam: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub rol: String,
    #[serde(default)]
    pub is_primair: bool,
    #[serde(rename = "e-mail", default, deserialize_with = "string_or_null")]
    pub e_mail: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub telefoon: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub mobiel: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub social_media: String,
}

/// `{code, naam}` pairs: hoofdactiviteiten and werkingsgebieden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeNaam {
    pub code: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub naam: String,
}

/// A key under which the association is known elsewhere (`VR`, `KBO`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sleutel {
    pub bron: String,
    pub waarde: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub codeer_systeem: String,
}

/// The register promises empty strings, never null; accept a stray null anyway.
fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// The register promises collections are never null; accept a stray null anyway.
fn default_if_null<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAIL: &str = include_str!("../examples/register/detail-V0001001.json");

    #[test]
    fn parses_the_registers_detail_document() {
        let detail: VerenigingDetail = serde_json::from_str(DETAIL).expect("example parses");
        let v = &detail.vereniging;
        assert_eq!(v.v_code.as_str(), "V0001001");
        assert_eq!(v.status, Status::Actief);
        assert_eq!(v.postcodes(), vec!["9300", "9000"]);
        assert_eq!(v.vertegenwoordigers[0].e_mail, "an.peeters@example.be");
        assert!(v.kbo_number().is_some());
    }

    #[test]
    fn keeps_wire_names_on_serialisation() {
        let detail: VerenigingDetail = serde_json::from_str(DETAIL).expect("example parses");
        let out = serde_json::to_value(&detail.vereniging).expect("serialises");
        for key in [
            "vCode",
            "korteNaam",
            "hoofdactiviteitenVerenigingsloket",
            "werkingsgebieden",
        ] {
            assert!(out.get(key).is_some(), "{key} missing");
        }
        assert!(out["vertegenwoordigers"][0].get("e-mail").is_some());
        assert_eq!(out["startdatum"], "1998-09-01");
    }

    #[test]
    fn tolerates_unknown_fields_and_nulls_but_not_wrong_types() {
        let mut doc: serde_json::Value = serde_json::from_str(DETAIL).expect("json");
        doc["vereniging"]["eenNieuwVeld"] = serde_json::json!({"x": 1});
        doc["vereniging"]["korteNaam"] = serde_json::Value::Null;
        doc["vereniging"]["sleutels"] = serde_json::Value::Null;
        let v: VerenigingDetail = serde_json::from_value(doc.clone()).expect("tolerated");
        assert_eq!(v.vereniging.korte_naam, "");
        doc["vereniging"]["naam"] = serde_json::json!(42);
        assert!(serde_json::from_value::<VerenigingDetail>(doc.clone()).is_err());
        doc["vereniging"]["naam"] = serde_json::json!("ok");
        doc["vereniging"]["status"] = serde_json::json!("Verdwenen");
        assert!(serde_json::from_value::<VerenigingDetail>(doc).is_err());
    }
}
