//! Resident demands (诉求): the state machine, storage with an append-only event history,
//! categories with service levels, the SLA jobs, and the metrics the district reports.

pub mod entity;
mod error;
pub mod migration;
pub mod rules;
pub mod service;
pub mod state_machine;

pub use error::DemandError;
pub use state_machine::{Action, ActorKind, DemandState};
