//! The shape of a feature, and the runtime it is built on.

use std::sync::Arc;
use std::time::Duration;

use adapter_register::RegisterClient;
use async_trait::async_trait;
use axum::Router;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::broker::{Broker, Topology};
use super::consume::{BatchHandler, Consumer};
use super::metrics::Metrics;
use super::store::PgStore;
use crate::config::{RetrySettings, Settings};

/// A feature of the hub (register sync, commands, applications, dead letters): its queues,
/// declared from configuration before anything connects, and what it adds once built.
pub trait Feature: Send + Sync {
    /// Named in logs and spans.
    fn name(&self) -> &'static str;
    /// Adds the feature's exchanges and queues.
    fn declare(&self, settings: &Settings, topology: &mut Topology);
    /// Builds what the feature contributes, on the runtime (no I/O yet: the database may
    /// still be away).
    fn build(&self, runtime: &Runtime) -> anyhow::Result<Box<dyn Built>>;
}

/// What a built feature contributes to the running hub.
#[async_trait]
pub trait Built: Send + Sync {
    /// Its HTTP routes; served from the start, before migrations ran.
    fn routes(&self) -> Routes {
        Routes::default()
    }
    /// Starts what every replica runs (consumers, periodic work), once migrations ran.
    fn start(&self, _tasks: &mut JoinSet<()>, _cancel: &CancellationToken) {}
    /// While this replica leads: starts what only the leader runs, until `term` is
    /// cancelled (or cancels it when the leader's work cannot go on).
    async fn lead(&self, _work: &mut JoinSet<()>, _term: &CancellationToken) {}
}

/// A feature's HTTP routes, each router with its state applied.
#[derive(Default)]
pub struct Routes {
    pub public: Router,
    /// Behind `http.admin_token` when it is set.
    pub admin: Router,
}

/// What every feature gets: the configuration, the one database pool, the broker, the
/// topology, the metrics and the register client (the register is every feature's source).
#[derive(Clone)]
pub struct Runtime {
    pub settings: Arc<Settings>,
    pub pg: Arc<PgStore>,
    pub broker: Arc<dyn Broker>,
    /// Consumes partner-facing queues, each on a connection of its own (see
    /// [`super::broker::topology`]).
    pub isolated: Arc<dyn Broker>,
    pub topology: Topology,
    pub metrics: Metrics,
    pub register: Arc<RegisterClient>,
    /// Fired by `POST /admin/resync`; the leader's register reader listens.
    pub resync_request: Arc<Notify>,
}

impl Runtime {
    /// A consumer of `queue` on the consumer runtime, on a connection of its own when
    /// partners publish into the queue.
    pub fn consumer<H: BatchHandler + ?Sized>(
        &self,
        queue: String,
        adapter: &str,
        handler: Arc<H>,
        prefetch: u16,
        retry: RetrySettings,
    ) -> Consumer<H> {
        let broker = if self.topology.is_partner_facing(&queue) {
            self.isolated.clone()
        } else {
            self.broker.clone()
        };
        Consumer {
            broker,
            queue,
            adapter: adapter.to_owned(),
            handler,
            metrics: self.metrics.clone(),
            prefetch,
            retry,
            tiers: self.topology.retry_tiers.clone(),
            slots: None,
        }
    }
}

/// How often periodic work runs: the first time after `first`, then every `period`.
#[derive(Debug, Clone, Copy)]
pub struct Every {
    pub first: Duration,
    pub period: Duration,
}

impl Every {
    /// Gauges kept current for dashboards.
    pub const GAUGES: Every = Every {
        first: Duration::from_secs(10),
        period: Duration::from_secs(10),
    };
    /// Deleting what is past its retention.
    pub const PRUNING: Every = Every {
        first: Duration::from_secs(10),
        period: Duration::from_secs(600),
    };
}

/// Runs `prune` on the schedule [`Every::PRUNING`] until `cancel`, logging how many
/// `what` it deleted when it deleted any. A failure is logged and left for the next round:
/// pruning is housekeeping.
pub async fn prune_every<F, Fut, E>(cancel: CancellationToken, what: &'static str, mut prune: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, E>>,
    E: std::fmt::Display,
{
    every(Every::PRUNING, cancel, move || {
        let pruned = prune();
        async move {
            match pruned.await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned {what}"),
                Err(e) => tracing::warn!(error = %e, "cannot prune {what}"),
            }
        }
    })
    .await
}

/// Runs `work` on the schedule `when` until `cancel`.
pub async fn every<F, Fut>(when: Every, cancel: CancellationToken, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut pause = when.first;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        work().await;
        pause = when.period;
    }
}
