//! The one outbox relay, over the applications' outbox: it publishes the pending rows in
//! order with their properties, marks them published, counts them under the outbox's
//! adapter, and prunes rows published longer than the retention ago (the register's outbox
//! goes through the same `Relay`; the end-to-end tests cover it).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hub::features::applications::ApplicationOutbox;
use hub::runtime::broker::topology::QueueSpec;
use hub::runtime::broker::{Broker, Topology};
use hub::runtime::metrics::Metrics;
use hub::runtime::relay::Relay;
use hub::runtime::store::PgStore;
use test_support::{eventually_some, Isolation, WAIT};
use tokio::sync::Notify;

const QUEUE: &str = "relay.test";

async fn seed(iso: &Isolation) {
    let mut db = iso.db().await;
    // Two published two days ago (pruned), one published an hour ago (kept), and two
    // pending, recorded in this order.
    for (n, published) in [
        (1, Some("2 days")),
        (2, Some("2 days")),
        (3, Some("1 hour")),
        (4, None),
        (5, None),
    ] {
        sqlx::query(
            "INSERT INTO application_outbox
               (exchange, routing_key, message_type, message_id, correlation_id, body, published_at)
             VALUES ('', $1, 'application.status-changed', $2, $3, $4,
                     now() - $5::interval)",
        )
        .bind(QUEUE)
        .bind(uuid::Uuid::from_u128(n))
        .bind(uuid::Uuid::from_u128(100 + n))
        .bind(format!("{{\"n\":{n}}}").into_bytes())
        .bind(published)
        .execute(&mut db)
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_publishes_the_application_outbox_in_order_and_prunes_what_is_old() {
    let iso = Isolation::new().await.unwrap();
    let store = Arc::new(
        PgStore::connect_lazy(&iso.database_url().into(), 4, Duration::from_secs(5)).unwrap(),
    );
    store.migrate().await.unwrap();
    seed(&iso).await;

    let topology = Topology {
        queues: vec![QueueSpec {
            name: QUEUE.into(),
            ..QueueSpec::default()
        }],
        ..Default::default()
    };
    let (broker, cancel, _) = common::ready_broker(&iso, topology).await;

    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let relay = Relay {
        outbox: Arc::new(ApplicationOutbox(store.clone())),
        broker: broker.clone(),
        dead_letters: store.clone(),
        metrics: metrics.clone(),
        wake: Arc::new(Notify::new()),
        retention: Duration::from_secs(24 * 3600),
    };
    let stop = cancel.child_token();
    let running = tokio::spawn({
        let stop = stop.clone();
        async move { relay.run(stop).await }
    });

    let mut deliveries = broker.consume(QUEUE, 10).await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let incoming = tokio::time::timeout(WAIT, deliveries.next())
            .await
            .expect("a delivery")
            .expect("the stream goes on");
        ids.push(incoming.properties.message_id.clone().unwrap());
        assert_eq!(
            incoming.properties.message_type.as_deref(),
            Some("application.status-changed")
        );
        incoming.ack().await.unwrap();
    }
    assert_eq!(
        ids,
        [uuid::Uuid::from_u128(4), uuid::Uuid::from_u128(5)].map(|u| u.to_string())
    );

    let (left, pending): (i64, i64) =
        eventually_some(WAIT, "every row marked published", || async {
            let counts: (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM application_outbox",
        )
        .fetch_one(&mut iso.db().await)
        .await
        .unwrap();
            (counts.1 == 0).then_some(counts)
        })
        .await;
    assert_eq!((left, pending), (3, 0), "the two old rows are pruned");
    assert_eq!(
        metrics
            .messages_published
            .with_label_values(&["applications"])
            .get(),
        2
    );

    stop.cancel();
    running.await.unwrap();
    cancel.cancel();
    iso.cleanup().await;
}
