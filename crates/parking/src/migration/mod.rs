//! Forward-only migrations for the parking tables.

use sea_orm_migration::MigrationTrait;

mod m20261128_000501_parking;
mod m20261128_000502_partner_lots;
mod m20261207_000503_live_bookings;
mod m20261207_000504_bookings_due;

pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(m20261128_000501_parking::Migration),
        Box::new(m20261128_000502_partner_lots::Migration),
        Box::new(m20261207_000503_live_bookings::Migration),
        Box::new(m20261207_000504_bookings_due::Migration),
    ]
}
