use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The no-show job asks every round for booked bookings that started before a moment,
        // across lots. No index answered it: each round read the whole table (a year of the
        // district's bookings), and the job round's check for due work would do the same.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_parking_bookings_status_start ON parking_bookings \
                 (status, starts_at)",
            )
            .await?;
        Ok(())
    }
}
