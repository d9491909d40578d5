//! Test fixtures built from the checked-in examples, for the tests of this crate and of the
//! adapters (the `fixtures` feature; nothing in production uses them).
//!
//! They panic on a broken example: a fixture that does not parse is a failed test.

use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::applications::{Applicant, EnrichedApplication};
use crate::messages::Part;
use crate::register::{Vereniging, VerenigingDetail};

/// The register's detail document of V0001001: `examples/register/detail-V0001001.json`.
pub const REGISTER_DETAIL: &str = include_str!("../examples/register/detail-V0001001.json");

/// The register's example association (VZW, seat in 9300 Aalst, a KBO number,
/// representatives with an INSZ), as [`REGISTER_DETAIL`] describes it.
pub fn register_example() -> Vereniging {
    serde_json::from_str::<VerenigingDetail>(REGISTER_DETAIL)
        .expect("the register example parses")
        .vereniging
}

/// An Peeters, the example association's representative 1, without a phone number.
pub fn applicant() -> Applicant {
    Applicant {
        vertegenwoordiger_id: Some(1),
        voornaam: "An".into(),
        achternaam: "Peeters".into(),
        email: "an.peeters@example.be".into(),
        telefoon: String::new(),
    }
}

/// The parts the example providers receive: basisgegevens, contactgegevens, locaties and
/// sleutels.
pub const PROVIDER_PARTS: [Part; 4] = [
    Part::Basisgegevens,
    Part::Contactgegevens,
    Part::Locaties,
    Part::Sleutels,
];

/// A fresh application (a new id, submitted now) of [`register_example`] by [`applicant`]
/// for `service_code` with `fields` (a JSON object), sharing [`PROVIDER_PARTS`].
pub fn application(service_code: &str, fields: Value) -> EnrichedApplication {
    let Value::Object(fields) = fields else {
        panic!("an application's fields are an object, not {fields}");
    };
    EnrichedApplication {
        application_id: Uuid::new_v4(),
        service_code: service_code.to_owned(),
        submitted_at: OffsetDateTime::now_utc(),
        applicant: applicant(),
        fields,
        parts: PROVIDER_PARTS.to_vec(),
        vereniging: register_example(),
    }
}

/// E-mail addresses that are [`crate::Email`]s, awkward ones included.
pub const VALID_EMAILS: [&str; 3] = [
    "info@harmonie-aalst.be",
    "an.peeters+bestuur@example.co.uk",
    "é@voorbeeld.be",
];

/// Strings that are no [`crate::Email`] (besides one that is too long): an e-mail check that
/// accepts any of them lets through what the command schema and the partners' XSDs refuse.
pub const INVALID_EMAILS: [&str; 13] = [
    "",
    "info",
    "info@",
    "@harmonie-aalst.be",
    "info@harmonie-aalst",
    "info@harmonie-aalst.b",
    "info@harmonie-aalst.be2",
    "in fo@harmonie-aalst.be",
    "info..x@harmonie-aalst.be",
    "info@@harmonie-aalst.be",
    "info@harmonie_aalst.be",
    "in\u{7}fo@harmonie-aalst.be",
    "in\u{FFFE}fo@harmonie-aalst.be",
];
