//! Forward-only migrations for the parking tables.

use sea_orm_migration::MigrationTrait;

mod m20261128_000501_parking;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(m20261128_000501_parking::Migration)]
}
