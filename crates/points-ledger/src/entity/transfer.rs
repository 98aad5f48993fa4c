use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Unique forever: a retry with the same key returns this transfer.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    /// SHA-256 of the request's fields, to tell a retry from a different request.
    pub request_hash: String,
    pub asset: String,
    pub debit_account_id: String,
    pub credit_account_id: String,
    pub amount: i64,
    /// `allocation`, `award`, `redemption`, `parking`, `expiry`, `gift`, `reversal`, ...
    pub code: String,
    pub memo: String,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
    pub hold_id: Option<String>,
    #[sea_orm(unique)]
    pub reverses_transfer_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
