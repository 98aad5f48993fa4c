use crate::order_state::OrderStatus;
use sea_orm::entity::prelude::*;

/// A home-service order (家政订单): a resident's own, or placed by community staff for a care
/// recipient. The price is held on the payer's account from the order until it is
/// confirmed (posted to the partner) or cancelled (released).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "home_service_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub offer_id: String,
    pub partner_id: String,
    pub offer_title: String,
    /// The resident served, when they have an account (the orderer of their own order).
    pub user_id: Option<String>,
    /// Who placed the order: the resident, or the staff member for a care recipient.
    pub ordered_by: String,
    pub care_recipient_id: Option<String>,
    /// Where it counts on the dashboard: the care recipient's compound, or else the
    /// partner's community.
    pub org_path: String,
    /// `points` or `time_credits`.
    pub asset: String,
    pub price: i64,
    /// `resident` (their wallet) or `community` (its public-benefit budget, 公益).
    pub paid_by: String,
    pub hold_id: String,
    /// When the service is wanted.
    pub at: DateTimeUtc,
    pub address_note: String,
    pub status: OrderStatus,
    pub worker_id: Option<String>,
    pub dispatched_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    /// 1–5, once, after confirmation.
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
