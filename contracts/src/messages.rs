//! The messages the hub publishes. Each has a JSON Schema in `contracts/schemas/` named
//! after its `type` and an example in `contracts/examples/messages/`.
//!
//! Metadata travels twice: in the body (so a stored or forwarded message describes itself)
//! and in the AMQP properties and headers (so brokers and consumers can route and
//! deduplicate without parsing the body).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::VCode;
use crate::register::Vereniging;

/// The kinds of message the hub publishes; the string is the AMQP `type` and routing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageType {
    #[serde(rename = "association.changed")]
    AssociationChanged,
    #[serde(rename = "association.removed")]
    AssociationRemoved,
    #[serde(rename = "association.entered-territory")]
    AssociationEnteredTerritory,
    #[serde(rename = "association.left-territory")]
    AssociationLeftTerritory,
}

impl MessageType {
    pub const ALL: [MessageType; 4] = [
        MessageType::AssociationChanged,
        MessageType::AssociationRemoved,
        MessageType::AssociationEnteredTerritory,
        MessageType::AssociationLeftTerritory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::AssociationChanged => "association.changed",
            MessageType::AssociationRemoved => "association.removed",
            MessageType::AssociationEnteredTerritory => "association.entered-territory",
            MessageType::AssociationLeftTerritory => "association.left-territory",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Current version of this message's schema (`schemas/<type>.v<N>.json`).
    pub fn schema_version(self) -> u32 {
        1
    }
}

/// Every message's envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Unique per message; kept on redelivery and replay, so receivers can deduplicate.
    pub message_id: Uuid,
    #[serde(rename = "type")]
    pub message_type: MessageType,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Which part of the hub produced it (`hub/register`).
    pub source: String,
    /// Ties together everything caused by one change or request.
    pub correlation_id: Uuid,
    #[serde(rename = "vCode")]
    pub v_code: VCode,
    /// The register's global sequence of the change this message reports. Per vCode, a
    /// receiver never gets a lower sequence after a higher one.
    pub sequence: u64,
    /// The association's version in the register (its ETag), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// The parts of an association a change can touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Part {
    /// naam, roepnaam, korteNaam, korteBeschrijving, startdatum, einddatum, status,
    /// doelgroep, verenigingstype.
    Basisgegevens,
    Contactgegevens,
    Locaties,
    Vertegenwoordigers,
    HoofdactiviteitenVerenigingsloket,
    Werkingsgebieden,
    Sleutels,
    Relaties,
    Lidmaatschappen,
    Erkenningen,
}

impl Part {
    pub const ALL: [Part; 10] = [
        Part::Basisgegevens,
        Part::Contactgegevens,
        Part::Locaties,
        Part::Vertegenwoordigers,
        Part::HoofdactiviteitenVerenigingsloket,
        Part::Werkingsgebieden,
        Part::Sleutels,
        Part::Relaties,
        Part::Lidmaatschappen,
        Part::Erkenningen,
    ];

    /// The part's name as in `changedParts` (its serde name, and the XSDs' `DeelType`).
    pub fn as_str(self) -> &'static str {
        match self {
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

    /// The parts that differ between two snapshots of the same association; all parts when
    /// there was no earlier snapshot.
    pub fn changed(old: Option<&Vereniging>, new: &Vereniging) -> Vec<Part> {
        let Some(old) = old else {
            return Part::ALL.to_vec();
        };
        Part::ALL
            .into_iter()
            .filter(|part| !part.same_in(old, new))
            .collect()
    }

    fn same_in(self, a: &Vereniging, b: &Vereniging) -> bool {
        match self {
            Part::Basisgegevens => {
                a.naam == b.naam
                    && a.roepnaam == b.roepnaam
                    && a.korte_naam == b.korte_naam
                    && a.korte_beschrijving == b.korte_beschrijving
                    && a.startdatum == b.startdatum
                    && a.einddatum == b.einddatum
                    && a.status == b.status
                    && a.doelgroep == b.doelgroep
                    && a.verenigingstype == b.verenigingstype
            }
            Part::Contactgegevens => a.contactgegevens == b.contactgegevens,
            Part::Locaties => a.locaties == b.locaties,
            Part::Vertegenwoordigers => a.vertegenwoordigers == b.vertegenwoordigers,
            Part::HoofdactiviteitenVerenigingsloket => {
                a.hoofdactiviteiten_verenigingsloket == b.hoofdactiviteiten_verenigingsloket
            }
            Part::Werkingsgebieden => a.werkingsgebieden == b.werkingsgebieden,
            Part::Sleutels => a.sleutels == b.sleutels,
            Part::Relaties => a.relaties == b.relaties,
            Part::Lidmaatschappen => a.lidmaatschappen == b.lidmaatschappen,
            Part::Erkenningen => a.erkenningen == b.erkenningen,
        }
    }
}

/// `association.changed`: the full snapshot after a change, and which parts changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationChanged {
    pub metadata: Metadata,
    pub changed_parts: Vec<Part>,
    /// Fields the receiver's field policy withheld (e.g. `vertegenwoordigers[].insz`), so a
    /// receiver can tell "withheld" from "absent".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<String>,
    pub vereniging: Vereniging,
}

