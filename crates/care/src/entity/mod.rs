//! The tables of care.

pub mod access;
pub mod recipient;
pub mod visit;
pub mod worker;
