//! Subscriber channels: how a subscriber receives what its distributor decided to deliver.
//! A [`Channel`] takes a batch's plans and delivers each plan's messages in order: JSON on
//! the subscriber's own queue ([`queue`]), a JSON `POST` per message ([`http`]), or a
//! MAGDA-style SOAP publication per message ([`soap`]).

pub mod http;
pub mod queue;
pub mod soap;

use std::future::Future;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};

use super::distribute::{Outbound, Plan};
use crate::runtime::consume::Failure;

/// Delivers a batch's plans to one subscriber.
#[async_trait]
pub trait Channel: Send + Sync {
    /// One result per plan, in order: a failed plan's state is restored, so all of it is
    /// retried. `Err`: nothing of the batch took effect (the broker is away).
    async fn deliver(&self, plans: &[Plan]) -> Result<Vec<Result<(), Failure>>, Failure>;
}

/// Concurrent plans per batch on a channel with one request per message.
const CONCURRENT_PLANS: usize = 16;

/// For the request-per-message channels: each plan's messages sent one after the other (the
/// first failure fails the plan), up to [`CONCURRENT_PLANS`] plans at once.
async fn each_message<'a, F, Fut>(plans: &'a [Plan], send: F) -> Vec<Result<(), Failure>>
where
    F: Fn(&'a Outbound) -> Fut + Sync,
    Fut: Future<Output = Result<(), Failure>> + Send + 'a,
{
    let send = &send;
    // Collected first: a lazy `map` held across the await is not `Send` enough for
    // `async_trait`.
    let calls: Vec<_> = plans
        .iter()
        .map(|plan| async move {
            for outbound in &plan.deliveries {
                send(outbound).await?;
            }
            Ok(())
        })
        .collect();
    stream::iter(calls)
        .buffered(CONCURRENT_PLANS)
        .collect()
        .await
}

/// The channel `settings` configure for `subscriber`.
pub fn build(
    settings: &crate::config::Channel,
    subscriber: &str,
    broker: &std::sync::Arc<dyn crate::runtime::broker::Broker>,
) -> Result<std::sync::Arc<dyn Channel>, String> {
    use crate::config::Channel as Configured;
    use std::sync::Arc;
    Ok(match settings {
        Configured::Queue { .. } => Arc::new(queue::QueueChannel {
            broker: broker.clone(),
            subscriber: subscriber.to_owned(),
        }),
        Configured::Http { url, timeout } => Arc::new(http::HttpChannel {
            endpoint: adapter_subscriber::http::HttpEndpoint::new(url, *timeout)?,
        }),
        Configured::Soap(channel) => {
            let tls = channel.tls.as_ref().map(soap::read_tls).transpose()?;
            Arc::new(soap::SoapChannel {
                endpoint: adapter_municipality::endpoint::SoapEndpoint::new(
                    &channel.url,
                    channel.timeout,
                    tls.as_ref(),
                )?,
                parties: adapter_municipality::soap::Parties {
                    sender: channel.sender.clone(),
                    receiver: channel.receiver.clone(),
                },
            })
        }
    })
}
