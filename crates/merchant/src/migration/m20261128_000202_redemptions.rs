use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Redemptions {
    Table,
    Id,
    OfferId,
    MerchantId,
    UserId,
    Points,
    CashValueFen,
    OfferTitle,
    Status,
    HoldId,
    ExpiresAt,
    CodeHash,
    ShortCodeHash,
    CodeExpiresAt,
    CreatedAt,
    RedeemedAt,
    RedeemedBy,
    EndedAt,
    EndReason,
}

#[derive(DeriveIden)]
enum Offers {
    Table,
    Id,
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
                    .table(Redemptions::Table)
                    .col(
                        ColumnDef::new(Redemptions::Id)
                            .string_len(36)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::OfferId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::MerchantId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::UserId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Redemptions::Points).big_integer().not_null())
                    .col(
                        ColumnDef::new(Redemptions::CashValueFen)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::OfferTitle)
                            .string_len(60)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::HoldId)
                            .string_len(36)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::CodeHash)
                            .string_len(64)
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::ShortCodeHash)
                            .string_len(64)
                            .null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::CodeExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::RedeemedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::RedeemedBy)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Redemptions::EndedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Redemptions::EndReason).string_len(32).null())
                    .check(Expr::col(Redemptions::Status).is_in([
                        "reserved",
                        "redeemed",
                        "cancelled",
                        "expired",
                    ]))
                    .check(Expr::col(Redemptions::Points).gt(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Redemptions::Table, Redemptions::OfferId)
                            .to(Offers::Table, Offers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Redemptions::Table, Redemptions::MerchantId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_redemptions_user",
                vec![Redemptions::UserId, Redemptions::Id],
            ),
            (
                "ix_redemptions_offer_user",
                vec![Redemptions::OfferId, Redemptions::UserId],
            ),
            (
                "ix_redemptions_merchant",
                vec![Redemptions::MerchantId, Redemptions::Status],
            ),
            (
                "ix_redemptions_expiry",
                vec![Redemptions::Status, Redemptions::ExpiresAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Redemptions::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}
