//! The HTTP channel: each message `POST`ed as JSON to the subscriber's endpoint, with
//! `X-Message-Id`, `X-Correlation-Id` and `X-Message-Type` (see `adapter_subscriber::http`).

use std::sync::Arc;
use std::time::Duration;

use adapter_subscriber::http::{HttpEndpoint, PostError, PostHeaders};
use async_trait::async_trait;
use serde::Deserialize;

use super::kinds::{ChannelKind, Owner, Wiring};
use super::{each_message, url_problem, Channel};
use crate::config::{de, Problem};
use crate::features::register_sync::distribute::Plan;
use crate::runtime::consume::Failure;

/// `kind = "http"`: one JSON `POST` per message.
pub struct HttpKind;

/// `channel = { kind = "http", url = "https://...", timeout = "10s" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub url: String,
    /// Per request.
    #[serde(default = "super::default_timeout", deserialize_with = "de::duration")]
    pub timeout: Duration,
}

impl ChannelKind for HttpKind {
    type Settings = HttpSettings;

    fn name(&self) -> &'static str {
        "http"
    }

    fn validate(&self, settings: &mut HttpSettings, _owner: Owner<'_>) -> Vec<Problem> {
        url_problem(&settings.url).into_iter().collect()
    }

    fn build(&self, settings: &HttpSettings, _: Wiring<'_>) -> Result<Arc<dyn Channel>, String> {
        Ok(Arc::new(HttpChannel {
            endpoint: HttpEndpoint::new(&settings.url, settings.timeout)?,
        }))
    }
}

pub struct HttpChannel {
    pub endpoint: HttpEndpoint,
}

#[async_trait]
impl Channel for HttpChannel {
    async fn deliver(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure> {
        Ok(each_message(plans, |outbound| async move {
            let Some(body) = outbound.json() else {
                return Ok(());
            };
            let m = outbound.metadata();
            let headers = PostHeaders {
                message_id: m.message_id.to_string(),
                correlation_id: m.correlation_id.to_string(),
                message_type: m.message_type.as_str().to_owned(),
            };
            self.endpoint
                .post(&headers, body)
                .await
                .map_err(|e| match e {
                    PostError::Transient(r) => Failure::Transient(r),
                    PostError::Permanent(r) => Failure::Permanent(r),
                })
        })
        .await)
    }
}
