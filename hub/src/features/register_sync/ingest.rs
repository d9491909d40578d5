//! Register → hub: reads the change feed, fetches each changed association, and commits
//! projection, outbox and checkpoint together.
//!
//! Runs only on the leader. A transient register failure ends the current pass after
//! committing what was read before it; the next pass starts from the checkpoint. A detail
//! document that does not parse, or holds text the store cannot hold (U+0000), is recorded
//! as a rejection and the pass goes on; so is one the store refuses (`StoreError::Rejected`)
//! when the chunk is committed again document by document.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use adapter_register::{parse_detail, Detail, Document, RegisterClient, RegisterError};
use contracts::{
    AssociationChanged, AssociationRemoved, MessageType, Metadata, Mutatie, Part, VCode,
};
use futures::stream::{self, StreamExt};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::RegisterSettings;
use crate::features::register_sync::recipients::Audience;
use crate::runtime::metrics::Metrics;
use crate::runtime::store::{
    HistoryLine, IngestBatch, OutboxMessage, ProjectionChange, Rejection, Store, StoreError,
    StoredAssociation,
};

pub const SOURCE: &str = "hub/register";
const ADAPTER: &str = "register";

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot encode a message: {0}")]
    Encode(#[from] serde_json::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Changes since the checkpoint.
    Poll,
    /// Every association, to catch what polling missed.
    Resync,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct PassReport {
    pub read: usize,
    pub changed: usize,
    pub removed: usize,
    pub rejected: usize,
}

pub struct Ingest {
    pub store: Arc<dyn Store>,
    pub client: Arc<RegisterClient>,
    pub metrics: Metrics,
    pub settings: RegisterSettings,
    /// Woken after each commit so the relay publishes without waiting for its tick.
    pub relay_wake: Arc<Notify>,
    /// Woken by an operator (HTTP or CLI) to run a resync now.
    pub resync_request: Arc<Notify>,
    /// Decides each change's recipients.
    pub audience: Arc<Audience>,
}

impl Ingest {
    /// Polls until `cancel`, resyncing on schedule and on request.
    pub async fn run(&self, cancel: CancellationToken) {
        let mut failures: u32 = 0;
        let mut next_resync = self
            .settings
            .resync_interval
            .map(|d| tokio::time::Instant::now() + d);
        let mut pass = Pass::Poll;
        loop {
            let started = std::time::Instant::now();
            let result = tokio::select! {
                _ = cancel.cancelled() => return,
                r = self.pass(pass) => r,
            };
            match result {
                Ok(report) => {
                    failures = 0;
                    let label = match pass {
                        Pass::Poll => "poll",
                        Pass::Resync => "resync",
                    };
                    self.metrics
                        .register_passes
                        .with_label_values(&[ADAPTER, label])
                        .inc();
                    if report.read > 0 || pass == Pass::Resync {
                        tracing::info!(
                            ?pass,
                            read = report.read,
                            changed = report.changed,
                            removed = report.removed,
                            rejected = report.rejected,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "register pass done"
                        );
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let kind = if is_transient(&e) {
                        "transient"
                    } else {
                        "permanent"
                    };
                    self.metrics
                        .register_errors
                        .with_label_values(&[ADAPTER, kind])
                        .inc();
                    tracing::warn!(?pass, error = %e, failures, "register pass failed; will retry");
                }
            }
            // Back off while the register or the database keeps failing (up to a minute).
            let wait = if failures == 0 {
                self.settings.poll_interval
            } else {
                (self.settings.poll_interval * 2u32.saturating_pow(failures.min(6)))
                    .min(Duration::from_secs(60))
            };
            let resync_at = next_resync
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
            pass = tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => Pass::Poll,
                _ = self.resync_request.notified() => Pass::Resync,
                _ = tokio::time::sleep_until(resync_at) => Pass::Resync,
            };
            if pass == Pass::Resync {
                next_resync = self
                    .settings
                    .resync_interval
                    .map(|d| tokio::time::Instant::now() + d);
            }
        }
    }

    /// One pass over the change feed.
    pub async fn pass(&self, pass: Pass) -> Result<PassReport, IngestError> {
        let since = match pass {
            Pass::Poll => self.store.checkpoint().await?,
            Pass::Resync => 0,
        };
        let mut mutaties = {
            let _t = self.metrics.time("register_change_feed");
            self.client.mutaties(since).await?
        };
        self.metrics
            .changes_polled
            .with_label_values(&[ADAPTER])
            .inc_by(mutaties.len() as u64);
        if pass == Pass::Resync {
            // Known associations the feed no longer lists are checked too (a 404 removes them).
            let listed: HashSet<VCode> = mutaties.iter().map(|m| m.v_code.clone()).collect();
            let checkpoint = self.store.checkpoint().await?;
            for v_code in self.store.known_v_codes().await? {
                if !listed.contains(&v_code) {
                    mutaties.push(Mutatie {
                        v_code,
                        sequence: checkpoint,
                    });
                }
            }
        }
        let mut report = PassReport {
            read: mutaties.len(),
            ..PassReport::default()
        };
        let mutaties = newest_per_association(mutaties);
        // The next chunk's documents are fetched while this one is prepared and committed,
        // and prepared while this one commits: the register's round trips, the hub's parsing
        // and PostgreSQL's writes overlap instead of taking turns. Safe because no vCode is in
        // two chunks (above): what a chunk looks up is never what the one before writes.
        let chunks: Vec<Vec<Mutatie>> = mutaties
            .chunks(self.settings.batch_size.max(1))
            .map(<[Mutatie]>::to_vec)
            .collect();
        let (fetched_tx, mut fetched_rx) = tokio::sync::mpsc::channel(1);
        let fetcher = tokio::spawn(tracing::Instrument::in_current_span(fetch_chunks(
            self.client.clone(),
            self.metrics.clone(),
            self.settings.concurrency,
            chunks,
            fetched_tx,
        )));
        // The fetcher ends with the pass, however the pass ends.
        let _stop_fetching = AbortOnDrop(fetcher);
        let mut prepared: Option<Prepared> = None;
        loop {
            let next = async {
                match fetched_rx.recv().await {
                    Some((chunk, fetched)) => self.prepare(chunk, fetched).await.map(Some),
                    None => Ok(None),
                }
            };
            let (committed, next) = match prepared.take() {
                Some(chunk) => {
                    let (committed, next) = tokio::join!(self.commit_chunk(chunk), next);
                    (Some(committed), next)
                }
                None => (None, next.await),
            };
            if let Some(committed) = committed {
                let (done, cut_short) = committed?;
                report.add(done);
                if let Some(e) = cut_short {
                    return Err(e.into());
                }
            }
            match next? {
                Some(chunk) => prepared = Some(chunk),
                None => return Ok(report),
            }
        }
    }

    /// Looks up what the hub holds of a fetched chunk's associations and turns each
    /// document into what is to be committed.
    async fn prepare(
        &self,
        chunk: Vec<Mutatie>,
        fetched: Vec<Result<Detail, RegisterError>>,
    ) -> Result<Prepared, IngestError> {
        let codes: Vec<VCode> = chunk.iter().map(|m| m.v_code.clone()).collect();
        let stored = {
            let _t = self.metrics.time("ingest_lookup");
            self.store.associations(&codes).await?
        };
        let _t = self.metrics.time("ingest_prepare");
        let mut report = PassReport::default();
        // One batch per document: committed together, or one by one when the store refuses
        // the chunk's data (see `commit`).
        let mut items: Vec<(Mutatie, IngestBatch)> = Vec::with_capacity(chunk.len());
        let mut cut_short = None;
        for (m, result) in chunk.into_iter().zip(fetched) {
            let old = stored.get(&m.v_code);
            let mut batch = IngestBatch::default();
            match result {
                // Any failed call ends the pass here: skipping the entry would lose the
                // change. Only a document that arrived but does not parse is rejected.
                Err(e) => {
                    cut_short = Some(e);
                    break;
                }
                Ok(Detail::NotFound) => {
                    if let Some(old) = old {
                        batch
                            .changes
                            .push(ProjectionChange::Remove(m.v_code.clone()));
                        let mut message = removed_message(&m)?;
                        message.recipients = Some(self.audience.of_removal(&old.vereniging));
                        batch.outbox.push(message);
                        batch.history.push(HistoryLine {
                            v_code: m.v_code.clone(),
                            sequence: m.sequence,
                            kind: MessageType::AssociationRemoved,
                            detail: serde_json::json!({}),
                        });
                        report.removed += 1;
                    }
                }
                Ok(Detail::Found { body, version }) => match parse_detail(&m.v_code, &body) {
                    Err(e) => self.reject(&mut batch, &m, e.to_string(), &mut report),
                    Ok(vereniging) => {
                        let nul = nul_fields(&body, &vereniging);
                        let association = StoredAssociation {
                            vereniging,
                            sequence: m.sequence,
                            version,
                        };
                        if !nul.is_empty() {
                            let reason =
                                format!("{}: {}", nul.join(", "), contracts::text::NUL_REASON);
                            self.reject(&mut batch, &m, reason, &mut report);
                        } else if !is_older(&association, old) {
                            self.project(&mut batch, &m, association, old, &mut report)?;
                        }
                    }
                },
            }
            items.push((m, batch));
        }
        Ok(Prepared {
            items,
            cut_short,
            report,
        })
    }

    /// Commits a prepared chunk. Returns what it did and the transient error that cut it
    /// short, if any (everything before that error is committed).
    async fn commit_chunk(
        &self,
        chunk: Prepared,
    ) -> Result<(PassReport, Option<RegisterError>), IngestError> {
        let Prepared {
            items,
            cut_short,
            mut report,
        } = chunk;
        let Some(checkpoint) = items.iter().map(|(m, _)| m.sequence).max() else {
            return Ok((report, cut_short));
        };
        {
            let _t = self.metrics.time("ingest_commit");
            self.commit(items, checkpoint, &mut report).await?;
        }
        // A resync re-reads old entries; the gauge only moves forward, like the checkpoint.
        let gauge = &self.metrics.register_checkpoint;
        if let Ok(c) = i64::try_from(checkpoint) {
            if c > gauge.get() {
                gauge.set(c);
            }
        }
        self.relay_wake.notify_one();
        Ok((report, cut_short))
    }

    /// Commits a chunk's documents and moves the checkpoint to `checkpoint`, in one
    /// transaction. When the store refuses the chunk's data (`StoreError::Rejected`: a
    /// value PostgreSQL cannot hold that the checks before missed), each document is
    /// committed on its own, the refused ones are recorded as rejections, and only then
    /// does the checkpoint move: one bad document never stops the feed.
    async fn commit(
        &self,
        items: Vec<(Mutatie, IngestBatch)>,
        checkpoint: u64,
        report: &mut PassReport,
    ) -> Result<(), IngestError> {
        let (mutaties, mut batches): (Vec<Mutatie>, Vec<IngestBatch>) = items.into_iter().unzip();
        let moved = IngestBatch {
            checkpoint: Some(checkpoint),
            ..IngestBatch::default()
        };
        batches.push(moved);
        match self.store.commit_ingest(&batches).await {
            Err(StoreError::Rejected { .. }) => {}
            other => return Ok(other?),
        }
        let mut refused = IngestBatch::default();
        for (m, item) in mutaties.iter().zip(&batches) {
            match self.store.commit_ingest(std::slice::from_ref(item)).await {
                Ok(()) => {}
                Err(e @ StoreError::Rejected { .. }) => {
                    self.reject(&mut refused, m, e.to_string(), report)
                }
                Err(e) => return Err(e.into()),
            }
        }
        refused.checkpoint = Some(checkpoint);
        Ok(self
            .store
            .commit_ingest(std::slice::from_ref(&refused))
            .await?)
    }

    /// Records a new or changed snapshot and, when a part changed, its message.
    fn project(
        &self,
        batch: &mut IngestBatch,
        m: &Mutatie,
        association: StoredAssociation,
        old: Option<&StoredAssociation>,
        report: &mut PassReport,
    ) -> Result<(), IngestError> {
        let parts = Part::changed(old.map(|o| &o.vereniging), &association.vereniging);
        if !parts.is_empty() {
            let mut detail = serde_json::json!({ "changedParts": &parts });
            if let Some(version) = association.version {
                detail["version"] = version.into();
            }
            batch.history.push(HistoryLine {
                v_code: m.v_code.clone(),
                sequence: m.sequence,
                kind: MessageType::AssociationChanged,
                detail,
            });
            let mut message = changed_message(m, &association, parts)?;
            message.recipients = Some(
                self.audience
                    .of_change(old.map(|o| &o.vereniging), &association.vereniging),
            );
            batch.outbox.push(message);
            report.changed += 1;
        }
        if parts_or_newer(old, &association) {
            batch
                .changes
                .push(ProjectionChange::Upsert(Box::new(association)));
        }
        Ok(())
    }

    fn reject(
        &self,
        batch: &mut IngestBatch,
        m: &Mutatie,
        reason: String,
        report: &mut PassReport,
    ) {
        // The parser's message may quote the offending scalar, NUL included.
        let reason = contracts::text::without_nul(&reason);
        tracing::warn!(v_code = %m.v_code, sequence = m.sequence, %reason, "rejected a register detail document");
        self.metrics
            .register_rejections
            .with_label_values(&[ADAPTER])
            .inc();
        report.rejected += 1;
        batch.rejections.push(Rejection {
            v_code: m.v_code.to_string(),
            sequence: m.sequence,
            reason,
            recorded_at: None,
        });
    }
}

/// The paths (under `vereniging.`) of the association's text holding U+0000, which the
/// store cannot hold. Checked on the parsed association, so a NUL in a field the hub does
/// not keep does no harm; JSON carries a NUL only escaped, so a body without `\u0000` has
/// none and is not walked.
fn nul_fields(body: &Document, vereniging: &contracts::Vereniging) -> Vec<String> {
    let Document::Read(body) = body else {
        return Vec::new();
    };
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return Vec::new();
    }
    serde_json::to_value(vereniging)
        .map(|v| contracts::text::nul_paths(&v))
        .unwrap_or_default()
        .into_iter()
        .map(|path| format!("vereniging.{path}"))
        .collect()
}

