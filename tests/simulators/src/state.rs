//! The simulator's state: associations, the global sequence, tokens, faults, counters and
//! the beheer requests received.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use time::Date;

use crate::beheer::WriteRecord;
use crate::data::normalize_vcode;
use crate::merge_patch::merge_patch;

/// Request counters, as served by `GET /_sim/stats`.
///
/// `mutaties_requests` and `detail_requests` count every request to those routes, including the
/// ones answered with an injected fault or a 401; `write_requests` counts every beheer request
/// (`PATCH`/`POST`/`DELETE` under `/v1/verenigingen/{vCode}`) likewise. `faults_served` counts
/// the injected faults of reads and of writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub token_requests: u64,
    pub mutaties_requests: u64,
    pub detail_requests: u64,
    pub write_requests: u64,
    pub faults_served: u64,
    pub unauthorized: u64,
}

/// Why a control operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("vCode `{0}` is not V followed by 7 digits")]
    InvalidVCode(String),
    #[error("association `{0}` does not exist or was removed")]
    NotFound(String),
    #[error("invalid body: {0}")]
    InvalidBody(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub vereniging: Value,
    pub version: u64,
    pub sequence: u64,
    pub removed: bool,
    pub malformed: bool,
    /// Bytes of filler (`"opvulling"`) added to the detail document until the next change.
    pub padding: usize,
    pub modified: Date,
    /// Highest ids handed out by the beheer API, so that a deleted id is never reused.
    pub ids: IdHighWater,
}

/// Highest `contactgegevenId` and `locatieId` ever handed out for one association.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct IdHighWater {
    pub contactgegeven: u64,
    pub locatie: u64,
}

/// What the register simulator keeps behind its lock.
#[derive(Debug, Default)]
pub struct State {
    pub(crate) entries: BTreeMap<String, Entry>,
    pub sequence: u64,
    pub tokens: HashMap<String, Instant>,
    /// (status, remaining count)
    pub fault: Option<(u16, u32)>,
    /// Injected faults of beheer requests: (status, remaining count)
    pub write_fault: Option<(u16, u32)>,
    /// How long beheer answers are held back after the command was applied.
    pub write_delay: Duration,
    /// Every beheer request received, in order.
    pub writes: Vec<WriteRecord>,
    pub stats: Stats,
}

/// What a running register simulator shares with its server.
pub struct Shared {
    pub state: Mutex<State>,
    pub client_id: String,
    pub client_secret: String,
    pub token_ttl: Duration,
}

impl Shared {
    /// Locks the state; a poisoned lock (a panicking test thread) is still usable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl crate::server::Simulator for Shared {
    const NAME: &'static str = "RegisterSim";
    type State = State;
    fn state(&self) -> MutexGuard<'_, State> {
        self.lock()
    }
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

/// (new global sequence, new version)
pub(crate) type Bump = (u64, u64);

impl State {
    fn live(&self, vcode: &str) -> Result<(String, &Entry), SimError> {
        let key = normalize_vcode(vcode).ok_or_else(|| SimError::InvalidVCode(vcode.to_owned()))?;
        match self.entries.get(&key) {
            Some(e) if !e.removed => Ok((key, e)),
            _ => Err(SimError::NotFound(key)),
        }
    }

    /// Applies `change` to a live entry and bumps its version and the global sequence.
    pub(crate) fn bump(
        &mut self,
        vcode: &str,
        change: impl FnOnce(&mut Entry),
    ) -> Result<Bump, SimError> {
        let (key, _) = self.live(vcode)?;
        self.sequence += 1;
        let seq = self.sequence;
        let entry = self
            .entries
            .get_mut(&key)
            .ok_or_else(|| SimError::NotFound(key.clone()))?;
        change(entry);
        entry.version += 1;
        entry.sequence = seq;
        entry.modified = today();
        Ok((seq, entry.version))
    }

    pub fn vcodes(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.removed)
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn get(&self, vcode: &str) -> Option<Value> {
        self.live(vcode).ok().map(|(_, e)| e.vereniging.clone())
    }

    pub fn version(&self, vcode: &str) -> Option<u64> {
        self.live(vcode).ok().map(|(_, e)| e.version)
    }

