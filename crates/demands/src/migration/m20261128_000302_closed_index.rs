use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Demands {
    Table,
    Status,
    ClosedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The dashboard counts demands closed per day of a period.
        manager
            .create_index(
                Index::create()
                    .name("ix_demands_status_closed")
                    .table(Demands::Table)
                    .col(Demands::Status)
                    .col(Demands::ClosedAt)
                    .to_owned(),
            )
            .await
    }
}
