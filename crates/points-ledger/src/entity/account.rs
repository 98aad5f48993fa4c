use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub asset: String,
    pub kind: String,
    pub owner_id: String,
    pub allow_negative: bool,
    /// Sum of this account's entries.
    pub balance: i64,
    /// Sum of its pending holds; `available = balance - held`.
    pub held: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
