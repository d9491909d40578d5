//! Every Flemish municipality: 300 generated municipalities whose territories partition the
//! Flemish postcodes, and a register of 2,000 associations spread over them. A change's
//! recipients are decided once, at ingest: each municipality's queue holds exactly its
//! territory, a move reaches the two municipalities concerned and no one else, a municipality
//! added later is backfilled alone, and a removed one receives nothing more.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use hub_tests::{
    eventually, message_types, municipalities_toml, municipality_name, outbox_pending,
    settings_with_file, start_register_with, Isolation, OwnRabbit, QueueReader, Received,
    RegisterSim, RegisterSimConfig, TestHub,
};
use serde_json::json;

const MUNICIPALITIES: usize = 300;
const ASSOCIATIONS: usize = 2_000;
const SYNC: Duration = Duration::from_secs(240);

struct Scale {
    iso: Isolation,
    /// 300 municipalities' quorum queues need a node set up for them.
    rabbit: OwnRabbit,
    register: RegisterSim,
    postcodes: Vec<String>,
}

impl Scale {
    async fn start() -> Scale {
        let iso = Isolation::new().await.unwrap();
        let rabbit = OwnRabbit::start("scale").unwrap();
        let postcodes = partner_sims::flemish_postcodes();
        let register = start_register_with(RegisterSimConfig {
            associations: partner_sims::synthetic_over(ASSOCIATIONS, 13, &postcodes),
            ..RegisterSimConfig::default()
        })
        .await;
        Scale {
            iso,
            rabbit,
            register,
            postcodes,
        }
    }

    /// A hub with `m` municipalities, plus `extra` TOML.
    async fn hub(&self, m: usize, extra: &str) -> TestHub {
        self.hub_with(&municipalities_toml(m, &self.postcodes), extra)
            .await
    }

    /// A hub with the `[[municipalities]]` TOML `municipalities`, plus `extra` TOML, on
    /// this test's broker, reading the register in batches of 500.
    async fn hub_with(&self, municipalities: &str, extra: &str) -> TestHub {
        let toml = format!("services = []\n\n{municipalities}{extra}");
        TestHub::start(settings_with_file(
            &self.iso,
            &self.register,
            &self.rabbit.amqp_url(),
            Some(&toml),
            &[("register.batch_size", "500")],
        ))
        .await
    }

    /// The municipality whose territory holds `postcode`.
    fn owner(&self, postcode: &str) -> String {
        let index = self.postcodes.iter().position(|p| p == postcode).unwrap();
        municipality_name(index % MUNICIPALITIES)
    }

    /// Every association's vCode by the municipality owning its postcode.
    fn expected(&self) -> BTreeMap<String, Vec<String>> {
        let mut by_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for v in self.register.vcodes() {
            let doc = self.register.get(&v).unwrap();
            // An association without an address belongs to no municipality.
            if let Some(postcode) = doc["locaties"][0]["adres"]["postcode"].as_str() {
                by_owner.entry(self.owner(postcode)).or_default().push(v);
            }
        }
        by_owner
    }
}

async fn delivered(hub: &TestHub) -> f64 {
    hub.metric("hub_messages_delivered_total").await
}

async fn routed(hub: &TestHub) -> BTreeMap<String, f64> {
    let text = hub.get("/metrics").await.text().await.unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("hub_messages_routed_total{subscriber=\""))
        .filter_map(|l| {
            let (name, rest) = l.split_once("\"}")?;
            Some((name.to_owned(), rest.trim().parse().ok()?))
        })
        .collect()
}

/// Takes what is on a queue now (the hub is idle: nothing more is coming).
async fn take(reader: &QueueReader, queue: &str) -> Vec<Received> {
    reader.drain(queue, Duration::ZERO).await
}

