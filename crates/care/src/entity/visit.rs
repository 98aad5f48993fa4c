use sea_orm::entity::prelude::*;

/// A visit by staff to a care recipient.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "care_visits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub recipient_id: String,
    pub at: DateTimeUtc,
    pub note: String,
    /// `well`, `needs_help`, `referred` or `not_home`.
    pub outcome: String,
    pub staff_id: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
