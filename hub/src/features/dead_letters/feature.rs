//! Dead letters as a feature: every replica drains `hub.dead-letters` into PostgreSQL, keeps
//! the unresolved count current and prunes resolved ones; operators reach them (and the
//! quarantine) through the admin routes.

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::http::{router, DlqState};
use crate::config::Settings;
use crate::runtime::broker::topology::DEAD_LETTERS;
use crate::runtime::broker::Topology;
use crate::runtime::management::{Management, ManagementError};
use crate::runtime::store::dead_letters::DeadLetterStore;
use crate::runtime::{every, prune_every, Built, Every, Feature, Routes, Runtime};

pub struct DeadLetters;

impl Feature for DeadLetters {
    fn name(&self) -> &'static str {
        "dead_letters"
    }

    /// The dead-letter queue itself is the runtime's: every consumed queue is bound to it.
    fn declare(&self, _settings: &Settings, _topology: &mut Topology) {}

    fn build(&self, rt: &Runtime) -> anyhow::Result<Box<dyn Built>> {
        Ok(Box::new(Running {
            runtime: rt.clone(),
            store: rt.pg.clone(),
            quarantine: quarantine(&rt.settings),
        }))
    }
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

struct Running {
    runtime: Runtime,
    store: Arc<dyn DeadLetterStore>,
    quarantine: Option<Arc<Management>>,
}

#[async_trait::async_trait]
impl Built for Running {
    fn routes(&self) -> Routes {
        Routes {
            admin: router(DlqState {
                broker: self.runtime.broker.clone(),
                dead_letters: self.store.clone(),
                quarantine: self.quarantine.clone(),
            }),
            ..Routes::default()
        }
    }

    fn start(&self, tasks: &mut JoinSet<()>, cancel: &CancellationToken) {
        tasks.spawn(
            super::drain(
                self.runtime.broker.clone(),
                self.store.clone(),
                vec![DEAD_LETTERS.to_owned()],
                self.runtime.metrics.clone(),
                cancel.clone(),
            )
            .instrument(info_span!("dead_letters")),
        );
        let (store, metrics) = (self.store.clone(), self.runtime.metrics.clone());
        let gauge = every(Every::GAUGES, cancel.clone(), move || {
            let (store, metrics) = (store.clone(), metrics.clone());
            async move {
                if let Ok(n) = store.unresolved().await {
                    metrics
                        .dead_letters_unresolved
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
            }
        });
        tasks.spawn(gauge.instrument(info_span!("dead_letter_watch")));
        let (store, retention) = (
            self.store.clone(),
            self.runtime.settings.database.outbox_retention,
        );
        let prune = prune_every(cancel.clone(), "resolved dead letters", move || {
            let store = store.clone();
            async move { store.prune_resolved(retention).await }
        });
        tasks.spawn(prune.instrument(info_span!("dead_letter_prune")));
    }
}
