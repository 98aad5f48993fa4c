//! Tables of the shared plumbing (idempotency records, in-app notifications). Forward-only.

use sea_orm_migration::MigrationTrait;

mod m20261128_000050_idempotency;
mod m20261128_000060_notifications;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261128_000050_idempotency::Migration),
        Box::new(m20261128_000060_notifications::Migration),
    ]
}
