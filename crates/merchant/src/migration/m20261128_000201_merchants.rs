use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
    Name,
    Category,
    LicenseNo,
    Address,
    ContactPhone,
    CommunityId,
    Description,
    PartnerType,
    Status,
    ApplicantUserId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MerchantEvents {
    Table,
    Id,
    MerchantId,
    Action,
    FromStatus,
    ToStatus,
    ActorId,
    Reason,
    At,
}

#[derive(DeriveIden)]
enum MerchantMembers {
    Table,
    Id,
    MerchantId,
    UserId,
    MemberRole,
    AddedAt,
    RemovedAt,
}

#[derive(DeriveIden)]
enum Offers {
    Table,
    Id,
    MerchantId,
    Title,
    Description,
    Category,
    PointsPrice,
    CashValueFen,
    Stock,
    PerUserLimit,
    ValidFrom,
    ValidUntil,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
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

fn text<T: IntoIden>(name: T, len: u32) -> ColumnDef {
    ColumnDef::new(name).string_len(len).not_null().to_owned()
}

fn timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Merchants::Table)
                    .col(id(Merchants::Id))
                    .col(text(Merchants::Name, 100))
                    .col(text(Merchants::Category, 30))
                    .col(text(Merchants::LicenseNo, 40))
                    .col(text(Merchants::Address, 200))
                    .col(text(Merchants::ContactPhone, 20))
                    .col(reference(Merchants::CommunityId))
                    .col(ColumnDef::new(Merchants::Description).text().not_null())
                    .col(text(Merchants::PartnerType, 16))
                    .col(text(Merchants::Status, 16))
                    .col(reference(Merchants::ApplicantUserId))
                    .col(timestamp(Merchants::CreatedAt))
                    .col(timestamp(Merchants::UpdatedAt))
                    .check(Expr::col(Merchants::Status).is_in([
                        "pending",
                        "active",
                        "suspended",
                        "rejected",
                        "closed",
                    ]))
                    .check(Expr::col(Merchants::PartnerType).is_in(["group", "independent"]))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Merchants::Table, Merchants::CommunityId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Merchants::Table, Merchants::ApplicantUserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_merchants_community_status")
                    .table(Merchants::Table)
                    .col(Merchants::CommunityId)
                    .col(Merchants::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MerchantEvents::Table)
                    .col(id(MerchantEvents::Id))
                    .col(reference(MerchantEvents::MerchantId))
                    .col(text(MerchantEvents::Action, 16))
                    .col(
                        ColumnDef::new(MerchantEvents::FromStatus)
                            .string_len(16)
                            .null(),
                    )
                    .col(text(MerchantEvents::ToStatus, 16))
                    .col(reference(MerchantEvents::ActorId))
                    .col(text(MerchantEvents::Reason, 500))
                    .col(timestamp(MerchantEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MerchantEvents::Table, MerchantEvents::MerchantId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_merchant_events_merchant")
                    .table(MerchantEvents::Table)
                    .col(MerchantEvents::MerchantId)
                    .col(MerchantEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MerchantMembers::Table)
                    .col(id(MerchantMembers::Id))
                    .col(reference(MerchantMembers::MerchantId))
                    .col(reference(MerchantMembers::UserId))
                    .col(text(MerchantMembers::MemberRole, 16))
                    .col(timestamp(MerchantMembers::AddedAt))
                    .col(
                        ColumnDef::new(MerchantMembers::RemovedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .check(Expr::col(MerchantMembers::MemberRole).is_in(["owner", "staff"]))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MerchantMembers::Table, MerchantMembers::MerchantId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MerchantMembers::Table, MerchantMembers::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_merchant_members_merchant")
                    .table(MerchantMembers::Table)
                    .col(MerchantMembers::MerchantId)
                    .col(MerchantMembers::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Offers::Table)
                    .col(id(Offers::Id))
                    .col(reference(Offers::MerchantId))
                    .col(text(Offers::Title, 60))
                    .col(ColumnDef::new(Offers::Description).text().not_null())
                    .col(text(Offers::Category, 30))
                    .col(ColumnDef::new(Offers::PointsPrice).big_integer().not_null())
                    .col(
                        ColumnDef::new(Offers::CashValueFen)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Offers::Stock).big_integer().null())
                    .col(ColumnDef::new(Offers::PerUserLimit).big_integer().null())
                    .col(timestamp(Offers::ValidFrom))
                    .col(timestamp(Offers::ValidUntil))
                    .col(text(Offers::Status, 16))
                    .col(timestamp(Offers::CreatedAt))
                    .col(timestamp(Offers::UpdatedAt))
                    .check(Expr::col(Offers::PointsPrice).gt(0))
                    .check(Expr::col(Offers::CashValueFen).gte(0))
                    // Stock never goes below zero, whatever races.
                    .check(Expr::cust("stock IS NULL OR stock >= 0"))
                    .check(Expr::cust("valid_until > valid_from"))
                    .check(Expr::col(Offers::Status).is_in(["draft", "published", "unpublished"]))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Offers::Table, Offers::MerchantId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_offers_merchant")
                    .table(Offers::Table)
                    .col(Offers::MerchantId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_offers_catalog")
                    .table(Offers::Table)
                    .col(Offers::Status)
                    .col(Offers::ValidUntil)
                    .to_owned(),
            )
            .await
    }
}