/// `association.removed`: the register no longer answers for this vCode. Carries no
/// association data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationRemoved {
    pub metadata: Metadata,
}

/// `association.entered-territory` and `association.left-territory`: a change moved the
/// association onto or off a municipality's territory (none of its locations or
/// werkingsgebieden was in the territory before, or none is now). Carries no association
/// data: an entered notice is followed by an `association.changed` with the snapshot; a left
/// notice is all the municipality gets, so it holds no personal data.
///
/// Made by the hub per municipality from the `association.changed` that caused it: same
/// `vCode`, `sequence`, `version`, `time` and `correlationId`; its `messageId` is derived
/// from the cause's (see [`TerritoryNotice::for_change`]), so a redelivered cause yields
/// the same notice id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerritoryNotice {
    pub metadata: Metadata,
    /// The name of the municipality (hub adapter instance) whose territory this is.
    pub territory: String,
}

/// Which way an association crossed a territory's border.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    Entered,
    Left,
}

impl TerritoryNotice {
    /// The notice that `cause` (an `association.changed`) moved its association across
    /// `territory`'s border.
    pub fn for_change(cause: &Metadata, territory: &str, crossing: Crossing) -> Self {
        let message_type = match crossing {
            Crossing::Entered => MessageType::AssociationEnteredTerritory,
            Crossing::Left => MessageType::AssociationLeftTerritory,
        };
        let name = format!("{}/{territory}", message_type.as_str());
        TerritoryNotice {
            metadata: Metadata {
                message_id: Uuid::new_v5(&cause.message_id, name.as_bytes()),
                message_type,
                time: cause.time,
                source: "hub/territory".to_owned(),
                correlation_id: cause.correlation_id,
                v_code: cause.v_code.clone(),
                sequence: cause.sequence,
                version: cause.version,
            },
            territory: territory.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Vereniging {
        crate::fixtures::register_example()
    }

    #[test]
    fn a_parts_name_is_its_wire_name() {
        for part in Part::ALL {
            let wire = serde_json::to_string(&part).expect("a part serialises");
            assert_eq!(wire, format!("\"{}\"", part.as_str()));
        }
    }

    #[test]
    fn a_new_association_changes_every_part() {
        assert_eq!(Part::changed(None, &example()), Part::ALL.to_vec());
    }

    #[test]
    fn a_rename_changes_only_basisgegevens() {
        let old = example();
        let mut new = old.clone();
        new.naam = "Harmonie Aalst".into();
        assert_eq!(Part::changed(Some(&old), &new), vec![Part::Basisgegevens]);
        assert!(Part::changed(Some(&old), &old).is_empty());
    }

    #[test]
    fn a_moved_location_changes_locaties() {
        let old = example();
        let mut new = old.clone();
        if let Some(adres) = new.locaties[0].adres.as_mut() {
            adres.postcode = "9940".into();
        }
        assert_eq!(Part::changed(Some(&old), &new), vec![Part::Locaties]);
    }

    #[test]
    fn a_notice_id_is_stable_per_cause_territory_and_direction() {
        let cause = Metadata {
            message_id: Uuid::now_v7(),
            message_type: MessageType::AssociationChanged,
            time: OffsetDateTime::UNIX_EPOCH,
            source: "hub/register".into(),
            correlation_id: Uuid::now_v7(),
            v_code: example().v_code,
            sequence: 7,
            version: Some(3),
        };
        let left = TerritoryNotice::for_change(&cause, "aalst", Crossing::Left);
        assert_eq!(
            left,
            TerritoryNotice::for_change(&cause, "aalst", Crossing::Left)
        );
        assert_eq!(
            left.metadata.message_type,
            MessageType::AssociationLeftTerritory
        );
        assert_eq!(left.metadata.sequence, 7);
        assert_eq!(left.metadata.correlation_id, cause.correlation_id);
        let ids = [
            left.metadata.message_id,
            TerritoryNotice::for_change(&cause, "aalst", Crossing::Entered)
                .metadata
                .message_id,
            TerritoryNotice::for_change(&cause, "evergem", Crossing::Left)
                .metadata
                .message_id,
            cause.message_id,
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn message_type_round_trips() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::parse(t.as_str()), Some(t));
        }
    }
}
