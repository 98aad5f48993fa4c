//! Resident demands (诉求). This first part is the pure state machine of API.md: which
//! action may happen in which state, by whom, and where it leads. Storage, SLA jobs, metrics
//! and HTTP build on it.

pub mod state_machine;

pub use state_machine::{Action, ActorKind, DemandState, Rejection, Transition};
