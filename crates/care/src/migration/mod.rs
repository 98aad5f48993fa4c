//! Forward-only migrations for the care tables.

use sea_orm_migration::MigrationTrait;

mod m20261202_000701_care;
mod m20261202_000702_workers;
mod m20261202_000703_home_service_orders;
mod m20261207_000704_orders_due;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261202_000701_care::Migration),
        Box::new(m20261202_000702_workers::Migration),
        Box::new(m20261202_000703_home_service_orders::Migration),
        Box::new(m20261207_000704_orders_due::Migration),
    ]
}
