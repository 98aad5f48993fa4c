//! The Linli HTTP API: actix-web routes per context, extractors, problem+json errors, the
//! OpenAPI document, demo seed and the `linli` command line.

pub mod amount;
pub mod cli;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod jobs;
pub mod leaderboards;
pub mod metrics;
pub mod middleware;
pub mod migrator;
pub mod openapi;
pub mod outbox;
pub mod public_reads;
pub mod rate_limit;
pub mod roster_import;
pub mod routes;
pub mod seed;
mod seed_partners;
pub mod simulate;
pub mod spreadsheet;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod unit_of_work;

pub use startup::Application;
