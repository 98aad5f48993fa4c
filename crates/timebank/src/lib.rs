//! The time bank (时间银行): activities run by orgs with sign-ups, waiting lists and on-site
//! attendance, settled into time credits and points exactly once; help requests between
//! residents paid in held time credits; volunteer leaderboards.

pub mod check_code;
pub mod entity;
mod error;
pub mod help_state;
pub mod migration;
pub mod report;
pub mod service;
pub mod signup_state;

pub use error::TimebankError;
pub use help_state::{HelpStatus, HelpStep};
pub use signup_state::{ActivityStatus, SignupStatus, SignupStep};
