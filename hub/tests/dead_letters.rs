//! Dead-letter tooling against the real RabbitMQ and PostgreSQL: draining `hub.dead.*` into
//! `dead_letter`, the `/admin/dlq` endpoints, replay (same message id, origin queue only),
//! discard and the audit trail.
//!
//! Each test has its own vhost and database (`hubtest_<unix time>_<random>`), removed when
//! it passes (the same scheme as `tests/e2e`, whose harness the hub cannot depend on).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use hub::features::dead_letters::DlqError;
use hub::runtime::broker::topology::{Binding, ExchangeKind, ExchangeSpec, QueueSpec, DEAD};
use hub::runtime::broker::{Broker, Topology};
use hub::runtime::metrics::Metrics;
use hub::runtime::store::dead_letters::{DeadLetterFilter, DeadLetterStatus, DeadLetterStore};
use hub::runtime::store::PgStore;
use lapin::options::{BasicGetOptions, BasicNackOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use serde_json::Value;
use test_support::{eventually_some, http_answer, Isolation, WAIT};

async fn channel(iso: &Isolation) -> (Connection, lapin::Channel) {
    let connection = Connection::connect(&iso.amqp_url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .unwrap();
    (connection, channel)
}

async fn publish(
    channel: &lapin::Channel,
    exchange: &str,
    key: &str,
    props: BasicProperties,
    body: &[u8],
) {
    let confirm = channel
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            body,
            props,
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(
        matches!(confirm, lapin::Confirmation::Ack(None)),
        "{confirm:?}"
    );
}

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Status, content type and body.
    async fn post(&self, path: &str, operator: Option<&str>) -> (u16, String, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base));
        if let Some(o) = operator {
            request = request.header("X-Operator", o);
        }
        http_answer(request.send().await.unwrap()).await
    }
}

