//! Community spaces (空间换服务): at the start each community's staff open a shared room,
//! free to book, run by the community's social organisation. Residents ask for it a day to
//! ten ahead for one to three hours; before the start the staff or the operating partner
//! (by turns) approve nine in ten and reject the rest with a reason. Two approved bookings of
//! one space never overlap: the generator knows which asks clash with one approved before
//! and expects `409 space_unavailable` for them, at the ask or at the approval. The truth:
//! `partners.space_bookings` and `partners.space_hours` (approved bookings starting in the
//! period).

use crate::engine::{Event, Sim};
use crate::world::{Space, SpaceBooking};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::json;

/// Bookings a community's space gets a week.
const BOOKINGS_PER_WEEK: i64 = 2;

impl Sim {
    /// Each community of the shard opens its space in the run's first hour, and its
    /// residents' asks are spread over the run.
    pub(crate) fn plan_spaces(&mut self) {
        let start = self.profile.start;
        let days = self.profile.days;
        for c in self.own_communities() {
            self.at(start + Duration::minutes(30), Event::OpenSpace(c));
            for _ in 0..(days * BOOKINGS_PER_WEEK / 7).max(1) {
                let at = start
                    + Duration::hours(2)
                    + Duration::seconds(self.rng.random_range(0..days * 86_400));
                self.at(at, Event::AskSpace(c));
            }
        }
    }

    pub(crate) async fn open_space(&mut self, c: usize) -> anyhow::Result<()> {
        let operator = (0..self.world.partners.len()).find(|&p| {
            self.world.partners[p].community == c && self.world.partners[p].kind == "social_org"
        });
        let body = json!({
            "org_id": self.world.communities[c].id, "name": "社区共享活动室", "area_m2": 120,
            "scenes": ["老年活动", "儿童托管", "议事协商"],
            "open_hours": [{ "days": [1, 2, 3, 4, 5, 6, 7], "from": "08:00", "to": "21:00" }],
            "capacity": 30,
            "operator_partner_id": operator.map(|p| self.world.partners[p].id.clone()),
        });
        let token = self.community_token(c).await?;
        let answer = self
            .client
            .post("space.open", "/api/v1/admin/spaces", &token, &body)
            .await;
        if self.client.expect("space.open", &answer, 201, None) {
            self.world.spaces.push(Space {
                id: answer.id(),
                community: c,
                operator,
            });
        }
        Ok(())
    }

    /// A resident of the community asks for its space.
    pub(crate) async fn ask_space(&mut self, c: usize) -> anyhow::Result<()> {
        let Some(space) = self.world.spaces.iter().position(|s| s.community == c) else {
            return Ok(());
        };
        let residents: Vec<usize> = (0..self.world.residents.len())
            .filter(|&r| self.world.residents[r].community == Some(c))
            .collect();
        if residents.is_empty() {
            return Ok(());
        }
        let r = residents[self.rng.random_range(0..residents.len())];
        // 08:00–18:00 Beijing on a day 1–10 days ahead, 1–3 hours: inside the open hours.
        let day = platform::clock::local_day_start(self.now())
            + Duration::days(self.rng.random_range(1..=10));
        let starts_at = day + Duration::hours(self.rng.random_range(8..=18));
        let ends_at = starts_at + Duration::hours(self.rng.random_range(1..=3));
        let space_id = self.world.spaces[space].id.clone();
        let body = json!({
            "starts_at": starts_at, "ends_at": ends_at, "purpose": "楼栋议事会", "attendees": 12,
        });
        let token = self.resident_token(r).await?;
        let path = format!("/api/v1/spaces/{space_id}/bookings");
        let answer = self.client.post("space.book", &path, &token, &body).await;
        if self.clashes(&space_id, starts_at, ends_at, None) {
            self.client.expect(
                "space.book (taken)",
                &answer,
                409,
                Some("space_unavailable"),
            );
            return Ok(());
        }
        if !self.client.expect("space.book", &answer, 201, None) {
            return Ok(());
        }
        let b = self.world.space_bookings.len();
        self.world.space_bookings.push(SpaceBooking {
            id: answer.id(),
            space_id,
            community: c,
            starts_at,
            ends_at,
            approved: None,
        });
        // Decided within two days, and always before the start.
        let latest = ((starts_at - self.now()).num_minutes() - 60).min(48 * 60);
        self.after_minutes(10, latest, Event::DecideSpace(b));
        Ok(())
    }

    /// Whether an approved booking of the space (other than `except`) overlaps the time.
    fn clashes(
        &self,
        space_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        except: Option<usize>,
    ) -> bool {
        self.world.space_bookings.iter().enumerate().any(|(i, b)| {
            Some(i) != except
                && b.space_id == space_id
                && b.approved == Some(true)
                && b.starts_at < to
                && from < b.ends_at
        })
    }

    /// The staff, or every other time the operating partner's owner, decide the booking.
    pub(crate) async fn decide_space(&mut self, b: usize) -> anyhow::Result<()> {
        let booking = self.world.space_bookings[b].clone();
        let Some(space) = self
            .world
            .spaces
            .iter()
            .find(|s| s.id == booking.space_id)
            .cloned()
        else {
            return Ok(());
        };
        let token = match space.operator {
            Some(p) if b % 2 == 1 => {
                let owner = self.world.partners[p].owner;
                self.resident_token(owner).await?
            }
            _ => self.community_token(booking.community).await?,
        };
        let approve = self.chance(0.9);
        let (action, body) = if approve {
            ("approve", json!({}))
        } else {
            ("reject", json!({ "reason": "当天已安排社区活动" }))
        };
        let path = format!("/api/v1/staff/spaces/bookings/{}/{action}", booking.id);
        let answer = self.client.post("space.decide", &path, &token, &body).await;
        if approve
            && self.clashes(
                &booking.space_id,
                booking.starts_at,
                booking.ends_at,
                Some(b),
            )
        {
            self.client.expect(
                "space.decide (taken)",
                &answer,
                409,
                Some("space_unavailable"),
            );
            return Ok(());
        }
        if self.client.expect("space.decide", &answer, 200, None) {
            self.world.space_bookings[b].approved = Some(approve);
        }
        Ok(())
    }
}
