use sea_orm::entity::prelude::*;

/// A resident cared for (五色图). Phone and ID number are sealed (`crate::sealed`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "care_recipients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub community_id: String,
    pub compound_id: String,
    /// The compound's org path (scoping).
    pub org_path: String,
    /// The resident's account, when they have one (they then see their own record).
    pub user_id: Option<String>,
    pub name: String,
    pub phone_sealed: Option<String>,
    pub id_number_sealed: Option<String>,
    /// JSON arrays.
    pub groups: String,
    pub needs: String,
    pub colour: String,
    pub visit_every_days: i64,
    pub consent_at: DateTimeUtc,
    pub last_visit_at: Option<DateTimeUtc>,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
