//! An outbox message the broker will not take: set aside as a dead letter, everything behind
//! it published.

use std::time::Duration;

use hub_tests::{assert_arrives, eventually, outbox_pending, start_synced, stop_all};
use serde_json::{json, Value};

const SYNC: Duration = Duration::from_secs(60);
const QUIET: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpublishable_outbox_message_is_set_aside_and_the_rest_flows() {
    // Snapshots of the seed are a few KB; one grown past the limit cannot be published.
    let extra = [("broker.max_message_bytes", "50000")];
    let (iso, register, hub, reader) = start_synced(None, &extra, SYNC).await;
    reader
        .drain("subscriber.aalst", Duration::from_secs(2))
        .await;

    register.patch(
        "V0001001",
        json!({ "korteBeschrijving": "lang ".repeat(20_000) }),
    );
    register.rename("V0001002", "Achter het te grote bericht");

    // The change behind the refused one is delivered.
    let delivered = assert_arrives(
        &reader,
        "subscriber.aalst",
        "V0001002",
        "Achter het te grote bericht",
        SYNC,
        QUIET,
    )
    .await;
    assert!(
        delivered.iter().all(|m| m.v_code() != "V0001001"),
        "the refused one is not"
    );
    eventually(SYNC, "the outbox settled", || async {
        outbox_pending(&iso).await == 0
    })
    .await;

    let letters: Vec<Value> = hub
        .get("/admin/dlq?queue=hub.outbox")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["failure"], "unpublishable");
    assert_eq!(letters[0]["message_type"], "association.changed");
    let reason = letters[0]["last_error"].as_str().unwrap_or_default();
    assert!(reason.contains("broker.max_message_bytes"), "{reason}");
    assert_eq!(
        hub.metric(r#"hub_dead_letters_total{adapter="register",failure="unpublishable"}"#)
            .await,
        1.0
    );
    assert_eq!(hub.get("/readyz").await.status(), 200);

    stop_all(hub, register, iso).await;
}
