use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LedgerAccounts {
    Table,
    Id,
    Asset,
    Kind,
    OwnerId,
    AllowNegative,
    Balance,
    Held,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerTransfers {
    Table,
    Id,
    IdempotencyKey,
    RequestHash,
    Asset,
    DebitAccountId,
    CreditAccountId,
    Amount,
    Code,
    Memo,
    RefType,
    RefId,
    HoldId,
    ReversesTransferId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerEntries {
    Table,
    Id,
    TransferId,
    AccountId,
    Amount,
    BalanceAfter,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerHolds {
    Table,
    Id,
    IdempotencyKey,
    RequestHash,
    Asset,
    AccountId,
    Amount,
    Status,
    ExpiresAt,
    RefType,
    RefId,
    TransferId,
    CreatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum LedgerLots {
    Table,
    Id,
    AccountId,
    TransferId,
    Amount,
    Remaining,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum LedgerLotDraws {
    Table,
    Id,
    TransferId,
    LotId,
    Amount,
}

fn id<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .string_len(36)
        .not_null()
        .primary_key()
        .to_owned()
}

fn reference<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string_len(36).not_null().to_owned()
}

fn money<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

fn text<T: IntoIden>(name: T, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().to_owned()
}

fn fk(
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .to_owned()
}

fn index(
    name: &str,
    table: impl IntoIden + 'static,
    cols: &[&str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(Alias::new(*col));
    }
    if unique {
        stmt.unique();
    }
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LedgerAccounts::Table)
                    .col(id(LedgerAccounts::Id))
                    .col(text(LedgerAccounts::Asset, 16))
                    .col(text(LedgerAccounts::Kind, 32))
                    .col(text(LedgerAccounts::OwnerId, 64))
                    .col(
                        ColumnDef::new(LedgerAccounts::AllowNegative)
                            .boolean()
                            .not_null(),
                    )
                    .col(money(LedgerAccounts::Balance).default(0))
                    .col(money(LedgerAccounts::Held).default(0))
                    .col(timestamp(LedgerAccounts::CreatedAt))
                    .check(Expr::col(LedgerAccounts::Asset).is_in(["points", "time_credits"]))
                    .check(Expr::col(LedgerAccounts::Held).gte(0))
                    // Debits must not exceed credits, holds included, except for issuers.
                    .check(Expr::cust(
                        "allow_negative OR (balance >= 0 AND balance - held >= 0)",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ux_ledger_accounts_owner",
                LedgerAccounts::Table,
                &["asset", "kind", "owner_id"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerTransfers::Table)
                    .col(id(LedgerTransfers::Id))
                    .col(text(LedgerTransfers::IdempotencyKey, 200).unique_key())
                    .col(text(LedgerTransfers::RequestHash, 64))
                    .col(text(LedgerTransfers::Asset, 16))
                    .col(reference(LedgerTransfers::DebitAccountId))
                    .col(reference(LedgerTransfers::CreditAccountId))
                    .col(money(LedgerTransfers::Amount))
                    .col(text(LedgerTransfers::Code, 32))
                    .col(text(LedgerTransfers::Memo, 500))
                    .col(
                        ColumnDef::new(LedgerTransfers::RefType)
                            .string_len(32)
                            .null(),
                    )
                    .col(ColumnDef::new(LedgerTransfers::RefId).string_len(64).null())
                    .col(
                        ColumnDef::new(LedgerTransfers::HoldId)
                            .string_len(36)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(LedgerTransfers::ReversesTransferId)
                            .string_len(36)
                            .null()
                            .unique_key(),
                    )
                    .col(timestamp(LedgerTransfers::CreatedAt))
                    .check(Expr::col(LedgerTransfers::Amount).gt(0))
                    .check(
                        Expr::col(LedgerTransfers::DebitAccountId)
                            .ne(Expr::col(LedgerTransfers::CreditAccountId)),
                    )
                    .foreign_key(&mut fk(
                        (LedgerTransfers::Table, LedgerTransfers::DebitAccountId),
                        (LedgerAccounts::Table, LedgerAccounts::Id),
                    ))
                    .foreign_key(&mut fk(
                        (LedgerTransfers::Table, LedgerTransfers::CreditAccountId),
                        (LedgerAccounts::Table, LedgerAccounts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_ledger_transfers_ref",
                LedgerTransfers::Table,
                &["ref_type", "ref_id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_ledger_transfers_created",
                LedgerTransfers::Table,
                &["created_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerEntries::Table)
                    .col(id(LedgerEntries::Id))
                    .col(reference(LedgerEntries::TransferId))
                    .col(reference(LedgerEntries::AccountId))
                    .col(money(LedgerEntries::Amount))
                    .col(money(LedgerEntries::BalanceAfter))
                    .col(timestamp(LedgerEntries::CreatedAt))
                    .check(Expr::col(LedgerEntries::Amount).ne(0))
                    .foreign_key(&mut fk(
                        (LedgerEntries::Table, LedgerEntries::TransferId),
                        (LedgerTransfers::Table, LedgerTransfers::Id),
                    ))
                    .foreign_key(&mut fk(
                        (LedgerEntries::Table, LedgerEntries::AccountId),
                        (LedgerAccounts::Table, LedgerAccounts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Statements read an account's entries newest first; ids are time-ordered.
        manager
            .create_index(index(
                "ix_ledger_entries_account",
                LedgerEntries::Table,
                &["account_id", "id"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_ledger_entries_transfer",
                LedgerEntries::Table,
                &["transfer_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerHolds::Table)
                    .col(id(LedgerHolds::Id))
                    .col(text(LedgerHolds::IdempotencyKey, 200).unique_key())
                    .col(text(LedgerHolds::RequestHash, 64))
                    .col(text(LedgerHolds::Asset, 16))
                    .col(reference(LedgerHolds::AccountId))
                    .col(money(LedgerHolds::Amount))
                    .col(text(LedgerHolds::Status, 16))
                    .col(timestamp(LedgerHolds::ExpiresAt))
                    .col(ColumnDef::new(LedgerHolds::RefType).string_len(32).null())
                    .col(ColumnDef::new(LedgerHolds::RefId).string_len(64).null())
                    .col(
                        ColumnDef::new(LedgerHolds::TransferId)
                            .string_len(36)
                            .null(),
                    )
                    .col(timestamp(LedgerHolds::CreatedAt))
                    .col(
                        ColumnDef::new(LedgerHolds::ResolvedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .check(Expr::col(LedgerHolds::Amount).gt(0))
                    .check(
                        Expr::col(LedgerHolds::Status)
                            .is_in(["pending", "posted", "voided", "expired"]),
                    )
                    .foreign_key(&mut fk(
                        (LedgerHolds::Table, LedgerHolds::AccountId),
                        (LedgerAccounts::Table, LedgerAccounts::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_ledger_holds_pending",
                LedgerHolds::Table,
                &["status", "expires_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_ledger_holds_account",
                LedgerHolds::Table,
                &["account_id", "status"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerLots::Table)
                    .col(id(LedgerLots::Id))
                    .col(reference(LedgerLots::AccountId))
                    .col(reference(LedgerLots::TransferId))
                    .col(money(LedgerLots::Amount))
                    .col(money(LedgerLots::Remaining))
                    .col(timestamp(LedgerLots::ExpiresAt))
                    .col(timestamp(LedgerLots::CreatedAt))
                    .check(Expr::col(LedgerLots::Amount).gt(0))
                    .check(Expr::cust("remaining >= 0 AND remaining <= amount"))
                    .foreign_key(&mut fk(
                        (LedgerLots::Table, LedgerLots::AccountId),
                        (LedgerAccounts::Table, LedgerAccounts::Id),
                    ))
                    .foreign_key(&mut fk(
                        (LedgerLots::Table, LedgerLots::TransferId),
                        (LedgerTransfers::Table, LedgerTransfers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_ledger_lots_account",
                LedgerLots::Table,
                &["account_id", "expires_at"],
                false,
            ))
            .await?;
        manager
            .create_index(index(
                "ix_ledger_lots_expiry",
                LedgerLots::Table,
                &["expires_at"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerLotDraws::Table)
                    .col(id(LedgerLotDraws::Id))
                    .col(reference(LedgerLotDraws::TransferId))
                    .col(reference(LedgerLotDraws::LotId))
                    .col(money(LedgerLotDraws::Amount))
                    .check(Expr::col(LedgerLotDraws::Amount).gt(0))
                    .foreign_key(&mut fk(
                        (LedgerLotDraws::Table, LedgerLotDraws::TransferId),
                        (LedgerTransfers::Table, LedgerTransfers::Id),
                    ))
                    .foreign_key(&mut fk(
                        (LedgerLotDraws::Table, LedgerLotDraws::LotId),
                        (LedgerLots::Table, LedgerLots::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_ledger_lot_draws_transfer",
                LedgerLotDraws::Table,
                &["transfer_id"],
                false,
            ))
            .await?;
        Ok(())
    }
}
