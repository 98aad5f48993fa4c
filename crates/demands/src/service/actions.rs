//! Everything that happens to a demand after it is filed. One path for all actions: check
//! the input, ask the state machine, write the row by compare-and-set on its version, append
//! the event, tell the people concerned, all in the caller's transaction.

use crate::entity::demand;
use crate::rules::{self, MAX_TEXT_CHARS};
use crate::service::demands::{record_event, staff_sees, NewEvent};
use crate::service::{notify, rollup};
use crate::state_machine::{self, Action, ActorKind, Context, DemandState};
use crate::DemandError;
use chrono::{DateTime, Utc};
use identity::entity::{org, role_binding};
use identity::{Actor, OrgKind};
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// What the caller asks for, with its input.
#[derive(Debug, Clone)]
pub enum Command {
    Accept {
        handler_id: Option<String>,
    },
    Assign {
        handler_id: String,
    },
    Start,
    Transfer {
        org_id: String,
        reason: String,
    },
    Resolve {
        resolution: String,
        photos: Vec<String>,
    },
    Reject {
        reason: String,
    },
    Comment {
        text: String,
        photos: Vec<String>,
        internal: bool,
    },
    Rate {
        satisfied: bool,
        score: i64,
        comment: Option<String>,
    },
    Reopen {
        reason: String,
    },
    Withdraw {
        reason: String,
    },
}

impl Command {
    pub fn action(&self) -> Action {
        match self {
            Self::Accept { .. } => Action::Accept,
            Self::Assign { .. } => Action::Assign,
            Self::Start => Action::Start,
            Self::Transfer { .. } => Action::Transfer,
            Self::Resolve { .. } => Action::Resolve,
            Self::Reject { .. } => Action::Reject,
            Self::Comment { .. } => Action::Comment,
            Self::Rate { .. } => Action::Rate,
            Self::Reopen { .. } => Action::Reopen,
            Self::Withdraw { .. } => Action::Withdraw,
        }
    }
}

/// The input after its checks: the event's note and photos, and anything to look up.
struct Checked {
    note: String,
    photos: Vec<String>,
    internal: bool,
}

fn check_input(command: &Command) -> Result<Checked, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let mut photos = Vec::new();
    let mut internal = false;
    let note = match command {
        Command::Accept { .. } | Command::Assign { .. } | Command::Start => String::new(),
        Command::Transfer { reason, .. }
        | Command::Reject { reason }
        | Command::Reopen { reason } => text_field(&mut errors, "reason", reason, 1, 500),
        Command::Withdraw { reason } => text_field(&mut errors, "reason", reason, 0, 500),
        Command::Resolve {
            resolution,
            photos: urls,
        } => {
            photos = rules::photos(&mut errors, "photos", urls);
            text_field(&mut errors, "resolution", resolution, 1, MAX_TEXT_CHARS)
        }
        Command::Comment {
            text,
            photos: urls,
            internal: is_internal,
        } => {
            photos = rules::photos(&mut errors, "photos", urls);
            internal = *is_internal;
            text_field(&mut errors, "text", text, 1, MAX_TEXT_CHARS)
        }
        Command::Rate { score, comment, .. } => {
            if !(1..=5).contains(score) {
                errors.add("score", "must be a whole number from 1 to 5");
            }
            text_field(
                &mut errors,
                "comment",
                comment.as_deref().unwrap_or(""),
                0,
                500,
            )
        }
    };
    errors.into_result()?;
    Ok(Checked {
        note,
        photos,
        internal,
    })
}

