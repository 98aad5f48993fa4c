//! Home-service orders: held payments, dispatch to a verified worker, confirmation, rating.

use platform::schema::{
    id, long_text, optional_text, optional_timestamp, reference, text, timestamp,
};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HomeServiceOrders {
    Table,
    Id,
    OfferId,
    PartnerId,
    OfferTitle,
    UserId,
    OrderedBy,
    CareRecipientId,
    OrgPath,
    Asset,
    Price,
    PaidBy,
    HoldId,
    At,
    AddressNote,
    Status,
    WorkerId,
    DispatchedAt,
    CompletedAt,
    ConfirmedAt,
    CancelledAt,
    CancelReason,
    Rating,
    RatingComment,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HomeServiceOrders::Table)
                    .col(id(HomeServiceOrders::Id))
                    .col(reference(HomeServiceOrders::OfferId))
                    .col(reference(HomeServiceOrders::PartnerId))
                    .col(text(HomeServiceOrders::OfferTitle, 60))
                    .col(optional_text(HomeServiceOrders::UserId, 36))
                    .col(reference(HomeServiceOrders::OrderedBy))
                    .col(optional_text(HomeServiceOrders::CareRecipientId, 36))
                    .col(text(HomeServiceOrders::OrgPath, 400))
                    .col(text(HomeServiceOrders::Asset, 20))
                    .col(
                        ColumnDef::new(HomeServiceOrders::Price)
                            .big_integer()
                            .not_null()
                            .check(Expr::col(HomeServiceOrders::Price).gt(0)),
                    )
                    .col(text(HomeServiceOrders::PaidBy, 20))
                    .col(reference(HomeServiceOrders::HoldId))
                    .col(timestamp(HomeServiceOrders::At))
                    .col(long_text(HomeServiceOrders::AddressNote))
                    .col(text(HomeServiceOrders::Status, 20))
                    .col(optional_text(HomeServiceOrders::WorkerId, 36))
                    .col(optional_timestamp(HomeServiceOrders::DispatchedAt))
                    .col(optional_timestamp(HomeServiceOrders::CompletedAt))
                    .col(optional_timestamp(HomeServiceOrders::ConfirmedAt))
                    .col(optional_timestamp(HomeServiceOrders::CancelledAt))
                    .col(optional_text(HomeServiceOrders::CancelReason, 200))
                    .col(
                        ColumnDef::new(HomeServiceOrders::Rating)
                            .integer()
                            .null()
                            .check(Expr::cust("rating IS NULL OR rating BETWEEN 1 AND 5")),
                    )
                    .col(optional_text(HomeServiceOrders::RatingComment, 500))
                    .col(timestamp(HomeServiceOrders::CreatedAt))
                    .col(timestamp(HomeServiceOrders::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        // The hold is the order's payment: one order per hold, ever.
        manager
            .create_index(
                Index::create()
                    .name("ux_home_service_orders_hold")
                    .table(HomeServiceOrders::Table)
                    .col(HomeServiceOrders::HoldId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("ix_home_service_orders_user", HomeServiceOrders::UserId),
            (
                "ix_home_service_orders_partner",
                HomeServiceOrders::PartnerId,
            ),
            ("ix_home_service_orders_org", HomeServiceOrders::OrgPath),
            ("ix_home_service_orders_by", HomeServiceOrders::OrderedBy),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(HomeServiceOrders::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
