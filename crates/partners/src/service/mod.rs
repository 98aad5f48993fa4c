//! Use cases of the partner scheme. Each takes the caller's `Actor` and the connection of
//! its unit of work, checks scope, and writes with its history row.

pub mod directory;
pub mod disclosures;
pub mod empowerment;
pub mod exits;
pub mod history;
pub mod matches;
pub mod needs;
pub mod problems;
pub mod projects;
pub mod resources;
mod scope;
pub mod spaces;