/// Whether `user_id` is staff over (or under) the org at `org_path`, and so can handle it.
async fn can_handle(
    conn: &impl ConnectionTrait,
    user_id: &str,
    org_path: &str,
) -> Result<bool, DemandError> {
    let bindings = role_binding::Entity::find()
        .filter(role_binding::Column::UserId.eq(user_id))
        .filter(role_binding::Column::OrgId.is_not_null())
        .all(conn)
        .await?;
    for binding in bindings {
        let Some(org_id) = binding.org_id else {
            continue;
        };
        if let Some(org) = identity::service::orgs::by_id(conn, &org_id).await? {
            if org_path.starts_with(&org.path) || org.path.starts_with(org_path) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Takes the action on the demand as `kind` (staff endpoints act as staff, the resident's
/// as resident) and returns the demand after it.
pub async fn act(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    kind: ActorKind,
    demand_id: &str,
    command: Command,
    now: DateTime<Utc>,
) -> Result<demand::Model, DemandError> {
    let checked = check_input(&command)?;
    let demand = demand::Entity::find_by_id(demand_id.to_owned())
        .one(conn)
        .await?
        .ok_or(DemandError::NotFound("demand"))?;
    match kind {
        ActorKind::Resident if demand.resident_id != actor.user_id => {
            return Err(if staff_sees(actor, &demand) {
                DemandError::Forbidden("Only the resident who filed the demand can do this.")
            } else {
                DemandError::NotFound("demand")
            });
        }
        ActorKind::Staff if !staff_sees(actor, &demand) => {
            return Err(DemandError::NotFound("demand"));
        }
        // Staff over the community still see a demand moved up to the street, but only the
        // owning org acts on it (comments aside).
        ActorKind::Staff
            if !actor.can_reach(&demand.org_path) && command.action() != Action::Comment =>
        {
            return Err(DemandError::Forbidden(
                "The demand is now handled by another org; only its staff can act on it.",
            ));
        }
        _ => {}
    }
    let from = DemandState::parse(&demand.status).ok_or(DemandError::NotFound("demand"))?;
    let action = command.action();
    let transition = state_machine::apply(
        from,
        action,
        kind,
        Context {
            now,
            resolved_at: demand.resolved_at,
        },
    )?;
    let to = transition.to;

    let mut update = demand::Entity::update_many()
        .col_expr(demand::Column::Status, Expr::value(to.as_str()))
        .col_expr(demand::Column::Version, Expr::value(demand.version + 1))
        .col_expr(demand::Column::UpdatedAt, Expr::value(now));
    let mut after = demand::Model {
        status: to.as_str().to_owned(),
        version: demand.version + 1,
        updated_at: now,
        ..demand.clone()
    };
    let mut transferred_to: Option<org::Model> = None;
    match &command {
        Command::Accept { handler_id } => {
            let handler = handler_id.clone().unwrap_or_else(|| actor.user_id.clone());
            if !can_handle(conn, &handler, &demand.org_path).await? {
                return Err(ValidationErrors::single(
                    "handler_id",
                    "is not staff of the org that owns this demand",
                )
                .into());
            }
            update = update.col_expr(demand::Column::HandlerId, Expr::value(handler.as_str()));
            after.handler_id = Some(handler);
            if demand.accepted_at.is_none() {
                update = update.col_expr(demand::Column::AcceptedAt, Expr::value(now));
                after.accepted_at = Some(now);
            }
        }
        Command::Assign { handler_id } => {
            if !can_handle(conn, handler_id, &demand.org_path).await? {
                return Err(ValidationErrors::single(
                    "handler_id",
                    "is not staff of the org that owns this demand",
                )
                .into());
            }
            update = update.col_expr(demand::Column::HandlerId, Expr::value(handler_id.as_str()));
            after.handler_id = Some(handler_id.clone());
        }
        Command::Transfer { org_id, .. } => {
            let target = transfer_target(conn, actor, &demand, org_id).await?;
            update = update
                .col_expr(demand::Column::OrgId, Expr::value(target.id.as_str()))
                .col_expr(demand::Column::OrgPath, Expr::value(target.path.as_str()))
                .col_expr(
                    demand::Column::HandlerId,
                    Expr::value(Option::<String>::None),
                );
            after.org_id = target.id.clone();
            after.org_path = target.path.clone();
            after.handler_id = None;
            if target.kind == OrgKind::Community.as_str() {
                // Filed under the wrong community: it moves there (the SLA clock runs on).
                let (district_id, street_id) =
                    crate::service::demands::levels(&target).ok_or(DemandError::NotFound("org"))?;
                update = update
                    .col_expr(demand::Column::CommunityId, Expr::value(target.id.as_str()))
                    .col_expr(
                        demand::Column::CommunityPath,
                        Expr::value(target.path.as_str()),
                    )
                    .col_expr(demand::Column::StreetId, Expr::value(street_id.as_str()))
                    .col_expr(
                        demand::Column::DistrictId,
                        Expr::value(district_id.as_str()),
                    );
                after.community_id = target.id.clone();
                after.community_path = target.path.clone();
                after.street_id = street_id;
                after.district_id = district_id;
            }
            transferred_to = Some(target);
        }
        Command::Resolve { .. } => {
            update = update
                .col_expr(demand::Column::ResolvedAt, Expr::value(now))
                .col_expr(
                    demand::Column::Resolution,
                    Expr::value(checked.note.as_str()),
                );
            after.resolved_at = Some(now);
            after.resolution = Some(checked.note.clone());
            if demand.first_resolved_at.is_none() {
                let seconds = (now - demand.submitted_at).num_seconds();
                let on_time = now <= demand.due_at;
                update = update
                    .col_expr(demand::Column::FirstResolvedAt, Expr::value(now))
                    .col_expr(demand::Column::HandlingSeconds, Expr::value(seconds))
                    .col_expr(demand::Column::ResolvedOnTime, Expr::value(on_time));
                after.first_resolved_at = Some(now);
                after.handling_seconds = Some(seconds);
                after.resolved_on_time = Some(on_time);
            }
        }
        Command::Rate {
            satisfied, score, ..
        } => {
            let comment = (!checked.note.is_empty()).then(|| checked.note.clone());
            update = update
                .col_expr(demand::Column::RatingSatisfied, Expr::value(*satisfied))
                .col_expr(demand::Column::RatingScore, Expr::value(*score as i32))
                .col_expr(demand::Column::RatingComment, Expr::value(comment.clone()))
                .col_expr(demand::Column::RatedAt, Expr::value(now))
                .col_expr(demand::Column::ClosedAt, Expr::value(now));
            after.rating_satisfied = Some(*satisfied);
            after.rating_score = Some(*score as i32);
            after.rating_comment = comment;
            after.rated_at = Some(now);
            after.closed_at = Some(now);
        }
        Command::Reopen { .. } => {
            update = update.col_expr(
                demand::Column::ClosedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
            after.closed_at = None;
        }
        Command::Start
        | Command::Reject { .. }
        | Command::Comment { .. }
        | Command::Withdraw { .. } => {}
    }

    let changed = update
        .filter(demand::Column::Id.eq(demand_id))
        .filter(demand::Column::Version.eq(demand.version))
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(DemandError::Changed);
    }
    rollup::record(conn, Some(&demand), Some(&after)).await?;
    let event_note = match (&command, &transferred_to) {
        (Command::Transfer { reason, .. }, Some(target)) => {
            format!("转至{}：{reason}", target.name)
        }
        (
            Command::Rate {
                satisfied, score, ..
            },
            _,
        ) => {
            let verdict = if *satisfied { "满意" } else { "不满意" };
            if checked.note.is_empty() {
                format!("{verdict}，{score}分")
            } else {
                format!("{verdict}，{score}分：{}", checked.note)
            }
        }
        _ => checked.note.clone(),
    };
    record_event(
        conn,
        NewEvent {
            demand_id,
            action: action.as_str(),
            from: Some(from),
            to,
            actor_id: Some(&actor.user_id),
            note: &event_note,
            photos: &checked.photos,
            internal: checked.internal,
        },
        now,
    )
    .await?;
    tell(conn, &command, &after, to, &event_note, now).await?;
    Ok(after)
}

/// The org a demand may be transferred to: a community or street other than its owner, in
/// the demand's street, or anywhere the caller reaches (the district admin).
async fn transfer_target(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    demand: &demand::Model,
    org_id: &str,
) -> Result<org::Model, DemandError> {
    let invalid = |message: &str| DemandError::from(ValidationErrors::single("org_id", message));
    let target = identity::service::orgs::by_id(conn, org_id)
        .await?
        .ok_or_else(|| invalid("is not an org"))?;
    if target.kind != OrgKind::Community.as_str() && target.kind != OrgKind::Street.as_str() {
        return Err(invalid("must be a community or a street"));
    }
    if target.id == demand.org_id {
        return Err(invalid("already handles this demand"));
    }
    let street_marker = format!("/{}/", demand.street_id);
    if !target.path.contains(&street_marker) && !actor.can_reach(&target.path) {
        return Err(invalid("is outside the demand's street"));
    }
    Ok(target)
}

/// Notifications for what just happened.
async fn tell(
    conn: &impl ConnectionTrait,
    command: &Command,
    demand: &demand::Model,
    to: DemandState,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), DemandError> {
    match command {
        Command::Accept { .. }
        | Command::Start
        | Command::Resolve { .. }
        | Command::Reject { .. } => {
            notify::resident_status(conn, demand, to, false, note, now).await?;
        }
        Command::Transfer { .. } => {
            notify::resident_status(conn, demand, to, true, note, now).await?;
            let staff = notify::responsible_staff(conn, demand).await?;
            let body = format!("诉求「{}」转交你方办理：{note}", demand.title);
            notify::staff(
                conn,
                &staff,
                "demand_transferred",
                "转办诉求",
                &body,
                &demand.id,
                now,
            )
            .await?;
        }
        Command::Assign { handler_id } => {
            let body = format!("诉求「{}」已分派给你，请按时办结。", demand.title);
            notify::staff(
                conn,
                std::slice::from_ref(handler_id),
                "demand_assigned",
                "分派诉求",
                &body,
                &demand.id,
                now,
            )
            .await?;
        }
        Command::Reopen { .. } => {
            let staff = notify::responsible_staff(conn, demand).await?;
            let body = format!("居民重新打开了诉求「{}」：{note}", demand.title);
            notify::staff(
                conn,
                &staff,
                "demand_reopened",
                "诉求被重新打开",
                &body,
                &demand.id,
                now,
            )
            .await?;
        }
        Command::Comment { .. } | Command::Rate { .. } | Command::Withdraw { .. } => {}
    }
    Ok(())
}
