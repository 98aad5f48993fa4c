use sea_orm::entity::prelude::*;

/// What the community gives a partner back (双向赋能).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_empowerments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partner_id: String,
    /// `publicity`, `policy_priority`, `free_venue`, `incubation`, `skills_platform`, `honour`.
    pub kind: String,
    pub detail: String,
    pub granted_on: Date,
    pub granted_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
