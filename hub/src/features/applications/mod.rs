//! Service applications: loket → hub → provider → hub → loket.
//!
//! - **Intake** ([`Applications::submit`], from `POST /applications` or the queue
//!   `hub.applications.intake`): every field error at once, nothing stored for invalid input;
//!   one dossier per applicationId (a resubmission gets the dossier it made; a different
//!   submission under the same id is a conflict).
//! - **Eligibility and enrichment** (`catalogue`): an ineligible application is stored as
//!   `ingediend → afgewezen` with every reason and never reaches the provider; an eligible one
//!   is enriched from the projection with exactly the data the service may receive and
//!   queued for its provider (`hub.provider.<provider>`), in the same transaction.
//! - **Submission** ([`ProviderHandler`], one consumer per provider): the provider adapter
//!   submits; its answer moves the application (`ontvangen` with the provider's reference,
//!   and on to a decision when the provider decides at once). A provider that is down is a
//!   transient failure: retried with backoff by the consumer runtime.
//! - **Follow-up** ([`follow_up`], on the leader): asks the providers where open applications
//!   stand and applies what changed.
//! - **Publishing** ([`ApplicationOutbox`], by the one outbox relay on the leader): every
//!   transition is recorded with an
//!   `application.status-changed` in `application_outbox`, published in order to
//!   `hub.applications` for the loket.
//!
//! Text the store cannot hold (U+0000) is the item's failure, never a held consumer: a
//! submission or a municipality's answer carrying it is refused naming the field (400, or a
//! dead letter); a provider's reason or reference is kept with U+FFFD in its place.
//!
//! Every transition goes through the state machine (`ApplicationStatus::can_move_to`); one
//! it does not allow is refused, logged and counted, never applied.

pub mod api;
pub mod catalogue;
mod feature;
pub mod providers;

pub use feature::ApplicationsFeature;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use adapter_provider::{Decision, Provider, ProviderError};
use async_trait::async_trait;
use contracts::applications::{
    ApplicationMetadata, ApplicationStatus, ApplicationStatusChanged, ApplicationSubmitted,
    EnrichedApplication, APPLICATION_STATUS_CHANGED,
};
use contracts::VCode;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::runtime::broker::topology::APPLICATIONS;
use crate::runtime::broker::{Incoming, Outgoing, Properties};
use crate::runtime::consume::{Failure, MessageHandler, Outcome};
use crate::runtime::metrics::Metrics;
use crate::runtime::store::applications::{
    ApplicationRow, ApplicationStore, Created, Move, Moved, NewApplication, OutboxEntry,
};
use crate::runtime::store::{Store, StoreError};
use catalogue::{ServiceCatalogue, ServiceDefinition};

/// AMQP type of the message that hands an eligible application to its provider's queue.
pub const DISPATCH_TYPE: &str = "application.dispatch";

/// The routing key on `hub.applications` of a provider's queue.
pub fn provider_routing_key(provider: &str) -> String {
    format!("provider.{provider}")
}

/// One field error of a refused submission (`application/problem+json` `errors`): the
/// catalogue's, for the service's own fields and for the rest of the submission alike.
pub use crate::features::applications::catalogue::FieldError;

