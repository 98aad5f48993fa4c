//! The black-box HTTP suite, one test binary: each module drives the real server (started on
//! port 0 by `linli_tests::spawn_app`) over HTTP, like the mini-program and the dashboard do.
//! Shared helpers and fixtures live in the `linli_tests` library (`tests/src`).
//!
//! `TEST_LOG=1` shows the server's logs; `LINLI_TEST_DATABASE_URL` and `LINLI_TEST_REDIS_URL`
//! run everything against PostgreSQL and Redis.

mod auth_tokens;
mod auth_wechat;
mod authorization_matrix;
mod care;
mod command_line;
mod dashboard;
mod dashboard_browser;
mod demands;
mod home_services;
mod imports;
mod input_errors;
mod ledger;
mod me_profile;
mod merchants;
mod multi_process;
mod operations;
mod parking;
mod partners;
mod rate_limits;
mod redemptions;
mod redis_outage;
mod security;
mod shutdown;
mod simulation;
mod spreadsheets;
mod staff_and_orgs;
mod timebank;
mod wechat_outbox;
