//! Forward-only migrations for the care tables.

use sea_orm_migration::MigrationTrait;

mod m20261202_000701_care;
mod m20261202_000702_workers;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261202_000701_care::Migration),
        Box::new(m20261202_000702_workers::Migration),
    ]
}
