use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ParkingLots {
    Table,
    Id,
    OrgId,
    OrgPath,
    Name,
    Address,
    SlotCount,
    PointsPerHour,
    BillingUnitMinutes,
    OpenHours,
    MaxBookingHours,
    EntryGraceMinutes,
    GateSecret,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ParkingSlots {
    Table,
    Id,
    LotId,
    Code,
}

#[derive(DeriveIden)]
enum ParkingBookings {
    Table,
    Id,
    LotId,
    SlotId,
    UserId,
    Plate,
    StartsAt,
    EndsAt,
    Status,
    HoldId,
    HeldPoints,
    EnteredAt,
    ExitedAt,
    ChargedPoints,
    OverstayPoints,
    UnpaidPoints,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ParkingGateEvents {
    Table,
    LotId,
    EventId,
    Plate,
    Kind,
    At,
    Response,
    ReceivedAt,
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
                    .table(ParkingLots::Table)
                    .col(id(ParkingLots::Id))
                    .col(reference(ParkingLots::OrgId))
                    .col(text(ParkingLots::OrgPath, 400))
                    .col(text(ParkingLots::Name, 100))
                    .col(text(ParkingLots::Address, 200))
                    .col(integer(ParkingLots::SlotCount))
                    .col(integer(ParkingLots::PointsPerHour))
                    .col(integer(ParkingLots::BillingUnitMinutes))
                    // JSON array of {days, from, to} windows.
                    .col(ColumnDef::new(ParkingLots::OpenHours).text().not_null())
                    .col(integer(ParkingLots::MaxBookingHours))
                    .col(integer(ParkingLots::EntryGraceMinutes))
                    .col(text(ParkingLots::GateSecret, 64))
                    .col(timestamp(ParkingLots::CreatedAt))
                    .col(timestamp(ParkingLots::UpdatedAt))
                    .check(Expr::cust(
                        "slot_count > 0 AND points_per_hour >= 0 AND billing_unit_minutes > 0",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ParkingLots::Table, ParkingLots::OrgId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ParkingSlots::Table)
                    .col(id(ParkingSlots::Id))
                    .col(reference(ParkingSlots::LotId))
                    .col(text(ParkingSlots::Code, 16))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ParkingSlots::Table, ParkingSlots::LotId)
                            .to(ParkingLots::Table, ParkingLots::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_parking_slots_code")
                    .table(ParkingSlots::Table)
                    .col(ParkingSlots::LotId)
                    .col(ParkingSlots::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ParkingBookings::Table)
                    .col(id(ParkingBookings::Id))
                    .col(reference(ParkingBookings::LotId))
                    .col(reference(ParkingBookings::SlotId))
                    .col(reference(ParkingBookings::UserId))
                    .col(text(ParkingBookings::Plate, 16))
                    .col(timestamp(ParkingBookings::StartsAt))
                    .col(timestamp(ParkingBookings::EndsAt))
                    .col(text(ParkingBookings::Status, 16))
                    .col(reference(ParkingBookings::HoldId))
                    .col(integer(ParkingBookings::HeldPoints))
                    .col(optional_timestamp(ParkingBookings::EnteredAt))
                    .col(optional_timestamp(ParkingBookings::ExitedAt))
                    .col(integer(ParkingBookings::ChargedPoints))
                    .col(integer(ParkingBookings::OverstayPoints))
                    .col(integer(ParkingBookings::UnpaidPoints))
                    .col(timestamp(ParkingBookings::CreatedAt))
                    .col(timestamp(ParkingBookings::UpdatedAt))
                    .check(Expr::col(ParkingBookings::Status).is_in([
                        "booked",
                        "active",
                        "completed",
                        "cancelled",
                        "no_show",
                        "unpaid_overstay",
                    ]))
                    .check(Expr::cust("ends_at > starts_at"))
                    .check(Expr::cust("unpaid_points >= 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ParkingBookings::Table, ParkingBookings::SlotId)
                            .to(ParkingSlots::Table, ParkingSlots::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ParkingBookings::Table, ParkingBookings::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "ix_parking_bookings_slot",
                [ParkingBookings::SlotId, ParkingBookings::StartsAt],
            ),
            (
                "ix_parking_bookings_user",
                [ParkingBookings::UserId, ParkingBookings::Id],
            ),
            (
                "ix_parking_bookings_plate",
                [ParkingBookings::Plate, ParkingBookings::Status],
            ),
            (
                "ix_parking_bookings_lot_start",
                [ParkingBookings::LotId, ParkingBookings::StartsAt],
            ),
        ] {
            let mut index = Index::create()
                .name(name)
                .table(ParkingBookings::Table)
                .to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            // The database itself refuses two live bookings of one slot for overlapping
            // minutes, whatever the application does.
            let db = manager.get_connection();
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS btree_gist")
                .await?;
            db.execute_unprepared(
                "ALTER TABLE parking_bookings ADD CONSTRAINT ex_parking_bookings_no_overlap \
                 EXCLUDE USING gist (slot_id WITH =, tstzrange(starts_at, ends_at) WITH &&) \
                 WHERE (status IN ('booked', 'active'))",
            )
            .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ParkingGateEvents::Table)
                    .col(reference(ParkingGateEvents::LotId))
                    .col(text(ParkingGateEvents::EventId, 100))
                    .col(text(ParkingGateEvents::Plate, 16))
                    .col(text(ParkingGateEvents::Kind, 8))
                    .col(timestamp(ParkingGateEvents::At))
                    // The answer given, replayed for a repeated event id.
                    .col(
                        ColumnDef::new(ParkingGateEvents::Response)
                            .text()
                            .not_null(),
                    )
                    .col(timestamp(ParkingGateEvents::ReceivedAt))
                    .primary_key(
                        Index::create()
                            .col(ParkingGateEvents::LotId)
                            .col(ParkingGateEvents::EventId),
                    )
                    .to_owned(),
            )
            .await
    }
}
