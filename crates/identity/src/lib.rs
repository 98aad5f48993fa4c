//! Identity: residents and staff, the org tree (district > street > community > compound),
//! roles bound to an org or a merchant, the [`Actor`] every use case receives, scope checks,
//! passwords and tokens.

pub mod actor;
pub mod entity;
mod error;
pub mod migration;
pub mod org_kind;
pub mod password;
pub mod report;
pub mod role;
pub mod service;
pub mod tokens;

pub use actor::{Actor, Binding, OrgRef};
pub use error::IdentityError;
pub use org_kind::OrgKind;
pub use role::Role;
