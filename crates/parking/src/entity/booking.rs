use sea_orm::entity::prelude::*;

/// A slot booked for a window, paid from points held at booking time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "parking_bookings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub lot_id: String,
    pub slot_id: String,
    pub user_id: String,
    pub plate: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub status: crate::booking_state::BookingStatus,
    pub hold_id: String,
    pub held_points: i64,
    pub entered_at: Option<DateTimeUtc>,
    pub exited_at: Option<DateTimeUtc>,
    /// Charged for the time inside the booking (from the hold).
    pub charged_points: i64,
    /// Charged for time past `ends_at` (from the available balance).
    pub overstay_points: i64,
    /// Overstay the balance could not cover; blocks new bookings until paid.
    pub unpaid_points: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
