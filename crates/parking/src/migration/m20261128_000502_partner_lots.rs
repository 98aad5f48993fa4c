use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ParkingLots {
    Table,
    PartnerId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A partner (merchant) may own a lot, e.g. a shop opening its car park at night.
        manager
            .alter_table(
                Table::alter()
                    .table(ParkingLots::Table)
                    .add_column(ColumnDef::new(ParkingLots::PartnerId).string_len(36).null())
                    .to_owned(),
            )
            .await
    }
}
