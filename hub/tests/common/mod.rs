//! What several of the hub's own integration tests share and that needs the hub (so it cannot
//! live in `test-support`). Each test binary uses part of it.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use hub::config::{Settings, Sources};
use hub::runtime::broker::{Broker, RabbitBroker, Topology};
use test_support::{eventually_some, Isolation, WAIT};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A `RabbitBroker` on the test's vhost declaring `topology`, supervised until `cancel`,
/// once it is ready.
pub async fn ready_broker(
    iso: &Isolation,
    topology: Topology,
) -> (Arc<RabbitBroker>, CancellationToken, JoinHandle<()>) {
    let rabbit = RabbitBroker::new(iso.amqp_url().into(), topology, Duration::from_secs(1));
    let cancel = CancellationToken::new();
    let supervisor = tokio::spawn(rabbit.clone().supervise(cancel.clone()));
    eventually_some(WAIT, "the broker is ready", || async {
        rabbit.is_ready().then_some(())
    })
    .await;
    (rabbit, cancel, supervisor)
}

/// The checked-in configuration (`config/`) with `overrides` (key path, value) over it.
pub fn settings(overrides: &[(&str, String)]) -> Settings {
    hub::config::load(&Sources {
        dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../config").into(),
        env: None,
        file: None,
        overrides: overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        environment_variables: false,
    })
    .unwrap()
}
