use sea_orm::entity::prelude::*;

/// One entry of the 需求清单: what residents of a community lack.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "community_needs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub community_id: String,
    pub org_path: String,
    /// `crate::lists::NeedCategory`.
    pub category: String,
    pub title: String,
    pub description: String,
    pub households: Option<i64>,
    /// `visit`, `demand` or `survey`.
    pub source: String,
    /// `open`, `matched`, `met` or `dropped`.
    pub status: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
