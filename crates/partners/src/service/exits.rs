//! The exit path (退出机制): a partner that breaks the rules (or asks to) leaves in one
//! transaction: closed (its live reservations voided, points back to the residents), its
//! offers unpublished, its resources withdrawn, its unfinished projects terminated, and
//! the whole of it in the audit trail.

use super::projects::move_to;
use super::scope::partner_in_reach;
use crate::entity::{project, resource};
use crate::lists::ExitReason;
use crate::project_state::{ProjectAction, ProjectStatus};
use crate::PartnerError;
use ::merchant::entity::redemption;
use ::merchant::service::{applications, offers};
use ::merchant::{MerchantAction, RedemptionStatus};
use chrono::{DateTime, Utc};
use identity::Actor;
use platform::audit::{self, AuditEntry};
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// What an exit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exited {
    pub partner_id: String,
    pub reason: String,
    pub offers_unpublished: u64,
    pub reservations_voided: u64,
    pub projects_terminated: u64,
    pub resources_withdrawn: u64,
}

pub async fn exit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
    reason: &str,
    basis: &str,
    now: DateTime<Utc>,
) -> Result<Exited, PartnerError> {
    partner_in_reach(conn, actor, partner_id).await?;
    let mut errors = ValidationErrors::new();
    let reason = ExitReason::parse(reason);
    if reason.is_none() {
        errors.add("reason", ExitReason::choices());
    }
    let basis = text_field(&mut errors, "basis", basis, 1, 400);
    errors.into_result()?;
    let reason = reason.map_or("violation", |r| r.as_str());

    // Closing voids its live reservations (points back); count them first.
    let reservations_voided = redemption::Entity::find()
        .filter(redemption::Column::MerchantId.eq(partner_id))
        .filter(redemption::Column::Status.eq(RedemptionStatus::Reserved))
        .count(conn)
        .await?;
    applications::transition(
        conn,
        actor,
        partner_id,
        MerchantAction::Close,
        &format!("{reason}: {basis}"),
        now,
    )
    .await?;
    let offers_unpublished = offers::unpublish_all(conn, partner_id, now).await?;
    let resources_withdrawn = resource::Entity::update_many()
        .col_expr(resource::Column::Status, Expr::value("withdrawn"))
        .col_expr(resource::Column::UpdatedAt, Expr::value(now))
        .filter(resource::Column::PartnerId.eq(partner_id))
        .filter(resource::Column::Status.eq("available"))
        .exec(conn)
        .await?
        .rows_affected;
    let live = project::Entity::find()
        .filter(project::Column::PartnerId.eq(partner_id))
        .filter(
            project::Column::Status.is_in(
                ProjectStatus::ALL
                    .iter()
                    .filter(|s| s.is_live())
                    .map(|s| s.as_str()),
            ),
        )
        .all(conn)
        .await?;
    let why = format!("partner exit ({reason}): {basis}");
    for p in &live {
        move_to(conn, p, ProjectAction::Terminate, now, Some(&why)).await?;
    }
    let exited = Exited {
        partner_id: partner_id.to_owned(),
        reason: reason.to_owned(),
        offers_unpublished,
        reservations_voided,
        projects_terminated: live.len() as u64,
        resources_withdrawn,
    };
    audit::record(
        conn,
        AuditEntry {
            actor_id: Some(&actor.user_id),
            action: "partner_exit",
            subject: ("partner", partner_id),
            detail: serde_json::json!({
                "reason": reason,
                "basis": basis,
                "offers_unpublished": exited.offers_unpublished,
                "reservations_voided": exited.reservations_voided,
                "projects_terminated": exited.projects_terminated,
                "resources_withdrawn": exited.resources_withdrawn,
            }),
        },
        now,
    )
    .await?;
    Ok(exited)
}
