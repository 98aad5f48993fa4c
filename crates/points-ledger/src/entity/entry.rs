use sea_orm::entity::prelude::*;

/// One side of a transfer: negative on the debited account, positive on the credited one.
/// Append-only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub transfer_id: String,
    pub account_id: String,
    pub amount: i64,
    /// The account's balance right after this entry.
    pub balance_after: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
