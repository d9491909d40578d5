//! Subscriber channels: how a subscriber receives what its distributor decided to deliver.
//! A [`Channel`] takes a batch's plans and delivers each plan's messages in order: JSON on
//! the subscriber's own queue ([`queue`]), a JSON `POST` per message ([`http`]), or a
//! MAGDA-style SOAP publication per message ([`soap`]). Each is a [`ChannelKind`] (its
//! settings, their checks, the queues it needs, its `build`) in the one list
//! [`ChannelKinds::standard`].

pub mod http;
mod kinds;
pub mod queue;
pub mod soap;

pub use kinds::{ChannelInstance, ChannelKind, ChannelKinds, Owner, Wiring};

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

    /// Whether it sends the messages as their JSON ([`Outbound::json`]); a channel that
    /// writes them otherwise is given typed messages.
    fn reads_json(&self) -> bool {
        true
    }
}

/// The timeout of an HTTP or SOAP channel that sets none.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// [`DEFAULT_TIMEOUT`], as the HTTP and SOAP settings' serde default.
fn default_timeout() -> std::time::Duration {
    DEFAULT_TIMEOUT
}

/// A problem with `url` (at key `url`), unless it is `http://` or `https://`.
fn url_problem(url: &str) -> Option<crate::config::Problem> {
    crate::config::de::check_http_url(url)
        .err()
        .map(|message| crate::config::Problem {
            key: "url".into(),
            message,
        })
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
