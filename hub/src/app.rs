//! Wires the hub together and runs it until asked to stop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use adapter_provider::Provider;
use adapter_register::{RegisterClient, RegisterClientConfig};
use anyhow::Context;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use crate::api::{self, ApiState};
use crate::applications::{Applications, IntakeHandler, MunicipalStatusHandler, ProviderHandler};
use crate::broker::rabbit::IsolatedConsumer;
use crate::broker::topology::{
    command_queue, delivery_queue, municipal_status_queue, provider_queue, APPLICATION_INTAKE,
    DEAD_LETTERS, QUARANTINE,
};
use crate::broker::{Broker, RabbitBroker, Topology};
use crate::commands::CommandHandler;
use crate::config::Settings;
use crate::consume::BatchHandler;
use crate::consume::Consumer;
use crate::distribute::Distributor;
use crate::http::{readiness, router, HttpState};
use crate::ingest::Ingest;
use crate::management::{Management, ManagementError};
use crate::metrics::Metrics;
use crate::recipients::Audience;
use crate::relay::{RegisterOutbox, Relay};
use crate::serve;
use crate::store::commands::CommandStore;
use crate::store::dead_letters::DeadLetterStore;
use crate::store::{PgStore, Store};

/// A started hub. Dropping it does not stop it: call [`RunningHub::shutdown`].
/// The provider adapters of the configured providers, by name.
fn build_providers(settings: &Settings) -> anyhow::Result<HashMap<String, Arc<dyn Provider>>> {
    settings
        .providers
        .iter()
        .map(|p| {
            let provider = p
                .build()
                .map_err(|e| anyhow::anyhow!("providers.{}: {e}", p.name))?;
            Ok((p.name.clone(), provider))
        })
        .collect()
}

/// Unsettled commands per municipality: each waits on the register.
const COMMAND_PREFETCH: u16 = 16;

/// Batches the subscribers' distributors work on at once, each in a database transaction:
/// two thirds of the pool, so that the register reader, the relays, commands, applications,
/// the dead-letter drain and the API keep theirs whatever the number of subscribers.
fn delivery_slots(max_connections: u32) -> usize {
    let slots = max_connections.saturating_sub(max_connections / 3).max(1);
    usize::try_from(slots).unwrap_or(1)
}

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

