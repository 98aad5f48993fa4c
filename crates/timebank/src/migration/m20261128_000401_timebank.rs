use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
    OrgId,
    OrgPath,
    PartnerId,
    Title,
    Kind,
    Description,
    Location,
    StartsAt,
    EndsAt,
    Capacity,
    Confirmed,
    PointsPerHour,
    TimeCredits,
    CheckSecret,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ActivitySignups {
    Table,
    Id,
    ActivityId,
    UserId,
    Status,
    CreatedAt,
    UpdatedAt,
    CheckedInAt,
    CheckedOutAt,
    CheckOutNote,
    SettledAt,
    SettledMinutes,
    SettledPoints,
}

#[derive(DeriveIden)]
enum HelpRequests {
    Table,
    Id,
    RequesterId,
    HelperId,
    CommunityId,
    CommunityPath,
    Title,
    Description,
    ServiceType,
    Minutes,
    Status,
    HoldId,
    DisputeReason,
    Resolution,
    CreatedAt,
    AcceptedAt,
    CompletedAt,
    ClosedAt,
    Version,
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

fn optional_timestamp<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

fn integer<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .col(id(Activities::Id))
                    .col(reference(Activities::OrgId))
                    .col(text(Activities::OrgPath, 400))
                    // A partner (merchant) running it in its community; pays points itself.
                    .col(ColumnDef::new(Activities::PartnerId).string_len(36).null())
                    .col(text(Activities::Title, 100))
                    .col(text(Activities::Kind, 16))
                    .col(ColumnDef::new(Activities::Description).text().not_null())
                    .col(text(Activities::Location, 200))
                    .col(timestamp(Activities::StartsAt))
                    .col(timestamp(Activities::EndsAt))
                    .col(integer(Activities::Capacity))
                    // Confirmed sign-ups, kept beside the capacity so that taking a place is
                    // one conditional UPDATE (`confirmed < capacity`), race-free.
                    .col(integer(Activities::Confirmed))
                    .col(integer(Activities::PointsPerHour))
                    .col(ColumnDef::new(Activities::TimeCredits).boolean().not_null())
                    .col(text(Activities::CheckSecret, 64))
                    .col(text(Activities::Status, 16))
                    .col(reference(Activities::CreatedBy))
                    .col(timestamp(Activities::CreatedAt))
                    .col(timestamp(Activities::UpdatedAt))
                    .check(Expr::col(Activities::Kind).is_in([
                        "volunteer",
                        "night_school",
                        "market",
                        "other",
                    ]))
                    .check(Expr::col(Activities::Status).is_in(["scheduled", "cancelled"]))
                    .check(Expr::cust("ends_at > starts_at"))
                    .check(Expr::cust(
                        "capacity > 0 AND confirmed >= 0 AND confirmed <= capacity",
                    ))
                    .check(Expr::cust("points_per_hour >= 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Activities::Table, Activities::OrgId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_activities_starts")
                    .table(Activities::Table)
                    .col(Activities::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ActivitySignups::Table)
                    .col(id(ActivitySignups::Id))
                    .col(reference(ActivitySignups::ActivityId))
                    .col(reference(ActivitySignups::UserId))
                    .col(text(ActivitySignups::Status, 16))
                    .col(timestamp(ActivitySignups::CreatedAt))
                    .col(timestamp(ActivitySignups::UpdatedAt))
                    .col(optional_timestamp(ActivitySignups::CheckedInAt))
                    .col(optional_timestamp(ActivitySignups::CheckedOutAt))
                    .col(
                        ColumnDef::new(ActivitySignups::CheckOutNote)
                            .string_len(500)
                            .null(),
                    )
                    .col(optional_timestamp(ActivitySignups::SettledAt))
                    .col(
                        ColumnDef::new(ActivitySignups::SettledMinutes)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(ActivitySignups::SettledPoints)
                            .big_integer()
                            .null(),
                    )
                    .check(Expr::col(ActivitySignups::Status).is_in([
                        "confirmed",
                        "waitlisted",
                        "cancelled",
                    ]))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ActivitySignups::Table, ActivitySignups::ActivityId)
                            .to(Activities::Table, Activities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ActivitySignups::Table, ActivitySignups::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One sign-up row per resident and activity; cancelling and signing up again reuse it.
        manager
            .create_index(
                Index::create()
                    .name("ux_activity_signups_user")
                    .table(ActivitySignups::Table)
                    .col(ActivitySignups::ActivityId)
                    .col(ActivitySignups::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_activity_signups_settled")
                    .table(ActivitySignups::Table)
                    .col(ActivitySignups::UserId)
                    .col(ActivitySignups::SettledAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(HelpRequests::Table)
                    .col(id(HelpRequests::Id))
                    .col(reference(HelpRequests::RequesterId))
                    .col(ColumnDef::new(HelpRequests::HelperId).string_len(36).null())
                    .col(reference(HelpRequests::CommunityId))
                    .col(text(HelpRequests::CommunityPath, 400))
                    .col(text(HelpRequests::Title, 100))
                    .col(ColumnDef::new(HelpRequests::Description).text().not_null())
                    .col(text(HelpRequests::ServiceType, 30))
                    .col(integer(HelpRequests::Minutes))
                    .col(text(HelpRequests::Status, 16))
                    .col(reference(HelpRequests::HoldId))
                    .col(
                        ColumnDef::new(HelpRequests::DisputeReason)
                            .string_len(500)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(HelpRequests::Resolution)
                            .string_len(500)
                            .null(),
                    )
                    .col(timestamp(HelpRequests::CreatedAt))
                    .col(optional_timestamp(HelpRequests::AcceptedAt))
                    .col(optional_timestamp(HelpRequests::CompletedAt))
                    .col(optional_timestamp(HelpRequests::ClosedAt))
                    .col(ColumnDef::new(HelpRequests::Version).integer().not_null())
                    .check(Expr::col(HelpRequests::Status).is_in([
                        "open",
                        "accepted",
                        "completed",
                        "confirmed",
                        "cancelled",
                        "disputed",
                        "resolved",
                    ]))
                    .check(Expr::cust("minutes > 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(HelpRequests::Table, HelpRequests::RequesterId)
                            .to(Users::Table, Users::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(HelpRequests::Table, HelpRequests::CommunityId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_help_requests_community")
                    .table(HelpRequests::Table)
                    .col(HelpRequests::CommunityId)
                    .col(HelpRequests::Status)
                    .to_owned(),
            )
            .await
    }
}
