//! Identity use cases. Each takes the [`crate::Actor`] where a caller matters, opens one
//! transaction for what it changes, and returns domain results the API layer renders.

pub mod actor_memo;
pub mod auth;
pub mod orgs;
pub mod staff;
pub mod users;

pub use auth::{AuthService, LoginResult, TokenPair};
