//! Settling an activity: each attendee's minutes become time credits (1 hour of service = 60
//! minutes, whatever the service) from the time-bank issuance account and points
//! (`points_per_hour` × hours, rounded down) from the organising org's budget (or, for an
//! activity a partner runs, from the partner's own points). Exactly once
//! per attendee: the sign-up is marked settled by compare-and-set before anything is paid,
//! and the ledger transfers carry keys derived from the activity and attendee. Everything
//! happens in the caller's transaction, so a budget that runs dry pays nobody.

use crate::entity::{activity, signup};
use crate::service::activities::{find_managed, signups};
use crate::TimebankError;
use chrono::{DateTime, Utc};
use identity::Actor;
use platform::notifications::{notify, NewNotification};
use platform::ValidationErrors;
use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
use points_ledger::{AccountRef, Asset, ExpiryRule};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// Minutes the attendance counts for: the checked-in time inside the activity's window.
pub fn attended_minutes(
    activity: &activity::Model,
    checked_in_at: Option<DateTime<Utc>>,
    checked_out_at: Option<DateTime<Utc>>,
) -> Option<i64> {
    let (check_in, check_out) = (checked_in_at?, checked_out_at?);
    let from = check_in.max(activity.starts_at);
    let to = check_out.min(activity.ends_at);
    Some((to - from).num_minutes().max(0))
}

/// The most minutes an organiser may settle for an attendee: their presence inside the
/// activity, from check-in to check-out (or to the end, when they never checked out). Without
/// a check-in, nothing: an override adjusts time that was seen, it does not create it.
pub fn presence_cap(activity: &activity::Model, signup: &signup::Model) -> i64 {
    match signup.checked_in_at {
        None => 0,
        Some(check_in) => attended_minutes(
            activity,
            Some(check_in),
            Some(signup.checked_out_at.unwrap_or(activity.ends_at)),
        )
        .unwrap_or(0),
    }
}

