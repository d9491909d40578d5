//! Municipality → register: the batch handler behind `hub.commands.<municipality>`. A
//! command (JSON, `contracts::commands::Command`) is validated, sent to the register's
//! beheer API as the municipality (`VR-Initiator` = its OVO code, `X-Correlation-Id`,
//! `If-Match`), and answered on `hub.replies` (routing key: the municipality) with
//! `accepted`, `rejected` or `conflicted`.
//!
//! The register has no idempotency key, so the hub keeps its own (`register_command`, see
//! [`crate::runtime::store::commands`]): a command seen again after it finished gets its stored
//! reply and nothing else; every attempt of one command sends the same `If-Match` (the
//! command's `expectedVersion`, or the version read before the first attempt), so an
//! attempt after one that did reach the register is refused with 412 (or, for a repeated
//! add, "duplicate") — and then the hub compares the command with the register's snapshot:
//! if its effect is there, the reply is `accepted`. One effect, one reply.
//!
//! Invalid commands are answered `rejected` with every field error and never reach the
//! register. A register that is down, slow or busy is a transient failure (retried with
//! backoff by the consumer runtime, then dead-lettered); a command without a readable
//! `commandId` cannot be answered and is dead-lettered at once.

mod feature;

pub use feature::Commands;

use std::sync::Arc;

use adapter_municipality::commands::{
    already_applied, command_id_of, parse_command, rejected_by_register, to_write,
};
use adapter_register::beheer::WriteOutcome;
use adapter_register::{parse_detail, Detail, RegisterClient, RegisterError};
use async_trait::async_trait;
use contracts::commands::{Command, Outcome as ReplyOutcome, Reply, ReplyError};
use contracts::{VCode, Vereniging};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::runtime::broker::topology::REPLIES;
use crate::runtime::broker::{Broker, BrokerError, Incoming, Outgoing, Properties};
use crate::runtime::consume::{Failure, MessageHandler, Outcome};
use crate::runtime::metrics::Metrics;
use crate::runtime::store::commands::{Claim, CommandStore};
use crate::runtime::store::StoreError;

/// The AMQP type of a reply.
pub const REPLY_TYPE: &str = "municipality.reply";

pub struct CommandHandler {
    /// The municipality's adapter name (routing key of its replies).
    pub municipality: String,
    /// Its OVO code: `VR-Initiator` on every write.
    pub ovo_code: String,
    pub store: Arc<dyn CommandStore>,
    pub broker: Arc<dyn Broker>,
    pub register: Arc<RegisterClient>,
    pub metrics: Metrics,
}

/// What became of one command before its reply is published.
enum Decided {
    /// Answer this (and store it as the command's one reply).
    Reply(Box<Reply>),
    /// Finished earlier: send the stored reply again.
    Again(serde_json::Value),
}

/// One command at a time: commands are few, and each waits on the register.
#[async_trait]
impl MessageHandler for CommandHandler {
    async fn handle_one(&self, incoming: &Incoming) -> Outcome {
        // Too large, not UTF-8, not JSON or nested too deep: it cannot even be answered.
        if let Err(reason) = crate::runtime::inbound::json(&incoming.body) {
            return Outcome::Failed(Failure::Permanent(reason));
        }
        let Some(command_id) = command_id_of(&incoming.body) else {
            return Outcome::Failed(Failure::Permanent(
                "command has no readable commandId: it cannot be answered".to_owned(),
            ));
        };
        let decided = match parse_command(&incoming.body) {
            Ok(command) => self.decide(command).await,
            Err(errors) => self
                .record_invalid(command_id, &incoming.body, errors)
                .await
                .map_err(Failure::from),
        };
        let (reply, duplicate) = match decided {
            Ok(Decided::Reply(reply)) => {
                let value = match serde_json::to_value(&*reply) {
                    Ok(v) => v,
                    Err(e) => return Outcome::Failed(Failure::Permanent(e.to_string())),
                };
                let outcome = outcome_name(reply.outcome);
                match self
                    .store
                    .finish(&self.municipality, command_id, outcome, &value)
                    .await
                {
                    Ok(stored) => (stored, false),
                    Err(e) => return Outcome::Failed(e.into()),
                }
            }
            Ok(Decided::Again(stored)) => (stored, true),
            Err(failure) => return Outcome::Failed(failure),
        };
        if let Err(failure) = self.send_reply(command_id, &reply).await {
            return Outcome::Failed(failure);
        }
        let label = reply
            .get("outcome")
            .and_then(|o| o.as_str())
            .unwrap_or("unknown");
        self.metrics
            .commands
            .with_label_values(&[&self.municipality, label])
            .inc();
        if duplicate {
            Outcome::Duplicate
        } else {
            Outcome::Done
        }
    }
}

