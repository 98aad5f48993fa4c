//! Plumbing shared by every Linli context: configuration, the database connection and
//! migration runner, the cache (Redis or in-process), the clock, ids, paging, secrets, the
//! list of problem codes and the unit of work every changing request runs in.
//! No business rules live here.

pub mod audit;
pub mod batch_scope;
pub mod cache;
pub mod clock;
pub mod config;
pub mod db;
pub mod group_commit;
pub mod idempotency;
pub mod ids;
pub mod migration;
pub mod notifications;
pub mod outbox;
pub mod paging;
pub mod problem;
pub mod reach;
pub mod redact;
pub mod report;
pub mod schema;
pub mod secret;
pub mod statistics;
pub mod testing;
pub mod unit_of_work;
pub mod validation;

pub use cache::{Cache, CacheError};
pub use clock::Clock;
pub use problem::{Code, Problem};
pub use reach::Reach;
pub use secret::Secret;
pub use validation::{FieldError, ValidationErrors};
