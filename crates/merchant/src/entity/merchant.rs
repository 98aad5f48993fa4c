use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merchants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub category: String,
    pub license_no: String,
    pub address: String,
    pub contact_phone: String,
    pub community_id: String,
    pub description: String,
    /// `group` (团体型) or `independent` (独立型).
    pub partner_type: String,
    pub status: crate::lifecycle::MerchantStatus,
    pub applicant_user_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The partner kind (`crate::PartnerKind`): `enterprise`, `social_org`, ...
    pub kind: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
