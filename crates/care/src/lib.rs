//! Care for special groups (五色图): residents registered with consent by their community's
//! staff, in one of five colours, with their phone and ID numbers sealed at rest
//! (`sealed`), shown masked, every read and write in an access log that keeps no personal
//! data; visits due by colour; the care map, counts without names; and home services:
//! verified workers and orders paid in points or time credits (or by the community).

pub mod entity;
mod error;
pub mod migration;
pub mod order_state;
pub mod report;
pub mod sealed;
pub mod service;
pub mod words;

pub use error::CareError;
