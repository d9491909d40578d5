//! The RabbitMQ transport against the real broker: a batch published in one call keeps its
//! order, and acknowledgements folded into `multiple` frames never settle a delivery the
//! hub has not finished with (see `hub::runtime::broker::acks`).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use hub::runtime::broker::acks::LONGEST_DEFERRAL;
use hub::runtime::broker::topology::QueueSpec;
use hub::runtime::broker::{Broker, Incoming, Outgoing, Properties, RabbitBroker, Topology};
use test_support::Isolation;
use tokio_util::sync::CancellationToken;

const QUEUE: &str = "broker.test";

/// A broker kept up by its supervisor; cancelling the token closes its connection, which
/// returns every delivery it did not acknowledge.
async fn broker(iso: &Isolation) -> (Arc<RabbitBroker>, CancellationToken) {
    let topology = Topology {
        queues: vec![QueueSpec {
            name: QUEUE.into(),
            bindings: Vec::new(),
            dead_letter: None,
            delivery_limit: None,
            message_ttl: None,
            partner_facing: false,
        }],
        ..Default::default()
    };
    let (rabbit, cancel, _) = common::ready_broker(iso, topology).await;
    (rabbit, cancel)
}

/// A test's own vhost with a broker (see [`broker`]) that published `n` numbered messages
/// to [`QUEUE`], and a consumer of the queue with `prefetch`.
async fn published(
    n: usize,
    prefetch: u16,
) -> (
    Isolation,
    Arc<RabbitBroker>,
    CancellationToken,
    BoxStream<'static, Incoming>,
) {
    let iso = Isolation::new().await.unwrap();
    let (rabbit, cancel) = broker(&iso).await;
    rabbit.publish(numbered(n)).await.unwrap();
    let stream = rabbit.consume(QUEUE, prefetch).await.unwrap();
    (iso, rabbit, cancel, stream)
}

fn numbered(n: usize) -> Vec<Outgoing> {
    (0..n)
        .map(|i| Outgoing {
            exchange: String::new(),
            routing_key: QUEUE.into(),
            properties: Properties {
                message_id: Some(i.to_string()),
                ..Default::default()
            },
            body: i.to_string().into_bytes(),
        })
        .collect()
}

async fn take(stream: &mut (impl StreamExt<Item = Incoming> + Unpin), n: usize) -> Vec<Incoming> {
    let mut taken = Vec::with_capacity(n);
    while taken.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("a delivery within 10 s")
            .expect("the stream goes on");
        taken.push(next);
    }
    taken
}

/// Acknowledges `deliveries` newest first, as the consumer runtime does (so each waits for
/// the older ones).
async fn ack_newest_first(deliveries: Vec<Incoming>) {
    for incoming in deliveries.into_iter().rev() {
        incoming.ack().await.unwrap();
    }
}

fn number(incoming: &Incoming) -> usize {
    String::from_utf8_lossy(&incoming.body).parse().unwrap()
}

/// Stops the broker (closing its connection, which returns what it did not acknowledge)
/// and asserts, through another connection, that `expected` messages are left in the queue.
async fn assert_left_after_closing(iso: &Isolation, cancel: CancellationToken, expected: u32) {
    cancel.cancel();
    let (other, stop) = broker(iso).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut depth = None;
    while tokio::time::Instant::now() < deadline {
        depth = other.queue_depth(QUEUE).await.ok();
        if depth == Some(expected) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    assert_eq!(depth, Some(expected), "messages left in {QUEUE}");
}

#[tokio::test]
async fn a_batch_published_in_one_call_arrives_in_its_order() {
    let (iso, _rabbit, cancel, mut stream) = published(600, 700).await;
    let got: Vec<usize> = take(&mut stream, 600).await.iter().map(number).collect();
    assert_eq!(got, (0..600).collect::<Vec<_>>());
    cancel.cancel();
    iso.cleanup().await;
}

#[tokio::test]
async fn acknowledgements_never_settle_an_older_unfinished_delivery() {
    let (iso, _rabbit, cancel, mut stream) = published(10, 50).await;
    let mut deliveries = take(&mut stream, 10).await;
    // The oldest stays unfinished; the others are acknowledged newest first, as the consumer
    // runtime does, so each waits for the oldest...
    let oldest = deliveries.remove(0);
    assert_eq!(number(&oldest), 0);
    ack_newest_first(deliveries).await;
    // ...and goes alone once it waited too long.
    tokio::time::sleep(LONGEST_DEFERRAL * 4).await;
    drop(oldest);
    drop(stream);
    // Only the unfinished one comes back.
    assert_left_after_closing(&iso, cancel, 1).await;
    iso.cleanup().await;
}

#[tokio::test]
async fn a_batch_acknowledged_newest_first_leaves_the_queue() {
    let (iso, rabbit, cancel, mut stream) = published(120, 200).await;
    // Two batches; the later one is finished first, the earlier one's oldest delivery last.
    let mut first = take(&mut stream, 60).await;
    let second = take(&mut stream, 60).await;
    ack_newest_first(second).await;
    let oldest = first.remove(0);
    ack_newest_first(first).await;
    oldest.ack().await.unwrap();
    // A requeued delivery comes back; everything acknowledged stays gone.
    rabbit.publish(numbered(1)).await.unwrap();
    let last = take(&mut stream, 1).await.remove(0);
    last.requeue().await.unwrap();
    let again = take(&mut stream, 1).await.remove(0);
    assert!(again.redelivered);
    drop(again);
    drop(stream);
    assert_left_after_closing(&iso, cancel, 1).await;
    iso.cleanup().await;
}
