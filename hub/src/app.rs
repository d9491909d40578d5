//! Starts the hub: the runtime, then the union of the features ([`crate::features::standard`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use adapter_register::{RegisterClient, RegisterClientConfig};
use anyhow::Context;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use crate::config::Settings;
use crate::features;
use crate::runtime::broker::rabbit::IsolatedConsumer;
use crate::runtime::broker::topology::QUARANTINE;
use crate::runtime::broker::{RabbitBroker, Topology};
use crate::runtime::http::{readiness, router, HttpState};
use crate::runtime::metrics::Metrics;
use crate::runtime::serve;
use crate::runtime::store::{PgStore, Store};
use crate::runtime::{every, Built, Every, Feature, Runtime};

/// The hub's RabbitMQ topology: the runtime's and every feature's queues.
pub fn topology(settings: &Settings) -> Topology {
    topology_of(&features::standard(), settings)
}

fn topology_of(features: &[Box<dyn Feature>], settings: &Settings) -> Topology {
    let mut topology = Topology::core(settings);
    for feature in features {
        feature.declare(settings, &mut topology);
    }
    topology.finish()
}

/// A started hub. Dropping it does not stop it: call [`RunningHub::shutdown`].
pub struct RunningHub {
    pub http_addr: SocketAddr,
    pub metrics: Metrics,
    pub resync_request: Arc<Notify>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    grace: Duration,
}

impl RunningHub {
    /// Stops every task, waiting at most the configured grace period.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        let drained = tokio::time::timeout(self.grace, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "grace period over; abandoning in-flight work (it returns to the queues)"
            );
            self.tasks.abort_all();
        }
    }

    /// Runs until a task ends by itself (which only happens on cancellation) or `stop` fires.
    pub async fn wait_for(self, stop: impl std::future::Future<Output = ()>) {
        stop.await;
        tracing::info!("stopping");
        self.shutdown().await;
    }
}

