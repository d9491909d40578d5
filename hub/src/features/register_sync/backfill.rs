//! Subscribers change over time: a subscriber added to the configuration, or whose selector,
//! field policy or kind changed, is given what is now in its scope, from the projection and
//! addressed to it alone, so no other subscriber receives anything again and the register is
//! not read again. A removed subscriber is forgotten (it stops receiving because it is no
//! recipient of any change; `hub orphans` reports its queues).
//!
//! Runs on the leader before it reads the register, so the backfill's messages enter the
//! outbox before any newer change of the same associations: per vCode the subscriber still
//! never receives an older sequence after a newer one. Each message carries the projection's
//! sequence; one the subscriber already has is absorbed as a duplicate by its distributor.
//! The fingerprint is recorded only after the subscriber's whole backfill is in the outbox,
//! so a backfill cut short runs again.

use std::sync::Arc;

use adapter_subscriber::{FieldPolicy, Selector};
use contracts::{AssociationChanged, MessageType, Metadata, Part};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::SubscriberSettings;
use crate::features::register_sync::recipients::Recipient;
use crate::runtime::store::{IngestBatch, OutboxMessage, Store, StoreError, StoredAssociation};

/// Associations read (and messages recorded) per transaction.
const PAGE: usize = 1000;
/// The source named in a backfill message's metadata.
pub const SOURCE: &str = "hub/backfill";

/// What a subscriber's configuration decides about what it receives; a change of it means
/// a backfill.
///
/// Written out rather than taken from `Debug`, so that a change of the types does not change
/// what every earlier version stored (which would backfill every subscriber).
pub fn fingerprint(s: &SubscriberSettings) -> String {
    let selector = match &s.selector {
        Selector::All => "All".to_owned(),
        Selector::Postcodes { postcodes } => format!("Postcodes {{ postcodes: {postcodes:?} }}"),
        Selector::Territory(t) => format!(
            "Territory {{ postcodes: {:?}, werkingsgebieden: {:?} }}",
            t.postcodes, t.werkingsgebieden
        ),
    };
    let FieldPolicy {
        insz,
        vertegenwoordigers,
    } = s.fields;
    format!(
        "selector={selector};fields=FieldPolicy {{ insz: {insz}, vertegenwoordigers: \
         {vertegenwoordigers} }};municipality={}",
        s.municipality.is_some()
    )
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillReport {
    pub subscribers: usize,
    pub messages: usize,
    pub forgotten: usize,
}

/// Backfills every new or changed subscriber and forgets removed ones.
pub async fn run(
    store: &Arc<dyn Store>,
    subscribers: &[SubscriberSettings],
) -> Result<BackfillReport, StoreError> {
    let known = store.subscriber_fingerprints().await?;
    let mut report = BackfillReport::default();
    let due: Vec<&SubscriberSettings> = subscribers
        .iter()
        .filter(|s| known.get(&s.name) != Some(&fingerprint(s)))
        .collect();
    for name in known.keys() {
        if !subscribers.iter().any(|s| &s.name == name) {
            store.set_subscriber_fingerprint(name, None).await?;
            tracing::info!(subscriber = %name, "subscriber removed from the configuration; it receives nothing more");
            report.forgotten += 1;
        }
    }
    if due.is_empty() {
        return Ok(report);
    }
    let names: Vec<&str> = due.iter().map(|s| s.name.as_str()).collect();
    tracing::info!(subscribers = ?names, "backfilling new or changed subscribers from the projection");
    let mut after = None;
    loop {
        let page = store.associations_after(after.as_ref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.vereniging.v_code.clone());
        let mut batch = IngestBatch::default();
        for association in &page {
            let recipients: Vec<Recipient> = due
                .iter()
                .filter(|s| s.selector.matches(&association.vereniging))
                .map(|s| Recipient {
                    subscriber: s.name.clone(),
                    entered: false,
                })
                .collect();
            if !recipients.is_empty() {
                batch.outbox.push(message(association, recipients)?);
            }
        }
        report.messages += batch.outbox.len();
        if !batch.outbox.is_empty() {
            store.commit_ingest(std::slice::from_ref(&batch)).await?;
        }
        tracing::info!(read_up_to = %last.vereniging.v_code, messages = report.messages, "backfill progress");
        if page.len() < PAGE {
            break;
        }
    }
    for s in &due {
        store
            .set_subscriber_fingerprint(&s.name, Some(&fingerprint(s)))
            .await?;
    }
    report.subscribers = due.len();
    tracing::info!(
        subscribers = report.subscribers,
        messages = report.messages,
        "backfill recorded"
    );
    Ok(report)
}

/// The association as it stands in the projection, for the given recipients.
fn message(a: &StoredAssociation, recipients: Vec<Recipient>) -> Result<OutboxMessage, StoreError> {
    let metadata = Metadata {
        message_id: Uuid::now_v7(),
        message_type: MessageType::AssociationChanged,
        time: OffsetDateTime::now_utc(),
        source: SOURCE.to_owned(),
        correlation_id: Uuid::new_v4(),
        v_code: a.vereniging.v_code.clone(),
        sequence: a.sequence,
        version: a.version,
    };
    let message = AssociationChanged {
        metadata: metadata.clone(),
        changed_parts: Part::ALL.to_vec(),
        withheld: Vec::new(),
        vereniging: a.vereniging.clone(),
    };
    let body = serde_json::to_vec(&message).map_err(StoreError::corrupt_by)?;
    Ok(OutboxMessage {
        message_id: metadata.message_id,
        message_type: metadata.message_type,
        v_code: metadata.v_code,
        sequence: metadata.sequence,
        version: metadata.version,
        correlation_id: metadata.correlation_id,
        time: metadata.time,
        body,
        recipients: Some(recipients),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RetrySettings;
    use crate::features::register_sync::channels::{ChannelKinds, Owner};
    use std::time::Duration;

    fn subscriber(selector: Selector, municipality: bool) -> SubscriberSettings {
        SubscriberSettings {
            name: "aalst".into(),
            selector,
            fields: FieldPolicy::default(),
            channel: ChannelKinds::standard().default_channel(Owner {
                name: "aalst",
                ovo_code: None,
            }),
            retry: RetrySettings {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(1),
                max_attempts: 3,
            },
            municipality: municipality.then(|| crate::config::MunicipalitySettings {
                ovo_code: "OVO002001".into(),
            }),
        }
    }

    /// The fingerprints stored in `subscriber_config` by every earlier version: a different
    /// text for the same configuration would backfill every subscriber after an upgrade.
    #[test]
    fn fingerprints_stay_what_they_were() {
        let cases = [
            (
                subscriber(Selector::All, false),
                "selector=All;fields=FieldPolicy { insz: false, vertegenwoordigers: true };\
                 municipality=false",
            ),
            (
                subscriber(
                    Selector::Postcodes {
                        postcodes: vec!["9300".into(), "9320".into()],
                    },
                    false,
                ),
                "selector=Postcodes { postcodes: [\"9300\", \"9320\"] };\
                 fields=FieldPolicy { insz: false, vertegenwoordigers: true };municipality=false",
            ),
            (
                subscriber(
                    Selector::Territory(contracts::Territory {
                        postcodes: vec!["9300".into()],
                        werkingsgebieden: vec!["BE24123064".into()],
                    }),
                    true,
                ),
                "selector=Territory { postcodes: [\"9300\"], werkingsgebieden: [\"BE24123064\"] };\
                 fields=FieldPolicy { insz: false, vertegenwoordigers: true };municipality=true",
            ),
        ];
        for (s, expected) in cases {
            assert_eq!(fingerprint(&s), expected);
        }
    }
}
