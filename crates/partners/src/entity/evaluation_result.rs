use sea_orm::entity::prelude::*;

/// What one goal achieved in one evaluation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_evaluation_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub evaluation_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub metric: String,
    pub target: i64,
    pub achieved: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
