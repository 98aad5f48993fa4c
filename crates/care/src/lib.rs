//! Care for special groups (五色图): residents registered with consent by their community's
//! staff, in one of five colours, with their phone and ID numbers sealed at rest
//! (`sealed`), shown masked, every read and write in an access log that keeps no personal
//! data; visits due by colour; and the care map, counts without names.

pub mod entity;
mod error;
pub mod migration;
pub mod report;
pub mod sealed;
pub mod service;
pub mod words;

pub use error::CareError;
