//! Forward-only migrations for the demand tables.

use sea_orm_migration::MigrationTrait;

mod m20261128_000301_demands;
mod m20261128_000302_closed_index;
mod m20261128_000303_daily_counts;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261128_000301_demands::Migration),
        Box::new(m20261128_000302_closed_index::Migration),
        Box::new(m20261128_000303_daily_counts::Migration),
    ]
}
