//! The tables of the partner scheme.

pub mod list_event;
pub mod need;
pub mod need_demand;
pub mod problem;
pub mod resource;