/// What became of a valid submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    pub application_id: Uuid,
    pub status: ApplicationStatus,
    /// False when the applicationId was known (a resubmission: nothing new was made).
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the application is invalid ({} errors)", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("applicationId {0} was already used for a different application")]
    Conflict(Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Applications {
    pub store: Arc<dyn ApplicationStore>,
    /// The projection: the association data applications are checked against and enriched
    /// from.
    pub projection: Arc<dyn Store>,
    pub catalogue: Arc<ServiceCatalogue>,
    pub metrics: Metrics,
    /// Woken after something was recorded for publishing.
    pub relay_wake: Arc<Notify>,
}

impl Applications {
    /// Validates, checks and stores a submission (see the module documentation). `body` is
    /// the loket's JSON: an `application.submitted` with or without `metadata`.
    pub async fn submit(&self, body: &Value) -> Result<Intake, IntakeError> {
        let mut errors = validate_submission(body);
        let service = body
            .get("serviceCode")
            .and_then(Value::as_str)
            .and_then(|code| self.catalogue.get(code));
        if let (Some(service), Some(Value::Object(fields))) = (service, body.get("fields")) {
            errors.extend(catalogue::validate_fields(service, fields));
        } else if body.get("serviceCode").and_then(Value::as_str).is_some() && service.is_none() {
            errors.push(FieldError::new(
                "serviceCode",
                "unknown-service",
                "no such service in the catalogue",
            ));
        }
        let v_code = body
            .get("vCode")
            .and_then(Value::as_str)
            .and_then(|v| v.parse::<VCode>().ok());
        let mut stored = None;
        if let Some(v_code) = &v_code {
            stored = self
                .projection
                .associations(std::slice::from_ref(v_code))
                .await?
                .remove(v_code);
            if stored.is_none() {
                errors.push(FieldError::new(
                    "vCode",
                    "unknown-association",
                    "the register does not know this association (or the hub has not read it yet)",
                ));
            }
        }
        let (Some(service), Some(stored), true) = (service, stored, errors.is_empty()) else {
            self.count("invalid");
            return Err(IntakeError::Invalid(errors));
        };
        let submitted = to_submitted(body)?;
        self.accept(service, submitted, &stored.vereniging).await
    }

    async fn accept(
        &self,
        service: &ServiceDefinition,
        submitted: ApplicationSubmitted,
        vereniging: &contracts::Vereniging,
    ) -> Result<Intake, IntakeError> {
        let now = OffsetDateTime::now_utc();
        let provider = service.provider.to_string();
        let application = NewApplication {
            application_id: submitted.application_id,
            v_code: submitted.v_code.to_string(),
            service_code: service.code.clone(),
            provider: provider.clone(),
            submitted: serde_json::to_value(&submitted).map_err(corrupt)?,
            fingerprint: fingerprint(&submitted),
            correlation_id: submitted.metadata.correlation_id,
            submitted_at: submitted.metadata.time,
        };
        let mut moves = vec![Move {
            to: ApplicationStatus::Ingediend,
            reason: None,
            provider_reference: None,
        }];
        let mut outbox = Vec::new();
        match self.catalogue.eligibility(service, vereniging, now.date()) {
            Err(reasons) => moves.push(Move {
                to: ApplicationStatus::Afgewezen,
                reason: Some(format!(
                    "not eligible: {}",
                    catalogue::Reason::describe(&reasons)
                )),
                provider_reference: None,
            }),
            Ok(()) => {
                let enriched = catalogue::enrich(service, &submitted, vereniging);
                outbox.push(OutboxEntry {
                    exchange: APPLICATIONS.to_owned(),
                    routing_key: provider_routing_key(&provider),
                    message_type: DISPATCH_TYPE.to_owned(),
                    message_id: Uuid::new_v5(&submitted.application_id, DISPATCH_TYPE.as_bytes()),
                    correlation_id: submitted.metadata.correlation_id,
                    body: serde_json::to_vec(&enriched).map_err(corrupt)?,
                });
            }
        }
        let row = |status| ApplicationRow {
            application_id: submitted.application_id,
            v_code: submitted.v_code.to_string(),
            service_code: service.code.clone(),
            provider: provider.clone(),
            status,
            provider_reference: None,
            submitted: Value::Null,
            fingerprint: String::new(),
            correlation_id: submitted.metadata.correlation_id,
            submitted_at: submitted.metadata.time,
            updated_at: now,
        };
        let mut previous: Option<ApplicationStatus> = None;
        for m in &moves {
            outbox.extend(status_changed(&row(m.to), previous, m, now));
            previous = Some(m.to);
        }
        let last = moves
            .last()
            .map(|m| m.to)
            .unwrap_or(ApplicationStatus::Ingediend);
        match self.store.create(&application, &moves, &outbox).await? {
            Created::New => {
                self.relay_wake.notify_one();
                let outcome = if last == ApplicationStatus::Afgewezen {
                    "ineligible"
                } else {
                    "accepted"
                };
                self.count(outcome);
                tracing::info!(application_id = %submitted.application_id, service = %service.code,
                    v_code = %submitted.v_code, status = last.as_str(), "application received");
                Ok(Intake {
                    application_id: submitted.application_id,
                    status: last,
                    created: true,
                })
            }
            Created::Existing { row, same: true } => {
                self.count("resubmitted");
                Ok(Intake {
                    application_id: row.application_id,
                    status: row.status,
                    created: false,
                })
            }
            Created::Existing { row, same: false } => {
                self.count("conflict");
                Err(IntakeError::Conflict(row.application_id))
            }
        }
    }

    /// Applies a transition (withdrawal by the association, a provider's answer); `None`
    /// when the application does not exist. A transition the state machine does not allow
    /// is logged, counted and answered `Refused`.
    pub async fn transition(
        &self,
        application_id: Uuid,
        mut step: Move,
    ) -> Result<Option<Moved>, StoreError> {
        // A provider's reason or reference is text for people; one carrying a NUL would be
        // refused by the store on every attempt (and every follow-up poll): kept readable.
        step.reason = step.reason.as_deref().map(contracts::text::without_nul);
        step.provider_reference = step
            .provider_reference
            .as_deref()
            .map(contracts::text::without_nul);
        let now = OffsetDateTime::now_utc();
        let announce = |before: &ApplicationRow, m: &Move| {
            status_changed(before, Some(before.status), m, now)
                .into_iter()
                .collect()
        };
        let moved = self
            .store
            .transition(application_id, &step, &announce)
            .await?;
        match &moved {
            Moved::Applied { before } => {
                self.relay_wake.notify_one();
                self.metrics
                    .application_transitions
                    .with_label_values(&[step.to.as_str()])
                    .inc();
                tracing::info!(%application_id, from = before.status.as_str(),
                    to = step.to.as_str(), "application moved");
            }
            Moved::Refused { current } => {
                self.metrics
                    .application_transitions_refused
                    .with_label_values(&[step.to.as_str()])
                    .inc();
                tracing::warn!(%application_id, from = current.as_str(), to = step.to.as_str(),
                    "transition not allowed by the follow-up; not applied");
            }
            Moved::NotFound => return Ok(None),
        }
        Ok(Some(moved))
    }

    fn count(&self, outcome: &str) {
        self.metrics
            .applications
            .with_label_values(&[outcome])
            .inc();
    }
}

/// The `application.status-changed` for one move of `app`; `None` only if the stored vCode
/// does not read back (it was validated at intake).
fn status_changed(
    app: &ApplicationRow,
    previous: Option<ApplicationStatus>,
    m: &Move,
    now: OffsetDateTime,
) -> Option<OutboxEntry> {
    let Ok(v_code) = app.v_code.parse::<VCode>() else {
        tracing::error!(application_id = %app.application_id, v_code = %app.v_code,
            "stored application has an invalid vCode; status change not published");
        return None;
    };
    let message_id = Uuid::now_v7();
    let message = ApplicationStatusChanged {
        metadata: ApplicationMetadata {
            message_id,
            message_type: APPLICATION_STATUS_CHANGED.to_owned(),
            time: now,
            source: "hub/applications".to_owned(),
            correlation_id: app.correlation_id,
        },
        application_id: app.application_id,
        v_code,
        service_code: app.service_code.clone(),
        status: m.to,
        previous_status: previous,
        provider_reference: m
            .provider_reference
            .clone()
            .or_else(|| app.provider_reference.clone()),
        reason: m.reason.clone(),
        changed_at: now,
    };
    Some(OutboxEntry {
        exchange: APPLICATIONS.to_owned(),
        routing_key: APPLICATION_STATUS_CHANGED.to_owned(),
        message_type: APPLICATION_STATUS_CHANGED.to_owned(),
        message_id,
        correlation_id: app.correlation_id,
        // Serialising the hub's own type cannot fail.
        body: serde_json::to_vec(&message).ok()?,
    })
}

fn corrupt(e: serde_json::Error) -> IntakeError {
    IntakeError::Store(StoreError::corrupt_by(e))
}

/// What identifies a submission's content: a resubmission has the same, a different
/// application under a reused id has another.
fn fingerprint(s: &ApplicationSubmitted) -> String {
    let canonical: BTreeMap<&str, Value> = BTreeMap::from([
        ("vCode", Value::String(s.v_code.to_string())),
        ("serviceCode", Value::String(s.service_code.clone())),
        (
            "applicant",
            serde_json::to_value(&s.applicant).unwrap_or(Value::Null),
        ),
        ("fields", Value::Object(s.fields.clone())),
    ]);
    serde_json::to_string(&canonical).unwrap_or_default()
}

/// The submission as the contract type, with `metadata` made up when the loket sent none
/// (over HTTP).
fn to_submitted(body: &Value) -> Result<ApplicationSubmitted, IntakeError> {
    let mut body = body.clone();
    if let Value::Object(map) = &mut body {
        if !map.contains_key("metadata") {
            let id = map
                .get("applicationId")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Uuid>().ok())
                .unwrap_or_else(Uuid::now_v7);
            let metadata = ApplicationMetadata {
                message_id: Uuid::now_v7(),
                message_type: contracts::applications::APPLICATION_SUBMITTED.to_owned(),
                time: OffsetDateTime::now_utc(),
                source: "loket/http".to_owned(),
                correlation_id: id,
            };
            map.insert(
                "metadata".to_owned(),
                serde_json::to_value(metadata).map_err(corrupt)?,
            );
        }
    }
    serde_json::from_value(body)
        .map_err(|e| IntakeError::Invalid(vec![FieldError::new("", "invalid", e.to_string())]))
}

