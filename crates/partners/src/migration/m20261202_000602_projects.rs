//! Partner projects: goals, the needs they serve, evaluations with per-goal results, and
//! residents' ratings.

use platform::schema::{
    id, integer, long_text, optional_integer, optional_text, optional_timestamp, reference, text,
    timestamp,
};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PartnerProjects {
    Table,
    Id,
    PartnerId,
    CommunityId,
    OrgPath,
    Kind,
    Mechanism,
    Title,
    StartsOn,
    EndsOn,
    BudgetFen,
    Status,
    AcceptedAt,
    AcceptedBy,
    TerminatedReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProjectGoals {
    Table,
    ProjectId,
    Metric,
    Target,
    Position,
}

#[derive(DeriveIden)]
enum ProjectNeeds {
    Table,
    ProjectId,
    NeedId,
}

#[derive(DeriveIden)]
enum ProjectEvaluations {
    Table,
    Id,
    ProjectId,
    Period,
    Notes,
    Achievement,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ProjectEvaluationResults {
    Table,
    EvaluationId,
    Metric,
    Target,
    Achieved,
}

#[derive(DeriveIden)]
enum ProjectRatings {
    Table,
    ProjectId,
    UserId,
    PartnerId,
    Score,
    Comment,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CommunityNeeds {
    Table,
    Id,
}

fn date<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).date().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PartnerProjects::Table)
                    .col(id(PartnerProjects::Id))
                    .col(reference(PartnerProjects::PartnerId))
                    .col(reference(PartnerProjects::CommunityId))
                    .col(text(PartnerProjects::OrgPath, 400))
                    .col(text(PartnerProjects::Kind, 20))
                    .col(text(PartnerProjects::Mechanism, 20))
                    .col(text(PartnerProjects::Title, 100))
                    .col(date(PartnerProjects::StartsOn))
                    .col(date(PartnerProjects::EndsOn))
                    .col(optional_integer(PartnerProjects::BudgetFen))
                    .col(text(PartnerProjects::Status, 12))
                    .col(optional_timestamp(PartnerProjects::AcceptedAt))
                    .col(optional_text(PartnerProjects::AcceptedBy, 36))
                    .col(optional_text(PartnerProjects::TerminatedReason, 2000))
                    .col(reference(PartnerProjects::CreatedBy))
                    .col(timestamp(PartnerProjects::CreatedAt))
                    .col(timestamp(PartnerProjects::UpdatedAt))
                    .check(Expr::cust(
                        "status IN ('proposed', 'agreed', 'running', 'closed', 'terminated') \
                         AND ends_on >= starts_on AND (budget_fen IS NULL OR budget_fen >= 0)",
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .from(PartnerProjects::Table, PartnerProjects::PartnerId)
                            .to(Merchants::Table, Merchants::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("ix_partner_projects_path", PartnerProjects::OrgPath),
            ("ix_partner_projects_partner", PartnerProjects::PartnerId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(PartnerProjects::Table)
                        .col(column)
                        .col(PartnerProjects::Status)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ProjectGoals::Table)
                    .col(reference(ProjectGoals::ProjectId))
                    .col(text(ProjectGoals::Metric, 100))
                    .col(integer(ProjectGoals::Target))
                    .col(integer(ProjectGoals::Position))
                    .primary_key(
                        Index::create()
                            .col(ProjectGoals::ProjectId)
                            .col(ProjectGoals::Metric),
                    )
                    .check(Expr::cust("target > 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectGoals::Table, ProjectGoals::ProjectId)
                            .to(PartnerProjects::Table, PartnerProjects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProjectNeeds::Table)
                    .col(reference(ProjectNeeds::ProjectId))
                    .col(reference(ProjectNeeds::NeedId))
                    .primary_key(
                        Index::create()
                            .col(ProjectNeeds::ProjectId)
                            .col(ProjectNeeds::NeedId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectNeeds::Table, ProjectNeeds::ProjectId)
                            .to(PartnerProjects::Table, PartnerProjects::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectNeeds::Table, ProjectNeeds::NeedId)
                            .to(CommunityNeeds::Table, CommunityNeeds::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProjectEvaluations::Table)
                    .col(id(ProjectEvaluations::Id))
                    .col(reference(ProjectEvaluations::ProjectId))
                    .col(text(ProjectEvaluations::Period, 20))
                    .col(long_text(ProjectEvaluations::Notes))
                    .col(
                        ColumnDef::new(ProjectEvaluations::Achievement)
                            .double()
                            .not_null(),
                    )
                    .col(reference(ProjectEvaluations::CreatedBy))
                    .col(timestamp(ProjectEvaluations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectEvaluations::Table, ProjectEvaluations::ProjectId)
                            .to(PartnerProjects::Table, PartnerProjects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_project_evaluations_period")
                    .table(ProjectEvaluations::Table)
                    .col(ProjectEvaluations::ProjectId)
                    .col(ProjectEvaluations::Period)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProjectEvaluationResults::Table)
                    .col(reference(ProjectEvaluationResults::EvaluationId))
                    .col(text(ProjectEvaluationResults::Metric, 100))
                    .col(integer(ProjectEvaluationResults::Target))
                    .col(integer(ProjectEvaluationResults::Achieved))
                    .primary_key(
                        Index::create()
                            .col(ProjectEvaluationResults::EvaluationId)
                            .col(ProjectEvaluationResults::Metric),
                    )
                    .check(Expr::cust("achieved >= 0"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                ProjectEvaluationResults::Table,
                                ProjectEvaluationResults::EvaluationId,
                            )
                            .to(ProjectEvaluations::Table, ProjectEvaluations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProjectRatings::Table)
                    .col(reference(ProjectRatings::ProjectId))
                    .col(reference(ProjectRatings::UserId))
                    .col(reference(ProjectRatings::PartnerId))
                    .col(integer(ProjectRatings::Score))
                    .col(text(ProjectRatings::Comment, 500))
                    .col(timestamp(ProjectRatings::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(ProjectRatings::ProjectId)
                            .col(ProjectRatings::UserId),
                    )
                    .check(Expr::cust("score BETWEEN 1 AND 5"))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ProjectRatings::Table, ProjectRatings::ProjectId)
                            .to(PartnerProjects::Table, PartnerProjects::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_project_ratings_partner")
                    .table(ProjectRatings::Table)
                    .col(ProjectRatings::PartnerId)
                    .to_owned(),
            )
            .await
    }
}
