//! The tables of care.

pub mod access;
pub mod order;
pub mod recipient;
pub mod visit;
pub mod worker;
