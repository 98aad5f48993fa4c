//! The demand jobs: warn at 75% of the SLA, escalate overdue demands to the street, close
//! resolved demands nobody rated within 72 hours. Each claims its rows by compare-and-set,
//! so several server instances running them at once act on each demand exactly once.

use crate::entity::demand;
use crate::service::demands::{record_event, NewEvent};
use crate::service::{notify, rollup};
use crate::state_machine::{self, Action, ActorKind, Context, DemandState, AUTO_CLOSE_HOURS};
use crate::DemandError;
use chrono::{DateTime, Duration, Utc};
use identity::Role;
use platform::Reach;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
};

const OPEN: [&str; 3] = ["submitted", "accepted", "in_progress"];

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlaReport {
    pub warned: u64,
    pub escalated: u64,
    pub auto_closed: u64,
}

/// One round of all three jobs, `batch` demands each at most.
pub async fn run(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    reach: &Reach,
    batch: u64,
) -> Result<SlaReport, DemandError> {
    Ok(SlaReport {
        warned: warn_due(conn, now, reach, batch).await?,
        escalated: escalate_overdue(conn, now, reach, batch).await?,
        auto_closed: auto_close(conn, now, reach, batch).await?,
    })
}

/// What [`run`] would act on at `now`, one query per rule, for the job round to ask
/// before running it.
pub fn due(now: DateTime<Utc>, reach: &Reach) -> [Select<demand::Entity>; 3] {
    [
        within(reach, due_to_warn(now)),
        within(reach, due_to_escalate(now)),
        within(reach, due_to_close(now)),
    ]
}

/// The demands of `reach`: of a community under it, or owned by an org under it.
fn within(reach: &Reach, demands: Select<demand::Entity>) -> Select<demand::Entity> {
    match reach.path() {
        None => demands,
        Some(path) => demands.filter(
            Condition::any()
                .add(demand::Column::CommunityPath.starts_with(path))
                .add(demand::Column::OrgPath.starts_with(path)),
        ),
    }
}

/// Open demands past their warning moment, not yet warned.
fn due_to_warn(now: DateTime<Utc>) -> Select<demand::Entity> {
    demand::Entity::find()
        .filter(demand::Column::Status.is_in(OPEN))
        .filter(demand::Column::WarnAt.lte(now))
        .filter(demand::Column::SlaWarnedAt.is_null())
        .order_by_asc(demand::Column::WarnAt)
}

/// Open demands past `due_at`, not yet escalated.
fn due_to_escalate(now: DateTime<Utc>) -> Select<demand::Entity> {
    demand::Entity::find()
        .filter(demand::Column::Status.is_in(OPEN))
        .filter(demand::Column::DueAt.lt(now))
        .filter(demand::Column::EscalatedAt.is_null())
        .order_by_asc(demand::Column::DueAt)
}

/// Resolved demands left unrated for [`AUTO_CLOSE_HOURS`].
fn due_to_close(now: DateTime<Utc>) -> Select<demand::Entity> {
    demand::Entity::find()
        .filter(demand::Column::Status.eq(DemandState::Resolved.as_str()))
        .filter(demand::Column::ResolvedAt.lte(now - Duration::hours(AUTO_CLOSE_HOURS)))
        .order_by_asc(demand::Column::ResolvedAt)
}

/// Tells the handler (or the owning org's staff) when 75% of the time is gone.
pub async fn warn_due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    reach: &Reach,
    batch: u64,
) -> Result<u64, DemandError> {
    let due = within(reach, due_to_warn(now))
        .limit(batch)
        .all(conn)
        .await?;
    let mut warned = 0;
    for demand in due {
        let claimed = demand::Entity::update_many()
            .col_expr(demand::Column::SlaWarnedAt, Expr::value(now))
            .filter(demand::Column::Id.eq(demand.id.as_str()))
            .filter(demand::Column::SlaWarnedAt.is_null())
            .exec(conn)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        if demand.due_at <= now {
            continue; // already overdue: the escalation says it louder
        }
        let staff = notify::responsible_staff(conn, &demand).await?;
        let left = (demand.due_at - now).num_minutes();
        let body = format!(
            "诉求「{}」距办结时限还剩{}小时{}分钟，请抓紧办理。",
            demand.title,
            left / 60,
            left % 60
        );
        notify::staff(
            conn,
            &staff,
            "demand_sla_warning",
            "诉求即将超时",
            &body,
            &demand.id,
            now,
        )
        .await?;
        warned += 1;
    }
    Ok(warned)
}