impl CommandHandler {
    /// An invalid command: recorded (so a resubmission gets the same answer) and rejected.
    async fn record_invalid(
        &self,
        command_id: Uuid,
        body: &[u8],
        errors: Vec<ReplyError>,
    ) -> Result<Decided, StoreError> {
        let v_code = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("vCode")?.as_str()?.parse::<VCode>().ok());
        if let Claim::Done { reply } = self
            .store
            .claim(&self.municipality, command_id, None, None)
            .await?
        {
            return Ok(Decided::Again(reply));
        }
        tracing::info!(municipality = %self.municipality, %command_id, errors = errors.len(),
            "command rejected before reaching the register");
        Ok(Decided::Reply(Box::new(Reply {
            command_id,
            correlation_id: command_id,
            v_code,
            outcome: ReplyOutcome::Rejected,
            version: None,
            sequence: None,
            errors,
            detail: Some("the command is invalid; it was not sent to the register".to_owned()),
            time: OffsetDateTime::now_utc(),
        })))
    }

    async fn decide(&self, command: Command) -> Result<Decided, Failure> {
        let command_id = command.command_id;
        let claim = self
            .store
            .claim(
                &self.municipality,
                command_id,
                Some(command.v_code.as_str()),
                Some(command.type_name()),
            )
            .await
            .map_err(Failure::from)?;
        let (attempt, base_version) = match claim {
            Claim::Done { reply } => return Ok(Decided::Again(reply)),
            Claim::Go {
                attempt,
                base_version,
            } => (attempt, base_version),
        };
        let reply = |outcome, version, sequence, errors, detail: Option<String>| {
            Decided::Reply(Box::new(Reply {
                command_id,
                correlation_id: command.correlation_id.unwrap_or(command_id),
                v_code: Some(command.v_code.clone()),
                outcome,
                version,
                sequence,
                errors,
                detail,
                time: OffsetDateTime::now_utc(),
            }))
        };

        // Every attempt sends the same If-Match: the command's, or the version read before
        // the first attempt (stored before anything is written).
        let if_match = match base_version.or(command.expected_version) {
            Some(v) => v,
            None => match self.current(&command.v_code).await? {
                Some((_, version)) => self
                    .store
                    .set_base_version(&self.municipality, command_id, version)
                    .await
                    .map_err(Failure::from)?,
                None => {
                    return Ok(reply(
                        ReplyOutcome::Rejected,
                        None,
                        None,
                        vec![unknown_v_code()],
                        Some(format!("{} is not in the register", command.v_code)),
                    ))
                }
            },
        };
        if base_version.is_none() && command.expected_version.is_some() {
            self.store
                .set_base_version(&self.municipality, command_id, if_match)
                .await
                .map_err(Failure::from)?;
        }

        let write = to_write(&command, &self.ovo_code, Some(if_match));
        let answer = self
            .register
            .write(&write)
            .await
            .map_err(register_failure)?;
        tracing::info!(municipality = %self.municipality, %command_id, attempt,
            v_code = %command.v_code, answer = ?answer, "command sent to the register");
        Ok(match answer {
            WriteOutcome::Accepted { version, sequence } => reply(
                ReplyOutcome::Accepted,
                Some(version),
                Some(sequence),
                vec![],
                None,
            ),
            WriteOutcome::Unchanged => reply(
                ReplyOutcome::Accepted,
                Some(if_match),
                None,
                vec![],
                Some("nothing to change".to_owned()),
            ),
            WriteOutcome::Conflict => match self.applied_already(&command).await? {
                Some(version) => reply(ReplyOutcome::Accepted, Some(version), None, vec![], None),
                None => reply(
                    ReplyOutcome::Conflicted,
                    None,
                    None,
                    vec![],
                    Some(format!(
                        "{} changed since version {if_match}; read it again and resend",
                        command.v_code
                    )),
                ),
            },
            WriteOutcome::Rejected { detail, errors } => {
                // A repeated attempt of an add that did reach the register is refused as a
                // duplicate: its effect is there.
                let done = if attempt > 1 {
                    self.applied_already(&command).await?
                } else {
                    None
                };
                match done {
                    Some(version) => {
                        reply(ReplyOutcome::Accepted, Some(version), None, vec![], None)
                    }
                    None => reply(
                        ReplyOutcome::Rejected,
                        None,
                        None,
                        rejected_by_register(&errors),
                        Some(detail),
                    ),
                }
            }
            WriteOutcome::NotFound { detail } => reply(
                ReplyOutcome::Rejected,
                None,
                None,
                vec![unknown_v_code()],
                Some(detail),
            ),
        })
    }

    /// The register's current snapshot and version of an association; `None`: unknown.
    async fn current(&self, v_code: &VCode) -> Result<Option<(Vereniging, u64)>, Failure> {
        match self
            .register
            .detail(v_code)
            .await
            .map_err(register_failure)?
        {
            Detail::NotFound => Ok(None),
            Detail::Found { body, version } => {
                let vereniging = parse_detail(v_code, &body).map_err(|e| {
                    Failure::Transient(format!("the register's {v_code} does not parse: {e}"))
                })?;
                let version = version.ok_or_else(|| {
                    Failure::Transient(format!("the register sent {v_code} without an ETag"))
                })?;
                Ok(Some((vereniging, version)))
            }
        }
    }

    /// The register's current version if the command's effect is already there.
    async fn applied_already(&self, command: &Command) -> Result<Option<u64>, Failure> {
        Ok(self
            .current(&command.v_code)
            .await?
            .filter(|(vereniging, _)| already_applied(command, vereniging))
            .map(|(_, version)| version))
    }

    async fn send_reply(&self, command_id: Uuid, reply: &serde_json::Value) -> Result<(), Failure> {
        let body = serde_json::to_vec(reply).map_err(|e| Failure::Permanent(e.to_string()))?;
        let correlation_id = reply
            .get("correlationId")
            .and_then(|c| c.as_str())
            .and_then(|c| c.parse().ok())
            .unwrap_or(command_id);
        let properties = Properties {
            // Derived, so a reply sent again carries the same id.
            message_id: Some(Uuid::new_v5(&command_id, REPLY_TYPE.as_bytes()).to_string()),
            message_type: Some(REPLY_TYPE.to_owned()),
            correlation_id: Some(correlation_id.to_string()),
            ..Properties::default()
        };
        self.broker
            .publish(vec![Outgoing {
                exchange: REPLIES.to_owned(),
                routing_key: self.municipality.clone(),
                properties,
                body,
            }])
            .await
            .map_err(|e| match e {
                BrokerError::Unavailable(m) => Failure::Unavailable(m),
                other => Failure::Transient(other.to_string()),
            })
    }
}

fn outcome_name(outcome: ReplyOutcome) -> &'static str {
    match outcome {
        ReplyOutcome::Accepted => "accepted",
        ReplyOutcome::Rejected => "rejected",
        ReplyOutcome::Conflicted => "conflicted",
    }
}

fn unknown_v_code() -> ReplyError {
    ReplyError {
        field: "vCode".to_owned(),
        code: "unknown-vcode".to_owned(),
        reason: "the register does not know this association".to_owned(),
    }
}

fn register_failure(e: RegisterError) -> Failure {
    if e.is_transient() {
        Failure::Transient(e.to_string())
    } else {
        Failure::Permanent(e.to_string())
    }
}
