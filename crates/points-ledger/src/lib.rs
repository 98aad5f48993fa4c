//! The points ledger: double-entry accounting for two assets, `points` and `time_credits`
//! (minutes). Every movement is a transfer with one debit and one credit of the same
//! positive amount; value is created only by accounts allowed to go negative (the district
//! treasury for points, the time-bank issuance account for time credits).
//!
//! Every use case takes the caller's connection or transaction (`&impl ConnectionTrait`), so
//! a redemption, a booking or a settlement moves value in the same transaction as its own
//! rows: both happen or neither does. Balances change only by conditional updates
//! (`... WHERE balance - held >= amount`), which are atomic on SQLite and PostgreSQL alike,
//! and the schema's CHECK constraints back them up.

pub mod account;
pub mod asset;
pub mod entity;
mod error;
pub mod expiry_rule;
pub mod migration;
pub mod service;

pub use account::{AccountKind, AccountRef};
pub use asset::Asset;
pub use error::LedgerError;
pub use expiry_rule::ExpiryRule;
