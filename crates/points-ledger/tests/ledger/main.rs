//! The ledger's integration tests, one test binary: behaviour of each operation, the batcher,
//! concurrent writers on both backends, and a model-based property test against a plain
//! in-memory ledger. `support` opens a fresh database per test (SQLite, or PostgreSQL when
//! `LINLI_TEST_DATABASE_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod batch;
mod behaviour;
mod concurrency;
mod deferred;
mod model;
mod support;
