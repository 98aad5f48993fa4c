//! Home services (家政) among the offers: `kind` (every offer there before is a `service`,
//! reserved and redeemed with a code) and the price in minutes of time credits a home
//! service may be paid with instead of points.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Offers {
    Table,
    Kind,
    TimeCreditsPrice,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Offers::Table)
                    .add_column(
                        ColumnDef::new(Offers::Kind)
                            .string_len(20)
                            .not_null()
                            .default("service"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Offers::Table)
                    .add_column(
                        ColumnDef::new(Offers::TimeCreditsPrice)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }
}
