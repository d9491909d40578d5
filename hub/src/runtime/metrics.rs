//! The hub's Prometheus metrics, registered on a registry handed in (never a global), so
//! that tests and several hubs in one process do not share counters.
//!
//! Naming: `hub_<what>_total` for counters, `hub_<what>_seconds` for histograms; labelled by
//! `adapter` (register, or the subscriber's name) and, where it applies, `kind`/`reason`.

use prometheus::{
    exponential_buckets, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

/// Declares [`Metrics`] and its constructor from one list, so that each metric's field, name,
/// help and labels stand in one place; every metric listed is registered on the registry.
macro_rules! metrics {
    ($($(#[$doc:meta])* $field:ident: $ty:ty = $make:expr;)*) => {
        #[derive(Clone)]
        pub struct Metrics {
            pub registry: Registry,
            $($(#[$doc])* pub $field: $ty,)*
        }

        impl Metrics {
            pub fn new(registry: Registry) -> Result<Self, prometheus::Error> {
                $(
                    let $field: $ty = $make?;
                    registry.register(Box::new($field.clone()))?;
                )*
                Ok(Metrics { registry, $($field,)* })
            }
        }
    };
}

fn counter(name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, prometheus::Error> {
    IntCounterVec::new(Opts::new(name, help), labels)
}

fn gauges(name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec, prometheus::Error> {
    IntGaugeVec::new(Opts::new(name, help), labels)
}

/// A histogram with exponential buckets: `count` of them from `start`, each `factor` wider.
fn histogram(
    name: &str,
    help: &str,
    (start, factor, count): (f64, f64, usize),
    labels: &[&str],
) -> Result<HistogramVec, prometheus::Error> {
    let buckets = exponential_buckets(start, factor, count)?;
    HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
}

metrics! {
    /// Entries read from the register's change feed.
    changes_polled: IntCounterVec = counter(
        "hub_changes_polled_total",
        "Change-feed entries read",
        &["adapter"],
    );
    /// Completed passes over the change feed, by pass (poll, resync).
    register_passes: IntCounterVec = counter(
        "hub_register_passes_total",
        "Completed passes over the register's change feed",
        &["adapter", "pass"],
    );
    /// Detail documents the register served that the hub could not accept.
    register_rejections: IntCounterVec = counter(
        "hub_register_rejections_total",
        "Register detail documents rejected (recorded for the operator)",
        &["adapter"],
    );
    /// Failed calls to the register, by kind (transient, permanent).
    register_errors: IntCounterVec = counter(
        "hub_register_errors_total",
        "Failed register calls",
        &["adapter", "kind"],
    );
    /// Messages confirmed by the broker, by producing adapter; for the register, outbox
    /// messages published to all their recipients (which may be none; each copy is counted
    /// in `messages_routed`).
    messages_published: IntCounterVec = counter(
        "hub_messages_published_total",
        "Messages confirmed by the broker",
        &["adapter"],
    );
    /// Messages delivered to a subscriber (its queue or its HTTP endpoint), counted once
    /// the delivery is committed.
    messages_delivered: IntCounterVec = counter(
        "hub_messages_delivered_total",
        "Messages put on a subscriber's queue",
        &["adapter"],
    );
    /// Work that could not be done for now, by adapter and reason: `relay` (an outbox
    /// batch not published), `unavailable` (a batch held while a dependency is away).
    /// Message-level failures are counted by `retries` and `dead_letters`.
    messages_failed: IntCounterVec = counter(
        "hub_messages_failed_total",
        "Messages not handled",
        &["adapter", "reason"],
    );
    /// Messages a subscriber did not get, by adapter and reason (not_selected,
    /// duplicate_or_stale, no_visible_change, not_held, superseded).
    messages_skipped: IntCounterVec = counter(
        "hub_messages_skipped_total",
        "Messages a subscriber did not get",
        &["adapter", "reason"],
    );
    /// Municipalities' commands to the register answered, by adapter (the municipality)
    /// and outcome (accepted, rejected, conflicted); a stored reply sent again counts too.
    commands: IntCounterVec = counter(
        "hub_commands_total",
        "Municipalities' commands to the register answered",
        &["adapter", "outcome"],
    );
    /// Service applications received, by outcome (accepted, ineligible, resubmitted,
    /// conflict, invalid).
    applications: IntCounterVec = counter(
        "hub_applications_total",
        "Service applications received",
        &["outcome"],
    );
    /// Application transitions applied, by new status.
    application_transitions: IntCounterVec = counter(
        "hub_application_transitions_total",
        "Application transitions applied",
        &["status"],
    );
    /// Application transitions the follow-up refused (not applied), by asked-for status.
    application_transitions_refused: IntCounterVec = counter(
        "hub_application_transitions_refused_total",
        "Application transitions the follow-up does not allow (not applied)",
        &["status"],
    );
    /// Transient failures sent to a retry tier, by adapter.
    retries: IntCounterVec = counter(
        "hub_retries_total",
        "Transient failures scheduled for a retry",
        &["adapter"],
    );
    /// The retry delays chosen (the tier), by adapter and attempt (bounded by
    /// `max_attempts`), so a dashboard shows the backoff growing.
    retry_delay: HistogramVec = histogram(
        "hub_retry_delay_seconds",
        "Retry delays chosen",
        (0.1, 2.0, 12),
        &["adapter", "attempt"],
    );
    /// Messages dead-lettered, by adapter and failure: `permanent` and `exhausted` (by the
    /// runtime), or the broker's reason (`delivery_limit`, `rejected`) counted by the drain.
    dead_letters: IntCounterVec = counter(
        "hub_dead_letters_total",
        "Messages dead-lettered",
        &["adapter", "failure"],
    );
    /// Dead letters waiting for an operator (replay or discard).
    dead_letters_unresolved: IntGauge = IntGauge::new(
        "hub_dead_letters_unresolved",
        "Dead letters waiting for an operator",
    );
    /// Messages absorbed because the subscriber already has that sequence, by adapter.
    duplicates: IntCounterVec = counter(
        "hub_duplicates_total",
        "Messages absorbed because the subscriber already has that sequence",
        &["adapter"],
    );
    /// Deliveries the broker marked as redelivered, by adapter.
    redeliveries: IntCounterVec = counter(
        "hub_redeliveries_total",
        "Deliveries marked redelivered by the broker",
        &["adapter"],
    );
    /// Messages waiting in each queue (consumer, dead-letter, unrouted, subscriber queues).
    queue_depth: IntGaugeVec = gauges(
        "hub_queue_depth",
        "Messages waiting in a queue",
        &["queue"],
    );
    /// Age of the oldest unpublished outbox message (0 when none).
    outbox_lag_seconds: prometheus::Gauge = prometheus::Gauge::new(
        "hub_outbox_lag_seconds",
        "Age of the oldest unpublished outbox message",
    );
    /// Duration of each pipeline stage.
    stage_seconds: HistogramVec = histogram(
        "hub_stage_duration_seconds",
        "Duration of each pipeline stage",
        (0.0005, 2.5, 14),
        &["stage"],
    );
    /// The last register sequence committed to the projection.
    register_checkpoint: IntGauge = IntGauge::new(
        "hub_register_checkpoint",
        "Last register sequence committed",
    );
    /// Outbox messages not yet confirmed by the broker; refreshed every 10 s.
    outbox_pending: IntGauge = IntGauge::new(
        "hub_outbox_pending",
        "Outbox messages awaiting publication",
    );
    /// 1 when a dependency (rabbitmq, postgres) is reachable; refreshed every few seconds.
    dependency_up: IntGaugeVec = gauges(
        "hub_dependency_up",
        "1 when reachable",
        &["dependency"],
    );
    /// Connections of partner-facing queues' consumers lost, by queue and reason
    /// (`unparseable_frame`: a message the AMQP client cannot parse; `closed_by_broker`;
    /// `connection_lost`).
    intake_connections_lost: IntCounterVec = counter(
        "hub_intake_connections_lost_total",
        "Connections of partner-facing queues' consumers lost,
        by queue and reason",
        &["queue", "reason"],
    );
    /// Changes the relay published to a subscriber's delivery queue, by subscriber: what a
    /// change costs follows its recipients (see `recipients.rs`).
    messages_routed: IntCounterVec = counter(
        "hub_messages_routed_total",
        "Changes published to a subscriber's delivery queue,
        by subscriber",
        &["subscriber"],
    );
    /// Messages in `hub.quarantine`: what the broker gave up on in a partner-facing queue;
    /// an operator reads them with `hub quarantine`. Refreshed every 10 s.
    quarantined: IntGauge = IntGauge::new(
        "hub_quarantined_messages",
        "Messages the broker gave up on in a partner-facing queue,
        waiting in hub.quarantine",
    );
    /// Granted values withheld because they fail their check (e.g. an INSZ), per subscriber
    /// and field (the path `withheld` names).
    values_withheld: IntCounterVec = counter(
        "hub_values_withheld_total",
        "Granted values withheld from a subscriber because they fail their check",
        &["subscriber", "field"],
    );
}

impl Metrics {
    /// Times a stage until the returned guard is dropped.
    pub fn time(&self, stage: &str) -> prometheus::HistogramTimer {
        self.stage_seconds.with_label_values(&[stage]).start_timer()
    }

    pub fn render(&self) -> String {
        let encoder = prometheus::TextEncoder::new();
        encoder
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# metrics encoding failed: {e}\n"))
    }
}
