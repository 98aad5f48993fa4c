use sea_orm::entity::prelude::*;

/// A resident's demand (诉求). `status` and the timestamps change only together with an
/// appended event (see `service::demands`), so the row is a summary of its event history.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "demands")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub resident_id: String,
    pub category_id: String,
    pub title: String,
    pub description: String,
    pub district_id: String,
    pub street_id: String,
    pub community_id: String,
    pub community_path: String,
    /// The org that owns the demand now: its community, or the street after a transfer up.
    pub org_id: String,
    pub org_path: String,
    pub handler_id: Option<String>,
    pub status: String,
    pub location_lat: Option<f64>,
    pub location_lng: Option<f64>,
    pub location_address: Option<String>,
    /// JSON array of https URLs.
    pub photos: String,
    pub resolution: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub due_at: DateTimeUtc,
    /// When 75% of the SLA time has passed: the handler is warned then.
    pub warn_at: DateTimeUtc,
    pub accepted_at: Option<DateTimeUtc>,
    pub first_resolved_at: Option<DateTimeUtc>,
    /// The latest resolution (a reopened demand can be resolved again).
    pub resolved_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    /// `first_resolved_at - submitted_at`, in seconds.
    pub handling_seconds: Option<i64>,
    /// `first_resolved_at <= due_at`.
    pub resolved_on_time: Option<bool>,
    pub sla_warned_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub rating_satisfied: Option<bool>,
    pub rating_score: Option<i32>,
    pub rating_comment: Option<String>,
    pub rated_at: Option<DateTimeUtc>,
    /// Bumped by every change; updates compare-and-set on it.
    pub version: i32,
    /// 0..100 from the id: percentiles over very many demands read the slots below a bound
    /// as a fixed, uniform sample (see `service::metrics`).
    pub sample_slot: i16,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
