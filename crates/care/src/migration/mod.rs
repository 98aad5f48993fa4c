//! Forward-only migrations for the care tables.

use sea_orm_migration::MigrationTrait;

mod m20261202_000701_care;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(m20261202_000701_care::Migration)]
}
