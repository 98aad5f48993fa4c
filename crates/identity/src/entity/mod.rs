//! sea-orm models of the identity tables. Migrations do not import these (they describe the
//! schema at their own point in time).

pub mod auth_session;
pub mod org;
pub mod refresh_token;
pub mod role_binding;
pub mod staff_account;
pub mod user;
