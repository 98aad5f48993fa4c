//! Community partners (社区合伙人), the "1+3+N" scheme: the public directory of partners of
//! every kind (the partner records are `merchant`'s), the three lists a community keeps
//! (resources by partners, needs and problems by staff, each with its history), and the
//! matching of a need to the resources that could serve it.

pub mod entity;
mod error;
pub mod lists;
pub mod matching;
pub mod migration;
pub mod project_state;
pub mod report;
pub mod service;

pub use error::PartnerError;
