//! Use cases of care. Each takes the caller's `Actor`, checks who may do it (community
//! staff write; their street reads; the resident reads their own record), and writes its
//! access-log row in the same transaction.

pub mod access;
pub mod map;
pub mod order_moves;
mod order_notes;
pub mod orders;
pub mod recipients;
pub mod visits;
pub mod workers;