/// The register's read side can lag behind its change feed: never go back to an older
/// snapshot (a lower sequence, or a lower version when both are known).
fn is_older(new: &StoredAssociation, old: Option<&StoredAssociation>) -> bool {
    old.is_some_and(|o| {
        o.sequence > new.sequence || matches!((new.version, o.version), (Some(n), Some(o)) if n < o)
    })
}

/// Store the snapshot when it is new, changed, or carries a newer sequence.
fn parts_or_newer(old: Option<&StoredAssociation>, new: &StoredAssociation) -> bool {
    match old {
        None => true,
        Some(o) => o.sequence < new.sequence || o.vereniging != new.vereniging,
    }
}

/// A fetched chunk made ready to commit.
struct Prepared {
    /// One batch per mutation, in the feed's order.
    items: Vec<(Mutatie, IngestBatch)>,
    /// The transient error that cut the chunk short: the pass ends once the rest committed.
    cut_short: Option<RegisterError>,
    report: PassReport,
}

impl PassReport {
    fn add(&mut self, other: PassReport) {
        self.changed += other.changed;
        self.removed += other.removed;
        self.rejected += other.rejected;
    }
}

/// The feed without the entries of an association listed again further on: its document is
/// fetched once, for its newest entry, which is where it stays in the order. (The register's
/// detail answers with the current document whichever entry asked, so the earlier entries
/// would only repeat it under an older sequence.)
fn newest_per_association(mutaties: Vec<Mutatie>) -> Vec<Mutatie> {
    let mut last: HashMap<VCode, usize> = HashMap::with_capacity(mutaties.len());
    for (position, m) in mutaties.iter().enumerate() {
        last.insert(m.v_code.clone(), position);
    }
    mutaties
        .into_iter()
        .enumerate()
        .filter(|(position, m)| last.get(&m.v_code) == Some(position))
        .map(|(_, m)| m)
        .collect()
}