fn v_codes(messages: &[Received]) -> Vec<String> {
    let mut v: Vec<String> = messages
        .iter()
        .filter(|m| m.message_type == "association.changed")
        .map(|m| m.v_code().to_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipients_are_decided_once_per_change_for_300_municipalities() {
    let scale = Scale::start().await;
    let expected = scale.expected();
    let total: usize = expected.values().map(Vec::len).sum();
    assert!(
        total > ASSOCIATIONS * 9 / 10,
        "most associations have an address"
    );
    let hub = scale.hub(MUNICIPALITIES, "").await;
    eventually(
        SYNC,
        "every association delivered to its municipality",
        || async { delivered(&hub).await >= total as f64 && outbox_pending(&scale.iso).await == 0 },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(delivered(&hub).await, total as f64, "one delivery each");
    assert_eq!(
        hub.metric("hub_messages_skipped_total").await,
        0.0,
        "no subscriber was handed a change it does not receive"
    );

    // Each municipality's queue holds exactly its territory.
    let reader = QueueReader::connect_to(&scale.rabbit.amqp_url()).await;
    for i in 0..MUNICIPALITIES {
        let name = municipality_name(i);
        let got = take(&reader, &format!("subscriber.{name}")).await;
        let want = expected.get(&name).cloned().unwrap_or_default();
        assert_eq!(v_codes(&got), want, "{name} holds exactly its territory");
    }

    // A move from one municipality to another.
    let (from, v_code) = expected
        .iter()
        .find_map(|(m, v)| v.first().map(|v| (m.clone(), v.clone())))
        .unwrap();
    let target = scale
        .postcodes
        .iter()
        .find(|p| scale.owner(p) != from)
        .unwrap()
        .clone();
    let to = scale.owner(&target);
    let before = routed(&hub).await;
    let doc = scale.register.get(&v_code).unwrap();
    let mut locaties = doc["locaties"].as_array().unwrap().clone();
    for l in &mut locaties {
        l["adres"]["postcode"] = json!(target);
    }
    scale
        .register
        .patch(&v_code, json!({ "locaties": locaties }));
    eventually(SYNC, "the move routed", || async {
        let after = routed(&hub).await;
        after.get(&to) > before.get(&to)
    })
    .await;
    eventually(SYNC, "the move delivered", || async {
        outbox_pending(&scale.iso).await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = routed(&hub).await;
    let moved: Vec<(&String, f64)> = after
        .iter()
        .map(|(name, n)| (name, n - before.get(name).copied().unwrap_or(0.0)))
        .filter(|(_, delta)| *delta != 0.0)
        .collect();
    let mut concerned = vec![(&from, 1.0), (&to, 1.0)];
    concerned.sort_by(|x, y| x.0.cmp(y.0));
    assert_eq!(
        moved, concerned,
        "only the two municipalities concerned receive the change"
    );
    let left = take(&reader, &format!("subscriber.{from}")).await;
    assert_eq!(
        message_types(&left),
        ["association.left-territory"],
        "{from}: {left:?}"
    );
    let entered = take(&reader, &format!("subscriber.{to}")).await;
    assert_eq!(
        message_types(&entered),
        ["association.entered-territory", "association.changed"],
        "{to}: {entered:?}"
    );
    assert_eq!(entered[1].v_code(), v_code);
    hub.stop().await;

    // A municipality added after the initial sync (a territory of its own: two postcodes
    // the others keep too) is backfilled alone; one removed receives nothing more.
    let added = &scale.postcodes[..2];
    let removed = municipality_name(MUNICIPALITIES - 1);
    let extra = format!(
        "[[municipalities]]\nname = \"nieuw\"\novo_code = \"OVO999999\"\nterritory = {{ postcodes = [\"{}\", \"{}\"] }}\n",
        added[0], added[1]
    );
    let hub = scale.hub_without_last(&extra, MUNICIPALITIES - 1).await;
    let want_new: Vec<String> = scale
        .register
        .vcodes()
        .into_iter()
        .filter(|v| {
            let doc = scale.register.get(v).unwrap();
            let p = doc["locaties"][0]["adres"]["postcode"]
                .as_str()
                .unwrap_or("");
            added.iter().any(|a| a == p)
        })
        .collect();
    eventually(SYNC, "the new municipality backfilled", || async {
        routed(&hub).await.get("nieuw").copied().unwrap_or(0.0) >= want_new.len() as f64
            && outbox_pending(&scale.iso).await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let routed_now = routed(&hub).await;
    assert_eq!(
        routed_now.keys().collect::<Vec<_>>(),
        vec!["nieuw"],
        "nobody else receives anything again: {routed_now:?}"
    );
    let mut want_new = want_new;
    want_new.sort();
    eventually(SYNC, "the backfill delivered", || async {
        hub.metric(r#"hub_messages_delivered_total{adapter="nieuw"}"#)
            .await
            >= want_new.len() as f64
    })
    .await;
    let got = take(&reader, "subscriber.nieuw").await;
    assert_eq!(
        v_codes(&got),
        want_new,
        "the new municipality's whole territory"
    );

    // The removed municipality: a change on its territory reaches no queue of it.
    let theirs = expected.get(&removed).and_then(|v| v.first()).cloned();
    if let Some(v_code) = theirs {
        scale.register.rename(&v_code, "Na de verwijdering");
        eventually(SYNC, "the change taken in", || async {
            hub.metric("hub_changes_polled_total").await >= 1.0
                && outbox_pending(&scale.iso).await == 0
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!routed(&hub).await.contains_key(&removed));
        for queue in [
            format!("hub.deliver.{removed}"),
            format!("subscriber.{removed}"),
        ] {
            let left = take(&reader, &queue).await;
            assert!(left.is_empty(), "nothing was sent to {queue}: {left:?}");
        }
    }
    hub.stop().await;
    scale.register.shutdown();
    scale.iso.cleanup().await;
}

impl Scale {
    /// A hub with the first `m` generated municipalities and `extra` TOML.
    async fn hub_without_last(&self, extra: &str, m: usize) -> TestHub {
        let municipalities = municipalities_toml_first(m, MUNICIPALITIES, &self.postcodes);
        self.hub_with(&municipalities, extra).await
    }
}

/// The first `keep` of the `m` municipalities [`municipalities_toml`] generates.
fn municipalities_toml_first(keep: usize, m: usize, postcodes: &[String]) -> String {
    municipalities_toml(m, postcodes)
        .split("[[municipalities]]\n")
        .filter(|s| !s.is_empty())
        .take(keep)
        .map(|s| format!("[[municipalities]]\n{s}"))
        .collect()
}
