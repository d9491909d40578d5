//! Service applications: the loket submits an application for a service on behalf of an
//! association; the hub checks it against the service catalogue, enriches it with the
//! association's data, hands it to the provider's adapter and reports every change of its
//! status back to the loket.
//!
//! - `application.submitted` (loket → hub): [`ApplicationSubmitted`].
//! - `application.status-changed` (hub → loket): [`ApplicationStatusChanged`].
//! - What a provider adapter receives: [`EnrichedApplication`] (not a broker message).
//!
//! The follow-up is a small state machine ([`ApplicationStatus::can_move_to`]):
//! `ingediend → ontvangen → in_behandeling → goedgekeurd | afgewezen`, a provider may skip
//! ahead (`ontvangen → goedgekeurd`), an ineligible application goes straight from
//! `ingediend` to `afgewezen`, and the association may withdraw (`ingetrokken`) until a
//! decision is made.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::VCode;
use crate::messages::Part;
use crate::register::Vereniging;

/// AMQP type and routing key of a submitted application.
pub const APPLICATION_SUBMITTED: &str = "application.submitted";
/// AMQP type and routing key of a status change.
pub const APPLICATION_STATUS_CHANGED: &str = "application.status-changed";

/// The JSON Schema (draft 2020-12) of `application.submitted`:
/// `contracts/schemas/application.submitted.v1.json`.
pub const SUBMITTED_SCHEMA: &str = include_str!("../schemas/application.submitted.v1.json");
/// The JSON Schema (draft 2020-12) of `application.status-changed`:
/// `contracts/schemas/application.status-changed.v1.json`.
pub const STATUS_CHANGED_SCHEMA: &str =
    include_str!("../schemas/application.status-changed.v1.json");
/// The `N` of the current schemas (`application.<type>.v<N>.json`); the AMQP header
/// `schemaVersion`.
pub const SCHEMA_VERSION: u32 = 1;

/// The envelope of an application message (no register sequence: applications are not
/// register changes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationMetadata {
    /// Unique per message; kept on redelivery, so receivers can deduplicate.
    pub message_id: Uuid,
    /// `application.submitted` or `application.status-changed`.
    #[serde(rename = "type")]
    pub message_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Who produced it: `loket`, `hub/applications`.
    pub source: String,
    /// Ties together everything caused by one application.
    pub correlation_id: Uuid,
}

/// The representative who applies on the association's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Applicant {
    /// The register's `vertegenwoordigerId`, when the applicant is a known representative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertegenwoordiger_id: Option<u64>,
    pub voornaam: String,
    pub achternaam: String,
    #[serde(rename = "e-mail")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub telefoon: String,
}

/// `application.submitted`: the loket asks for a service for an association.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSubmitted {
    pub metadata: ApplicationMetadata,
    /// Chosen by the loket; the idempotency key: one dossier per applicationId.
    pub application_id: Uuid,
    #[serde(rename = "vCode")]
    pub v_code: VCode,
    /// A service of the catalogue, e.g. `uldk-tentlening`.
    pub service_code: String,
    pub applicant: Applicant,
    /// The service's own fields (the catalogue says which are required and their types).
    #[serde(default)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Accepted by the hub, not yet confirmed by the provider.
    Ingediend,
    /// The provider registered it (it has the provider's reference).
    Ontvangen,
    /// The provider is treating it.
    InBehandeling,
    Goedgekeurd,
    Afgewezen,
    /// Withdrawn by the association.
    Ingetrokken,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 6] = [
        ApplicationStatus::Ingediend,
        ApplicationStatus::Ontvangen,
        ApplicationStatus::InBehandeling,
        ApplicationStatus::Goedgekeurd,
        ApplicationStatus::Afgewezen,
        ApplicationStatus::Ingetrokken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Ingediend => "ingediend",
            ApplicationStatus::Ontvangen => "ontvangen",
            ApplicationStatus::InBehandeling => "in_behandeling",
            ApplicationStatus::Goedgekeurd => "goedgekeurd",
            ApplicationStatus::Afgewezen => "afgewezen",
            ApplicationStatus::Ingetrokken => "ingetrokken",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// A decision or a withdrawal: nothing follows.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Goedgekeurd
                | ApplicationStatus::Afgewezen
                | ApplicationStatus::Ingetrokken
        )
    }

    /// The transitions the follow-up allows; anything else is refused (and logged), never
    /// applied.
    pub fn can_move_to(self, next: ApplicationStatus) -> bool {
        use ApplicationStatus::*;
        matches!(
            (self, next),
            (
                Ingediend,
                Ontvangen | InBehandeling | Goedgekeurd | Afgewezen | Ingetrokken
            ) | (
                Ontvangen,
                InBehandeling | Goedgekeurd | Afgewezen | Ingetrokken
            ) | (InBehandeling, Goedgekeurd | Afgewezen | Ingetrokken)
        )
    }
}

