//! Forward-only migrations for the time-bank tables.

use sea_orm_migration::MigrationTrait;

mod m20261128_000401_timebank;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(m20261128_000401_timebank::Migration)]
}
