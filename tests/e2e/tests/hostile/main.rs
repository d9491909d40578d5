//! Hostile input, target `hostile`: every bad item is that item's failure, never an outage.
//!
//! Each module takes one class of bad input, as a careless or hostile partner (or the
//! register) would send it, against a running hub on real RabbitMQ and PostgreSQL, and
//! shows a clear error for a synchronous caller, or a dead letter / rejection with its
//! reason for an asynchronous one: nothing else held up, nothing lost, the hub ready
//! throughout, later changes still delivered.

#![allow(clippy::unwrap_used)]

mod amqp;
mod database;
mod fixture;
mod http;
mod register;
mod relay;
