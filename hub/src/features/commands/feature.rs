//! Municipalities' commands as a feature: per municipality its partner-facing command queue
//! (consumed on a connection of its own) and its reply queue; finished commands are pruned.

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info_span, Instrument};

use super::CommandHandler;
use crate::config::Settings;
use crate::runtime::broker::topology::{
    command_queue, reply_queue, Binding, ConsumedBy, ExchangeKind, Facing, COMMANDS, REPLIES,
};
use crate::runtime::broker::Topology;
use crate::runtime::consume::Consumer;
use crate::runtime::store::commands::CommandStore;
use crate::runtime::{prune_every, Built, Feature, Runtime};

/// Unsettled commands per municipality: each waits on the register.
const PREFETCH: u16 = 16;

pub struct Commands;

impl Feature for Commands {
    fn name(&self) -> &'static str {
        "commands"
    }

    fn declare(&self, settings: &Settings, topology: &mut Topology) {
        topology.add_exchange(COMMANDS, ExchangeKind::Topic);
        topology.add_exchange(REPLIES, ExchangeKind::Direct);
        for s in settings.municipalities() {
            topology.add_consumer_queue(
                &command_queue(&s.name),
                ConsumedBy {
                    delivery_limit: settings.broker.delivery_limit,
                    facing: Facing::Partner,
                    retry_cap: s.retry.cap,
                },
                Binding::key(COMMANDS, &format!("{}.#", s.name)),
            );
            topology.add_queue(&reply_queue(&s.name), vec![Binding::key(REPLIES, &s.name)]);
        }
    }

    fn build(&self, rt: &Runtime) -> anyhow::Result<Box<dyn Built>> {
        let store: Arc<dyn CommandStore> = rt.pg.clone();
        let consumers = rt
            .settings
            .subscribers
            .iter()
            .filter_map(|s| s.municipality.as_ref().map(|m| (s, m)))
            .map(|(subscriber, municipality)| {
                let handler = CommandHandler {
                    municipality: subscriber.name.clone(),
                    ovo_code: municipality.ovo_code.clone(),
                    store: store.clone(),
                    broker: rt.broker.clone(),
                    register: rt.register.clone(),
                    metrics: rt.metrics.clone(),
                };
                Arc::new(rt.consumer(
                    command_queue(&subscriber.name),
                    &subscriber.name,
                    Arc::new(handler),
                    PREFETCH,
                    subscriber.retry,
                ))
            })
            .collect();
        Ok(Box::new(Running {
            consumers,
            store,
            retention: rt.settings.database.outbox_retention,
        }))
    }
}

struct Running {
    consumers: Vec<Arc<Consumer<CommandHandler>>>,
    store: Arc<dyn CommandStore>,
    /// Finished commands are deleted after this long.
    retention: std::time::Duration,
}

#[async_trait::async_trait]
impl Built for Running {
    fn start(&self, tasks: &mut JoinSet<()>, cancel: &CancellationToken) {
        for consumer in &self.consumers {
            tasks.spawn(consumer.clone().run(cancel.clone()));
        }
        let (store, retention) = (self.store.clone(), self.retention);
        let prune = prune_every(cancel.clone(), "finished register commands", move || {
            let store = store.clone();
            async move { store.prune_commands(retention).await }
        });
        tasks.spawn(prune.instrument(info_span!("command_prune")));
    }
}
