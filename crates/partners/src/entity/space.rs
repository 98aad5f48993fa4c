use sea_orm::entity::prelude::*;

/// A community space offered in exchange for services (空间换服务).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "community_spaces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub org_path: String,
    pub name: String,
    pub area_m2: i64,
    /// JSON array of the scenes it serves (e.g. 老年活动, 儿童托管).
    pub scenes: String,
    /// JSON array of `parking::open_hours::Window` (Beijing time).
    pub open_hours: String,
    pub capacity: i64,
    /// The partner operating it, whose staff may approve its bookings.
    pub operator_partner_id: Option<String>,
    pub points_per_hour: i64,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
