use sea_orm::entity::prelude::*;

/// A partner's public disclosure: its finances or a major matter, for a period.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_disclosures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partner_id: String,
    /// `finance` or `major_matter`.
    pub kind: String,
    /// e.g. `2026-Q4`.
    pub period: String,
    pub title: String,
    pub body: String,
    pub amount_fen: Option<i64>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
