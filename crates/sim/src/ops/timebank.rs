//! The time bank (时间银行): every community runs a volunteer activity each week; its
//! residents sign up (two of them race for the last place now and then: one gets it),
//! check in and out with the rotating code shown on site, and the staff settle it an hour
//! after the end: minutes become time credits, and points at the activity's rate come from
//! the community's budget.

use crate::engine::{Event, Sim};
use crate::world::{Activity, Attendee, Movement};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::json;

const CAPACITY: usize = 12;
const POINTS_PER_HOUR: i64 = 20;

/// Minutes attended inside the activity's window (as the settlement counts them).
fn attended(activity: &Activity, attendee: &Attendee) -> i64 {
    match (attendee.checked_in, attendee.checked_out) {
        (Some(a), Some(b)) => {
            let from = a.max(activity.starts_at);
            let to = b.min(activity.ends_at);
            (to - from).num_minutes().max(0)
        }
        _ => 0,
    }
}

impl Sim {
    /// Plans each community's weekly activity over the run: created a week ahead.
    pub(crate) fn plan_activities(&mut self) {
        let start = self.profile.start;
        for c in self.own_communities() {
            let mut day = start + Duration::days(7 + (c % 7) as i64);
            while day < self.end {
                // Saturday-ish morning, 9:00 Beijing time, a week after it is announced.
                self.at(
                    day - Duration::days(7) + Duration::hours(1),
                    Event::CreateActivity { community: c, day },
                );
                day += Duration::days(7);
            }
        }
    }

    pub(crate) async fn create_activity(
        &mut self,
        community: usize,
        day: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let starts_at = day + Duration::hours(9);
        let ends_at = starts_at + Duration::hours(2);
        let token = self.community_token(community).await?;
        let body = json!({
            "title": "社区环境清洁志愿活动", "kind": "volunteer", "org_id": self.world.communities[community].id,
            "location": "社区广场", "starts_at": starts_at, "ends_at": ends_at, "capacity": CAPACITY,
            "points_per_hour": POINTS_PER_HOUR, "time_credits": true,
        });
        let answer = self
            .client
            .post("activity.create", "/api/v1/staff/activities", &token, &body)
            .await;
        if !self.client.expect("activity.create", &answer, 201, None) {
            return Ok(());
        }
        let a = self.world.activities.len();
        self.world.activities.push(Activity {
            id: answer.id(),
            community,
            starts_at,
            ends_at,
            capacity: CAPACITY,
            points_per_hour: POINTS_PER_HOUR,
            attendees: Vec::new(),
            settled: None,
        });
        let residents: Vec<usize> = (0..self.world.residents.len())
            .filter(|&r| self.world.residents[r].community == Some(community))
            .collect();
        // Sign-ups over the week before; one more than there are places now and then.
        let wanted = self
            .rng
            .random_range(CAPACITY / 2..=CAPACITY + 1)
            .min(residents.len());
        for _ in 0..wanted {
            let r = residents[self.rng.random_range(0..residents.len())];
            let before_start = (starts_at - self.now()).num_minutes() - 60;
            self.after_minutes(
                10,
                before_start.max(11),
                Event::SignUp {
                    activity: a,
                    resident: r,
                },
            );
        }
        self.at(ends_at + Duration::hours(1), Event::Settle(a));
        Ok(())
    }

