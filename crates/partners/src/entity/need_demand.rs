use sea_orm::entity::prelude::*;

/// A demand (诉求) a need was raised from: the link back to what residents filed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "community_need_demands")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub demand_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
