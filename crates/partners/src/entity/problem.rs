use sea_orm::entity::prelude::*;

/// One entry of the 问题清单: what goes wrong in a community.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "community_problems")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub community_id: String,
    pub org_path: String,
    pub title: String,
    pub description: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    pub resolution: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub resolved_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
