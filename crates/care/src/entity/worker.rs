use sea_orm::entity::prelude::*;

/// A home-service partner's worker (家政人员). Dispatched only once community staff have
/// verified them (平台派驻认证人员). The phone is sealed like care records'.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "home_workers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub partner_id: String,
    /// The partner's community's org path (who may verify).
    pub org_path: String,
    pub name: String,
    pub phone_sealed: String,
    pub certificate_no: String,
    /// JSON array.
    pub skills: String,
    pub verified_at: Option<DateTimeUtc>,
    pub verified_by: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
