//! Help requests, the classic time bank: a resident asks for a service and offers minutes,
//! which are held on their wallet; a neighbour accepts and completes it; the requester
//! confirms and the held minutes move to the helper. Cancelling before anyone accepted
//! releases the hold; a dispute goes to the community's staff, who pay the helper or refund
//! the requester. Every step is a compare-and-set on the request's version.

use crate::entity::help_request;
use crate::help_state::{HelpStatus, HelpStep};
use crate::TimebankError;
use chrono::{DateTime, Duration, Utc};
use identity::{Actor, OrgKind};
use platform::ids::new_id;
use platform::notifications::{notify, NewNotification};
use platform::validation::text_field;
use platform::ValidationErrors;
use points_ledger::service::holds::{self, HoldRequest, PostRequest};
use points_ledger::service::transfers::TransferCode;
use points_ledger::{AccountRef, Asset, ExpiryRule};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

/// Minutes one request may offer: a full day of help at most.
pub const MAX_MINUTES: i64 = 24 * 60;
/// Held credits are not meant to lapse while a request is alive.
const HOLD_DAYS: i64 = 400;

#[derive(Debug, Clone)]
pub struct HelpInput {
    pub title: String,
    pub description: String,
    pub service_type: String,
    pub minutes: i64,
    pub community_id: String,
}

pub async fn create(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: HelpInput,
    now: DateTime<Utc>,
) -> Result<help_request::Model, TimebankError> {
    let mut errors = ValidationErrors::new();
    let title = text_field(&mut errors, "title", &input.title, 1, 100);
    let description = text_field(&mut errors, "description", &input.description, 0, 2000);
    let service_type = text_field(&mut errors, "service_type", &input.service_type, 1, 30);
    if !(1..=MAX_MINUTES).contains(&input.minutes) {
        errors.add("minutes", format!("must be from 1 to {MAX_MINUTES}"));
    }
    let community = identity::service::orgs::by_id(conn, &input.community_id)
        .await?
        .filter(|o| o.kind == OrgKind::Community.as_str());
    if community.is_none() {
        errors.add("community_id", "is not a community");
    }
    errors.into_result()?;
    let Some(community) = community else {
        return Err(TimebankError::NotFound("community"));
    };
    let id = new_id();
    let hold = holds::reserve(
        conn,
        HoldRequest {
            idempotency_key: format!("help:{id}:hold"),
            account: AccountRef::wallet(Asset::TimeCredits, &actor.user_id),
            amount: input.minutes,
            expires_at: now + Duration::days(HOLD_DAYS),
            reference: Some(("help_request".to_owned(), id.clone())),
        },
        now,
    )
    .await?;
    Ok(help_request::ActiveModel {
        id: Set(id),
        requester_id: Set(actor.user_id.clone()),
        helper_id: Set(None),
        community_id: Set(community.id),
        community_path: Set(community.path),
        title: Set(title),
        description: Set(description),
        service_type: Set(service_type),
        minutes: Set(input.minutes),
        status: Set(HelpStatus::Open),
        hold_id: Set(hold.id),
        dispute_reason: Set(None),
        resolution: Set(None),
        created_at: Set(now),
        accepted_at: Set(None),
        completed_at: Set(None),
        closed_at: Set(None),
        version: Set(1),
    }
    .insert(conn)
    .await?)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<help_request::Model, TimebankError> {
    help_request::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or(TimebankError::NotFound("help request"))
}

/// How much of a help request the actor may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpView {
    /// The parties and staff over the community: everything.
    Full,
    /// A neighbour looking for something to help with: an open request of their own
    /// community, without who asked and without any dispute.
    Public,
}

/// What the actor may see of `request`, or `None` (read as not found).
pub fn visibility(actor: &Actor, request: &help_request::Model) -> Option<HelpView> {
    let party = request.requester_id == actor.user_id
        || request.helper_id.as_deref() == Some(actor.user_id.as_str());
    if party || actor.can_reach(&request.community_path) {
        Some(HelpView::Full)
    } else if request.status == HelpStatus::Open
        && actor.community_id.as_deref() == Some(request.community_id.as_str())
    {
        Some(HelpView::Public)
    } else {
        None
    }
}

/// One request as the actor may see it; out of reach reads as not found.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
) -> Result<(help_request::Model, HelpView), TimebankError> {
    let request = find(conn, id).await?;
    let view = visibility(actor, &request).ok_or(TimebankError::NotFound("help request"))?;
    Ok((request, view))
}

