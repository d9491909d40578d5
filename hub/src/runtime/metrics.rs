//! The hub's Prometheus metrics, registered on a registry handed in (never a global), so
//! that tests and several hubs in one process do not share counters.
//!
//! Naming: `hub_<what>_total` for counters, `hub_<what>_seconds` for histograms; labelled by
//! `adapter` (register, or the subscriber's name) and, where it applies, `kind`/`reason`.

use prometheus::{
    exponential_buckets, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Entries read from the register's change feed.
    pub changes_polled: IntCounterVec,
    /// Completed passes over the change feed, by pass (poll, resync).
    pub register_passes: IntCounterVec,
    /// Detail documents the register served that the hub could not accept.
    pub register_rejections: IntCounterVec,
    /// Failed calls to the register, by kind (transient, permanent).
    pub register_errors: IntCounterVec,
    /// Messages confirmed by the broker, by producing adapter; for the register, outbox
    /// messages published to all their recipients (which may be none; each copy is counted
    /// in `messages_routed`).
    pub messages_published: IntCounterVec,
    /// Messages delivered to a subscriber (its queue or its HTTP endpoint), counted once
    /// the delivery is committed.
    pub messages_delivered: IntCounterVec,
    /// Work that could not be done for now, by adapter and reason: `relay` (an outbox
    /// batch not published), `unavailable` (a batch held while a dependency is away).
    /// Message-level failures are counted by `retries` and `dead_letters`.
    pub messages_failed: IntCounterVec,
    /// Messages a subscriber did not get, by adapter and reason (not_selected,
    /// duplicate_or_stale, no_visible_change, not_held, superseded).
    pub messages_skipped: IntCounterVec,
    /// Municipalities' commands to the register answered, by adapter (the municipality)
    /// and outcome (accepted, rejected, conflicted); a stored reply sent again counts too.
    pub commands: IntCounterVec,
    /// Service applications received, by outcome (accepted, ineligible, resubmitted,
    /// conflict, invalid).
    pub applications: IntCounterVec,
    /// Application transitions applied, by new status.
    pub application_transitions: IntCounterVec,
    /// Application transitions the follow-up refused (not applied), by asked-for status.
    pub application_transitions_refused: IntCounterVec,
    /// Transient failures sent to a retry tier, by adapter.
    pub retries: IntCounterVec,
    /// The retry delays chosen (the tier), by adapter and attempt (bounded by
    /// `max_attempts`), so a dashboard shows the backoff growing.
    pub retry_delay: HistogramVec,
    /// Messages dead-lettered, by adapter and failure: `permanent` and `exhausted` (by the
    /// runtime), or the broker's reason (`delivery_limit`, `rejected`) counted by the drain.
    pub dead_letters: IntCounterVec,
    /// Dead letters waiting for an operator (replay or discard).
    pub dead_letters_unresolved: IntGauge,
    /// Messages absorbed because the subscriber already has that sequence, by adapter.
    pub duplicates: IntCounterVec,
    /// Deliveries the broker marked as redelivered, by adapter.
    pub redeliveries: IntCounterVec,
    /// Messages waiting in each queue (consumer, dead-letter, unrouted, subscriber queues).
    pub queue_depth: IntGaugeVec,
    /// Age of the oldest unpublished outbox message (0 when none).
    pub outbox_lag_seconds: prometheus::Gauge,
    /// Duration of each pipeline stage.
    pub stage_seconds: HistogramVec,
    /// The last register sequence committed to the projection.
    pub register_checkpoint: IntGauge,
    /// Outbox messages not yet confirmed by the broker; refreshed every 10 s.
    pub outbox_pending: IntGauge,
    /// 1 when a dependency (rabbitmq, postgres) is reachable; refreshed every few seconds.
    pub dependency_up: IntGaugeVec,
    /// Connections of partner-facing queues' consumers lost, by queue and reason
    /// (`unparseable_frame`: a message the AMQP client cannot parse; `closed_by_broker`;
    /// `connection_lost`).
    pub intake_connections_lost: IntCounterVec,
    /// Changes the relay published to a subscriber's delivery queue, by subscriber: what a
    /// change costs follows its recipients (see `recipients.rs`).
    pub messages_routed: IntCounterVec,
    /// Messages in `hub.quarantine`: what the broker gave up on in a partner-facing queue;
    /// an operator reads them with `hub quarantine`. Refreshed every 10 s.
    pub quarantined: IntGauge,
    /// Granted values withheld because they fail their check (e.g. an INSZ), per subscriber
    /// and field (the path `withheld` names).
    pub values_withheld: IntCounterVec,
}

