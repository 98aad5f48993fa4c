//! Partners of every kind on the merchant records: `kind` beside the form (`partner_type`).
//! Every record there before is an enterprise (驻社区企业), which is what a merchant is.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Kind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .add_column(
                        ColumnDef::new(Merchants::Kind)
                            .string_len(20)
                            .not_null()
                            .default("enterprise"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_merchants_kind_status")
                    .table(Merchants::Table)
                    .col(Merchants::Kind)
                    .col(Alias::new("status"))
                    .to_owned(),
            )
            .await
    }
}
