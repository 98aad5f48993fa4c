//! Home-service workers of partners, verified by community staff.

use platform::schema::{
    id, long_text, optional_text, optional_timestamp, reference, text, timestamp,
};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HomeWorkers {
    Table,
    Id,
    PartnerId,
    OrgPath,
    Name,
    PhoneSealed,
    CertificateNo,
    Skills,
    VerifiedAt,
    VerifiedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HomeWorkers::Table)
                    .col(id(HomeWorkers::Id))
                    .col(reference(HomeWorkers::PartnerId))
                    .col(text(HomeWorkers::OrgPath, 400))
                    .col(text(HomeWorkers::Name, 50))
                    .col(text(HomeWorkers::PhoneSealed, 200))
                    .col(text(HomeWorkers::CertificateNo, 40))
                    .col(long_text(HomeWorkers::Skills))
                    .col(optional_timestamp(HomeWorkers::VerifiedAt))
                    .col(optional_text(HomeWorkers::VerifiedBy, 36))
                    .col(timestamp(HomeWorkers::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(HomeWorkers::Table, HomeWorkers::PartnerId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_home_workers_partner")
                    .table(HomeWorkers::Table)
                    .col(HomeWorkers::PartnerId)
                    .to_owned(),
            )
            .await
    }
}
