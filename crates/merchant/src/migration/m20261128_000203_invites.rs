use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MerchantInvites {
    Table,
    Id,
    MerchantId,
    CodeHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedBy,
    AcceptedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MerchantInvites::Table)
                    .col(
                        ColumnDef::new(MerchantInvites::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(MerchantInvites::MerchantId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MerchantInvites::CodeHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(MerchantInvites::CreatedBy)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MerchantInvites::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MerchantInvites::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MerchantInvites::AcceptedBy)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MerchantInvites::AcceptedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MerchantInvites::Table, MerchantInvites::MerchantId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await
    }
}
