use sea_orm::entity::prelude::*;

/// One entry of the 资源清单: what a partner brings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_resources")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partner_id: String,
    /// The partner's community, and its org path (for scoped lists).
    pub community_id: String,
    pub org_path: String,
    /// `venue`, `service`, `skill`, `goods`, `funding` or `volunteer_time`.
    pub resource_type: String,
    pub title: String,
    pub description: String,
    /// The need categories the partner says it serves, as a JSON array.
    pub categories: String,
    /// Households (or people) it can serve at once, and how many it serves now.
    pub capacity: i64,
    pub capacity_used: i64,
    pub availability: String,
    /// `available` or `withdrawn`.
    pub status: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
