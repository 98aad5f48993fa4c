//! Volunteer hours for the staff's spreadsheets: every attendance settled in a period under
//! an org at an activity that counts as volunteering (as the dashboard counts them: see
//! `crate::report::is_volunteering`), with the activity, the volunteer and what they were
//! paid.

use crate::entity::{activity, signup};
use crate::TimebankError;
use chrono::{DateTime, Utc};
use identity::entity::{org, user};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// More than this in one file is refused; narrow the period instead.
pub const MAX_ROWS: usize = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct HoursRow {
    pub activity: activity::Model,
    /// The organising org's name.
    pub organiser: String,
    pub user_id: String,
    pub volunteer: String,
    pub minutes: i64,
    pub points: i64,
    pub settled_at: DateTime<Utc>,
}

pub async fn volunteer_hours(
    conn: &impl ConnectionTrait,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<HoursRow>, TimebankError> {
    let activities: HashMap<String, activity::Model> = activity::Entity::find()
        .filter(activity::Column::OrgPath.starts_with(org.path.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .filter(crate::report::is_volunteering)
        .map(|a| (a.id.clone(), a))
        .collect();
    let mut settled = Vec::new();
    let ids: Vec<String> = activities.keys().cloned().collect();
    for chunk in ids.chunks(500) {
        settled.extend(
            signup::Entity::find()
                .filter(signup::Column::ActivityId.is_in(chunk.to_vec()))
                .filter(signup::Column::SettledAt.gte(from))
                .filter(signup::Column::SettledAt.lt(to))
                .all(conn)
                .await?,
        );
        if settled.len() > MAX_ROWS {
            return Err(platform::ValidationErrors::single(
                "from",
                format!("more than {MAX_ROWS} rows; export a shorter period or a smaller org"),
            )
            .into());
        }
    }
    let names = |ids: Vec<String>| async move {
        let mut found = HashMap::new();
        for chunk in ids.chunks(500) {
            for u in user::Entity::find()
                .filter(user::Column::Id.is_in(chunk.to_vec()))
                .all(conn)
                .await?
            {
                found.insert(u.id, u.nickname.unwrap_or_default());
            }
        }
        Ok::<_, TimebankError>(found)
    };
    let volunteers = names(settled.iter().map(|s| s.user_id.clone()).collect()).await?;
    let organisers = identity::service::orgs::names_under(conn, &org.path).await?;
    let mut rows: Vec<HoursRow> = settled
        .into_iter()
        .filter_map(|s| {
            let activity = activities.get(&s.activity_id)?.clone();
            Some(HoursRow {
                organiser: organisers
                    .get(&activity.org_id)
                    .cloned()
                    .unwrap_or_default(),
                volunteer: volunteers.get(&s.user_id).cloned().unwrap_or_default(),
                user_id: s.user_id,
                minutes: s.settled_minutes.unwrap_or_default(),
                points: s.settled_points.unwrap_or_default(),
                settled_at: s.settled_at?,
                activity,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.activity.starts_at, &a.activity.id, &a.user_id).cmp(&(
            b.activity.starts_at,
            &b.activity.id,
            &b.user_id,
        ))
    });
    Ok(rows)
}
