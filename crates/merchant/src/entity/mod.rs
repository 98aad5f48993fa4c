//! sea-orm models of the merchant tables.

pub mod merchant;
pub mod merchant_event;
pub mod merchant_invite;
pub mod merchant_member;
pub mod offer;
pub mod redemption;