/// Every shape error of a submission at once (the service's own fields are checked against
/// the catalogue separately).
pub fn validate_submission(body: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let Value::Object(map) = body else {
        return vec![FieldError::new("", "invalid-type", "must be a JSON object")];
    };
    for path in contracts::text::nul_paths(body) {
        errors.push(FieldError::new(
            &path,
            contracts::text::NUL_CODE,
            contracts::text::NUL_REASON,
        ));
    }
    const KNOWN: [&str; 6] = [
        "metadata",
        "applicationId",
        "vCode",
        "serviceCode",
        "applicant",
        "fields",
    ];
    unknown_fields(map, &KNOWN, "", "not part of an application", &mut errors);
    match map.get("applicationId") {
        None => errors.push(FieldError::new("applicationId", "required", "missing")),
        Some(v) if v.as_str().and_then(|s| s.parse::<Uuid>().ok()).is_none() => errors.push(
            FieldError::new("applicationId", "invalid-format", "must be a UUID"),
        ),
        Some(_) => {}
    }
    match map.get("vCode") {
        None => errors.push(FieldError::new("vCode", "required", "missing")),
        Some(v) if v.as_str().and_then(|s| s.parse::<VCode>().ok()).is_none() => errors.push(
            FieldError::new("vCode", "invalid-format", "must be V followed by 7 digits"),
        ),
        Some(_) => {}
    }
    match map.get("serviceCode") {
        None => errors.push(FieldError::new("serviceCode", "required", "missing")),
        Some(v) if !v.is_string() => errors.push(FieldError::new(
            "serviceCode",
            "invalid-type",
            "must be a string",
        )),
        Some(_) => {}
    }
    match map.get("applicant") {
        None => errors.push(FieldError::new("applicant", "required", "missing")),
        Some(Value::Object(a)) => validate_applicant(a, &mut errors),
        Some(_) => errors.push(FieldError::new(
            "applicant",
            "invalid-type",
            "must be an object",
        )),
    }
    match map.get("fields") {
        None | Some(Value::Object(_)) => {}
        Some(_) => errors.push(FieldError::new(
            "fields",
            "invalid-type",
            "must be an object",
        )),
    }
    if let Some(metadata) = map.get("metadata") {
        if serde_json::from_value::<ApplicationMetadata>(metadata.clone()).is_err() {
            errors.push(FieldError::new(
                "metadata",
                "invalid",
                "must be an application message envelope (messageId, type, time, source, correlationId)",
            ));
        }
    }
    errors
}

