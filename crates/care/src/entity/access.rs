use sea_orm::entity::prelude::*;

/// Every read and write of a care record: who, when, what and why. It keeps no personal
/// data, so it outlives the record it speaks of (consent withdrawn, record erased).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "care_access_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub recipient_id: String,
    pub actor_id: String,
    /// `register`, `read`, `list`, `visit`, `withdraw`, ...
    pub action: String,
    pub purpose: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