/// Escalates open demands past `due_at` to the street's staff: an event and notifications.
pub async fn escalate_overdue(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    reach: &Reach,
    batch: u64,
) -> Result<u64, DemandError> {
    let overdue = within(reach, due_to_escalate(now))
        .limit(batch)
        .all(conn)
        .await?;
    let mut escalated = 0;
    for demand in overdue {
        let Some(state) = DemandState::parse(&demand.status) else {
            continue;
        };
        let context = Context {
            now,
            resolved_at: demand.resolved_at,
        };
        if state_machine::apply(state, Action::Escalate, ActorKind::System, context).is_err() {
            continue;
        }
        let claimed = demand::Entity::update_many()
            .col_expr(demand::Column::EscalatedAt, Expr::value(now))
            .filter(demand::Column::Id.eq(demand.id.as_str()))
            .filter(demand::Column::EscalatedAt.is_null())
            .filter(demand::Column::Status.is_in(OPEN))
            .exec(conn)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let hours_late = (now - demand.due_at).num_hours();
        let note = format!("超过办结时限{hours_late}小时，已上报街道");
        record_event(
            conn,
            NewEvent {
                demand_id: &demand.id,
                action: Action::Escalate.as_str(),
                from: Some(state),
                to: state,
                actor_id: None,
                note: &note,
                photos: &[],
                internal: true,
            },
            now,
        )
        .await?;
        let mut staff = notify::staff_of(conn, &demand.street_id, Role::StreetStaff).await?;
        staff.extend(notify::responsible_staff(conn, &demand).await?);
        staff.sort();
        staff.dedup();
        let body = format!("诉求「{}」{note}，请督办。", demand.title);
        notify::staff(
            conn,
            &staff,
            "demand_escalated",
            "诉求超时上报",
            &body,
            &demand.id,
            now,
        )
        .await?;
        escalated += 1;
    }
    Ok(escalated)
}

/// Closes resolved demands that were not rated within 72 hours of their resolution.
pub async fn auto_close(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    reach: &Reach,
    batch: u64,
) -> Result<u64, DemandError> {
    let due = within(reach, due_to_close(now))
        .limit(batch)
        .all(conn)
        .await?;
    let mut closed = 0;
    for demand in due {
        let context = Context {
            now,
            resolved_at: demand.resolved_at,
        };
        let Ok(transition) = state_machine::apply(
            DemandState::Resolved,
            Action::AutoClose,
            ActorKind::System,
            context,
        ) else {
            continue;
        };
        let changed = demand::Entity::update_many()
            .col_expr(demand::Column::Status, Expr::value(transition.to.as_str()))
            .col_expr(demand::Column::ClosedAt, Expr::value(now))
            .col_expr(demand::Column::Version, Expr::value(demand.version + 1))
            .col_expr(demand::Column::UpdatedAt, Expr::value(now))
            .filter(demand::Column::Id.eq(demand.id.as_str()))
            .filter(demand::Column::Version.eq(demand.version))
            .exec(conn)
            .await?;
        if changed.rows_affected != 1 {
            continue;
        }
        let after = demand::Model {
            status: transition.to.as_str().to_owned(),
            closed_at: Some(now),
            ..demand.clone()
        };
        rollup::record(conn, Some(&demand), Some(&after)).await?;
        let note = format!("{AUTO_CLOSE_HOURS}小时内未评价，自动关闭");
        record_event(
            conn,
            NewEvent {
                demand_id: &demand.id,
                action: Action::AutoClose.as_str(),
                from: Some(DemandState::Resolved),
                to: transition.to,
                actor_id: None,
                note: &note,
                photos: &[],
                internal: false,
            },
            now,
        )
        .await?;
        notify::resident_status(conn, &after, transition.to, false, &note, now).await?;
        closed += 1;
    }
    Ok(closed)
}