/// Starts the hub: the broker's supervision and the HTTP server at once, then (once the
/// database is reachable and migrated) every feature's tasks, and the competition for
/// leadership whose winner runs the features' leader tasks.
pub async fn start(settings: Settings, metrics: Metrics) -> anyhow::Result<RunningHub> {
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let features = features::standard();
    let topology = topology_of(&features, &settings);

    let pg = Arc::new(PgStore::connect_lazy(
        &settings.database.url,
        settings.database.max_connections,
        settings.database.connect_timeout,
    )?);
    let rabbit = RabbitBroker::from_settings(&settings.broker, topology.clone());
    tasks.spawn(
        rabbit
            .clone()
            .supervise(cancel.clone())
            .instrument(info_span!("broker")),
    );
    let register = Arc::new(RegisterClient::new(RegisterClientConfig {
        base_url: settings.register.base_url.clone(),
        token_url: settings.register.token_url.clone(),
        client_id: settings.register.client_id.clone(),
        client_secret: settings.register.client_secret.clone(),
        scope: settings.register.scope.clone(),
        timeout: settings.register.timeout,
    })?);
    let runtime = Runtime {
        isolated: IsolatedConsumer::new(rabbit.clone(), metrics.intake_connections_lost.clone()),
        broker: rabbit,
        settings: Arc::new(settings),
        pg: pg.clone(),
        topology,
        metrics: metrics.clone(),
        register,
        resync_request: Arc::new(Notify::new()),
    };
    let built = features
        .iter()
        .map(|f| {
            f.build(&runtime)
                .with_context(|| format!("starting the feature {}", f.name()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let built: Arc<[Box<dyn Built>]> = built.into();
    let settings = runtime.settings.clone();

    // HTTP first, so liveness answers (and readiness says why not) while the database is
    // still away at start-up.
    let started = Arc::new(AtomicBool::new(false));
    let http_state = HttpState {
        metrics: metrics.clone(),
        store: pg.clone(),
        broker: runtime.broker.clone(),
        started: started.clone(),
        admin_token: settings.http.admin_token.clone(),
    };
    if settings.http.admin_token.is_none() && !settings.http.listen.ip().is_loopback() {
        tracing::warn!(listen = %settings.http.listen,
            "the admin endpoints are open to anyone who reaches http.listen; set http.admin_token");
    }
    let listener = tokio::net::TcpListener::bind(settings.http.listen)
        .await
        .with_context(|| format!("binding http.listen {}", settings.http.listen))?;
    let http_addr = listener.local_addr()?;
    let routes = router(
        http_state.clone(),
        built.iter().map(|b| b.routes()).collect(),
    );
    tasks.spawn(
        serve::serve(
            listener,
            serve::guarded(routes, &settings.http),
            settings.http.header_read_timeout,
            cancel.clone(),
        )
        .instrument(info_span!("http", listen = %http_addr)),
    );
    tasks.spawn(
        watch_dependencies(http_state, cancel.clone()).instrument(info_span!("dependencies")),
    );

    migrate_when_reachable(&pg, &cancel).await?;
    started.store(true, Ordering::SeqCst);

    for b in built.iter() {
        b.start(&mut tasks, &cancel);
    }
    tasks.spawn(lead(pg.clone(), built, cancel.clone()).instrument(info_span!("leader")));
    tasks
        .spawn(watch_queues(runtime.clone(), cancel.clone()).instrument(info_span!("queue_watch")));

    tracing::info!(%http_addr, subscribers = settings.subscribers.len(), "hub started");
    Ok(RunningHub {
        http_addr,
        metrics,
        resync_request: runtime.resync_request.clone(),
        cancel,
        tasks,
        grace: settings.shutdown_grace,
    })
}

/// Keeps the queue-depth gauges current (and the quarantine's).
async fn watch_queues(rt: Runtime, cancel: CancellationToken) {
    let queues: Vec<String> = rt.topology.queues.iter().map(|q| q.name.clone()).collect();
    every(Every::GAUGES, cancel, || async {
        if !rt.broker.is_ready() {
            return;
        }
        for (queue, depth) in rt.broker.queue_depths(&queues).await {
            rt.metrics
                .queue_depth
                .with_label_values(&[&queue])
                .set(i64::from(depth));
            if queue == QUARANTINE {
                rt.metrics.quarantined.set(i64::from(depth));
            }
        }
    })
    .await
}

/// Keeps `hub_dependency_up` current for dashboards and alerts, whether or not anyone
/// polls `/readyz`.
async fn watch_dependencies(state: HttpState, cancel: CancellationToken) {
    loop {
        let _ = readiness(&state).await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

async fn migrate_when_reachable(store: &PgStore, cancel: &CancellationToken) -> anyhow::Result<()> {
    let mut delay = Duration::from_millis(200);
    loop {
        match store
            .create_database_if_missing()
            .await
            .and(store.migrate().await)
        {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "database not ready for migrations");
                tokio::select! {
                    _ = cancel.cancelled() => anyhow::bail!("stopped before the database was reachable"),
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Competes for leadership; while leader, runs every feature's leader tasks (in feature
/// order: the register's relay and backfill come before the register is read).
async fn lead(store: Arc<PgStore>, features: Arc<[Box<dyn Built>]>, cancel: CancellationToken) {
    loop {
        let leadership = tokio::select! {
            _ = cancel.cancelled() => return,
            l = store.try_lead() => l,
        };
        match leadership {
            Ok(Some(mut leadership)) => {
                tracing::info!("leading: reading the register and relaying the outbox");
                let term = cancel.child_token();
                let mut work = JoinSet::new();
                for feature in features.iter() {
                    if term.is_cancelled() {
                        break;
                    }
                    feature.lead(&mut work, &term).await;
                }
                while !term.is_cancelled() {
                    tokio::select! {
                        _ = term.cancelled() => {}
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {
                            if !leadership.confirm().await {
                                tracing::warn!("lost leadership (database session gone)");
                                term.cancel();
                            }
                        }
                    }
                }
                while work.join_next().await.is_some() {}
            }
            Ok(None) => tracing::debug!("another replica leads"),
            Err(e) => tracing::warn!(error = %e, "cannot compete for leadership"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}
