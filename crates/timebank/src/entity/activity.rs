use sea_orm::entity::prelude::*;

/// Something an org runs on a date: volunteering, a night-school class, a market.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub org_path: String,
    /// Set when an active partner (merchant) runs it: its staff manage it and its points
    /// account pays the points.
    pub partner_id: Option<String>,
    pub title: String,
    /// `volunteer`, `night_school`, `market` or `other`.
    pub kind: String,
    pub description: String,
    pub location: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub capacity: i64,
    /// Confirmed sign-ups now.
    pub confirmed: i64,
    pub points_per_hour: i64,
    /// Whether attendance earns time credits (1 hour of service = 60 minutes).
    pub time_credits: bool,
    /// Key of the rotating on-site check-in code; never leaves the server.
    pub check_secret: String,
    pub status: crate::signup_state::ActivityStatus,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
