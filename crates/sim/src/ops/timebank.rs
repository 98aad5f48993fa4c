//! The time bank (时间银行) and the street's other activities. Every community runs a
//! volunteer activity each week; its residents sign up (one too many now and then: refused),
//! check in and out with the rotating code shown on site, and the staff settle it an hour
//! after the end: minutes become time credits, and points at the activity's rate come from
//! the community's budget. The streets take turns at the people's night school (群众夜校):
//! an evening class for the street's residents. A happiness market (幸福集市) fills one
//! compound of a community for a day: its residents sign up, come, and reserve a service
//! at the street's merchants there. Classes and markets are taken part in, not volunteered
//! at: nobody settles them, and they count only as activities held and people who came.

use crate::engine::{Event, Sim};
use crate::world::{Activity, Attendee, Movement};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{json, Value};

/// The kinds of activity the simulator runs, as the API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActivityKind {
    Volunteer,
    NightSchool,
    Market,
}

/// Every kind the dashboard lists, in the API's order (`other` is never simulated).
pub const API_KINDS: [&str; 4] = ["volunteer", "night_school", "market", "other"];

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Volunteer => "volunteer",
            Self::NightSchool => "night_school",
            Self::Market => "market",
        }
    }

    fn capacity(self) -> usize {
        match self {
            Self::Volunteer => 12,
            Self::NightSchool => 20,
            Self::Market => 60,
        }
    }

    /// Points an hour from the organiser's budget, and whether minutes become time credits.
    fn pay(self) -> (i64, bool) {
        match self {
            Self::Volunteer => (20, true),
            Self::NightSchool | Self::Market => (0, false),
        }
    }

    /// From and to, Beijing time, on the day: a Saturday-ish morning, an evening, a day.
    fn hours(self) -> (Duration, Duration) {
        match self {
            Self::Volunteer => (Duration::hours(9), Duration::hours(11)),
            Self::NightSchool => (Duration::hours(19), Duration::minutes(20 * 60 + 30)),
            Self::Market => (
                Duration::minutes(9 * 60 + 30),
                Duration::minutes(15 * 60 + 30),
            ),
        }
    }

    fn request(
        self,
        org_id: &str,
        location: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Value {
        let (points_per_hour, time_credits) = self.pay();
        let title = match self {
            Self::Volunteer => "社区环境清洁志愿活动",
            Self::NightSchool => "群众夜校：智能手机与反诈课堂",
            Self::Market => "幸福集市",
        };
        json!({
            "title": title, "kind": self.as_str(), "org_id": org_id, "location": location,
            "starts_at": from, "ends_at": to, "capacity": self.capacity(),
            "points_per_hour": points_per_hour, "time_credits": time_credits,
        })
    }
}

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
    /// Plans each community's weekly activity over the run (created a week ahead), and the
    /// night-school evenings and market days of this shard's streets.
    pub(crate) fn plan_activities(&mut self) {
        let start = self.profile.start;
        for c in self.own_communities() {
            let mut day = start + Duration::days(7 + (c % 7) as i64);
            while day < self.end {
                self.announce(ActivityKind::Volunteer, c, day);
                day += Duration::days(7);
            }
        }
        for (kind, times) in [
            (
                ActivityKind::NightSchool,
                self.profile.night_school_sessions,
            ),
            (ActivityKind::Market, self.profile.market_days),
        ] {
            for i in 0..times {
                // Spread evenly over the run; the streets take turns, and within a street
                // its communities.
                let street = i % self.profile.streets;
                let round = i / self.profile.streets;
                let hosts: Vec<usize> = (0..self.world.communities.len())
                    .filter(|&c| self.world.communities[c].street == street)
                    .collect();
                if hosts.is_empty() || !self.streets.contains(&street) {
                    continue;
                }
                let community = hosts[round % hosts.len()];
                let offset = (2 * i as i64 + 1) * self.profile.days / (2 * times as i64);
                self.announce(kind, community, start + Duration::days(offset));
            }
        }
    }

    /// The staff create the activity of `day` (a Beijing midnight) a week ahead, or an hour
    /// into the run when that is sooner.
    fn announce(&mut self, kind: ActivityKind, community: usize, day: DateTime<Utc>) {
        let at = (day - Duration::days(7) + Duration::hours(1))
            .max(self.profile.start + Duration::hours(1));
        self.at(
            at,
            Event::CreateActivity {
                kind,
                community,
                day,
            },
        );
    }

    pub(crate) async fn create_activity(
        &mut self,
        kind: ActivityKind,
        community: usize,
        day: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let (from, to) = kind.hours();
        let (starts_at, ends_at) = (day + from, day + to);
        let token = self.community_token(community).await?;
        let place = &self.world.communities[community];
        let location = match kind {
            ActivityKind::Volunteer => "社区广场".to_owned(),
            ActivityKind::NightSchool => "社区党群服务中心".to_owned(),
            // A compound of the community, by turns.
            ActivityKind::Market => format!(
                "第 {} 小区",
                self.world.activities.len() % place.compounds.len().max(1) + 1
            ),
        };
        let body = kind.request(&place.id, &location, starts_at, ends_at);
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
            kind,
            community,
            starts_at,
            ends_at,
            capacity: kind.capacity(),
            points_per_hour: kind.pay().0,
            attendees: Vec::new(),
            settled: None,
        });
        // The community's residents; the whole street's for a night-school class.
        let street = self.world.communities[community].street;
        let residents: Vec<usize> = (0..self.world.residents.len())
            .filter(|&r| match (kind, self.world.residents[r].community) {
                (_, None) => false,
                (ActivityKind::NightSchool, Some(c)) => self.world.communities[c].street == street,
                (_, Some(c)) => c == community,
            })
            .collect();
        if residents.is_empty() {
            return Ok(());
        }
        // Sign-ups over the week before; one more than there are places now and then.
        let capacity = kind.capacity();
        let wanted = self
            .rng
            .random_range(capacity / 2..=capacity + 1)
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
        if kind == ActivityKind::Volunteer {
            self.at(ends_at + Duration::hours(1), Event::Settle(a));
        }
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
                // At a market they reserve a service at a stall of the street's merchants.
                if self.world.activities[a].kind == ActivityKind::Market {
                    let at = check_in + Duration::seconds(self.rng.random_range(60..3_600));
                    self.at(at, Event::Reserve(r));
                }
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