    /// Creates or replaces. `path_vcode`, when given, must match the object's `vCode` if it has
    /// one, and is written into the object if it has none.
    pub fn put(
        &mut self,
        mut vereniging: Value,
        path_vcode: Option<&str>,
    ) -> Result<Bump, SimError> {
        let Some(obj) = vereniging.as_object_mut() else {
            return Err(SimError::InvalidBody(
                "a vereniging must be a JSON object".into(),
            ));
        };
        let body_vcode = match obj.get("vCode") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                Some(normalize_vcode(s).ok_or_else(|| SimError::InvalidVCode(s.clone()))?)
            }
            Some(other) => return Err(SimError::InvalidVCode(other.to_string())),
        };
        let path_vcode = match path_vcode {
            Some(p) => {
                Some(normalize_vcode(p).ok_or_else(|| SimError::InvalidVCode(p.to_owned()))?)
            }
            None => None,
        };
        let key = match (path_vcode, body_vcode) {
            (Some(p), Some(b)) if p != b => {
                return Err(SimError::InvalidBody(format!(
                    "vCode in body ({b}) differs from the path ({p})"
                )))
            }
            (Some(p), _) => p,
            (None, Some(b)) => b,
            (None, None) => return Err(SimError::InvalidVCode(String::new())),
        };
        obj.insert("vCode".into(), Value::String(key.clone()));
        self.sequence += 1;
        let seq = self.sequence;
        let (version, ids) = match self.entries.get(&key) {
            Some(e) => (e.version + 1, e.ids),
            None => (1, IdHighWater::default()),
        };
        self.entries.insert(
            key,
            Entry {
                vereniging,
                version,
                sequence: seq,
                removed: false,
                malformed: false,
                padding: 0,
                modified: today(),
                ids,
            },
        );
        Ok((seq, version))
    }

    pub fn patch(&mut self, vcode: &str, patch: &Value) -> Result<Bump, SimError> {
        if !patch.is_object() {
            return Err(SimError::InvalidBody(
                "a merge patch of a vereniging must be a JSON object".into(),
            ));
        }
        self.bump(vcode, |e| {
            let vcode = e.vereniging.get("vCode").cloned();
            merge_patch(&mut e.vereniging, patch);
            if let (Some(obj), Some(vcode)) = (e.vereniging.as_object_mut(), vcode) {
                obj.insert("vCode".into(), vcode);
            }
            e.malformed = false;
            e.padding = 0;
        })
    }

    pub fn stop(&mut self, vcode: &str, einddatum: &str) -> Result<Bump, SimError> {
        self.bump(vcode, |e| {
            if let Some(obj) = e.vereniging.as_object_mut() {
                obj.insert("status".into(), Value::String("Gestopt".into()));
                obj.insert("einddatum".into(), Value::String(einddatum.to_owned()));
            }
            e.malformed = false;
            e.padding = 0;
        })
    }

    pub fn remove(&mut self, vcode: &str) -> Result<Bump, SimError> {
        self.bump(vcode, |e| {
            e.removed = true;
            e.malformed = false;
            e.padding = 0;
        })
    }

    pub fn make_malformed(&mut self, vcode: &str) -> Result<Bump, SimError> {
        self.bump(vcode, |e| e.malformed = true)
    }

    pub fn make_huge(&mut self, vcode: &str, bytes: usize) -> Result<Bump, SimError> {
        self.bump(vcode, |e| e.padding = bytes)
    }

    pub fn set_fault(&mut self, count: u32, status: u16) {
        self.fault = armed(count, status);
    }

    /// Consumes one injected fault, if any.
    pub fn take_fault(&mut self) -> Option<u16> {
        take(&mut self.fault, &mut self.stats.faults_served)
    }

    pub fn set_write_fault(&mut self, count: u32, status: u16) {
        self.write_fault = armed(count, status);
    }

    /// Consumes one injected fault of a beheer request, if any.
    pub fn take_write_fault(&mut self) -> Option<u16> {
        take(&mut self.write_fault, &mut self.stats.faults_served)
    }

    pub fn issue_token(&mut self, ttl: Duration) -> String {
        let now = Instant::now();
        self.tokens.retain(|_, exp| *exp > now);
        let mut rng = rand::rng();
        let token = format!("{:032x}{:032x}", rng.random::<u128>(), rng.random::<u128>());
        self.tokens.insert(token.clone(), now + ttl);
        token
    }

    pub fn token_valid(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }

    pub fn expire_tokens(&mut self) -> usize {
        let n = self.tokens.len();
        self.tokens.clear();
        n
    }

    /// Latest sequence per vCode, for those above `sinds`, ordered by sequence.
    pub fn mutaties(&self, sinds: u64) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.sequence > sinds)
            .map(|(k, e)| (k.clone(), e.sequence))
            .collect();
        out.sort_by_key(|(_, s)| *s);
        out
    }
}

/// `count` faults answering `status` (500 when it is not an HTTP status); none for 0.
fn armed(count: u32, status: u16) -> Option<(u16, u32)> {
    let status = if (100..=599).contains(&status) {
        status
    } else {
        500
    };
    (count > 0).then_some((status, count))
}

/// Consumes one of the `fault`s armed, if any, counting it as served.
fn take(fault: &mut Option<(u16, u32)>, served: &mut u64) -> Option<u16> {
    let (status, count) = (*fault)?;
    *fault = (count > 1).then_some((status, count - 1));
    *served += 1;
    Some(status)
}
