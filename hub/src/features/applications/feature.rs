//! Service applications as a feature: the loket's API (always served), and, when services
//! are configured, the intake, one consumer per provider and per providing municipality, and
//! on the leader the application outbox's relay and the follow-up of open applications.

use std::collections::HashMap;
use std::sync::Arc;

use adapter_provider::Provider;
use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::api::{self, ApiState};
use super::catalogue::ProviderRef;
use super::{
    follow_up, ApplicationOutbox, Applications, IntakeHandler, MunicipalStatusHandler,
    ProviderHandler,
};
use crate::config::Settings;
use crate::runtime::broker::topology::{
    municipal_applications_queue, municipal_status_queue, provider_queue, Binding, ConsumedBy,
    ExchangeKind, Facing, APPLICATIONS, APPLICATION_INTAKE, LOKET_APPLICATIONS,
};
use crate::runtime::broker::Topology;
use crate::runtime::consume::{BatchHandler, Consumer};
use crate::runtime::relay::Relay;
use crate::runtime::{Built, Feature, Routes, Runtime};

/// Unsettled deliveries per application consumer: each waits on a partner.
const PREFETCH: u16 = 16;

pub struct ApplicationsFeature;

/// The municipalities that provide a service, each once, in name order.
fn providing_municipalities(settings: &Settings) -> Vec<&str> {
    let mut providing: Vec<&str> = settings
        .services
        .iter()
        .filter_map(|s| match &s.provider {
            ProviderRef::Municipality(name) => Some(name.as_str()),
            ProviderRef::Named(_) => None,
        })
        .collect();
    providing.sort_unstable();
    providing.dedup();
    providing
}

impl Feature for ApplicationsFeature {
    fn name(&self) -> &'static str {
        "applications"
    }

    fn declare(&self, settings: &Settings, topology: &mut Topology) {
        topology.add_exchange(APPLICATIONS, ExchangeKind::Topic);
        if settings.services.is_empty() {
            return;
        }
        let consumed = |facing| ConsumedBy {
            delivery_limit: settings.broker.delivery_limit,
            facing,
            retry_cap: settings.retry.cap,
        };
        topology.add_consumer_queue(
            APPLICATION_INTAKE,
            consumed(Facing::Partner),
            Binding::key(APPLICATIONS, contracts::applications::APPLICATION_SUBMITTED),
        );
        topology.add_queue(
            LOKET_APPLICATIONS,
            vec![Binding::key(
                APPLICATIONS,
                contracts::applications::APPLICATION_STATUS_CHANGED,
            )],
        );
        // A municipality providing a service reads its applications from its own queue and
        // answers on hub.applications.
        for name in providing_municipalities(settings) {
            topology.add_queue(
                &municipal_applications_queue(name),
                vec![Binding::key(
                    APPLICATIONS,
                    &format!("provider.municipality:{name}"),
                )],
            );
            topology.add_consumer_queue(
                &municipal_status_queue(name),
                consumed(Facing::Partner),
                Binding::key(
                    APPLICATIONS,
                    &format!("municipality.{name}.application-status"),
                ),
            );
        }
        for provider in settings.providers.names() {
            topology.add_consumer_queue(
                &provider_queue(&provider),
                consumed(Facing::Hub),
                Binding::key(APPLICATIONS, &format!("provider.{provider}")),
            );
        }
    }

    fn build(&self, rt: &Runtime) -> anyhow::Result<Box<dyn Built>> {
        let settings = &rt.settings;
        let applications = Arc::new(Applications {
            store: rt.pg.clone(),
            projection: rt.pg.clone(),
            catalogue: Arc::new(settings.services.clone()),
            metrics: rt.metrics.clone(),
            relay_wake: Arc::new(Notify::new()),
        });
        let providers = build_providers(settings)?;
        let mut consumers = Vec::new();
        if !settings.services.is_empty() {
            let consumer = |queue: String, adapter: &str, handler: Arc<dyn BatchHandler>| {
                Arc::new(rt.consumer(queue, adapter, handler, PREFETCH, settings.retry))
            };
            consumers.push(consumer(
                APPLICATION_INTAKE.to_owned(),
                "applications",
                Arc::new(IntakeHandler {
                    applications: applications.clone(),
                }),
            ));
            for name in providing_municipalities(settings) {
                consumers.push(consumer(
                    municipal_status_queue(name),
                    name,
                    Arc::new(MunicipalStatusHandler {
                        municipality: name.to_owned(),
                        applications: applications.clone(),
                    }),
                ));
            }
            for (name, provider) in &providers {
                consumers.push(consumer(
                    provider_queue(name),
                    name,
                    Arc::new(ProviderHandler {
                        provider_name: name.clone(),
                        provider: provider.clone(),
                        applications: applications.clone(),
                    }),
                ));
            }
        }
        let relay = Relay {
            outbox: Arc::new(ApplicationOutbox(rt.pg.clone())),
            broker: rt.broker.clone(),
            dead_letters: rt.pg.clone(),
            metrics: rt.metrics.clone(),
            wake: applications.relay_wake.clone(),
            retention: settings.database.outbox_retention,
        };
        Ok(Box::new(Running {
            applications,
            providers,
            consumers,
            relay: Arc::new(relay),
            max_body_bytes: settings.http.max_body_bytes,
            poll_interval: settings.applications.poll_interval,
        }))
    }
}

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

struct Running {
    applications: Arc<Applications>,
    providers: HashMap<String, Arc<dyn Provider>>,
    /// Empty when no service is configured.
    consumers: Vec<Arc<Consumer<dyn BatchHandler>>>,
    relay: Arc<Relay>,
    max_body_bytes: usize,
    poll_interval: std::time::Duration,
}

#[async_trait]
impl Built for Running {
    fn routes(&self) -> Routes {
        Routes {
            public: api::router(ApiState {
                applications: self.applications.clone(),
                max_body_bytes: self.max_body_bytes,
            }),
            ..Routes::default()
        }
    }

    fn start(&self, tasks: &mut JoinSet<()>, cancel: &CancellationToken) {
        for consumer in &self.consumers {
            tasks.spawn(consumer.clone().run(cancel.clone()));
        }
    }

    async fn lead(&self, work: &mut JoinSet<()>, term: &CancellationToken) {
        if self.applications.catalogue.is_empty() {
            return;
        }
        let (relay, t) = (self.relay.clone(), term.clone());
        work.spawn(
            async move { relay.run(t).await }
                .instrument(info_span!("relay", outbox = "applications")),
        );
        work.spawn(
            follow_up(
                self.applications.clone(),
                self.providers.clone(),
                self.poll_interval,
                term.clone(),
            )
            .instrument(info_span!("follow_up")),
        );
    }
}
