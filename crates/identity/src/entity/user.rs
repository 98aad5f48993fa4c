use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Set for residents who log in with WeChat; staff-only accounts have none.
    #[sea_orm(unique)]
    pub openid: Option<String>,
    pub unionid: Option<String>,
    pub nickname: Option<String>,
    pub phone: Option<String>,
    pub community_id: Option<String>,
    pub compound_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
