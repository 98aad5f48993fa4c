//! Telling people about home-service orders, inside the transaction of the change: the
//! partner's staff in-app when the orderer acts; the resident served in-app and by WeChat
//! subscribe message (when they allowed one) when the partner acts, and the staff member
//! who ordered for a care recipient in-app.

use crate::entity::order;
use crate::order_state::{OrderStatus, Party};
use crate::CareError;
use chrono::{DateTime, Utc};
use platform::clock::china_time;
use platform::notifications::{notify, NewNotification};
use platform::outbox::{clip, enqueue_if_allowed, SubscribeMessage};
use sea_orm::ConnectionTrait;

/// The subscribe-message kind residents allow for order updates.
pub const STATUS_KIND: &str = "home_service_status";

/// Short status words (WeChat `phrase` values hold at most 5 characters).
pub fn status_phrase(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Requested => "已下单",
        OrderStatus::Dispatched => "已派单",
        OrderStatus::Completed => "待确认",
        OrderStatus::Confirmed => "已完成",
        OrderStatus::Cancelled => "已取消",
    }
}

async fn in_app(
    conn: &impl ConnectionTrait,
    users: &[String],
    row: &order::Model,
    title: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    for user in users {
        notify(
            conn,
            NewNotification {
                user_id: user,
                kind: STATUS_KIND,
                title: title.to_owned(),
                body: body.to_owned(),
                reference: Some(("home_service_order", &row.id)),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

async fn partner_staff(
    conn: &impl ConnectionTrait,
    row: &order::Model,
) -> Result<Vec<String>, CareError> {
    Ok(merchant::service::members::current_member_ids(conn, &row.partner_id).await?)
}

/// The resident served (in-app and WeChat) and, for a care recipient, the staff member who
/// ordered (in-app).
async fn orderer_side(
    conn: &impl ConnectionTrait,
    row: &order::Model,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    let phrase = status_phrase(row.status);
    let title = format!("家政服务{phrase}");
    let mut users: Vec<String> = row.user_id.iter().cloned().collect();
    if row.care_recipient_id.is_some() && !users.contains(&row.ordered_by) {
        users.push(row.ordered_by.clone());
    }
    in_app(conn, &users, row, &title, body, now).await?;
    if let Some(resident) = &row.user_id {
        enqueue_if_allowed(
            conn,
            SubscribeMessage {
                user_id: resident,
                kind: STATUS_KIND,
                page: format!("pages/home-services/order?id={}", row.id),
                data: serde_json::json!({
                    "thing1": {"value": clip(&row.offer_title, 20)},
                    "phrase2": {"value": phrase},
                    "time3": {"value": china_time(row.at)},
                    "thing4": {"value": clip(body, 20)},
                }),
            },
            now,
        )
        .await?;
    }
    Ok(())
}

/// A new order: the partner's staff are asked to dispatch it; a care recipient with an
/// account hears that the community ordered it for them.
pub(crate) async fn placed(
    conn: &impl ConnectionTrait,
    row: &order::Model,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    let staff = partner_staff(conn, row).await?;
    let body = format!(
        "{}：{} 上门，请派认证人员。",
        row.offer_title,
        china_time(row.at)
    );
    in_app(conn, &staff, row, "新的家政订单", &body, now).await?;
    if row.care_recipient_id.is_some() && row.user_id.is_some() {
        orderer_side(conn, row, "社区为您预约了上门服务", now).await?;
    }
    Ok(())
}

pub(crate) async fn dispatched(
    conn: &impl ConnectionTrait,
    row: &order::Model,
    worker_name: &str,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    orderer_side(conn, row, &format!("认证服务人员{worker_name}将上门"), now).await
}

/// Any other move, told to the other side from `by`.
pub(crate) async fn moved(
    conn: &impl ConnectionTrait,
    row: &order::Model,
    by: Party,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    let body = match row.status {
        OrderStatus::Completed => "服务已完成，请确认".to_owned(),
        OrderStatus::Confirmed => format!("{} 已确认，费用已结算。", row.offer_title),
        OrderStatus::Cancelled => "订单已取消，冻结的费用已退回".to_owned(),
        other => status_phrase(other).to_owned(),
    };
    match by {
        Party::Partner => orderer_side(conn, row, &body, now).await,
        Party::Orderer => {
            let staff = partner_staff(conn, row).await?;
            let title = format!("家政订单{}", status_phrase(row.status));
            in_app(conn, &staff, row, &title, &body, now).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_phrases_fit_wechat_phrase_fields() {
        for status in OrderStatus::ALL {
            assert!(status_phrase(status).chars().count() <= 5, "{status:?}");
        }
    }
}
