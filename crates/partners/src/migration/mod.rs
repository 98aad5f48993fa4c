//! Forward-only migrations for the partner tables.

use sea_orm_migration::MigrationTrait;

mod m20261202_000601_lists;
mod m20261202_000602_projects;
mod m20261202_000603_supervision_and_spaces;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261202_000601_lists::Migration),
        Box::new(m20261202_000602_projects::Migration),
        Box::new(m20261202_000603_supervision_and_spaces::Migration),
    ]
}