/// The requests the actor may see (`visibility`), optionally of one community and with one
/// status, newest first: staff see their orgs' requests; residents their own (asked or
/// helping) and the open requests of their community.
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    community_id: Option<&str>,
    status: Option<&str>,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<(help_request::Model, HelpView)>, Option<String>), TimebankError> {
    let mut reach = Condition::any()
        .add(help_request::Column::RequesterId.eq(actor.user_id.as_str()))
        .add(help_request::Column::HelperId.eq(actor.user_id.as_str()));
    for (_, org) in actor.staff_scopes() {
        reach = reach.add(help_request::Column::CommunityPath.starts_with(org.path.as_str()));
    }
    if let Some(own) = &actor.community_id {
        reach = reach.add(
            Condition::all()
                .add(help_request::Column::CommunityId.eq(own.as_str()))
                .add(help_request::Column::Status.eq(HelpStatus::Open)),
        );
    }
    let mut query = help_request::Entity::find().filter(reach);
    if let Some(community_id) = community_id {
        query = query.filter(help_request::Column::CommunityId.eq(community_id));
    }
    if let Some(status) = status {
        query = query.filter(help_request::Column::Status.eq(status));
    }
    if let Some(before) = before {
        query = query.filter(help_request::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(help_request::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let (rows, next) = platform::paging::split_page(rows, limit, |r| r.id.clone());
    let rows = rows
        .into_iter()
        .filter_map(|r| visibility(actor, &r).map(|view| (r, view)))
        .collect();
    Ok((rows, next))
}

/// What can happen to a help request, and who may do it.
#[derive(Debug, Clone)]
pub enum HelpAction {
    Accept,
    Complete,
    Confirm,
    Cancel,
    Dispute {
        reason: String,
    },
    /// Community staff settle a dispute.
    Resolve {
        pay_helper: bool,
        reason: String,
    },
}

impl HelpAction {
    fn name(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Complete => "complete",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Dispute { .. } => "dispute",
            Self::Resolve { .. } => "resolve",
        }
    }

    /// The step of the state machine this action takes.
    fn step(&self) -> HelpStep {
        match self {
            Self::Accept => HelpStep::Accept,
            Self::Complete => HelpStep::Complete,
            Self::Confirm => HelpStep::Confirm,
            Self::Cancel => HelpStep::Cancel,
            Self::Dispute { .. } => HelpStep::Dispute,
            Self::Resolve { .. } => HelpStep::Resolve,
        }
    }
}

pub async fn act(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
    action: HelpAction,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<help_request::Model, TimebankError> {
    // What the actor may not see, they may not act on either (a helper from another street
    // cannot take a request they were never shown).
    let (request, _) = find_visible(conn, actor, id).await?;
    let is_requester = request.requester_id == actor.user_id;
    let is_helper = request.helper_id.as_deref() == Some(actor.user_id.as_str());
    match &action {
        HelpAction::Accept if is_requester => {
            return Err(TimebankError::Forbidden(
                "You cannot accept your own request.",
            ));
        }
        HelpAction::Accept => {}
        HelpAction::Complete if !is_helper => {
            return Err(TimebankError::Forbidden(
                "Only the helper marks it complete.",
            ));
        }
        HelpAction::Confirm | HelpAction::Cancel if !is_requester => {
            return Err(TimebankError::Forbidden("Only the requester can do this."));
        }
        HelpAction::Dispute { .. } if !(is_requester || is_helper) => {
            return Err(TimebankError::Forbidden(
                "Only the requester or the helper can dispute.",
            ));
        }
        HelpAction::Resolve { .. } if !actor.can_reach(&request.community_path) => {
            return Err(TimebankError::Forbidden(
                "Only staff of the request's community settle disputes.",
            ));
        }
        _ => {}
    }
    let to =
        request
            .status
            .apply(action.step())
            .ok_or_else(|| TimebankError::InvalidTransition {
                action: action.name(),
                from: request.status.as_str().to_owned(),
            })?;
    let mut after = help_request::Model {
        status: to,
        version: request.version + 1,
        ..request.clone()
    };
    let mut update = help_request::Entity::update_many()
        .col_expr(help_request::Column::Status, Expr::value(to))
        .col_expr(
            help_request::Column::Version,
            Expr::value(request.version + 1),
        );
    match &action {
        HelpAction::Accept => {
            update = update
                .col_expr(
                    help_request::Column::HelperId,
                    Expr::value(actor.user_id.as_str()),
                )
                .col_expr(help_request::Column::AcceptedAt, Expr::value(now));
            after.helper_id = Some(actor.user_id.clone());
            after.accepted_at = Some(now);
        }
        HelpAction::Complete => {
            update = update.col_expr(help_request::Column::CompletedAt, Expr::value(now));
            after.completed_at = Some(now);
        }
        HelpAction::Confirm | HelpAction::Cancel => {
            update = update.col_expr(help_request::Column::ClosedAt, Expr::value(now));
            after.closed_at = Some(now);
        }
        HelpAction::Dispute { reason } => {
            let reason = text_field_checked("reason", reason)?;
            update = update.col_expr(
                help_request::Column::DisputeReason,
                Expr::value(reason.as_str()),
            );
            after.dispute_reason = Some(reason);
        }
        HelpAction::Resolve { reason, .. } => {
            let reason = text_field_checked("reason", reason)?;
            update = update
                .col_expr(
                    help_request::Column::Resolution,
                    Expr::value(reason.as_str()),
                )
                .col_expr(help_request::Column::ClosedAt, Expr::value(now));
            after.resolution = Some(reason);
            after.closed_at = Some(now);
        }
    }
    let changed = update
        .filter(help_request::Column::Id.eq(id))
        .filter(help_request::Column::Version.eq(request.version))
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(TimebankError::Changed);
    }
    // Money moves after the compare-and-set, in the same transaction.
    let pay_helper = match &action {
        HelpAction::Confirm => Some(true),
        HelpAction::Cancel => Some(false),
        HelpAction::Resolve { pay_helper, .. } => Some(*pay_helper),
        _ => None,
    };
    match (pay_helper, &after.helper_id) {
        (Some(true), Some(helper)) => {
            holds::post(
                conn,
                PostRequest {
                    hold_id: request.hold_id.clone(),
                    to: AccountRef::wallet(Asset::TimeCredits, helper),
                    amount: request.minutes,
                    code: TransferCode::HelpRequest,
                    memo: format!("互助：{}", request.title),
                    idempotency_key: format!("help:{}:pay", request.id),
                },
                rule,
                now,
            )
            .await?;
        }
        (Some(_), _) => {
            holds::void(conn, &request.hold_id, now).await?;
        }
        (None, _) => {}
    }
    tell(conn, &after, &action, actor, now).await?;
    Ok(after)
}

fn text_field_checked(field: &str, value: &str) -> Result<String, TimebankError> {
    let mut errors = ValidationErrors::new();
    let value = text_field(&mut errors, field, value, 1, 500);
    errors.into_result()?;
    Ok(value)
}

async fn tell(
    conn: &impl ConnectionTrait,
    request: &help_request::Model,
    action: &HelpAction,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), TimebankError> {
    let (user, title, body) = match action {
        HelpAction::Accept => (
            Some(request.requester_id.as_str()),
            "有邻居接单了",
            format!("「{}」已有邻居接单。", request.title),
        ),
        HelpAction::Complete => (
            Some(request.requester_id.as_str()),
            "请确认互助完成",
            format!(
                "「{}」对方已标记完成，请确认后时间币将转给对方。",
                request.title
            ),
        ),
        HelpAction::Confirm => (
            request.helper_id.as_deref(),
            "时间币已到账",
            format!(
                "「{}」：{} 分钟时间币已转入您的账户。",
                request.title, request.minutes
            ),
        ),
        HelpAction::Dispute { .. } => {
            let other = if actor.user_id == request.requester_id {
                request.helper_id.as_deref()
            } else {
                Some(request.requester_id.as_str())
            };
            (
                other,
                "互助有争议",
                format!("「{}」有争议，社区工作人员将协调处理。", request.title),
            )
        }
        HelpAction::Cancel | HelpAction::Resolve { .. } => (None, "", String::new()),
    };
    if let Some(user_id) = user {
        notify(
            conn,
            NewNotification {
                user_id,
                kind: "help_request",
                title: title.to_owned(),
                body,
                reference: Some(("help_request", &request.id)),
            },
            now,
        )
        .await?;
    }
    Ok(())
}
