//! Forward-only migrations for the identity tables. Never edit one that has landed; add a new
//! one instead.

use sea_orm_migration::MigrationTrait;

mod m20261128_000001_identity;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(m20261128_000001_identity::Migration)]
}
