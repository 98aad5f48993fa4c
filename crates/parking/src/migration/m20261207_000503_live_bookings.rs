use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The free-slot query asks which slots of a lot live bookings take for a window.
        // Through `ix_parking_bookings_slot` (slot, start) it walked every booking of each
        // slot that started before the window ends, finished ones included: a lot's first
        // slots collect thousands over a year, and each booking's search grew with them.
        // Live bookings are a handful per slot; this index holds only those, by lot and
        // end. Both backends accept the same partial index, and SQLite uses it because the
        // query repeats its condition word for word. It replaces the old index, whose only
        // readers (free slots, the overlap check) ask for live bookings alone.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_parking_bookings_live_lot ON parking_bookings \
             (lot_id, ends_at) WHERE status IN ('booked', 'active')",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ix_parking_bookings_slot")
            .await?;
        // The gate looks a plate up at its lot, by status, earliest start first. With the old
        // index (plate, status) the planner could prefer (lot, start) for the order and walk
        // the lot's whole history; this one answers both lookups in order, alone.
        db.execute_unprepared(
            "CREATE INDEX ix_parking_bookings_lot_plate ON parking_bookings \
             (lot_id, plate, status, starts_at)",
        )
        .await?;
        db.execute_unprepared("DROP INDEX ix_parking_bookings_plate")
            .await?;
        Ok(())
    }
}
