use sea_orm::entity::prelude::*;

/// A resident's place at an activity, their attendance, and what settlement paid them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_signups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub activity_id: String,
    pub user_id: String,
    pub status: crate::signup_state::SignupStatus,
    pub created_at: DateTimeUtc,
    /// Waiting-list order: the earliest `updated_at` among the waitlisted moves up first.
    pub updated_at: DateTimeUtc,
    pub checked_in_at: Option<DateTimeUtc>,
    pub checked_out_at: Option<DateTimeUtc>,
    /// Why the organiser set the check-out (a forgotten one).
    pub check_out_note: Option<String>,
    /// Set once, by the settlement that paid this attendance.
    pub settled_at: Option<DateTimeUtc>,
    pub settled_minutes: Option<i64>,
    pub settled_points: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
