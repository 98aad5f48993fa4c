use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DemandCategories {
    Table,
    Id,
    Name,
    SlaHours,
    Active,
    SortOrder,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Demands {
    Table,
    Id,
    ResidentId,
    CategoryId,
    Title,
    Description,
    DistrictId,
    StreetId,
    CommunityId,
    CommunityPath,
    OrgId,
    OrgPath,
    HandlerId,
    Status,
    LocationLat,
    LocationLng,
    LocationAddress,
    Photos,
    Resolution,
    SubmittedAt,
    DueAt,
    WarnAt,
    AcceptedAt,
    FirstResolvedAt,
    ResolvedAt,
    ClosedAt,
    HandlingSeconds,
    ResolvedOnTime,
    SlaWarnedAt,
    EscalatedAt,
    RatingSatisfied,
    RatingScore,
    RatingComment,
    RatedAt,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DemandEvents {
    Table,
    Id,
    DemandId,
    Action,
    FromStatus,
    ToStatus,
    ActorId,
    Note,
    Photos,
    Internal,
    At,
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

fn optional_reference<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string_len(36).null().to_owned()
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

fn optional_timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn index(name: &str, table: Demands, columns: &[Demands]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).to_owned();
    for column in columns {
        index.col(*column);
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DemandCategories::Table)
                    .col(id(DemandCategories::Id))
                    .col(text(DemandCategories::Name, 30).unique_key())
                    .col(
                        ColumnDef::new(DemandCategories::SlaHours)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DemandCategories::Active)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(DemandCategories::SortOrder)
                            .integer()
                            .not_null(),
                    )
                    .col(timestamp(DemandCategories::CreatedAt))
                    .col(timestamp(DemandCategories::UpdatedAt))
                    .check(Expr::cust("sla_hours BETWEEN 1 AND 720"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Demands::Table)
                    .col(id(Demands::Id))
                    .col(reference(Demands::ResidentId))
                    .col(reference(Demands::CategoryId))
                    .col(text(Demands::Title, 100))
                    .col(ColumnDef::new(Demands::Description).text().not_null())
                    // Where the demand is, denormalised from the org tree so that metrics filter
                    // on one indexed equality per level instead of a path prefix.
                    .col(reference(Demands::DistrictId))
                    .col(reference(Demands::StreetId))
                    .col(reference(Demands::CommunityId))
                    .col(text(Demands::CommunityPath, 400))
                    // Who owns it now: the community, or the street after a transfer up.
                    .col(reference(Demands::OrgId))
                    .col(text(Demands::OrgPath, 400))
                    .col(optional_reference(Demands::HandlerId))
                    .col(text(Demands::Status, 16))
                    .col(ColumnDef::new(Demands::LocationLat).double().null())
                    .col(ColumnDef::new(Demands::LocationLng).double().null())
                    .col(
                        ColumnDef::new(Demands::LocationAddress)
                            .string_len(200)
                            .null(),
                    )
                    // A JSON array of https URLs.
                    .col(ColumnDef::new(Demands::Photos).text().not_null())
                    .col(ColumnDef::new(Demands::Resolution).text().null())
                    .col(timestamp(Demands::SubmittedAt))
                    .col(timestamp(Demands::DueAt))
                    .col(timestamp(Demands::WarnAt))
                    .col(optional_timestamp(Demands::AcceptedAt))
                    .col(optional_timestamp(Demands::FirstResolvedAt))
                    .col(optional_timestamp(Demands::ResolvedAt))
                    .col(optional_timestamp(Demands::ClosedAt))
                    // Both written once, with the first `resolve` event, from submitted_at,
                    // first_resolved_at and due_at: the metrics' inputs, kept next to them.
                    .col(
                        ColumnDef::new(Demands::HandlingSeconds)
                            .big_integer()
                            .null(),
                    )
                    .col(ColumnDef::new(Demands::ResolvedOnTime).boolean().null())
                    .col(optional_timestamp(Demands::SlaWarnedAt))
                    .col(optional_timestamp(Demands::EscalatedAt))
                    .col(ColumnDef::new(Demands::RatingSatisfied).boolean().null())
                    .col(ColumnDef::new(Demands::RatingScore).integer().null())
                    .col(ColumnDef::new(Demands::RatingComment).text().null())
                    .col(optional_timestamp(Demands::RatedAt))
                    .col(ColumnDef::new(Demands::Version).integer().not_null())
                    .col(timestamp(Demands::UpdatedAt))
                    .check(Expr::col(Demands::Status).is_in([
                        "submitted",
                        "accepted",
                        "in_progress",
                        "resolved",
                        "closed",
                        "rejected",
                        "withdrawn",
                    ]))
                    .check(Expr::cust(
                        "rating_score IS NULL OR rating_score BETWEEN 1 AND 5",
                    ))
                    .check(Expr::cust("due_at > submitted_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Demands::Table, Demands::ResidentId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Demands::Table, Demands::CategoryId)
                            .to(DemandCategories::Table, DemandCategories::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Demands::Table, Demands::CommunityId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Demands::Table, Demands::OrgId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Demands::Table, Demands::HandlerId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        use Demands as D;
        for (name, columns) in [
            ("ix_demands_resident", &[D::ResidentId, D::Id][..]),
            // Metrics by level: one equality and a range on the submission time.
            (
                "ix_demands_district_submitted",
                &[D::DistrictId, D::SubmittedAt][..],
            ),
            (
                "ix_demands_street_submitted",
                &[D::StreetId, D::SubmittedAt][..],
            ),
            (
                "ix_demands_community_submitted",
                &[D::CommunityId, D::SubmittedAt][..],
            ),
            // The staff queue and the SLA jobs.
            ("ix_demands_status_due", &[D::Status, D::DueAt][..]),
            ("ix_demands_status_warn", &[D::Status, D::WarnAt][..]),
            (
                "ix_demands_status_resolved",
                &[D::Status, D::ResolvedAt][..],
            ),
        ] {
            manager.create_index(index(name, D::Table, columns)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(DemandEvents::Table)
                    .col(id(DemandEvents::Id))
                    .col(reference(DemandEvents::DemandId))
                    .col(text(DemandEvents::Action, 16))
                    .col(
                        ColumnDef::new(DemandEvents::FromStatus)
                            .string_len(16)
                            .null(),
                    )
                    .col(text(DemandEvents::ToStatus, 16))
                    // None for the system's own jobs (auto-close, escalation).
                    .col(optional_reference(DemandEvents::ActorId))
                    .col(ColumnDef::new(DemandEvents::Note).text().not_null())
                    .col(ColumnDef::new(DemandEvents::Photos).text().not_null())
                    .col(ColumnDef::new(DemandEvents::Internal).boolean().not_null())
                    .col(timestamp(DemandEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DemandEvents::Table, DemandEvents::DemandId)
                            .to(Demands::Table, Demands::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_demand_events_demand")
                    .table(DemandEvents::Table)
                    .col(DemandEvents::DemandId)
                    .col(DemandEvents::Id)
                    .to_owned(),
            )
            .await
    }
}
