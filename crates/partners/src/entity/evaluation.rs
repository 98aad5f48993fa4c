use sea_orm::entity::prelude::*;

/// One periodic evaluation of a project (one per period).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "project_evaluations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    /// e.g. `2026-Q4` or `2026-11`.
    pub period: String,
    pub notes: String,
    /// Mean achievement of its goals, each capped at 1.
    pub achievement: f64,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
