use sea_orm::entity::prelude::*;

/// A plate camera's report, kept so a repeated event id gets the same answer.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "parking_gate_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub lot_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    pub plate: String,
    /// `entry` or `exit`.
    pub kind: String,
    pub at: DateTimeUtc,
    /// The JSON answer given.
    pub response: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