/// An `unknown-field` error, at `prefix` and the key, for each key of `map` not in `known`.
fn unknown_fields(
    map: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
    reason: &str,
    errors: &mut Vec<FieldError>,
) {
    for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
        errors.push(FieldError::new(
            &format!("{prefix}{key}"),
            "unknown-field",
            reason,
        ));
    }
}

fn validate_applicant(a: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    const KNOWN: [&str; 5] = [
        "vertegenwoordigerId",
        "voornaam",
        "achternaam",
        "e-mail",
        "telefoon",
    ];
    unknown_fields(
        a,
        &KNOWN,
        "applicant.",
        "not part of an applicant (no INSZ or other personal data beyond these)",
        errors,
    );
    for key in ["voornaam", "achternaam"] {
        match a.get(key).and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => {}
            _ => errors.push(FieldError::new(
                &format!("applicant.{key}"),
                "required",
                "a non-empty string is required",
            )),
        }
    }
    match a.get("e-mail").and_then(Value::as_str) {
        Some(s) if s.parse::<contracts::Email>().is_ok() => {}
        Some(_) => errors.push(FieldError::new(
            "applicant.e-mail",
            "invalid-email",
            "not an e-mail address",
        )),
        None => errors.push(FieldError::new(
            "applicant.e-mail",
            "required",
            "an e-mail address is required",
        )),
    }
    if a.get("telefoon").is_some_and(|t| !t.is_string()) {
        errors.push(FieldError::new(
            "applicant.telefoon",
            "invalid-type",
            "must be a string",
        ));
    }
    if a.get("vertegenwoordigerId").is_some_and(|v| !v.is_u64()) {
        errors.push(FieldError::new(
            "applicant.vertegenwoordigerId",
            "invalid-type",
            "must be a positive integer",
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Intake from the queue
// ---------------------------------------------------------------------------------------

/// The `BatchHandler` behind `hub.applications.intake`: the loket's `application.submitted`
/// messages. A body [`crate::runtime::inbound::json`] refuses (too large, not UTF-8, not JSON) and
/// invalid ones are dead-lettered with the reason or every field error (an asynchronous caller
/// gets no answer but the dead letter); a database outage holds the batch.
pub struct IntakeHandler {
    pub applications: Arc<Applications>,
}

#[async_trait]
impl MessageHandler for IntakeHandler {
    async fn handle_one(&self, incoming: &Incoming) -> Outcome {
        let body = match crate::runtime::inbound::json(&incoming.body) {
            Ok(body) => body,
            Err(reason) => return Outcome::Failed(Failure::Permanent(reason)),
        };
        match self.applications.submit(&body).await {
            Ok(intake) if intake.created => Outcome::Done,
            Ok(_) => Outcome::Duplicate,
            Err(IntakeError::Invalid(errors)) => {
                Outcome::Failed(Failure::Permanent(describe_errors(&errors)))
            }
            Err(e @ IntakeError::Conflict(_)) => Outcome::Failed(Failure::Permanent(e.to_string())),
            Err(IntakeError::Store(e)) => Outcome::Failed(e.into()),
        }
    }
}

pub fn describe_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {} ({})", e.field, e.reason, e.code))
        .collect::<Vec<_>>()
        .join("; ")
}

// ---------------------------------------------------------------------------------------
// Submission to a provider
// ---------------------------------------------------------------------------------------

/// The `BatchHandler` behind `hub.provider.<provider>`: submits each queued application to
/// the provider and records its answer.
pub struct ProviderHandler {
    pub provider_name: String,
    pub provider: Arc<dyn Provider>,
    pub applications: Arc<Applications>,
}

#[async_trait]
impl MessageHandler for ProviderHandler {
    async fn handle_one(&self, incoming: &Incoming) -> Outcome {
        let enriched: EnrichedApplication = match serde_json::from_slice(&incoming.body) {
            Ok(e) => e,
            Err(e) => {
                return Outcome::Failed(Failure::Permanent(format!(
                    "not an enriched application: {e}"
                )))
            }
        };
        let id = enriched.application_id;
        let row = match self.applications.store.application(id).await {
            Ok(Some(row)) => row,
            Ok(None) => return Outcome::Failed(Failure::Permanent(format!("no application {id}"))),
            Err(e) => return Outcome::Failed(e.into()),
        };
        if row.status != ApplicationStatus::Ingediend {
            // Submitted before (a redelivery), or withdrawn meanwhile.
            return Outcome::Duplicate;
        }
        let submitted = match self.provider.submit(&enriched).await {
            Ok(s) => s,
            Err(ProviderError::Transient(r)) => return Outcome::Failed(Failure::Transient(r)),
            Err(ProviderError::Permanent(r)) => return Outcome::Failed(Failure::Permanent(r)),
        };
        tracing::info!(application_id = %id, provider = %self.provider_name,
            reference = %submitted.reference, decision = ?submitted.decision,
            "application submitted to the provider");
        let mut steps = vec![Move {
            to: ApplicationStatus::Ontvangen,
            reason: None,
            provider_reference: Some(submitted.reference.clone()),
        }];
        steps.extend(decision_move(&submitted.decision));
        for step in steps {
            if let Err(e) = self.applications.transition(id, step).await {
                return Outcome::Failed(e.into());
            }
        }
        Outcome::Done
    }
}

/// The move a provider's decision asks for (`Received` asks for none beyond `ontvangen`).
fn decision_move(decision: &Decision) -> Option<Move> {
    let (to, reason) = match decision {
        Decision::Received => return None,
        Decision::InTreatment => (ApplicationStatus::InBehandeling, None),
        Decision::Approved { detail } => (ApplicationStatus::Goedgekeurd, detail.clone()),
        Decision::Refused { reason } => (ApplicationStatus::Afgewezen, Some(reason.clone())),
    };
    Some(Move {
        to,
        reason,
        provider_reference: None,
    })
}

// ---------------------------------------------------------------------------------------
// A municipality as provider
// ---------------------------------------------------------------------------------------

/// The `BatchHandler` behind `hub.applications.status.<municipality>`: a municipality that
/// provides a service answers about its applications (it received them on
/// `municipality.<name>.applications`). Only its own applications, only the provider's
/// statuses; a transition the follow-up does not allow is refused and logged, never applied.
pub struct MunicipalStatusHandler {
    pub municipality: String,
    pub applications: Arc<Applications>,
}

#[async_trait]
impl MessageHandler for MunicipalStatusHandler {
    async fn handle_one(&self, incoming: &Incoming) -> Outcome {
        use contracts::applications::MunicipalApplicationStatus;
        let not_an_answer = |e| {
            Outcome::Failed(Failure::Permanent(format!(
                "not a municipality.application-status: {e}"
            )))
        };
        let raw = match crate::runtime::inbound::json(&incoming.body) {
            Ok(body) => body,
            Err(reason) => return Outcome::Failed(Failure::Permanent(reason)),
        };
        // The municipality can send it again without the NUL; stored, it would be refused.
        let nul = contracts::text::nul_paths(&raw);
        if !nul.is_empty() {
            return Outcome::Failed(Failure::Permanent(format!(
                "{}: {}",
                nul.join(", "),
                contracts::text::NUL_REASON
            )));
        }
        let answer: MunicipalApplicationStatus = match serde_json::from_value(raw) {
            Ok(a) => a,
            Err(e) => return not_an_answer(e),
        };
        if matches!(
            answer.status,
            ApplicationStatus::Ingediend | ApplicationStatus::Ingetrokken
        ) {
            return Outcome::Failed(Failure::Permanent(format!(
                "a provider cannot set {}",
                answer.status.as_str()
            )));
        }
        let id = answer.application_id;
        let row = match self.applications.store.application(id).await {
            Ok(Some(row)) => row,
            Ok(None) => return Outcome::Failed(Failure::Permanent(format!("no application {id}"))),
            Err(e) => return Outcome::Failed(e.into()),
        };
        if row.provider != format!("municipality:{}", self.municipality) {
            return Outcome::Failed(Failure::Permanent(format!(
                "application {id} is not {}'s to answer",
                self.municipality
            )));
        }
        // What the loket's `application.status-changed` needs: a reference once received, a
        // reason with a refusal.
        if answer.status == ApplicationStatus::Ontvangen
            && answer.provider_reference.is_none()
            && row.provider_reference.is_none()
        {
            return Outcome::Failed(Failure::Permanent(
                "ontvangen needs the municipality's providerReference".to_owned(),
            ));
        }
        if answer.status == ApplicationStatus::Afgewezen && answer.reason.is_none() {
            return Outcome::Failed(Failure::Permanent("afgewezen needs a reason".to_owned()));
        }
        let step = Move {
            to: answer.status,
            reason: answer.reason,
            provider_reference: answer.provider_reference,
        };
        match self.applications.transition(id, step).await {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Failed(e.into()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Follow-up and publishing (leader only)
// ---------------------------------------------------------------------------------------

/// Asks the providers where open applications stand, every `interval`, and applies what
/// changed. Runs on the leader only.
pub async fn follow_up(
    applications: Arc<Applications>,
    providers: HashMap<String, Arc<dyn Provider>>,
    interval: Duration,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let open = match applications.store.open_applications(500).await {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "follow-up: cannot read open applications");
                continue;
            }
        };
        for app in open {
            let (Some(provider), Some(reference)) =
                (providers.get(&app.provider), &app.provider_reference)
            else {
                continue;
            };
            let decision = match provider.status(reference).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(application_id = %app.application_id, provider = %app.provider,
                        error = %e, "follow-up: provider did not answer");
                    continue;
                }
            };
            let Some(step) = decision_move(&decision) else {
                continue;
            };
            if step.to == app.status {
                continue;
            }
            if let Err(e) = applications.transition(app.application_id, step).await {
                tracing::warn!(application_id = %app.application_id, error = %e,
                    "follow-up: cannot record the provider's answer");
            }
        }
    }
}

/// The applications' outbox (`application_outbox`), published by the one
/// [`crate::runtime::relay::Relay`]: status changes for the loket and applications for the providers'
/// queues, in order.
pub struct ApplicationOutbox(pub Arc<dyn ApplicationStore>);

/// The queue named by the dead letter of an application outbox message the broker refused.
pub const APPLICATION_OUTBOX_QUEUE: &str = "hub.application-outbox";

#[async_trait]
impl crate::runtime::relay::Outbox for ApplicationOutbox {
    fn adapter(&self) -> &'static str {
        "applications"
    }

    fn aside_queue(&self) -> &'static str {
        APPLICATION_OUTBOX_QUEUE
    }

    async fn pending(
        &self,
        limit: usize,
    ) -> Result<Vec<crate::runtime::relay::PendingRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(self
            .0
            .pending_outbox(limit)
            .await?
            .into_iter()
            .map(|p| crate::runtime::relay::PendingRow {
                id: p.id,
                copies: vec![(
                    Outgoing {
                        exchange: p.entry.exchange,
                        routing_key: p.entry.routing_key,
                        properties: Properties {
                            message_id: Some(p.entry.message_id.to_string()),
                            message_type: Some(p.entry.message_type),
                            correlation_id: Some(p.entry.correlation_id.to_string()),
                            ..Properties::default()
                        },
                        body: p.entry.body,
                    },
                    None,
                )],
            })
            .collect())
    }

    async fn mark_published(&self, ids: &[i64]) -> Result<(), StoreError> {
        self.0.mark_published(ids).await
    }

    async fn prune(&self, age: Duration) -> Result<u64, StoreError> {
        self.0.prune_outbox(age).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_keys_of_a_submission_and_its_applicant_are_named() {
        let body = json!({
            "applicationId": "0190a5a0-0000-7000-8000-000000000001",
            "vCode": "V0001001",
            "serviceCode": "uldk-tentlening",
            "applicant": { "voornaam": "An", "achternaam": "Peeters", "insz": "85071512397" },
            "fields": {},
            "extra": true
        });
        let unknown: Vec<FieldError> = validate_submission(&body)
            .into_iter()
            .filter(|e| e.code == "unknown-field")
            .collect();
        assert_eq!(
            unknown,
            [
                FieldError::new("extra", "unknown-field", "not part of an application"),
                FieldError::new(
                    "applicant.insz",
                    "unknown-field",
                    "not part of an applicant (no INSZ or other personal data beyond these)"
                ),
            ]
        );
    }
}
