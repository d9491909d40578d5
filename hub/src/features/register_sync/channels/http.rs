//! The HTTP channel: each message `POST`ed as JSON to the subscriber's endpoint, with
//! `X-Message-Id`, `X-Correlation-Id` and `X-Message-Type` (see `adapter_subscriber::http`).

use adapter_subscriber::http::{HttpEndpoint, PostError, PostHeaders};
use async_trait::async_trait;

use super::{each_message, Channel};
use crate::features::register_sync::distribute::Plan;
use crate::runtime::consume::Failure;

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