#[tokio::test]
async fn a_dead_letter_is_recorded_replayed_to_its_queue_only_and_discarded_with_an_audit_trail() {
    let iso = Isolation::new().await.unwrap();
    // No register: the poller only logs errors against a port nobody listens on.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let register = format!("http://{}", unused.local_addr().unwrap());
    drop(unused);
    let overrides = [
        ("database.url", iso.database_url()),
        ("broker.url", iso.amqp_url()),
        ("broker.reconnect_max_delay", "1s".into()),
        ("register.base_url", register.clone()),
        ("register.token_url", format!("{register}/oauth2/token")),
        ("http.listen", "127.0.0.1:0".into()),
        ("shutdown_grace", "5s".into()),
    ];
    let settings = common::settings(&overrides);
    let hub = hub::app::start(settings, Metrics::new(prometheus::Registry::new()).unwrap())
        .await
        .unwrap();
    let http = Http {
        base: format!("http://{}", hub.http_addr),
        client: reqwest::Client::new(),
    };
    eventually_some(WAIT, "the hub is ready", || async {
        (http.get("/readyz").await.0 == 200).then_some(())
    })
    .await;

    // A malformed association.changed: every subscriber's distributor refuses it.
    let (_connection, amqp) = channel(&iso).await;
    let message_id = uuid::Uuid::new_v4().to_string();
    let mut headers = FieldTable::default();
    headers.insert("vCode".into(), AMQPValue::LongString("V0001001".into()));
    let props = BasicProperties::default()
        .with_message_id(message_id.as_str().into())
        .with_type("association.changed".into())
        .with_correlation_id("corr-1".into())
        .with_headers(headers);
    publish(
        &amqp,
        "hub.associations",
        "association.changed",
        props,
        br#"{"nope":1}"#,
    )
    .await;

    let aalst = "/admin/dlq?queue=hub.deliver.aalst";
    let first = eventually_some(WAIT, "aalst's dead letter is recorded", || async {
        let (status, list) = http.get(aalst).await;
        assert_eq!(status, 200);
        list.as_array()
            .filter(|l| l.len() == 1)
            .map(|l| l[0].clone())
    })
    .await;
    assert_eq!(first["message_id"], message_id.as_str());
    assert_eq!(first["message_type"], "association.changed");
    assert_eq!(first["failure"], "permanent");
    assert_eq!(first["status"], "dead");
    assert_eq!(first["attempts"], 1);
    let error = first["last_error"].as_str().unwrap();
    assert!(error.contains("does not parse"), "{error}");
    let first_id = first["id"].as_i64().unwrap();

    // One per subscriber, all dead.
    let all = eventually_some(
        WAIT,
        "every subscriber's dead letter is recorded",
        || async {
            let (_, list) = http.get("/admin/dlq?status=dead").await;
            list.as_array().filter(|l| l.len() == 3).cloned()
        },
    )
    .await;
    let mut queues: Vec<&str> = all.iter().map(|l| l["queue"].as_str().unwrap()).collect();
    queues.sort();
    assert_eq!(
        queues,
        [
            "hub.deliver.aalst",
            "hub.deliver.beveren",
            "hub.deliver.evergem"
        ]
    );

    // Show: the original message, its routing and headers.
    let (status, shown) = http.get(&format!("/admin/dlq/{first_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["body"], r#"{"nope":1}"#);
    assert_eq!(shown["body_encoding"], "utf-8");
    assert_eq!(shown["original_exchange"], "hub.associations");
    assert_eq!(shown["original_routing_key"], "association.changed");
    assert_eq!(shown["properties"]["message_id"], message_id.as_str());
    assert_eq!(shown["properties"]["correlation_id"], "corr-1");
    assert_eq!(shown["properties"]["headers"]["vCode"], "V0001001");
    assert_eq!(shown["properties"]["headers"]["hub-failure"], "permanent");

    // No operator, no action.
    let replay_first = format!("/admin/dlq/{first_id}/replay");
    let (status, content_type, problem) = http.post(&replay_first, None).await;
    assert_eq!(status, 400);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(problem["status"], 400);
    let (status, _, _) = http.post(&replay_first, Some("  ")).await;
    assert_eq!(status, 400);

    // Replay: back on aalst's queue only; it fails again, with the same message id.
    let (status, _, replayed) = http.post(&replay_first, Some("alice")).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["status"], "replayed");
    assert_eq!(replayed["queue"], "hub.deliver.aalst");
    let again = eventually_some(
        WAIT,
        "the replayed message is dead-lettered again",
        || async {
            let (_, list) = http.get(aalst).await;
            list.as_array().filter(|l| l.len() == 2).cloned()
        },
    )
    .await;
    let (second, first) = (&again[0], &again[1]);
    assert_eq!(first["id"], first_id);
    assert_eq!(first["status"], "replayed");
    assert_eq!(first["resolved_by"], "alice");
    assert_eq!(second["message_id"], message_id.as_str());
    assert_eq!(second["status"], "dead");
    assert_eq!(second["failure"], "permanent");
    // A fresh retry budget, and the first routing kept.
    assert_eq!(second["attempts"], 1);
    let second_id = second["id"].as_i64().unwrap();
    let (_, shown) = http.get(&format!("/admin/dlq/{second_id}")).await;
    assert_eq!(shown["original_exchange"], "hub.associations");
    assert_eq!(shown["original_routing_key"], "association.changed");
    // Nobody else got it again: the other two are still the only ones of their queues.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, everything) = http.get("/admin/dlq").await;
    assert_eq!(everything.as_array().unwrap().len(), 4, "{everything}");

    // Replayed once is enough.
    let (status, content_type, _) = http.post(&replay_first, Some("alice")).await;
    assert_eq!(status, 409);
    assert_eq!(content_type, "application/problem+json");

    // Discard the new one; then it can be neither replayed nor discarded.
    let (status, _, discarded) = http
        .post(&format!("/admin/dlq/{second_id}/discard"), Some("bob"))
        .await;
    assert_eq!(status, 200, "{discarded}");
    assert_eq!(discarded["status"], "discarded");
    for action in ["replay", "discard"] {
        let (status, _, _) = http
            .post(&format!("/admin/dlq/{second_id}/{action}"), Some("bob"))
            .await;
        assert_eq!(status, 409, "{action} of a discarded dead letter");
    }

    // Unknown ids.
    assert_eq!(http.get("/admin/dlq/987654").await.0, 404);
    let (status, content_type, _) = http.post("/admin/dlq/987654/replay", Some("bob")).await;
    assert_eq!(
        (status, content_type.as_str()),
        (404, "application/problem+json")
    );
    assert_eq!(http.get("/admin/dlq/not-a-number").await.0, 400);
    assert_eq!(http.get("/admin/dlq?status=lost").await.0, 400);
    let (_, replayed_only) = http.get("/admin/dlq?status=replayed").await;
    assert_eq!(replayed_only.as_array().unwrap().len(), 1);

    // A resync request is an operator action too.
    let (status, _, _) = http.post("/admin/resync", Some("carol")).await;
    assert_eq!(status, 202);
    let (status, _, _) = http.post("/admin/resync", None).await;
    assert_eq!(status, 202);

    // The audit trail: who, what, when, in order.
    let mut db = iso.db().await;
    let actions: Vec<(String, String, Option<String>, Value)> =
        sqlx::query_as("SELECT actor, action, target, detail FROM operator_action ORDER BY id")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let summary: Vec<(&str, &str, Option<&str>)> = actions
        .iter()
        .map(|(a, b, c, _)| (a.as_str(), b.as_str(), c.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "alice",
                "dlq.replay",
                Some(format!("dead_letter/{first_id}").as_str())
            ),
            (
                "bob",
                "dlq.discard",
                Some(format!("dead_letter/{second_id}").as_str())
            ),
            ("carol", "resync", Some("register")),
            ("unknown", "resync", Some("register")),
        ]
    );
    assert_eq!(actions[0].3["message_id"], message_id.as_str());
    assert_eq!(actions[0].3["queue"], "hub.deliver.aalst");
    let at: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT min(at) FROM operator_action")
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert!(at.is_some());
    // The dead-letter queue was drained.
    for queue in [hub::runtime::broker::topology::DEAD_LETTERS] {
        let depth = amqp
            .queue_declare(
                queue.into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
            .message_count();
        assert_eq!(depth, 0, "{queue}");
    }

    hub.shutdown().await;
    iso.cleanup().await;
}

/// The broker's own dead letters (a delivery redelivered past the queue's delivery limit)
/// are recorded as `delivery_limit`; recording is idempotent; a replay goes to the origin
/// queue with the message id and without the broker's headers; a replay into a queue that
/// does not exist is refused; two operators resolving one dead letter at once: one wins.
#[tokio::test]
async fn the_brokers_dead_letters_are_recorded_and_resolved_once() {
    let iso = Isolation::new().await.unwrap();
    let pg = Arc::new(
        PgStore::connect_lazy(&iso.database_url().into(), 4, Duration::from_secs(5)).unwrap(),
    );
    pg.migrate().await.unwrap();
    let store: Arc<dyn DeadLetterStore> = pg.clone();

    // A consumed queue of our own with a delivery limit of 1, dead-lettering via hub.dead.
    let work = "dltest.work";
    let dlq = format!("hub.dead.{work}");
    let topology = Topology {
        exchanges: vec![ExchangeSpec {
            name: DEAD.into(),
            kind: ExchangeKind::Direct,
            alternate: None,
        }],
        queues: vec![
            QueueSpec {
                name: dlq.clone(),
                bindings: vec![Binding {
                    exchange: DEAD.into(),
                    routing_key: work.into(),
                    headers: Vec::new(),
                }],
                ..QueueSpec::default()
            },
            QueueSpec {
                name: work.into(),
                dead_letter: Some((DEAD.into(), Some(work.into()))),
                delivery_limit: Some(1),
                ..QueueSpec::default()
            },
        ],
        retry_tiers: Vec::new(),
        ..Topology::default()
    };
    let (rabbit, cancel, supervisor) = common::ready_broker(&iso, topology).await;
    let metrics = Metrics::new(prometheus::Registry::new()).unwrap();
    let broker: Arc<dyn Broker> = rabbit.clone();
    let drain = tokio::spawn(hub::features::dead_letters::drain(
        broker.clone(),
        store.clone(),
        vec![dlq.clone()],
        metrics.clone(),
        cancel.clone(),
    ));

    let (_connection, amqp) = channel(&iso).await;
    let message_id = uuid::Uuid::new_v4().to_string();
    let mut headers = FieldTable::default();
    headers.insert("vCode".into(), AMQPValue::LongString("V0001001".into()));
    headers.insert("sequence".into(), AMQPValue::LongLongInt(12));
    let props = BasicProperties::default()
        .with_message_id(message_id.as_str().into())
        .with_type("association.changed".into())
        .with_timestamp(1_740_000_000)
        .with_headers(headers);
    publish(&amqp, "", work, props, b"{\"crash\":true}").await;
    // A consumer that gives the message back every time, until the broker gives up on it.
    let mut deliveries = 0;
    loop {
        match amqp
            .basic_get(work.into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            Some(m) => {
                deliveries += 1;
                m.delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
            None if deliveries > 0 => break,
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
        assert!(deliveries < 10, "the delivery limit does not apply");
    }

    let filter = DeadLetterFilter {
        queue: Some(work.into()),
        status: None,
        limit: 10,
        offset: 0,
    };
    let row = eventually_some(WAIT, "the broker's dead letter is recorded", || async {
        store.list(&filter).await.unwrap().into_iter().next()
    })
    .await;
    assert_eq!(row.failure, "delivery_limit");
    assert_eq!(row.last_error, "redelivered more than the delivery limit");
    assert_eq!(row.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(row.status, DeadLetterStatus::Dead);
    let letter = store.get(row.id).await.unwrap().unwrap();
    assert_eq!(letter.original_exchange.as_deref(), Some(""));
    assert_eq!(letter.original_routing_key.as_deref(), Some(work));
    let labels = [work, "delivery_limit"];
    assert_eq!(metrics.dead_letters.with_label_values(&labels).get(), 1);

    // Recording the same dead letter again (a redelivery) changes nothing.
    let again = hub::features::dead_letters::describe(
        &dlq,
        &letter.properties,
        letter.body.clone(),
        time::OffsetDateTime::now_utc(),
    );
    assert_eq!(again.dead_lettered_at, letter.summary.dead_lettered_at);
    assert_eq!(store.record(&again).await.unwrap(), None);
    assert_eq!(store.list(&filter).await.unwrap().len(), 1);

    // Replay: on the origin queue, same id and headers, none of the broker's.
    hub::features::dead_letters::replay(&*broker, &*store, row.id, "alice")
        .await
        .unwrap();
    let back = eventually_some(WAIT, "the replayed message is on its queue", || async {
        amqp.basic_get(work.into(), BasicGetOptions::default())
            .await
            .unwrap()
    })
    .await;
    let p = &back.delivery.properties;
    assert_eq!(
        p.message_id().as_ref().map(|s| s.to_string()),
        Some(message_id.clone())
    );
    assert_eq!(p.timestamp(), &Some(1_740_000_000));
    assert_eq!(back.delivery.data, b"{\"crash\":true}");
    let mut names: Vec<String> = p
        .headers()
        .clone()
        .unwrap_or_default()
        .inner()
        .keys()
        .map(|k| k.to_string())
        // The quorum queue adds its own delivery count on every delivery.
        .filter(|k| k != "x-delivery-count")
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "hub-original-exchange",
            "hub-original-routing-key",
            "sequence",
            "vCode"
        ]
    );
    back.delivery
        .acker
        .ack(lapin::options::BasicAckOptions::default())
        .await
        .unwrap();
    assert_eq!(
        store.get(row.id).await.unwrap().unwrap().summary.status,
        DeadLetterStatus::Replayed
    );

    // A dead letter whose queue is gone: refused, left dead, nothing recorded.
    let mut orphan = again.clone();
    orphan.queue = "no.such.queue".into();
    let orphan_id = store.record(&orphan).await.unwrap().unwrap();
    let refused = hub::features::dead_letters::replay(&*broker, &*store, orphan_id, "alice").await;
    assert!(
        matches!(refused, Err(DlqError::Unroutable { .. })),
        "{refused:?}"
    );
    assert_eq!(
        store.get(orphan_id).await.unwrap().unwrap().summary.status,
        DeadLetterStatus::Dead
    );

    // Two operators at once: exactly one resolves it, the other is told it is resolved.
    let (a, b) = tokio::join!(
        hub::features::dead_letters::discard(&*store, orphan_id, "bob"),
        hub::features::dead_letters::discard(&*store, orphan_id, "carol"),
    );
    let refused = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(DlqError::NotDead { .. })))
        .count();
    assert!(a.is_ok() != b.is_ok() && refused == 1, "{a:?} {b:?}");
    let actions = store.actions(10).await.unwrap();
    let done: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str()))
        .collect();
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(done[1], ("dlq.replay", "alice"));
    assert_eq!(done[0].0, "dlq.discard");

    cancel.cancel();
    drain.await.unwrap();
    supervisor.await.unwrap();
    iso.cleanup().await;
}