/// `application.status-changed`: one transition of an application, for the loket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationStatusChanged {
    pub metadata: ApplicationMetadata,
    pub application_id: Uuid,
    #[serde(rename = "vCode")]
    pub v_code: VCode,
    pub service_code: String,
    pub status: ApplicationStatus,
    /// Absent for the first status (`ingediend`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<ApplicationStatus>,
    /// The provider's reference: a dossier number (KIOSK), a reservation id (ULDK), an
    /// erkenningsnummer (volunteer insurance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// Why: the eligibility rules that failed, the provider's refusal, the withdrawal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the status changed.
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
}

/// The JSON Schema of [`MunicipalApplicationStatus`].
pub const MUNICIPAL_APPLICATION_STATUS_SCHEMA: &str =
    include_str!("../schemas/municipality.application-status.v1.json");

/// AMQP type of a municipality's answer about an application it provides the service for.
pub const MUNICIPAL_APPLICATION_STATUS: &str = "municipality.application-status";

/// A municipality that provides a service (`provider = "municipality:<name>"`) receives the
/// enriched application on its queue `municipality.<name>.applications` and answers with
/// this on `hub.applications`, routing key `municipality.<name>.application-status`
/// (schema `schemas/municipality.application-status.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MunicipalApplicationStatus {
    pub application_id: Uuid,
    /// `ontvangen`, `in_behandeling`, `goedgekeurd` or `afgewezen`.
    pub status: ApplicationStatus,
    /// The municipality's own dossier reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_reference: Option<String>,
    /// Why (a refusal's reason, what was granted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a provider adapter receives: the application with exactly the association data the
/// service may receive (the catalogue's `data` parts; the other parts are emptied and not
/// listed in `parts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrichedApplication {
    pub application_id: Uuid,
    pub service_code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    pub applicant: Applicant,
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The parts of `vereniging` the service may receive (the others are empty).
    pub parts: Vec<Part>,
    pub vereniging: Vereniging,
}

#[cfg(test)]
mod tests {
    use super::ApplicationStatus::*;
    use super::*;

    #[test]
    fn the_follow_up_moves_forward_only() {
        for (from, to) in [
            (Ingediend, Ontvangen),
            (Ontvangen, InBehandeling),
            (InBehandeling, Goedgekeurd),
            (InBehandeling, Afgewezen),
            (Ontvangen, Goedgekeurd),
            (Ingediend, Afgewezen),
            (Ontvangen, Ingetrokken),
        ] {
            assert!(from.can_move_to(to), "{from:?} -> {to:?}");
        }
        for (from, to) in [
            (Goedgekeurd, Afgewezen),
            (Afgewezen, Goedgekeurd),
            (Ingetrokken, Ontvangen),
            (InBehandeling, Ontvangen),
            (Ontvangen, Ingediend),
            (Goedgekeurd, Ingetrokken),
            (Ontvangen, Ontvangen),
        ] {
            assert!(!from.can_move_to(to), "{from:?} -> {to:?}");
        }
        for s in ApplicationStatus::ALL {
            assert_eq!(ApplicationStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).expect("serialises"),
                serde_json::json!(s.as_str())
            );
            if s.is_final() {
                assert!(ApplicationStatus::ALL.iter().all(|n| !s.can_move_to(*n)));
            }
        }
    }
}