impl Metrics {
    pub fn new(registry: Registry) -> Result<Self, prometheus::Error> {
        let counter =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let changes_polled = counter(
            "hub_changes_polled_total",
            "Change-feed entries read",
            &["adapter"],
        )?;
        let register_passes = counter(
            "hub_register_passes_total",
            "Completed passes over the register's change feed",
            &["adapter", "pass"],
        )?;
        let register_rejections = counter(
            "hub_register_rejections_total",
            "Register detail documents rejected (recorded for the operator)",
            &["adapter"],
        )?;
        let register_errors = counter(
            "hub_register_errors_total",
            "Failed register calls",
            &["adapter", "kind"],
        )?;
        let messages_published = counter(
            "hub_messages_published_total",
            "Messages confirmed by the broker",
            &["adapter"],
        )?;
        let messages_delivered = counter(
            "hub_messages_delivered_total",
            "Messages put on a subscriber's queue",
            &["adapter"],
        )?;
        let messages_failed = counter(
            "hub_messages_failed_total",
            "Messages not handled",
            &["adapter", "reason"],
        )?;
        let messages_skipped = counter(
            "hub_messages_skipped_total",
            "Messages a subscriber did not get",
            &["adapter", "reason"],
        )?;
        let commands = counter(
            "hub_commands_total",
            "Municipalities' commands to the register answered",
            &["adapter", "outcome"],
        )?;
        let applications = counter(
            "hub_applications_total",
            "Service applications received",
            &["outcome"],
        )?;
        let application_transitions = counter(
            "hub_application_transitions_total",
            "Application transitions applied",
            &["status"],
        )?;
        let application_transitions_refused = counter(
            "hub_application_transitions_refused_total",
            "Application transitions the follow-up does not allow (not applied)",
            &["status"],
        )?;
        let retries = counter(
            "hub_retries_total",
            "Transient failures scheduled for a retry",
            &["adapter"],
        )?;
        let dead_letters = counter(
            "hub_dead_letters_total",
            "Messages dead-lettered",
            &["adapter", "failure"],
        )?;
        let duplicates = counter(
            "hub_duplicates_total",
            "Messages absorbed because the subscriber already has that sequence",
            &["adapter"],
        )?;
        let redeliveries = counter(
            "hub_redeliveries_total",
            "Deliveries marked redelivered by the broker",
            &["adapter"],
        )?;
        let retry_delay = HistogramVec::new(
            HistogramOpts::new("hub_retry_delay_seconds", "Retry delays chosen")
                .buckets(exponential_buckets(0.1, 2.0, 12)?),
            &["adapter", "attempt"],
        )?;
        registry.register(Box::new(retry_delay.clone()))?;
        let dead_letters_unresolved = IntGauge::new(
            "hub_dead_letters_unresolved",
            "Dead letters waiting for an operator",
        )?;
        registry.register(Box::new(dead_letters_unresolved.clone()))?;
        let queue_depth = IntGaugeVec::new(
            Opts::new("hub_queue_depth", "Messages waiting in a queue"),
            &["queue"],
        )?;
        registry.register(Box::new(queue_depth.clone()))?;
        let outbox_lag_seconds = prometheus::Gauge::new(
            "hub_outbox_lag_seconds",
            "Age of the oldest unpublished outbox message",
        )?;
        registry.register(Box::new(outbox_lag_seconds.clone()))?;
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new(
                "hub_stage_duration_seconds",
                "Duration of each pipeline stage",
            )
            .buckets(exponential_buckets(0.0005, 2.5, 14)?),
            &["stage"],
        )?;
        registry.register(Box::new(stage_seconds.clone()))?;
        let register_checkpoint = IntGauge::new(
            "hub_register_checkpoint",
            "Last register sequence committed",
        )?;
        registry.register(Box::new(register_checkpoint.clone()))?;
        let outbox_pending =
            IntGauge::new("hub_outbox_pending", "Outbox messages awaiting publication")?;
        registry.register(Box::new(outbox_pending.clone()))?;
        let dependency_up = IntGaugeVec::new(
            Opts::new("hub_dependency_up", "1 when reachable"),
            &["dependency"],
        )?;
        registry.register(Box::new(dependency_up.clone()))?;
        let intake_connections_lost = counter(
            "hub_intake_connections_lost_total",
            "Connections of partner-facing queues' consumers lost, by queue and reason",
            &["queue", "reason"],
        )?;
        let messages_routed = counter(
            "hub_messages_routed_total",
            "Changes published to a subscriber's delivery queue, by subscriber",
            &["subscriber"],
        )?;
        let quarantined = IntGauge::new(
            "hub_quarantined_messages",
            "Messages the broker gave up on in a partner-facing queue, waiting in hub.quarantine",
        )?;
        registry.register(Box::new(quarantined.clone()))?;
        let values_withheld = counter(
            "hub_values_withheld_total",
            "Granted values withheld from a subscriber because they fail their check",
            &["subscriber", "field"],
        )?;
        Ok(Metrics {
            registry,
            changes_polled,
            register_passes,
            register_rejections,
            register_errors,
            messages_published,
            messages_delivered,
            messages_failed,
            messages_skipped,
            commands,
            applications,
            application_transitions,
            application_transitions_refused,
            retries,
            retry_delay,
            dead_letters,
            dead_letters_unresolved,
            duplicates,
            redeliveries,
            queue_depth,
            outbox_lag_seconds,
            stage_seconds,
            register_checkpoint,
            outbox_pending,
            dependency_up,
            intake_connections_lost,
            messages_routed,
            quarantined,
            values_withheld,
        })
    }

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
