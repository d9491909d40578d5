//! RabbitMQ's management API: what the broker gave up on in a partner-facing queue, read
//! without AMQP, and the vhost's queues (for `hub orphans`).
//!
//! A partner-facing queue dead-letters a message that reached `broker.delivery_limit`
//! deliveries into `hub.quarantine` (see [`crate::runtime::broker::topology`]). Such a message may be
//! one the AMQP client cannot parse (a message id or header that is not UTF-8): reading it
//! over AMQP would drop the reading connection again. So the hub never consumes the
//! quarantine; it counts it (`hub_quarantined_messages`, from the queue's depth) and lists it
//! through RabbitMQ's management API, whose JSON shows what can be read of each message
//! (bytes that are not UTF-8 are replaced by U+FFFD here; the API itself shows non-UTF-8
//! header values as base64). Listing requeues what it read, so it removes nothing; an
//! operator who has read the messages purges the queue (`rabbitmqctl purge_queue
//! hub.quarantine -p <vhost>`) or moves them with the management UI.

use std::collections::HashSet;
use std::time::Duration;

use lapin::uri::AMQPUri;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;

use crate::runtime::broker::topology::{Topology, QUARANTINE};

#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    #[error("broker.management_url is not set: the quarantine cannot be listed")]
    NotConfigured,
    #[error("broker.url has no vhost the management API can name: {0}")]
    Vhost(String),
    #[error("RabbitMQ's management API is unavailable: {0}")]
    Unavailable(String),
    #[error("RabbitMQ's management API answered {status}: {detail}")]
    Refused { status: u16, detail: String },
}

/// One quarantined message, as far as it can be read.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuarantinedMessage {
    /// The partner-facing queue it died in (from its `x-death` header).
    pub queue: Option<String>,
    /// The broker's reason (`delivery_limit`).
    pub reason: Option<String>,
    pub exchange: String,
    pub routing_key: String,
    /// Its AMQP properties and headers as the management API renders them.
    pub properties: Value,
    pub payload_bytes: u64,
    /// The body, as text, or base64 when it is not UTF-8 (`payload_encoding`), truncated
    /// to [`PAYLOAD_SHOWN`] bytes.
    pub payload: String,
    pub payload_encoding: String,
}

/// Bytes of a body shown at most.
pub const PAYLOAD_SHOWN: u64 = 50_000;
/// Largest answer of the management API read (`limit` messages of at most
/// [`PAYLOAD_SHOWN`] bytes, with their properties).
const MAX_ANSWER: usize = 64 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Reads `hub.quarantine` of the hub's vhost through the management API.
pub struct Management {
    management_url: SecretString,
    vhost: String,
    http: reqwest::Client,
}

