use sea_orm::entity::prelude::*;

/// Append-only audit trail of a merchant's lifecycle.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merchant_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub merchant_id: String,
    /// `apply`, `approve`, `reject`, `suspend`, `reinstate`, `close`.
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: String,
    pub reason: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
