use sea_orm::entity::prelude::*;

/// A points service (积分服务) a merchant offers residents.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub merchant_id: String,
    /// `service` (reserved, redeemed with a code) or `home_service` (ordered).
    pub kind: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub points_price: i64,
    /// Minutes of time credits a home service may be paid with instead; `None`: points only.
    pub time_credits_price: Option<i64>,
    pub cash_value_fen: i64,
    /// Left to reserve; `None` is unlimited.
    pub stock: Option<i64>,
    pub per_user_limit: Option<i64>,
    pub valid_from: DateTimeUtc,
    pub valid_until: DateTimeUtc,
    /// `draft`, `published` or `unpublished`.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