/// Points for `minutes` at `points_per_hour`, rounded down.
pub fn points_for(points_per_hour: i64, minutes: i64) -> i64 {
    points_per_hour * minutes / 60
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub user_id: String,
    pub minutes: i64,
    pub time_credit_minutes: i64,
    pub points: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub user_id: String,
    /// `no_check_in`, `no_check_out` or `already_settled`.
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettleReport {
    pub paid: Vec<Payment>,
    pub skipped: Vec<Skipped>,
}

pub async fn settle(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    overrides: Option<Vec<(String, i64)>>,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<SettleReport, TimebankError> {
    let activity = find_managed(conn, actor, activity_id).await?;
    // Time credits come from an issuance account without a bound, and a partner's own staff
    // would be paying their own people: its community's staff settle (and so confirm) it.
    if activity.partner_id.is_some() && !actor.can_reach(&activity.org_path) {
        return Err(TimebankError::CommunityConfirmationRequired);
    }
    if now < activity.ends_at {
        return Err(TimebankError::ActivityNotEnded);
    }
    let attendees: Vec<signup::Model> = signups(conn, activity_id)
        .await?
        .into_iter()
        .filter(|s| s.status == crate::SignupStatus::Confirmed)
        .collect();
    let overrides: HashMap<String, i64> = match overrides {
        None => HashMap::new(),
        Some(list) => {
            let mut errors = ValidationErrors::new();
            for (i, (user_id, minutes)) in list.iter().enumerate() {
                let Some(attendee) = attendees.iter().find(|a| &a.user_id == user_id) else {
                    errors.add(
                        &format!("attendances[{i}].user_id"),
                        "has no confirmed place at this activity",
                    );
                    continue;
                };
                let cap = presence_cap(&activity, attendee);
                if !(0..=cap).contains(minutes) {
                    errors.add(
                        &format!("attendances[{i}].minutes"),
                        format!("must be from 0 to {cap} (the attendee's time present)"),
                    );
                }
            }
            errors.into_result()?;
            list.into_iter().collect()
        }
    };

    let mut report = SettleReport::default();
    for attendee in attendees {
        if attendee.settled_at.is_some() {
            report.skipped.push(Skipped {
                user_id: attendee.user_id,
                reason: "already_settled",
            });
            continue;
        }
        let minutes = match overrides.get(&attendee.user_id) {
            Some(minutes) => {
                record_override(conn, actor, &activity, &attendee, *minutes, now).await?;
                *minutes
            }
            None => {
                match attended_minutes(&activity, attendee.checked_in_at, attendee.checked_out_at) {
                    Some(minutes) => minutes,
                    None => {
                        report.skipped.push(Skipped {
                            user_id: attendee.user_id,
                            reason: if attendee.checked_in_at.is_none() {
                                "no_check_in"
                            } else {
                                "no_check_out"
                            },
                        });
                        continue;
                    }
                }
            }
        };
        let time_credit_minutes = if activity.time_credits { minutes } else { 0 };
        let points = points_for(activity.points_per_hour, minutes);
        // Claim the attendance first: of two settlements racing, one pays.
        let claimed = signup::Entity::update_many()
            .col_expr(signup::Column::SettledAt, Expr::value(now))
            .col_expr(signup::Column::SettledMinutes, Expr::value(minutes))
            .col_expr(signup::Column::SettledPoints, Expr::value(points))
            .filter(signup::Column::Id.eq(attendee.id.as_str()))
            .filter(signup::Column::SettledAt.is_null())
            .exec(conn)
            .await?;
        if claimed.rows_affected != 1 {
            report.skipped.push(Skipped {
                user_id: attendee.user_id,
                reason: "already_settled",
            });
            continue;
        }
        pay(
            conn,
            &activity,
            &attendee.user_id,
            time_credit_minutes,
            points,
            rule,
            now,
        )
        .await?;
        report.paid.push(Payment {
            user_id: attendee.user_id,
            minutes,
            time_credit_minutes,
            points,
        });
    }
    Ok(report)
}

/// Every organiser-set figure is on the audit trail next to what the check-ins showed.
async fn record_override(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity: &activity::Model,
    attendee: &signup::Model,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<(), TimebankError> {
    platform::audit::record(
        conn,
        platform::audit::AuditEntry {
            actor_id: Some(&actor.user_id),
            action: "activity_attendance_override",
            subject: ("activity", &activity.id),
            detail: serde_json::json!({
                "user_id": attendee.user_id,
                "minutes": minutes,
                "checked_in_minutes": attended_minutes(activity, attendee.checked_in_at, attendee.checked_out_at),
                "presence_cap": presence_cap(activity, attendee),
                "partner_id": activity.partner_id,
            }),
        },
        now,
    )
    .await?;
    Ok(())
}

async fn pay(
    conn: &impl ConnectionTrait,
    activity: &activity::Model,
    user_id: &str,
    time_credit_minutes: i64,
    points: i64,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<(), TimebankError> {
    let reference = Some(("activity".to_owned(), activity.id.clone()));
    if time_credit_minutes > 0 {
        transfer(
            conn,
            TransferRequest {
                idempotency_key: format!("activity:{}:{user_id}:time", activity.id),
                from: AccountRef::timebank_issuance(),
                to: AccountRef::wallet(Asset::TimeCredits, user_id),
                amount: time_credit_minutes,
                code: TransferCode::Settlement,
                memo: format!("志愿服务：{}", activity.title),
                reference: reference.clone(),
            },
            rule,
            now,
        )
        .await?;
    }
    if points > 0 {
        transfer(
            conn,
            TransferRequest {
                idempotency_key: format!("activity:{}:{user_id}:points", activity.id),
                from: match &activity.partner_id {
                    Some(partner) => AccountRef::merchant(partner),
                    None => AccountRef::org_budget(&activity.org_id),
                },
                to: AccountRef::wallet(Asset::Points, user_id),
                amount: points,
                code: TransferCode::Settlement,
                memo: format!("活动积分：{}", activity.title),
                reference,
            },
            rule,
            now,
        )
        .await?;
    }
    notify(
        conn,
        NewNotification {
            user_id,
            kind: "activity_settled",
            title: "服务时长已入账".to_owned(),
            body: format!(
                "「{}」：{} 分钟时间币，{} 积分。",
                activity.title, time_credit_minutes, points
            ),
            reference: Some(("activity", &activity.id)),
        },
        now,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn activity() -> activity::Model {
        let start = DateTime::parse_from_rfc3339("2026-06-01T09:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        activity::Model {
            id: "a".into(),
            org_id: "o".into(),
            org_path: "/d/s/o/".into(),
            partner_id: None,
            title: "t".into(),
            kind: "volunteer".into(),
            description: String::new(),
            location: String::new(),
            starts_at: start,
            ends_at: start + Duration::hours(2),
            capacity: 10,
            confirmed: 0,
            points_per_hour: 10,
            time_credits: true,
            check_secret: "s".into(),
            status: crate::ActivityStatus::Scheduled,
            created_by: "u".into(),
            created_at: start,
            updated_at: start,
        }
    }

    #[test]
    fn only_time_inside_the_window_counts() {
        let a = activity();
        let early = a.starts_at - Duration::minutes(20);
        let late = a.ends_at + Duration::minutes(40);
        assert_eq!(attended_minutes(&a, Some(early), Some(late)), Some(120));
        assert_eq!(
            attended_minutes(
                &a,
                Some(a.starts_at + Duration::minutes(15)),
                Some(a.starts_at + Duration::minutes(95))
            ),
            Some(80)
        );
        assert_eq!(
            attended_minutes(&a, Some(early), Some(early + Duration::minutes(10))),
            Some(0)
        );
        assert_eq!(attended_minutes(&a, Some(early), None), None);
        assert_eq!(attended_minutes(&a, None, None), None);
    }

    #[test]
    fn an_override_is_capped_by_the_time_present() {
        let a = activity();
        let signup =
            |check_in: Option<DateTime<Utc>>, check_out: Option<DateTime<Utc>>| signup::Model {
                id: "s".into(),
                activity_id: "a".into(),
                user_id: "u".into(),
                status: crate::SignupStatus::Confirmed,
                created_at: a.starts_at,
                updated_at: a.starts_at,
                checked_in_at: check_in,
                checked_out_at: check_out,
                check_out_note: None,
                settled_at: None,
                settled_minutes: None,
                settled_points: None,
            };
        assert_eq!(presence_cap(&a, &signup(None, None)), 0);
        let thirty_in = Some(a.starts_at + Duration::minutes(30));
        assert_eq!(presence_cap(&a, &signup(thirty_in, None)), 90);
        assert_eq!(
            presence_cap(
                &a,
                &signup(thirty_in, Some(a.starts_at + Duration::minutes(60)))
            ),
            30
        );
        assert_eq!(
            presence_cap(
                &a,
                &signup(
                    Some(a.starts_at - Duration::hours(1)),
                    Some(a.ends_at + Duration::hours(5))
                )
            ),
            120
        );
    }

    #[test]
    fn points_round_down_to_whole_points() {
        assert_eq!(points_for(10, 120), 20);
        assert_eq!(points_for(10, 95), 15);
        assert_eq!(points_for(7, 10), 1);
        assert_eq!(points_for(0, 120), 0);
    }
}
