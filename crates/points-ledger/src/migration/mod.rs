//! Forward-only migrations for the ledger tables.

use sea_orm_migration::MigrationTrait;

mod m20261128_000101_ledger;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(m20261128_000101_ledger::Migration)]
}
