use sea_orm::entity::prelude::*;

/// A resident's reservation of an offer, redeemed (核销) by the merchant with a one-time code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "redemptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub offer_id: String,
    pub merchant_id: String,
    pub user_id: String,
    /// Price and value as they were when reserved.
    pub points: i64,
    pub cash_value_fen: i64,
    pub offer_title: String,
    pub status: crate::redemption_state::RedemptionStatus,
    /// The ledger hold on the resident's points.
    pub hold_id: String,
    /// The reservation lapses at this time unless redeemed.
    pub expires_at: DateTimeUtc,
    /// SHA-256 of the current QR code; cleared when used or replaced.
    #[sea_orm(unique)]
    pub code_hash: Option<String>,
    /// SHA-256 of `merchant_id:digits`, the manual-entry fallback of the same code.
    #[sea_orm(unique)]
    pub short_code_hash: Option<String>,
    pub code_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub redeemed_at: Option<DateTimeUtc>,
    pub redeemed_by: Option<String>,
    pub ended_at: Option<DateTimeUtc>,
    pub end_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
