//! The WeChat subscribe-message sender. Business changes queue messages in the outbox
//! (`platform::outbox`) inside their own transactions; this worker claims due rows with a
//! lease, calls WeChat with no database transaction open, and records what happened:
//! sent; refused (43101, the resident has no allowance left: recorded, never retried);
//! retried with backoff (-1 busy, network trouble); or failed (our side: no openid, no
//! template configured, or an error WeChat will not get over by retrying).

use crate::state::AppState;
use chrono::Duration;
use identity::entity::user;
use platform::outbox::{self, Claimed, Outcome};
use sea_orm::EntityTrait;
use wechat::OutgoingMessage;

/// Longer than any WeChat call can take (its timeout is seconds), so a lease never runs out
/// while its holder is still sending.
const LEASE_SECONDS: i64 = 120;
const BATCH: u64 = 50;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u64,
    pub refused: u64,
    pub retried: u64,
    pub failed: u64,
}

/// One round: claim what is due and try to deliver each.
pub async fn deliver_due(state: &AppState) -> anyhow::Result<DeliveryReport> {
    let now = state.clock.now();
    let claimed =
        outbox::claim_due(&state.db, now, Duration::seconds(LEASE_SECONDS), BATCH).await?;
    let mut report = DeliveryReport::default();
    for message in claimed {
        let (outcome, code) = deliver(state, &message).await?;
        let business = &state.metrics.business;
        match &outcome {
            Outcome::Sent => business.outbox_message("sent", &code),
            Outcome::Refused(_) => business.outbox_message("refused", &code),
            Outcome::Retry(_) => business.outbox_message("retried", &code),
            Outcome::Failed(_) => business.outbox_message("failed", &code),
        }
        match &outcome {
            Outcome::Sent => report.sent += 1,
            Outcome::Refused(_) => report.refused += 1,
            Outcome::Retry(_) => report.retried += 1,
            Outcome::Failed(_) => report.failed += 1,
        }
        if let Outcome::Failed(why) | Outcome::Refused(why) = &outcome {
            tracing::warn!(message = %message.id, kind = %message.kind, reason = %why, "subscribe message not delivered");
        }
        outbox::complete(&state.db, &message, &outcome, state.clock.now()).await?;
    }
    Ok(report)
}

fn template_for<'a>(state: &'a AppState, kind: &str) -> Option<&'a str> {
    let id = match kind {
        "demand_status" => state.settings.wechat.demand_status_template_id.as_str(),
        "home_service_status" => state
            .settings
            .wechat
            .home_service_status_template_id
            .as_str(),
        _ => "",
    };
    (!id.is_empty()).then_some(id)
}

/// What happened to one message, and its code for the metrics: WeChat's errcode (`0` when
/// sent) or what stopped it on our side.
async fn deliver(state: &AppState, message: &Claimed) -> anyhow::Result<(Outcome, String)> {
    let Some(template_id) = template_for(state, &message.kind) else {
        let why = format!(
            "no template configured for {} (wechat.{}_template_id)",
            message.kind, message.kind
        );
        return Ok((Outcome::Failed(why), "no_template".to_owned()));
    };
    let openid = user::Entity::find_by_id(message.user_id.clone())
        .one(&state.db)
        .await?
        .and_then(|u| u.openid);
    let Some(openid) = openid else {
        let why = "the user has no WeChat openid".to_owned();
        return Ok((Outcome::Failed(why), "no_openid".to_owned()));
    };
    let sent = state
        .wechat
        .send_subscribe_message(&OutgoingMessage {
            openid: &openid,
            template_id,
            page: &message.page,
            data: &message.data,
            miniprogram_state: &state.settings.wechat.miniprogram_state,
        })
        .await;
    Ok(match sent {
        Ok(()) => (Outcome::Sent, "0".to_owned()),
        Err(e) if e.is_no_subscription_quota() => (Outcome::Refused(e.to_string()), e.code()),
        Err(e) if e.is_transient() => (Outcome::Retry(e.to_string()), e.code()),
        Err(e) => (Outcome::Failed(e.to_string()), e.code()),
    })
}
