//! Register sync and distribution as a feature: its queues, the distributors on every
//! replica, and the relay, backfill and register reader on the leader.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::admin;
use super::backfill;
use super::distribute::Distributor;
use super::ingest::Ingest;
use super::outbox::RegisterOutbox;
use super::recipients::Audience;
use crate::config::{Settings, SubscriberSettings};
use crate::runtime::broker::topology::{
    delivery_queue, Binding, ConsumedBy, ExchangeKind, Facing, ASSOCIATIONS, SUBSCRIBERS,
};
use crate::runtime::broker::Topology;
use crate::runtime::consume::Consumer;
use crate::runtime::relay::Relay;
use crate::runtime::store::Store;
use crate::runtime::{every, Built, Every, Feature, Routes, Runtime};

pub struct RegisterSync;

impl Feature for RegisterSync {
    fn name(&self) -> &'static str {
        "register_sync"
    }

    fn declare(&self, settings: &Settings, topology: &mut Topology) {
        topology.add_exchange(ASSOCIATIONS, ExchangeKind::Topic);
        topology.add_exchange(SUBSCRIBERS, ExchangeKind::Direct);
        for s in &settings.subscribers {
            topology.add_consumer_queue(
                &delivery_queue(&s.name),
                ConsumedBy {
                    delivery_limit: settings.broker.delivery_limit,
                    facing: Facing::Hub,
                    retry_cap: s.retry.cap,
                },
                Binding::key(ASSOCIATIONS, "association.#"),
            );
            s.channel.declare(&s.name, topology);
        }
    }

    fn build(&self, rt: &Runtime) -> anyhow::Result<Box<dyn Built>> {
        let store: Arc<dyn Store> = rt.pg.clone();
        let settings = &rt.settings;
        let prefetch = settings
            .broker
            .subscriber_prefetch(settings.subscribers.len());
        let slots = Arc::new(Semaphore::new(delivery_slots(
            settings.database.max_connections,
        )));
        let distributors = settings
            .subscribers
            .iter()
            .map(|subscriber| {
                let channel = subscriber
                    .channel
                    .build(&subscriber.name, &rt.broker)
                    .map_err(|e| anyhow::anyhow!("subscriber {}: {e}", subscriber.name))?;
                let handler = Distributor::new(
                    subscriber.clone(),
                    store.clone(),
                    channel,
                    rt.metrics.clone(),
                );
                let mut consumer = rt.consumer(
                    delivery_queue(&subscriber.name),
                    &subscriber.name,
                    Arc::new(handler),
                    prefetch,
                    subscriber.retry,
                );
                consumer.slots = Some(slots.clone());
                Ok(Arc::new(consumer))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let relay_wake = Arc::new(Notify::new());
        let ingest = Ingest {
            store: store.clone(),
            client: rt.register.clone(),
            metrics: rt.metrics.clone(),
            settings: settings.register.clone(),
            relay_wake: relay_wake.clone(),
            resync_request: rt.resync_request.clone(),
            audience: Arc::new(Audience::new(&settings.subscribers)),
        };
        let relay = Relay {
            outbox: Arc::new(RegisterOutbox(store.clone())),
            broker: rt.broker.clone(),
            dead_letters: rt.pg.clone(),
            metrics: rt.metrics.clone(),
            wake: relay_wake,
            retention: settings.database.outbox_retention,
        };
        Ok(Box::new(Running {
            runtime: rt.clone(),
            store,
            subscribers: settings.subscribers.clone(),
            distributors,
            ingest: Arc::new(ingest),
            relay: Arc::new(relay),
        }))
    }
}

/// Batches the subscribers' distributors work on at once, each in a database transaction:
/// two thirds of the pool, so that the register reader, the relays, commands, applications,
/// the dead-letter drain and the API keep theirs whatever the number of subscribers.
fn delivery_slots(max_connections: u32) -> usize {
    let slots = max_connections.saturating_sub(max_connections / 3).max(1);
    usize::try_from(slots).unwrap_or(1)
}

struct Running {
    runtime: Runtime,
    store: Arc<dyn Store>,
    subscribers: Vec<SubscriberSettings>,
    distributors: Vec<Arc<Consumer<Distributor>>>,
    ingest: Arc<Ingest>,
    relay: Arc<Relay>,
}

#[async_trait]
impl Built for Running {
    fn routes(&self) -> Routes {
        Routes {
            admin: admin::router(admin::AdminState {
                store: self.store.clone(),
                audit: self.runtime.pg.clone(),
                resync_request: self.runtime.resync_request.clone(),
            }),
            ..Routes::default()
        }
    }

    fn start(&self, tasks: &mut JoinSet<()>, cancel: &CancellationToken) {
        for consumer in &self.distributors {
            tasks.spawn(consumer.clone().run(cancel.clone()));
        }
        let (store, metrics) = (self.store.clone(), self.runtime.metrics.clone());
        let gauges = every(Every::GAUGES, cancel.clone(), move || {
            let (store, metrics) = (store.clone(), metrics.clone());
            async move {
                if let Ok(age) = store.outbox_lag().await {
                    metrics.outbox_lag_seconds.set(age.as_secs_f64());
                }
                if let Ok(backlog) = store.outbox_backlog().await {
                    metrics
                        .outbox_pending
                        .set(i64::try_from(backlog).unwrap_or(i64::MAX));
                }
            }
        });
        tasks.spawn(gauges.instrument(info_span!("outbox_watch")));
    }

    async fn lead(&self, work: &mut JoinSet<()>, term: &CancellationToken) {
        // Before the register is read: see backfill.rs.
        let (relay, t) = (self.relay.clone(), term.clone());
        work.spawn(
            async move { relay.run(t).await }.instrument(info_span!("relay", outbox = "register")),
        );
        if !backfill_until_done(&self.store, &self.subscribers, term).await {
            term.cancel();
            return;
        }
        let (ingest, t) = (self.ingest.clone(), term.clone());
        work.spawn(async move { ingest.run(t).await }.instrument(info_span!("ingest")));
    }
}

/// Backfills new and changed subscribers, retrying while the database is away; `false`
/// when stopped first.
async fn backfill_until_done(
    store: &Arc<dyn Store>,
    subscribers: &[SubscriberSettings],
    term: &CancellationToken,
) -> bool {
    let mut delay = Duration::from_millis(200);
    loop {
        match backfill::run(store, subscribers).await {
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