/// Starts the hub: migrations, broker supervision, the leader's register reader and relay,
/// one distributor per subscriber, and the HTTP server.
pub async fn start(settings: Settings, metrics: Metrics) -> anyhow::Result<RunningHub> {
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();

    let pg = Arc::new(PgStore::connect_lazy(
        &settings.database.url,
        settings.database.max_connections,
        settings.database.connect_timeout,
    )?);
    let store: Arc<dyn Store> = pg.clone();
    let dead_letters: Arc<dyn DeadLetterStore> = pg.clone();
    let command_store: Arc<dyn CommandStore> = pg.clone();

    let topology = Topology::for_settings(&settings);
    let rabbit = RabbitBroker::with_max_message_bytes(
        settings.broker.url.clone(),
        topology.clone(),
        settings.broker.reconnect_max_delay,
        settings.broker.max_message_bytes,
    );
    tasks.spawn(
        rabbit
            .clone()
            .supervise(cancel.clone())
            .instrument(info_span!("broker")),
    );
    // Partner-facing queues are consumed apart from everything else (see broker::topology).
    let isolated: Arc<dyn Broker> =
        IsolatedConsumer::new(rabbit.clone(), metrics.intake_connections_lost.clone());
    let broker: Arc<dyn Broker> = rabbit;
    let source = |queue: &str| {
        if topology.is_partner_facing(queue) {
            isolated.clone()
        } else {
            broker.clone()
        }
    };

    let applications = Arc::new(Applications {
        store: pg.clone(),
        projection: store.clone(),
        catalogue: Arc::new(settings.services.clone()),
        metrics: metrics.clone(),
        relay_wake: Arc::new(Notify::new()),
    });

    // HTTP first, so liveness answers (and readiness says why not) while the database is
    // still away at start-up.
    let resync_request = Arc::new(Notify::new());
    let started = Arc::new(AtomicBool::new(false));
    let http_state = HttpState {
        metrics: metrics.clone(),
        store: store.clone(),
        broker: broker.clone(),
        dead_letters: dead_letters.clone(),
        resync_request: resync_request.clone(),
        started: started.clone(),
        admin_token: settings.http.admin_token.clone(),
        quarantine: quarantine(&settings),
    };
    if settings.http.admin_token.is_none() && !settings.http.listen.ip().is_loopback() {
        tracing::warn!(listen = %settings.http.listen,
            "the admin endpoints are open to anyone who reaches http.listen; set http.admin_token");
    }
    let listener = tokio::net::TcpListener::bind(settings.http.listen)
        .await
        .with_context(|| format!("binding http.listen {}", settings.http.listen))?;
    let http_addr = listener.local_addr()?;
    let routes = router(http_state.clone()).merge(api::router(ApiState {
        applications: applications.clone(),
        max_body_bytes: settings.http.max_body_bytes,
    }));
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

    let client = Arc::new(RegisterClient::new(RegisterClientConfig {
        base_url: settings.register.base_url.clone(),
        token_url: settings.register.token_url.clone(),
        client_id: settings.register.client_id.clone(),
        client_secret: settings.register.client_secret.clone(),
        scope: settings.register.scope.clone(),
        timeout: settings.register.timeout,
    })?);
    let relay_wake = Arc::new(Notify::new());
    let ingest = Ingest {
        store: store.clone(),
        client: client.clone(),
        metrics: metrics.clone(),
        settings: settings.register.clone(),
        relay_wake: relay_wake.clone(),
        resync_request: resync_request.clone(),
        audience: Arc::new(Audience::new(&settings.subscribers)),
    };
    let relay = Relay {
        outbox: Arc::new(RegisterOutbox(store.clone())),
        broker: broker.clone(),
        dead_letters: dead_letters.clone(),
        metrics: metrics.clone(),
        wake: relay_wake,
        retention: settings.database.outbox_retention,
    };
    let providers = build_providers(&settings)?;
    let application_work = (!settings.services.is_empty()).then(|| {
        Arc::new(ApplicationWork {
            applications: applications.clone(),
            dead_letters: dead_letters.clone(),
            providers: providers.clone(),
            broker: broker.clone(),
            poll_interval: settings.applications.poll_interval,
            outbox_retention: settings.database.outbox_retention,
        })
    });
    tasks.spawn(
        lead(
            store.clone(),
            settings.subscribers.clone(),
            ingest,
            relay,
            application_work,
            cancel.clone(),
        )
        .instrument(info_span!("leader")),
    );

    if !settings.services.is_empty() {
        let consumer = |queue: String, adapter: &str, handler: Arc<dyn BatchHandler>| {
            Arc::new(Consumer {
                broker: source(&queue),
                queue,
                adapter: adapter.to_owned(),
                handler,
                metrics: metrics.clone(),
                prefetch: COMMAND_PREFETCH,
                retry: settings.retry,
                tiers: topology.retry_tiers.clone(),
                slots: None,
            })
        };
        let mut spawned_municipal = std::collections::HashSet::new();
        let intake = consumer(
            APPLICATION_INTAKE.to_owned(),
            "applications",
            Arc::new(IntakeHandler {
                applications: applications.clone(),
            }),
        );
        tasks.spawn(intake.run(cancel.clone()));
        for service in settings.services.iter() {
            if let crate::catalogue::ProviderRef::Municipality(name) = &service.provider {
                if spawned_municipal.insert(name.clone()) {
                    let handler = consumer(
                        municipal_status_queue(name),
                        name,
                        Arc::new(MunicipalStatusHandler {
                            municipality: name.clone(),
                            applications: applications.clone(),
                        }),
                    );
                    tasks.spawn(handler.run(cancel.clone()));
                }
            }
        }
        for (name, provider) in &providers {
            let handler = consumer(
                provider_queue(name),
                name,
                Arc::new(ProviderHandler {
                    provider_name: name.clone(),
                    provider: provider.clone(),
                    applications: applications.clone(),
                }),
            );
            tasks.spawn(handler.run(cancel.clone()));
        }
    }
    let subscriber_prefetch = settings
        .broker
        .subscriber_prefetch(settings.subscribers.len());
    let delivery_slots = Arc::new(tokio::sync::Semaphore::new(delivery_slots(
        settings.database.max_connections,
    )));
    for subscriber in &settings.subscribers {
        let queue = delivery_queue(&subscriber.name);
        let handler = Distributor::new(
            subscriber.clone(),
            store.clone(),
            broker.clone(),
            metrics.clone(),
        )
        .map_err(|e| anyhow::anyhow!("subscriber {}: {e}", subscriber.name))?;
        let consumer = Arc::new(Consumer {
            queue,
            adapter: subscriber.name.clone(),
            handler: Arc::new(handler),
            broker: broker.clone(),
            metrics: metrics.clone(),
            prefetch: subscriber_prefetch,
            retry: subscriber.retry,
            tiers: topology.retry_tiers.clone(),
            slots: Some(delivery_slots.clone()),
        });
        tasks.spawn(consumer.run(cancel.clone()));
        if let Some(municipality) = &subscriber.municipality {
            let queue = command_queue(&subscriber.name);
            let consumer = Arc::new(Consumer {
                broker: source(&queue),
                queue,
                adapter: subscriber.name.clone(),
                handler: Arc::new(CommandHandler {
                    municipality: subscriber.name.clone(),
                    ovo_code: municipality.ovo_code.clone(),
                    store: command_store.clone(),
                    broker: broker.clone(),
                    register: client.clone(),
                    metrics: metrics.clone(),
                }),
                metrics: metrics.clone(),
                // Commands are few and each waits on the register: keep them close.
                prefetch: COMMAND_PREFETCH,
                retry: subscriber.retry,
                tiers: topology.retry_tiers.clone(),
                slots: None,
            });
            tasks.spawn(consumer.run(cancel.clone()));
        }
    }
    tasks.spawn(
        crate::dead_letters::drain(
            broker.clone(),
            dead_letters.clone(),
            vec![DEAD_LETTERS.to_owned()],
            metrics.clone(),
            cancel.clone(),
        )
        .instrument(info_span!("dead_letters")),
    );
    tasks.spawn(
        watch_queues(
            Watched {
                broker: broker.clone(),
                store: store.clone(),
                dead_letters,
                commands: command_store,
                topology,
                retention: settings.database.outbox_retention,
            },
            metrics.clone(),
            cancel.clone(),
        )
        .instrument(info_span!("queue_watch")),
    );

    tracing::info!(%http_addr, subscribers = settings.subscribers.len(), "hub started");
    Ok(RunningHub {
        http_addr,
        metrics,
        resync_request,
        cancel,
        tasks,
        grace: settings.shutdown_grace,
    })
}

