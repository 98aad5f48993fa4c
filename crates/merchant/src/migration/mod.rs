//! Forward-only migrations for the merchant tables.

use sea_orm_migration::MigrationTrait;

mod m20261128_000201_merchants;
mod m20261128_000202_redemptions;
mod m20261128_000203_invites;
mod m20261202_000204_partner_kind;
mod m20261202_000205_offer_kind;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261128_000201_merchants::Migration),
        Box::new(m20261128_000202_redemptions::Migration),
        Box::new(m20261128_000203_invites::Migration),
        Box::new(m20261202_000204_partner_kind::Migration),
        Box::new(m20261202_000205_offer_kind::Migration),
    ]
}
