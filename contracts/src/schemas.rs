//! The checked-in JSON Schemas of the messages the hub publishes, compiled into the crate so
//! that other crates and tests can validate what the hub actually publishes (no I/O: the
//! text is included at build time).

use crate::messages::MessageType;

const ASSOCIATION_CHANGED_V1: &str = include_str!("../schemas/association.changed.v1.json");
const ASSOCIATION_REMOVED_V1: &str = include_str!("../schemas/association.removed.v1.json");
const ASSOCIATION_ENTERED_TERRITORY_V1: &str =
    include_str!("../schemas/association.entered-territory.v1.json");
const ASSOCIATION_LEFT_TERRITORY_V1: &str =
    include_str!("../schemas/association.left-territory.v1.json");

/// The JSON Schema (draft 2020-12) text of the current version of `message_type`
/// ([`MessageType::schema_version`]): `contracts/schemas/<type>.v<N>.json`.
pub fn schema(message_type: MessageType) -> &'static str {
    match message_type {
        MessageType::AssociationChanged => ASSOCIATION_CHANGED_V1,
        MessageType::AssociationRemoved => ASSOCIATION_REMOVED_V1,
        MessageType::AssociationEnteredTerritory => ASSOCIATION_ENTERED_TERRITORY_V1,
        MessageType::AssociationLeftTerritory => ASSOCIATION_LEFT_TERRITORY_V1,
    }
}

/// The file name of the current schema of `message_type`, e.g.
/// `association.changed.v1.json`; also the last segment of the schema's `$id`.
pub fn schema_file_name(message_type: MessageType) -> String {
    format!(
        "{}.v{}.json",
        message_type.as_str(),
        message_type.schema_version()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_gets_its_own_current_schema() {
        for t in MessageType::ALL {
            let schema: serde_json::Value =
                serde_json::from_str(schema(t)).expect("schema is JSON");
            let id = schema["$id"].as_str().expect("$id");
            assert!(
                id.ends_with(&format!("/{}", schema_file_name(t))),
                "{t:?}: $id {id} does not name {}",
                schema_file_name(t)
            );
            assert_eq!(
                schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
            assert_eq!(
                schema["$defs"]["metadata"]["properties"]["type"]["const"],
                t.as_str(),
                "{t:?}: metadata.type const"
            );
        }
    }
}
