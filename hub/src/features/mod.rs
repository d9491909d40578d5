//! What the hub does, one module per feature, each plugged into the runtime through
//! [`crate::runtime::Feature`]: its queues, its tasks on every replica and on the leader, its
//! routes. [`standard`] is the one list of them; start-up is their union ([`crate::app`]).

pub mod applications;
pub mod commands;
pub mod dead_letters;
pub mod register_sync;

use crate::runtime::Feature;

/// Every feature of the hub, in the order they start (and, on the leader, lead).
pub fn standard() -> Vec<Box<dyn Feature>> {
    vec![
        Box::new(register_sync::RegisterSync),
        Box::new(commands::Commands),
        Box::new(applications::ApplicationsFeature),
        Box::new(dead_letters::DeadLetters),
    ]
}
