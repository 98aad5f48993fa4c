use sea_orm::entity::prelude::*;

/// One resident asking another for a service, paid in time credits held at the start.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "help_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub requester_id: String,
    pub helper_id: Option<String>,
    pub community_id: String,
    pub community_path: String,
    pub title: String,
    pub description: String,
    /// e.g. `housekeeping`, `escort`, `tutoring`.
    pub service_type: String,
    /// Time credits offered, held on the requester's wallet.
    pub minutes: i64,
    pub status: crate::help_state::HelpStatus,
    pub hold_id: String,
    pub dispute_reason: Option<String>,
    pub resolution: Option<String>,
    pub created_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