impl Management {
    /// `broker_url` names the vhost; `management_url` the API (with its credentials).
    pub fn new(
        broker_url: &SecretString,
        management_url: Option<&SecretString>,
    ) -> Result<Management, ManagementError> {
        let management_url = management_url
            .ok_or(ManagementError::NotConfigured)?
            .clone();
        let uri: AMQPUri = broker_url.expose_secret().parse().map_err(|e: String| {
            ManagementError::Vhost(e.replace(broker_url.expose_secret(), "<broker.url>"))
        })?;
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| ManagementError::Unavailable(e.to_string()))?;
        Ok(Management {
            management_url,
            vhost: uri.vhost,
            http,
        })
    }

    /// The first `limit` messages of the quarantine, oldest first; each is put back.
    pub async fn list(&self, limit: u32) -> Result<Vec<QuarantinedMessage>, ManagementError> {
        let request = serde_json::json!({
            "count": limit,
            "ackmode": "ack_requeue_true",
            "encoding": "auto",
            "truncate": PAYLOAD_SHOWN,
        });
        let text = self
            .call(
                reqwest::Method::POST,
                &["queues", &self.vhost, QUARANTINE, "get"],
                Some(request),
            )
            .await?;
        let messages: Vec<Value> = serde_json::from_str(&text).map_err(|e| {
            ManagementError::Unavailable(format!("the management API's answer is not JSON: {e}"))
        })?;
        Ok(messages.iter().map(describe).collect())
    }

    /// The names and depths of the vhost's queues.
    pub async fn queues(&self) -> Result<Vec<(String, u64)>, ManagementError> {
        let text = self
            .call(reqwest::Method::GET, &["queues", &self.vhost], None)
            .await?;
        let queues: Vec<Value> = serde_json::from_str(&text).map_err(|e| {
            ManagementError::Unavailable(format!("the management API's answer is not JSON: {e}"))
        })?;
        Ok(queues
            .iter()
            .filter_map(|q| {
                let name = q.get("name")?.as_str()?.to_owned();
                Some((name, q.get("messages").and_then(Value::as_u64).unwrap_or(0)))
            })
            .collect())
    }

    /// The vhost's queues named like the hub's (`hub.*`, `subscriber.*`, `municipality.*`)
    /// that `topology` does not declare: a removed subscriber's, with their depths.
    pub async fn orphans(
        &self,
        topology: &Topology,
    ) -> Result<Vec<(String, u64)>, ManagementError> {
        let declared: HashSet<&str> = topology.queues.iter().map(|q| q.name.as_str()).collect();
        Ok(self
            .queues()
            .await?
            .into_iter()
            .filter(|(name, _)| {
                ["hub.", "subscriber.", "municipality."]
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                    && !declared.contains(name.as_str())
            })
            .collect())
    }

    /// Deletes a queue of the vhost. Quorum queues cannot be deleted `if-empty`: the caller
    /// checks the depth first (a message arriving in between is deleted with the queue).
    pub async fn delete_queue(&self, queue: &str) -> Result<(), ManagementError> {
        self.call(
            reqwest::Method::DELETE,
            &["queues", &self.vhost, queue],
            None,
        )
        .await
        .map(|_| ())
    }

    /// One call of the management API (`/api/<segments>`); the answer as text, bytes that
    /// are not UTF-8 replaced.
    async fn call(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<Value>,
    ) -> Result<String, ManagementError> {
        let url = reqwest::Url::parse(self.management_url.expose_secret())
            .map_err(|e| ManagementError::Unavailable(format!("broker.management_url: {e}")))?;
        let (user, password) = (
            urlencoding_decode(url.username()),
            url.password().map(urlencoding_decode),
        );
        let mut endpoint = url.clone();
        let _ = endpoint.set_username("");
        let _ = endpoint.set_password(None);
        endpoint
            .path_segments_mut()
            .map_err(|()| {
                ManagementError::Unavailable("broker.management_url cannot be a base".into())
            })?
            .pop_if_empty()
            .push("api")
            .extend(segments);
        let mut request = self
            .http
            .request(method, endpoint)
            .basic_auth(user, password);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ManagementError::Unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let body = adapter_http::read_limited(response, MAX_ANSWER)
            .await
            .map_err(|e| ManagementError::Unavailable(format!("{e}; list fewer")))?;
        // Its JSON strings carry the raw bytes of properties that are not UTF-8.
        let text = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            return Err(ManagementError::Refused {
                status: status.as_u16(),
                detail: text.chars().take(500).collect(),
            });
        }
        Ok(text)
    }
}

/// Percent-decoded user information of a URL.
fn urlencoding_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// One message of the management API's answer.
fn describe(m: &Value) -> QuarantinedMessage {
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let properties = m.get("properties").cloned().unwrap_or(Value::Null);
    let death = properties
        .pointer("/headers/x-death/0")
        .cloned()
        .unwrap_or(Value::Null);
    QuarantinedMessage {
        queue: text(&death, "queue"),
        reason: text(&death, "reason"),
        exchange: text(m, "exchange").unwrap_or_default(),
        routing_key: text(m, "routing_key").unwrap_or_default(),
        properties,
        payload_bytes: m.get("payload_bytes").and_then(Value::as_u64).unwrap_or(0),
        payload: text(m, "payload").unwrap_or_default(),
        payload_encoding: text(m, "payload_encoding").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_management_api_message_is_described_with_its_death() {
        let m = serde_json::json!({
            "payload_bytes": 7, "redelivered": true, "exchange": "hub.commands",
            "routing_key": "aalst.x", "message_count": 0,
            "properties": {"message_id": "\u{fffd}\u{fffd}", "headers": {
                "k": "Not UTF-8, base64 is: /w==",
                "x-death": [{"count": 1, "reason": "delivery_limit",
                             "queue": "hub.commands.aalst", "exchange": "hub.commands"}]}},
            "payload": "{\"a\":1}", "payload_encoding": "string"
        });
        let d = describe(&m);
        assert_eq!(d.queue.as_deref(), Some("hub.commands.aalst"));
        assert_eq!(d.reason.as_deref(), Some("delivery_limit"));
        assert_eq!(d.routing_key, "aalst.x");
        assert_eq!(d.payload, "{\"a\":1}");
        assert_eq!(d.payload_bytes, 7);
        assert_eq!(d.properties["message_id"], "\u{fffd}\u{fffd}");
    }

    #[test]
    fn user_information_is_percent_decoded() {
        assert_eq!(urlencoding_decode("hub%40loket"), "hub@loket");
        assert_eq!(urlencoding_decode("p%2"), "p%2");
    }

    #[test]
    fn the_vhost_comes_from_the_broker_url() {
        let q = Management::new(
            &SecretString::from("amqp://u:p@h:5672/hubtest_1"),
            Some(&SecretString::from("http://u:p@h:15672")),
        );
        assert_eq!(q.map(|q| q.vhost).ok().as_deref(), Some("hubtest_1"));
        let none = Management::new(&SecretString::from("amqp://h/%2f"), None);
        assert!(matches!(none, Err(ManagementError::NotConfigured)));
    }
}
