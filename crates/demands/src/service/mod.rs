pub mod actions;
pub mod categories;
pub mod demands;
pub mod export;
pub mod metrics;
pub mod notify;
pub mod rollup;
pub mod sla;
