//! The load and fault harnesses' shared parts: a client that talks to Linli as the
//! mini-program does and records every answer, the servers they start, the scenarios of a
//! busy day, and the Markdown report. `linli-load` (src/main.rs) measures; `linli-faults`
//! (src/bin/linli-faults.rs) breaks processes, Redis and PostgreSQL under a keyed write load
//! and checks that nothing acknowledged was lost or doubled.

pub mod client;
pub mod faults;
pub mod report;
pub mod scenarios;
pub mod servers;
