use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The free-slot query asks, for each slot, whether a live booking ends after the
        // window starts. Through `ix_parking_bookings_slot` (slot, start) it walked every
        // booking of the slot that started before the window ends, finished ones included:
        // a lot's first slots collect thousands over a year, and each booking's search grew
        // with them. Live bookings are a handful per slot; this index holds only those.
        // Both backends accept the same partial index, and SQLite uses it because the
        // query repeats its condition word for word. It replaces the old index, whose only
        // readers (free slots, the overlap check) ask for live bookings alone.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_parking_bookings_live_slot ON parking_bookings \
             (slot_id, ends_at) WHERE status IN ('booked', 'active')",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ix_parking_bookings_slot")
            .await?;
        Ok(())
    }
}
