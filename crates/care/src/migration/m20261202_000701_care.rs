//! Care recipients (phone and ID number sealed), their access log and their visits.

use platform::schema::{
    id, integer, long_text, optional_text, optional_timestamp, reference, text, timestamp,
};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CareRecipients {
    Table,
    Id,
    CommunityId,
    CompoundId,
    OrgPath,
    UserId,
    Name,
    PhoneSealed,
    IdNumberSealed,
    Groups,
    Needs,
    Colour,
    VisitEveryDays,
    ConsentAt,
    LastVisitAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CareAccessLog {
    Table,
    Id,
    RecipientId,
    ActorId,
    Action,
    Purpose,
    At,
}

#[derive(DeriveIden)]
enum CareVisits {
    Table,
    Id,
    RecipientId,
    At,
    Note,
    Outcome,
    StaffId,
    CreatedAt,
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
                    .table(CareRecipients::Table)
                    .col(id(CareRecipients::Id))
                    .col(reference(CareRecipients::CommunityId))
                    .col(reference(CareRecipients::CompoundId))
                    .col(text(CareRecipients::OrgPath, 400))
                    .col(optional_text(CareRecipients::UserId, 36))
                    .col(text(CareRecipients::Name, 50))
                    .col(optional_text(CareRecipients::PhoneSealed, 200))
                    .col(optional_text(CareRecipients::IdNumberSealed, 200))
                    .col(long_text(CareRecipients::Groups))
                    .col(long_text(CareRecipients::Needs))
                    .col(text(CareRecipients::Colour, 10))
                    .col(integer(CareRecipients::VisitEveryDays))
                    .col(timestamp(CareRecipients::ConsentAt))
                    .col(optional_timestamp(CareRecipients::LastVisitAt))
                    .col(reference(CareRecipients::CreatedBy))
                    .col(timestamp(CareRecipients::CreatedAt))
                    .col(timestamp(CareRecipients::UpdatedAt))
                    .check(Expr::cust(
                        "colour IN ('red', 'orange', 'yellow', 'blue', 'green') \
                         AND visit_every_days > 0",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CareRecipients::Table, CareRecipients::CompoundId)
                            .to(Orgs::Table, Orgs::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_care_recipients_path")
                    .table(CareRecipients::Table)
                    .col(CareRecipients::OrgPath)
                    .col(CareRecipients::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_care_recipients_user")
                    .table(CareRecipients::Table)
                    .col(CareRecipients::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CareAccessLog::Table)
                    .col(id(CareAccessLog::Id))
                    .col(reference(CareAccessLog::RecipientId))
                    .col(reference(CareAccessLog::ActorId))
                    .col(text(CareAccessLog::Action, 20))
                    .col(text(CareAccessLog::Purpose, 200))
                    .col(timestamp(CareAccessLog::At))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_care_access_log_recipient")
                    .table(CareAccessLog::Table)
                    .col(CareAccessLog::RecipientId)
                    .col(CareAccessLog::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CareVisits::Table)
                    .col(id(CareVisits::Id))
                    .col(reference(CareVisits::RecipientId))
                    .col(timestamp(CareVisits::At))
                    .col(text(CareVisits::Note, 2000))
                    .col(text(CareVisits::Outcome, 20))
                    .col(reference(CareVisits::StaffId))
                    .col(timestamp(CareVisits::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(CareVisits::Table, CareVisits::RecipientId)
                            .to(CareRecipients::Table, CareRecipients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }
}