/// The quarantine's reader, when `broker.management_url` is set.
fn quarantine(settings: &Settings) -> Option<Arc<Management>> {
    match Management::new(
        &settings.broker.url,
        settings.broker.management_url.as_ref(),
    ) {
        Ok(q) => Some(Arc::new(q)),
        Err(ManagementError::NotConfigured) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the quarantine cannot be listed");
            None
        }
    }
}

struct Watched {
    broker: Arc<dyn Broker>,
    store: Arc<dyn Store>,
    dead_letters: Arc<dyn DeadLetterStore>,
    commands: Arc<dyn CommandStore>,
    topology: Topology,
    /// Resolved dead letters are deleted after this long.
    retention: Duration,
}

/// Keeps the queue-depth, outbox-lag and dead-letter gauges current, and deletes resolved
/// dead letters past their retention.
async fn watch_queues(w: Watched, metrics: Metrics, cancel: CancellationToken) {
    let queues: Vec<String> = w.topology.queues.iter().map(|q| q.name.clone()).collect();
    let mut next_prune = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
        if w.broker.is_ready() {
            for (queue, depth) in w.broker.queue_depths(&queues).await {
                metrics
                    .queue_depth
                    .with_label_values(&[&queue])
                    .set(i64::from(depth));
                if queue == QUARANTINE {
                    metrics.quarantined.set(i64::from(depth));
                }
            }
        }
        if let Ok(age) = w.store.outbox_lag().await {
            metrics.outbox_lag_seconds.set(age.as_secs_f64());
        }
        if let Ok(backlog) = w.store.outbox_backlog().await {
            let backlog = i64::try_from(backlog).unwrap_or(i64::MAX);
            metrics.outbox_pending.set(backlog);
        }
        if let Ok(n) = w.dead_letters.unresolved().await {
            metrics
                .dead_letters_unresolved
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        if tokio::time::Instant::now() >= next_prune {
            match w.dead_letters.prune_resolved(w.retention).await {
                Ok(0) | Err(_) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned resolved dead letters"),
            }
            match w.commands.prune_commands(w.retention).await {
                Ok(0) | Err(_) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned finished register commands"),
            }
            next_prune = tokio::time::Instant::now() + Duration::from_secs(600);
        }
    }
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

/// Backfills new and changed subscribers, retrying while the database is away; `false`
/// when stopped first.
async fn backfill_until_done(
    store: &Arc<dyn Store>,
    subscribers: &[crate::config::SubscriberSettings],
    term: &CancellationToken,
) -> bool {
    let mut delay = Duration::from_millis(200);
    loop {
        match crate::backfill::run(store, subscribers).await {
            Ok(_) => return true,
            Err(e) => tracing::warn!(error = %e, "backfill failed; retrying"),
        }
        tokio::select! {
            _ = term.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Competes for leadership; while leader, reads the register and relays the outbox.
/// What only the leader does for service applications.
struct ApplicationWork {
    applications: Arc<Applications>,
    /// Where the application relay sets aside a message the broker refuses.
    dead_letters: Arc<dyn DeadLetterStore>,
    providers: HashMap<String, Arc<dyn Provider>>,
    broker: Arc<dyn Broker>,
    poll_interval: Duration,
    /// How long published application outbox rows are kept.
    outbox_retention: Duration,
}

async fn lead(
    store: Arc<dyn Store>,
    subscribers: Vec<crate::config::SubscriberSettings>,
    ingest: Ingest,
    relay: Relay,
    applications: Option<Arc<ApplicationWork>>,
    cancel: CancellationToken,
) {
    let ingest = Arc::new(ingest);
    let relay = Arc::new(relay);
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
                // Before the register is read: see backfill.rs.
                let (r, t) = (relay.clone(), term.clone());
                work.spawn(
                    async move { r.run(t).await }
                        .instrument(info_span!("relay", outbox = "register")),
                );
                if !backfill_until_done(&store, &subscribers, &term).await {
                    term.cancel();
                }
                let (i, t) = (ingest.clone(), term.clone());
                work.spawn(async move { i.run(t).await }.instrument(info_span!("ingest")));
                if let Some(a) = &applications {
                    let relay = Relay {
                        outbox: Arc::new(crate::applications::ApplicationOutbox(
                            a.applications.store.clone(),
                        )),
                        broker: a.broker.clone(),
                        dead_letters: a.dead_letters.clone(),
                        metrics: a.applications.metrics.clone(),
                        wake: a.applications.relay_wake.clone(),
                        retention: a.outbox_retention,
                    };
                    let t = term.clone();
                    work.spawn(
                        async move { relay.run(t).await }
                            .instrument(info_span!("relay", outbox = "applications")),
                    );
                    work.spawn(
                        crate::applications::follow_up(
                            a.applications.clone(),
                            a.providers.clone(),
                            a.poll_interval,
                            term.clone(),
                        )
                        .instrument(info_span!("follow_up")),
                    );
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
