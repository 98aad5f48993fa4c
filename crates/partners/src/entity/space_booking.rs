use sea_orm::entity::prelude::*;

/// A booking of a community space: `pending` until staff (or the operating partner)
/// approve or reject it; the resident may cancel it before. Approved ones never overlap.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "space_bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub space_id: String,
    pub user_id: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub purpose: String,
    pub attendees: i64,
    /// `pending`, `approved`, `rejected` or `cancelled`.
    pub status: String,
    /// Points held at booking (posted on approval, released otherwise).
    pub points: i64,
    pub hold_id: Option<String>,
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
