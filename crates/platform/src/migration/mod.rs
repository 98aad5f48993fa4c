//! Tables of the shared plumbing (idempotency records). Forward-only.

use sea_orm_migration::MigrationTrait;

mod m20261128_000050_idempotency;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(m20261128_000050_idempotency::Migration)]
}
