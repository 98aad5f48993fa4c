//! The three lists (资源清单, 需求清单, 问题清单) and their history.

use platform::schema::{
    id, integer, long_text, optional_integer, optional_text, optional_timestamp, reference, text,
    timestamp,
};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PartnerResources {
    Table,
    Id,
    PartnerId,
    CommunityId,
    OrgPath,
    ResourceType,
    Title,
    Description,
    Categories,
    Capacity,
    CapacityUsed,
    Availability,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CommunityNeeds {
    Table,
    Id,
    CommunityId,
    OrgPath,
    Category,
    Title,
    Description,
    Households,
    Source,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CommunityNeedDemands {
    Table,
    NeedId,
    DemandId,
}

#[derive(DeriveIden)]
enum CommunityProblems {
    Table,
    Id,
    CommunityId,
    OrgPath,
    Title,
    Description,
    Severity,
    Status,
    Resolution,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ResolvedAt,
}

#[derive(DeriveIden)]
enum PartnerListEvents {
    Table,
    Id,
    List,
    ItemId,
    Action,
    FromStatus,
    ToStatus,
    ActorId,
    Note,
    At,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Orgs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Demands {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PartnerResources::Table)
                    .col(id(PartnerResources::Id))
                    .col(reference(PartnerResources::PartnerId))
                    .col(reference(PartnerResources::CommunityId))
                    .col(text(PartnerResources::OrgPath, 400))
                    .col(text(PartnerResources::ResourceType, 20))
                    .col(text(PartnerResources::Title, 100))
                    .col(long_text(PartnerResources::Description))
                    .col(long_text(PartnerResources::Categories))
                    .col(integer(PartnerResources::Capacity))
                    .col(integer(PartnerResources::CapacityUsed))
                    .col(text(PartnerResources::Availability, 200))
                    .col(text(PartnerResources::Status, 20))
                    .col(reference(PartnerResources::CreatedBy))
                    .col(timestamp(PartnerResources::CreatedAt))
                    .col(timestamp(PartnerResources::UpdatedAt))
                    .check(Expr::cust(
                        "capacity >= 0 AND capacity_used >= 0 AND capacity_used <= capacity",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnerResources::Table, PartnerResources::PartnerId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnerResources::Table, PartnerResources::CommunityId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_resources_path")
                    .table(PartnerResources::Table)
                    .col(PartnerResources::OrgPath)
                    .col(PartnerResources::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_resources_partner")
                    .table(PartnerResources::Table)
                    .col(PartnerResources::PartnerId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CommunityNeeds::Table)
                    .col(id(CommunityNeeds::Id))
                    .col(reference(CommunityNeeds::CommunityId))
                    .col(text(CommunityNeeds::OrgPath, 400))
                    .col(text(CommunityNeeds::Category, 20))
                    .col(text(CommunityNeeds::Title, 100))
                    .col(long_text(CommunityNeeds::Description))
                    .col(optional_integer(CommunityNeeds::Households))
                    .col(text(CommunityNeeds::Source, 10))
                    .col(text(CommunityNeeds::Status, 10))
                    .col(reference(CommunityNeeds::CreatedBy))
                    .col(timestamp(CommunityNeeds::CreatedAt))
                    .col(timestamp(CommunityNeeds::UpdatedAt))
                    .check(Expr::cust(
                        "status IN ('open', 'matched', 'met', 'dropped') \
                         AND (households IS NULL OR households > 0)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommunityNeeds::Table, CommunityNeeds::CommunityId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_community_needs_path")
                    .table(CommunityNeeds::Table)
                    .col(CommunityNeeds::OrgPath)
                    .col(CommunityNeeds::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommunityNeedDemands::Table)
                    .col(reference(CommunityNeedDemands::NeedId))
                    .col(reference(CommunityNeedDemands::DemandId))
                    .primary_key(
                        Index::create()
                            .col(CommunityNeedDemands::NeedId)
                            .col(CommunityNeedDemands::DemandId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommunityNeedDemands::Table, CommunityNeedDemands::NeedId)
                            .to(CommunityNeeds::Table, CommunityNeeds::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommunityNeedDemands::Table, CommunityNeedDemands::DemandId)
                            .to(Demands::Table, Demands::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CommunityProblems::Table)
                    .col(id(CommunityProblems::Id))
                    .col(reference(CommunityProblems::CommunityId))
                    .col(text(CommunityProblems::OrgPath, 400))
                    .col(text(CommunityProblems::Title, 100))
                    .col(long_text(CommunityProblems::Description))
                    .col(text(CommunityProblems::Severity, 10))
                    .col(text(CommunityProblems::Status, 10))
                    .col(optional_text(CommunityProblems::Resolution, 2000))
                    .col(reference(CommunityProblems::CreatedBy))
                    .col(timestamp(CommunityProblems::CreatedAt))
                    .col(timestamp(CommunityProblems::UpdatedAt))
                    .col(optional_timestamp(CommunityProblems::ResolvedAt))
                    .check(Expr::cust(
                        "severity IN ('low', 'medium', 'high') AND status IN ('open', 'resolved')",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommunityProblems::Table, CommunityProblems::CommunityId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_community_problems_path")
                    .table(CommunityProblems::Table)
                    .col(CommunityProblems::OrgPath)
                    .col(CommunityProblems::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PartnerListEvents::Table)
                    .col(id(PartnerListEvents::Id))
                    .col(text(PartnerListEvents::List, 10))
                    .col(reference(PartnerListEvents::ItemId))
                    .col(text(PartnerListEvents::Action, 20))
                    .col(optional_text(PartnerListEvents::FromStatus, 10))
                    .col(text(PartnerListEvents::ToStatus, 10))
                    .col(reference(PartnerListEvents::ActorId))
                    .col(text(PartnerListEvents::Note, 2000))
                    .col(timestamp(PartnerListEvents::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_list_events_item")
                    .table(PartnerListEvents::Table)
                    .col(PartnerListEvents::ItemId)
                    .col(PartnerListEvents::Id)
                    .to_owned(),
            )
            .await
    }
}
