//! Messages the AMQP client cannot parse, published where partners can publish: set aside
//! in the quarantine, visible, and nothing else held up.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hub_tests::{assert_arrives, eventually, publish_raw, start_synced, stop_all, Isolation};
use serde_json::{json, Value};

const SYNC: Duration = Duration::from_secs(90);
const QUIET: Duration = Duration::from_millis(500);

/// Publishes one unparseable message with Python's pika (lapin cannot write one).
fn publish_unparseable(iso: &Isolation, exchange: &str, routing_key: &str, variant: &str) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/hostile/publish_unparseable.py"
    );
    let out = std::process::Command::new("python3")
        .args([script, &iso.amqp_url(), exchange, routing_key, variant])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "publishing {variant}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `/readyz` until stopped; counts the answers that were not 200.
struct ReadinessWatch {
    stop: Arc<AtomicBool>,
    not_ready: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadinessWatch {
    fn start(http: &str) -> ReadinessWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let not_ready = Arc::new(AtomicU32::new(0));
        let url = format!("{http}/readyz");
        let (s, n) = (stop.clone(), not_ready.clone());
        let task = tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !s.load(Ordering::SeqCst) {
                let ok = client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if !ok {
                    n.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        ReadinessWatch {
            stop,
            not_ready,
            task,
        }
    }

    async fn not_ready(self) -> u32 {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.task.await;
        self.not_ready.load(Ordering::SeqCst)
    }
}

fn command(v_code: &str) -> (String, Vec<u8>) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "commandId": id, "type": "association.add-contactgegeven", "vCode": v_code,
        "data": {"contactgegeventype": "E-mail", "waarde": "na-de-quarantaine@club.be"}
    });
    (id, serde_json::to_vec(&body).unwrap())
}

async fn send_command(iso: &Isolation, municipality: &str, v_code: &str) -> String {
    let (id, body) = command(v_code);
    publish_raw(
        iso,
        "hub.commands",
        &format!("{municipality}.association.add-contactgegeven"),
        "association.add-contactgegeven",
        &uuid::Uuid::new_v4().to_string(),
        &body,
    )
    .await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparseable_messages_are_quarantined_and_the_hub_stays_ready() {
    let (iso, register, hub, reader) = start_synced(None, &[], SYNC).await;
    // The initial sync, out of the way.
    reader
        .drain("subscriber.aalst", Duration::from_secs(2))
        .await;
    let ready = ReadinessWatch::start(&hub.http);

    // Every queue a partner can publish into, and every part of a frame lapin parses as a
    // UTF-8 string.
    let command_key = "aalst.association.add-contactgegeven";
    let poisons = [
        ("hub.commands", command_key, "message-id"),
        ("hub.commands", command_key, "correlation-id"),
        ("hub.commands", command_key, "type"),
        ("hub.commands", command_key, "header-name"),
        ("hub.commands", command_key, "routing-key"),
        ("hub.applications", "application.submitted", "message-id"),
        (
            "hub.applications",
            "municipality.aalst.application-status",
            "message-id",
        ),
    ];
    for (exchange, key, variant) in poisons {
        publish_unparseable(&iso, exchange, key, variant);
    }
    // Good work behind the poison in Aalst's own queue, and in another municipality's.
    let aalst_command = send_command(&iso, "aalst", "V0001001").await;
    let evergem_command = send_command(&iso, "evergem", "V0001001").await;

    let evergem_reply = reader
        .take_at_least("municipality.evergem.replies", 1, SYNC, QUIET)
        .await;
    assert_eq!(evergem_reply.len(), 1, "{evergem_reply:?}");
    assert_eq!(evergem_reply[0].body["commandId"], evergem_command.as_str());

    eventually(SYNC, "every unparseable message quarantined", || async {
        hub.metric("hub_quarantined_messages").await == poisons.len() as f64
    })
    .await;
    let aalst_reply = reader
        .take_at_least("municipality.aalst.replies", 1, SYNC, QUIET)
        .await;
    assert_eq!(aalst_reply.len(), 1, "{aalst_reply:?}");
    assert_eq!(
        aalst_reply[0].body["commandId"],
        aalst_command.as_str(),
        "the command behind the poison is handled, not quarantined with it"
    );

    // Listed with what can be read of each.
    let listed: Vec<Value> = hub.get("/admin/quarantine").await.json().await.unwrap();
    assert_eq!(listed.len(), poisons.len(), "{listed:?}");
    let from = |queue: &str| listed.iter().filter(|m| m["queue"] == queue).count();
    assert_eq!(from("hub.commands.aalst"), 5, "{listed:?}");
    assert_eq!(from("hub.applications.intake"), 1, "{listed:?}");
    assert_eq!(from("hub.applications.status.aalst"), 1, "{listed:?}");
    assert!(listed.iter().all(|m| m["reason"] == "delivery_limit"));
    assert!(listed
        .iter()
        .all(|m| m["payload"] == r#"{"hostile": true}"#));
    // Listing removes nothing.
    let again: Vec<Value> = hub.get("/admin/quarantine").await.json().await.unwrap();
    assert_eq!(again.len(), poisons.len());

    // Counted per queue; Evergem's connection never dropped.
    let lost = |queue: &str| {
        format!(
            r#"hub_intake_connections_lost_total{{queue="{queue}",reason="unparseable_frame"}}"#
        )
    };
    assert!(hub.metric(&lost("hub.commands.aalst")).await >= 5.0);
    assert!(hub.metric(&lost("hub.applications.intake")).await >= 1.0);
    assert!(hub.metric(&lost("hub.applications.status.aalst")).await >= 1.0);
    assert_eq!(
        hub.metric(r#"hub_intake_connections_lost_total{queue="hub.commands.evergem""#)
            .await,
        0.0
    );

    // A later register change still reaches the partner.
    register.rename("V0001001", "Na de quarantaine");
    assert_arrives(
        &reader,
        "subscriber.aalst",
        "V0001001",
        "Na de quarantaine",
        SYNC,
        QUIET,
    )
    .await;
    assert_eq!(
        ready.not_ready().await,
        0,
        "the hub stayed ready throughout"
    );

    stop_all(hub, register, iso).await;
}
