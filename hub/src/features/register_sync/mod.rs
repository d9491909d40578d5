//! Register sync and distribution: the leader reads the register's change feed into the
//! projection and the outbox ([`ingest`], with each change's recipients from [`recipients`]),
//! backfills subscribers that are new or changed ([`backfill`]) and relays the outbox; every
//! replica runs one consumer per subscriber whose [`distribute::Distributor`] delivers what
//! the subscriber may see through its channel.

mod admin;
pub mod backfill;
pub mod channels;
pub mod distribute;
mod feature;
pub mod ingest;
pub mod outbox;
pub mod recipients;

pub use feature::RegisterSync;
pub use outbox::RegisterOutbox;
