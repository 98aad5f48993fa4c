//! Telling people about demands: the resident on every status change they can see (in-app
//! always, WeChat subscribe message when they allowed one), staff when work lands on them.
//! Everything here runs inside the transaction of the change, so a rolled-back change tells
//! nobody; WeChat itself is called later by the outbox sender.

use crate::entity::demand;
use crate::state_machine::DemandState;
use chrono::{DateTime, Utc};
use identity::entity::role_binding;
use identity::Role;
use platform::clock::china_time;
use platform::notifications::{notify, NewNotification};
use platform::outbox::{clip, enqueue_if_allowed, SubscribeMessage};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// The subscribe-message kind residents allow for demand updates.
pub const STATUS_KIND: &str = "demand_status";

/// Short status words (WeChat `phrase` values hold at most 5 characters).
fn status_phrase(to: DemandState, transferred: bool) -> &'static str {
    if transferred {
        return "已转办";
    }
    match to {
        DemandState::Submitted => "已提交",
        DemandState::Accepted => "已受理",
        DemandState::InProgress => "处理中",
        DemandState::Resolved => "已办结",
        DemandState::Closed => "已关闭",
        DemandState::Rejected => "未受理",
        DemandState::Withdrawn => "已撤回",
    }
}

/// Tells the resident their demand moved to `to`, with `detail` (reason, resolution, ...).
pub async fn resident_status(
    conn: &impl ConnectionTrait,
    demand: &demand::Model,
    to: DemandState,
    transferred: bool,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let phrase = status_phrase(to, transferred);
    let title = format!("诉求{phrase}");
    let body = match (to, transferred) {
        (_, true) => format!("您的诉求「{}」已转交办理：{detail}", demand.title),
        (DemandState::Accepted, _) => {
            format!("您的诉求「{}」已受理，我们会尽快处理。", demand.title)
        }
        (DemandState::InProgress, _) => format!("您的诉求「{}」正在处理。", demand.title),
        (DemandState::Resolved, _) => format!(
            "您的诉求「{}」已办结：{detail}。请在72小时内评价，如未解决可在7天内重新打开。",
            demand.title
        ),
        (DemandState::Rejected, _) => format!("您的诉求「{}」未予受理：{detail}", demand.title),
        (DemandState::Closed, _) => format!("您的诉求「{}」已关闭。{detail}", demand.title),
        _ => format!("您的诉求「{}」状态：{phrase}", demand.title),
    };
    notify(
        conn,
        NewNotification {
            user_id: &demand.resident_id,
            kind: "demand_status",
            title,
            body,
            reference: Some(("demand", &demand.id)),
        },
        now,
    )
    .await?;
    let note = if detail.is_empty() { phrase } else { detail };
    enqueue_if_allowed(
        conn,
        SubscribeMessage {
            user_id: &demand.resident_id,
            kind: STATUS_KIND,
            page: format!("pages/demands/detail?id={}", demand.id),
            data: serde_json::json!({
                "thing1": {"value": clip(&demand.title, 20)},
                "phrase2": {"value": phrase},
                "time3": {"value": china_time(now)},
                "thing4": {"value": clip(note, 20)},
            }),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Staff users holding `role` on exactly `org_id`.
pub async fn staff_of(
    conn: &impl ConnectionTrait,
    org_id: &str,
    role: Role,
) -> Result<Vec<String>, DbErr> {
    Ok(role_binding::Entity::find()
        .filter(role_binding::Column::OrgId.eq(org_id))
        .filter(role_binding::Column::Role.eq(role.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|b| b.user_id)
        .collect())
}

/// The people who should act on the demand now: its handler, or else the staff of the org
/// that owns it.
pub async fn responsible_staff(
    conn: &impl ConnectionTrait,
    demand: &demand::Model,
) -> Result<Vec<String>, DbErr> {
    if let Some(handler) = &demand.handler_id {
        return Ok(vec![handler.clone()]);
    }
    let mut users = staff_of(conn, &demand.org_id, Role::CommunityStaff).await?;
    users.extend(staff_of(conn, &demand.org_id, Role::StreetStaff).await?);
    users.sort();
    users.dedup();
    Ok(users)
}

/// An in-app notification to each of `users` about the demand.
pub async fn staff(
    conn: &impl ConnectionTrait,
    users: &[String],
    kind: &str,
    title: &str,
    body: &str,
    demand_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for user in users {
        notify(
            conn,
            NewNotification {
                user_id: user,
                kind,
                title: title.to_owned(),
                body: body.to_owned(),
                reference: Some(("demand", demand_id)),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_phrases_fit_wechat_phrase_fields() {
        for state in DemandState::ALL {
            assert!(status_phrase(state, false).chars().count() <= 5);
        }
        assert_eq!(status_phrase(DemandState::Submitted, true), "已转办");
    }
}
