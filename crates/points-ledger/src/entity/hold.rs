use sea_orm::entity::prelude::*;

/// A two-phase reservation: `pending` until posted, voided or expired.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_holds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub request_hash: String,
    pub asset: String,
    pub account_id: String,
    pub amount: i64,
    /// `pending`, `posted`, `voided` or `expired`.
    pub status: String,
    pub expires_at: DateTimeUtc,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
    /// The transfer that posted it.
    pub transfer_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
