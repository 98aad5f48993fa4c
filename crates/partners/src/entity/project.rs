use sea_orm::entity::prelude::*;

/// A partner project (合伙人项目) in a community.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partner_id: String,
    pub community_id: String,
    pub org_path: String,
    /// `crate::lists::ProjectKind`.
    pub kind: String,
    /// `crate::lists::Mechanism`.
    pub mechanism: String,
    pub title: String,
    pub starts_on: Date,
    pub ends_on: Date,
    pub budget_fen: Option<i64>,
    /// `crate::project_state::ProjectStatus`.
    pub status: String,
    /// When and by whom the partner accepted it (agreeing needs it).
    pub accepted_at: Option<DateTimeUtc>,
    pub accepted_by: Option<String>,
    /// Why it ended early (a partner's exit).
    pub terminated_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