    pub(crate) async fn sign_up(&mut self, a: usize, r: usize) -> anyhow::Result<()> {
        let activity = &self.world.activities[a];
        if activity.attendees.iter().any(|x| x.resident == r) {
            return Ok(());
        }
        let full = activity.attendees.len() >= activity.capacity;
        let path = format!("/api/v1/activities/{}/signups", activity.id);
        let token = self.resident_token(r).await?;
        let answer = self
            .client
            .post("activity.signup", &path, &token, &json!({}))
            .await;
        if full {
            self.client.expect(
                "activity.signup (full)",
                &answer,
                409,
                Some("activity_full"),
            );
            return Ok(());
        }
        if self.client.expect("activity.signup", &answer, 201, None) {
            let starts_at = self.world.activities[a].starts_at;
            let x = self.world.activities[a].attendees.len();
            self.world.activities[a].attendees.push(Attendee {
                resident: r,
                checked_in: None,
                checked_out: None,
            });
            // Nine in ten come: in during the first ten minutes, out in the last quarter hour.
            if self.chance(0.9) {
                let ends_at = self.world.activities[a].ends_at;
                let check_in = starts_at + Duration::seconds(self.rng.random_range(0..600));
                let check_out = ends_at - Duration::seconds(self.rng.random_range(0..900));
                self.at(
                    check_in,
                    Event::CheckIn {
                        activity: a,
                        attendee: x,
                    },
                );
                self.at(
                    check_out,
                    Event::CheckOut {
                        activity: a,
                        attendee: x,
                    },
                );
            }
        }
        Ok(())
    }

    /// The code on site now (the community's staff show it).
    async fn site_code(&mut self, a: usize) -> anyhow::Result<Option<String>> {
        let community = self.world.activities[a].community;
        let token = self.community_token(community).await?;
        let path = format!(
            "/api/v1/staff/activities/{}/check-code",
            self.world.activities[a].id
        );
        let answer = self
            .client
            .post("activity.check_code", &path, &token, &json!({}))
            .await;
        Ok(self
            .client
            .expect("activity.check_code", &answer, 200, None)
            .then(|| answer.body["code"].as_str().unwrap_or_default().to_owned()))
    }

    pub(crate) async fn check(&mut self, a: usize, x: usize, inward: bool) -> anyhow::Result<()> {
        if !inward && self.world.activities[a].attendees[x].checked_in.is_none() {
            return Ok(());
        }
        let Some(code) = self.site_code(a).await? else {
            return Ok(());
        };
        let r = self.world.activities[a].attendees[x].resident;
        let token = self.resident_token(r).await?;
        let (operation, action) = if inward {
            ("activity.check_in", "check-in")
        } else {
            ("activity.check_out", "check-out")
        };
        let path = format!(
            "/api/v1/activities/{}/{action}",
            self.world.activities[a].id
        );
        let answer = self
            .client
            .post(operation, &path, &token, &json!({ "code": code }))
            .await;
        if self.client.expect(operation, &answer, 200, None) {
            let now = self.now();
            let attendee = &mut self.world.activities[a].attendees[x];
            if inward {
                attendee.checked_in = Some(now);
            } else {
                attendee.checked_out = Some(now);
            }
        }
        Ok(())
    }

    pub(crate) async fn settle(&mut self, a: usize) -> anyhow::Result<()> {
        let community = self.world.activities[a].community;
        let token = self.community_token(community).await?;
        let path = format!(
            "/api/v1/staff/activities/{}/settle",
            self.world.activities[a].id
        );
        let answer = self
            .client
            .post("activity.settle", &path, &token, &json!({}))
            .await;
        if !self.client.expect("activity.settle", &answer, 200, None) {
            return Ok(());
        }
        let now = self.now();
        let activity = self.world.activities[a].clone();
        let minutes: Vec<i64> = activity
            .attendees
            .iter()
            .map(|x| attended(&activity, x))
            .collect();
        for (attendee, &m) in activity.attendees.iter().zip(&minutes) {
            let points = activity.points_per_hour * m / 60;
            let expires_at = self.profile.expiry_of(now);
            let resident = &mut self.world.residents[attendee.resident];
            resident.time_credits += m;
            resident.earn(points, expires_at);
            if points > 0 {
                self.world.awards.push(Movement {
                    at: now,
                    community,
                    points,
                    cash_value_fen: 0,
                });
            }
        }
        self.world.activities[a].settled = Some((now, minutes));
        Ok(())
    }
}
