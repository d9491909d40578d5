//! `hub orphans`: the queues a removed subscriber left behind, found and (when empty)
//! deleted through RabbitMQ's management API, against a vhost of the test's own.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use hub::runtime::broker::topology::QueueSpec;
use hub::runtime::broker::{Broker, Outgoing, Properties, Topology};
use test_support::{eventually_some, Isolation, WAIT};

fn queue(name: &str) -> QueueSpec {
    QueueSpec {
        name: name.into(),
        ..QueueSpec::default()
    }
}

fn orphans(iso: &Isolation, delete: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hub"));
    command
        .args([
            "orphans",
            "--config-dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config"),
            "--env",
            "none",
        ])
        .env_remove("HUB_ENV")
        .env("HUB__BROKER__URL", iso.amqp_url());
    if delete {
        command.arg("--delete");
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_subscribers_queues_are_reported_and_the_empty_ones_deleted() {
    let iso = Isolation::new().await.unwrap();
    // A queue the default configuration declares, and two it does not (any more).
    let topology = Topology {
        queues: vec![
            queue("hub.deliver.aalst"),
            queue("hub.deliver.gone"),
            queue("subscriber.gone"),
        ],
        ..Default::default()
    };
    let (rabbit, cancel, _) = common::ready_broker(&iso, topology).await;
    rabbit
        .publish(vec![Outgoing {
            exchange: String::new(),
            routing_key: "hub.deliver.gone".into(),
            properties: Properties::default(),
            body: b"{}".to_vec(),
        }])
        .await
        .unwrap();
    cancel.cancel();

    // The management API's queue statistics lag a few seconds behind.
    let mut listed = String::new();
    eventually_some(WAIT, "the orphans listed with their depth", || {
        listed = orphans(&iso, false);
        let ready = listed.contains("hub.deliver.gone\t1 messages");
        async move { ready.then_some(()) }
    })
    .await;
    assert!(listed.contains("subscriber.gone\t0 messages"), "{listed}");
    assert!(!listed.contains("hub.deliver.aalst"), "{listed}");

    let deleted = orphans(&iso, true);
    assert!(
        deleted.contains("hub.deliver.gone\t1 messages (kept: not empty)"),
        "{deleted}"
    );
    assert!(
        deleted.contains("subscriber.gone\t0 messages (deleted)"),
        "{deleted}"
    );
    let after = orphans(&iso, false);
    assert!(!after.contains("subscriber.gone"), "{after}");
    assert!(after.contains("hub.deliver.gone"), "{after}");
    iso.cleanup().await;
}
