use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The stale-order job asks every round for unserved orders past their time and
        // completed ones left unconfirmed, across partners. Without these it read the whole
        // table each round, and so would the job round's check for due work.
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_home_service_orders_status_at ON home_service_orders (status, at)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_home_service_orders_status_completed ON home_service_orders \
             (status, completed_at)",
        )
        .await?;
        Ok(())
    }
}
