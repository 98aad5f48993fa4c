//! Merchants and partners (商户/合伙人): applications and review, the lifecycle with an audit
//! trail, members, and their points services (offers, 积分服务) with the residents' catalog.

pub mod entity;
mod error;
pub mod lifecycle;
pub mod migration;
pub mod offer_rules;
pub mod partner_kind;
pub mod redemption_state;
pub mod report;
pub mod service;

pub use error::MerchantError;
pub use lifecycle::{MerchantAction, MerchantStatus};
pub use partner_kind::PartnerKind;
pub use redemption_state::{RedemptionAction, RedemptionStatus};
