use sea_orm::entity::prelude::*;

/// One step in a demand's life, append-only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "demand_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub demand_id: String,
    /// A `state_machine::Action` name, or `submit`.
    pub action: String,
    /// `None` for `submit`.
    pub from_status: Option<String>,
    pub to_status: String,
    /// `None` for the system's jobs.
    pub actor_id: Option<String>,
    pub note: String,
    /// JSON array of https URLs.
    pub photos: String,
    /// Staff-only (internal comments, SLA escalations); residents do not see these.
    pub internal: bool,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