/// A chunk's mutations and their documents, in order.
type FetchedChunk = (Vec<Mutatie>, Vec<Result<Detail, RegisterError>>);

/// Fetches each chunk's documents (`concurrency` at once) and hands them on in order; stops
/// after a chunk with a failed call (the pass ends there) or when nobody takes them any more.
async fn fetch_chunks(
    client: Arc<RegisterClient>,
    metrics: Metrics,
    concurrency: usize,
    chunks: Vec<Vec<Mutatie>>,
    out: tokio::sync::mpsc::Sender<FetchedChunk>,
) {
    let timer = metrics
        .stage_seconds
        .with_label_values(&["register_fetch_detail"]);
    for chunk in chunks {
        // Owned codes: a spawned task's stream cannot borrow from the chunk it sends on.
        let codes: Vec<VCode> = chunk.iter().map(|m| m.v_code.clone()).collect();
        let fetched: Vec<Result<Detail, RegisterError>> = stream::iter(codes)
            .map(|v_code| {
                let client = client.clone();
                let timer = timer.clone();
                async move {
                    let _t = timer.start_timer();
                    client.detail(&v_code).await
                }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;
        let failed = fetched.iter().any(Result::is_err);
        if out.send((chunk, fetched)).await.is_err() || failed {
            return;
        }
    }
}

/// Aborts a spawned task when dropped (the pass ended, or was cancelled).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn is_transient(e: &IngestError) -> bool {
    match e {
        IngestError::Register(e) => e.is_transient(),
        IngestError::Store(StoreError::Unavailable { .. }) => true,
        _ => false,
    }
}

fn metadata(message_type: MessageType, m: &Mutatie, version: Option<u64>) -> Metadata {
    Metadata {
        message_id: Uuid::now_v7(),
        message_type,
        time: OffsetDateTime::now_utc(),
        source: SOURCE.to_owned(),
        correlation_id: Uuid::new_v4(),
        v_code: m.v_code.clone(),
        sequence: m.sequence,
        version,
    }
}

fn outbox_message(metadata: &Metadata, body: Vec<u8>) -> OutboxMessage {
    OutboxMessage {
        message_id: metadata.message_id,
        message_type: metadata.message_type,
        v_code: metadata.v_code.clone(),
        sequence: metadata.sequence,
        version: metadata.version,
        correlation_id: metadata.correlation_id,
        time: metadata.time,
        body,
        recipients: None,
    }
}

fn changed_message(
    m: &Mutatie,
    a: &StoredAssociation,
    changed_parts: Vec<Part>,
) -> Result<OutboxMessage, serde_json::Error> {
    let message = AssociationChanged {
        metadata: metadata(MessageType::AssociationChanged, m, a.version),
        changed_parts,
        withheld: Vec::new(),
        vereniging: a.vereniging.clone(),
    };
    Ok(outbox_message(
        &message.metadata,
        serde_json::to_vec(&message)?,
    ))
}

fn removed_message(m: &Mutatie) -> Result<OutboxMessage, serde_json::Error> {
    let message = AssociationRemoved {
        metadata: metadata(MessageType::AssociationRemoved, m, None),
    };
    Ok(outbox_message(
        &message.metadata,
        serde_json::to_vec(&message)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v_code: &str, sequence: u64) -> Mutatie {
        Mutatie {
            v_code: v_code.parse().expect("a vCode"),
            sequence,
        }
    }

    #[test]
    fn an_association_listed_again_is_read_once_at_its_newest_entry() {
        let feed = vec![
            m("V0001001", 1),
            m("V0001002", 2),
            m("V0001001", 3),
            m("V0001003", 4),
            m("V0001002", 5),
        ];
        let kept: Vec<(String, u64)> = newest_per_association(feed)
            .into_iter()
            .map(|m| (m.v_code.to_string(), m.sequence))
            .collect();
        assert_eq!(
            kept,
            [
                ("V0001001".to_owned(), 3),
                ("V0001003".to_owned(), 4),
                ("V0001002".to_owned(), 5)
            ]
        );
    }
}
