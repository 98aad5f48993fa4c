//! Disclosures and the periods a street requires them for, what the community grants its
//! partners (双向赋能), and community spaces with bookings that never overlap once approved.

use platform::schema::{
    id, integer, long_text, optional_integer, optional_text, reference, text, timestamp,
};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PartnerDisclosures {
    Table,
    Id,
    PartnerId,
    Kind,
    Period,
    Title,
    Body,
    AmountFen,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DisclosureRequirements {
    Table,
    Id,
    OrgId,
    OrgPath,
    Kind,
    Period,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PartnerEmpowerments {
    Table,
    Id,
    PartnerId,
    Kind,
    Detail,
    GrantedOn,
    GrantedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CommunitySpaces {
    Table,
    Id,
    OrgId,
    OrgPath,
    Name,
    AreaM2,
    Scenes,
    OpenHours,
    Capacity,
    OperatorPartnerId,
    PointsPerHour,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SpaceBookings {
    Table,
    Id,
    SpaceId,
    UserId,
    StartsAt,
    EndsAt,
    Purpose,
    Attendees,
    Status,
    Points,
    HoldId,
    Reason,
    DecidedBy,
    CreatedAt,
    UpdatedAt,
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PartnerDisclosures::Table)
                    .col(id(PartnerDisclosures::Id))
                    .col(reference(PartnerDisclosures::PartnerId))
                    .col(text(PartnerDisclosures::Kind, 20))
                    .col(text(PartnerDisclosures::Period, 20))
                    .col(text(PartnerDisclosures::Title, 100))
                    .col(long_text(PartnerDisclosures::Body))
                    .col(optional_integer(PartnerDisclosures::AmountFen))
                    .col(reference(PartnerDisclosures::CreatedBy))
                    .col(timestamp(PartnerDisclosures::CreatedAt))
                    .check(Expr::cust("kind IN ('finance', 'major_matter')"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnerDisclosures::Table, PartnerDisclosures::PartnerId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_disclosures_partner")
                    .table(PartnerDisclosures::Table)
                    .col(PartnerDisclosures::PartnerId)
                    .col(PartnerDisclosures::Kind)
                    .col(PartnerDisclosures::Period)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DisclosureRequirements::Table)
                    .col(id(DisclosureRequirements::Id))
                    .col(reference(DisclosureRequirements::OrgId))
                    .col(text(DisclosureRequirements::OrgPath, 400))
                    .col(text(DisclosureRequirements::Kind, 20))
                    .col(text(DisclosureRequirements::Period, 20))
                    .col(reference(DisclosureRequirements::CreatedBy))
                    .col(timestamp(DisclosureRequirements::CreatedAt))
                    .check(Expr::cust("kind IN ('finance', 'major_matter')"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DisclosureRequirements::Table, DisclosureRequirements::OrgId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_disclosure_requirements")
                    .table(DisclosureRequirements::Table)
                    .col(DisclosureRequirements::OrgId)
                    .col(DisclosureRequirements::Kind)
                    .col(DisclosureRequirements::Period)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PartnerEmpowerments::Table)
                    .col(id(PartnerEmpowerments::Id))
                    .col(reference(PartnerEmpowerments::PartnerId))
                    .col(text(PartnerEmpowerments::Kind, 20))
                    .col(text(PartnerEmpowerments::Detail, 500))
                    .col(
                        ColumnDef::new(PartnerEmpowerments::GrantedOn)
                            .date()
                            .not_null(),
                    )
                    .col(reference(PartnerEmpowerments::GrantedBy))
                    .col(timestamp(PartnerEmpowerments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnerEmpowerments::Table, PartnerEmpowerments::PartnerId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_partner_empowerments_partner")
                    .table(PartnerEmpowerments::Table)
                    .col(PartnerEmpowerments::PartnerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommunitySpaces::Table)
                    .col(id(CommunitySpaces::Id))
                    .col(reference(CommunitySpaces::OrgId))
                    .col(text(CommunitySpaces::OrgPath, 400))
                    .col(text(CommunitySpaces::Name, 100))
                    .col(integer(CommunitySpaces::AreaM2))
                    .col(long_text(CommunitySpaces::Scenes))
                    .col(long_text(CommunitySpaces::OpenHours))
                    .col(integer(CommunitySpaces::Capacity))
                    .col(optional_text(CommunitySpaces::OperatorPartnerId, 36))
                    .col(integer(CommunitySpaces::PointsPerHour))
                    .col(reference(CommunitySpaces::CreatedBy))
                    .col(timestamp(CommunitySpaces::CreatedAt))
                    .check(Expr::cust(
                        "area_m2 > 0 AND capacity > 0 AND points_per_hour >= 0",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CommunitySpaces::Table, CommunitySpaces::OrgId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SpaceBookings::Table)
                    .col(id(SpaceBookings::Id))
                    .col(reference(SpaceBookings::SpaceId))
                    .col(reference(SpaceBookings::UserId))
                    .col(timestamp(SpaceBookings::StartsAt))
                    .col(timestamp(SpaceBookings::EndsAt))
                    .col(text(SpaceBookings::Purpose, 200))
                    .col(integer(SpaceBookings::Attendees))
                    .col(text(SpaceBookings::Status, 12))
                    .col(integer(SpaceBookings::Points))
                    .col(optional_text(SpaceBookings::HoldId, 36))
                    .col(optional_text(SpaceBookings::Reason, 500))
                    .col(optional_text(SpaceBookings::DecidedBy, 36))
                    .col(timestamp(SpaceBookings::CreatedAt))
                    .col(timestamp(SpaceBookings::UpdatedAt))
                    .check(Expr::cust(
                        "ends_at > starts_at AND attendees > 0 AND points >= 0 \
                         AND status IN ('pending', 'approved', 'rejected', 'cancelled')",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SpaceBookings::Table, SpaceBookings::SpaceId)
                            .to(CommunitySpaces::Table, CommunitySpaces::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_space_bookings_space")
                    .table(SpaceBookings::Table)
                    .col(SpaceBookings::SpaceId)
                    .col(SpaceBookings::StartsAt)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // Two approved bookings of one space never share a minute, whatever the code does.
            // (btree_gist is created by the parking migration.)
            let db = manager.get_connection();
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist")
                .await?;
            db.execute_unprepared(
                "ALTER TABLE space_bookings ADD CONSTRAINT ex_space_bookings_no_overlap \
                 EXCLUDE USING gist (space_id WITH =, tstzrange(starts_at, ends_at) WITH &&) \
                 WHERE (status = 'approved')",
            )
            .await?;
        }
        Ok(())
    }
}
