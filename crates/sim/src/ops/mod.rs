//! What the simulated people do, each through the public API, each keeping the truth up to
//! date with what the answer must have changed.

pub(crate) mod care;
mod demands;
pub(crate) mod disclosures;
pub(crate) mod help;
pub(crate) mod home_services;
mod parking;
pub(crate) mod partners;
mod people;
mod redemptions;
pub mod setup;
mod spaces;
pub(crate) mod timebank;
