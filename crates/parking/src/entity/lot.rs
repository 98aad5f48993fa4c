use sea_orm::entity::prelude::*;

/// A car park residents can book with points, often a public unit's lot opened off-hours.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "parking_lots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub org_path: String,
    /// Set when a partner (merchant) owns the lot: its staff run it beside the org's.
    pub partner_id: Option<String>,
    pub name: String,
    pub address: String,
    pub slot_count: i64,
    pub points_per_hour: i64,
    pub billing_unit_minutes: i64,
    /// JSON array of `open_hours::Window`.
    pub open_hours: String,
    pub max_booking_hours: i64,
    /// A car may enter this many minutes before its booking starts.
    pub entry_grace_minutes: i64,
    /// HMAC key of the lot's plate camera; rotatable.
    pub gate_secret: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
