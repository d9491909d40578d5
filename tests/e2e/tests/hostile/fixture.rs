//! A synced hub for the hostile tests: its own vhost and database, the register simulator,
//! the checked-in configuration with an optional TOML file over it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hub_tests::*;
use serde_json::Value;

pub const SYNC: Duration = Duration::from_secs(60);
pub const QUIET: Duration = Duration::from_millis(800);

pub struct Fixture {
    pub iso: Isolation,
    pub register: RegisterSim,
    pub hub: TestHub,
    pub reader: QueueReader,
    http: reqwest::Client,
}

impl Fixture {
    /// Starts the hub and waits until every seeded association is projected and published.
    pub async fn start(toml: Option<&str>) -> Fixture {
        init_logs();
        let (iso, register, hub, reader) = start_synced(toml, &[], SYNC).await;
        Fixture {
            iso,
            register,
            hub,
            reader,
            http: reqwest::Client::new(),
        }
    }

    pub async fn assert_ready(&self) {
        assert_eq!(self.hub.get("/readyz").await.status().as_u16(), 200);
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.hub.post_json(&self.http, path, body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.hub.get_json(path).await
    }

    /// Waits for the dead letter of the message `message_id` and returns its summary.
    pub async fn dead_letter(&self, message_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + SYNC;
        loop {
            let list = self.get("/admin/dlq?limit=1000").await;
            let found = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["message_id"] == message_id);
            if let Some(letter) = found {
                return letter.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no dead letter for {message_id}: {list}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits for the dead letter of `message_id` and asserts that it failed permanently with
    /// `last_error`.
    pub async fn assert_permanent_dead_letter(&self, message_id: &str, last_error: &str) {
        let letter = self.dead_letter(message_id).await;
        assert_eq!(letter["failure"], "permanent", "{letter}");
        assert_eq!(letter["last_error"], last_error, "{letter}");
    }

    /// Publishes `body` on `exchange` with a new message id, which it returns.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        kind: &str,
        body: &Value,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        publish_raw(
            &self.iso,
            exchange,
            routing_key,
            kind,
            &id,
            &serde_json::to_vec(body).unwrap(),
        )
        .await;
        id
    }

    /// The test's own SQL, hence safe as it is.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut db = self.iso.db().await;
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut db)
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.hub.stop().await;
        self.register.shutdown();
        self.iso.cleanup().await;
    }

    /// Asserts the hub is still ready, then stops: the end of a test whose hub must go on
    /// throughout.
    pub async fn stop_ready(self) {
        self.assert_ready().await;
        self.stop().await;
    }
}

/// An application of `v_code` to borrow three tents for 34 members, fetched at `plaats`:
/// its id and body.
pub fn tent_loan(v_code: &str, plaats: &str) -> (String, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::json!({
        "applicationId": id,
        "vCode": v_code,
        "serviceCode": "uldk-tentlening",
        "applicant": { "voornaam": "An", "achternaam": "Peeters", "e-mail": "an.peeters@example.be" },
        "fields": {
            "periode": { "van": "2027-07-10", "tot": "2027-07-20" },
            "tenten": [{ "type": "seniortent", "aantal": 3 }],
            "aantalLeden": 34,
            "ophaling": { "datum": "2027-07-08", "plaats": plaats }
        },
    });
    (id, body)
}
