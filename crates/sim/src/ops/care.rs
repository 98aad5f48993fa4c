//! Care for special groups (五色图): each community's staff register the residents who need
//! targeted care when the run starts (with their consent, in one of the five colours), and
//! visit each about as often as its colour asks: most a little before the visit falls due,
//! some days late (overdue until then), and some logged hours after they happened, with
//! the time they happened. The dashboard's care figures are checked against the truth.

use crate::engine::{Event, Sim};
use crate::world::CareRecipient;
use chrono::Duration;
use rand::Rng;
use serde_json::json;

/// (colour, days between visits by default, share of recipients).
pub const COLOURS: [(&str, i64, f64); 5] = [
    ("red", 7, 0.10),
    ("orange", 14, 0.15),
    ("yellow", 30, 0.25),
    ("blue", 60, 0.25),
    ("green", 90, 0.25),
];

impl Sim {
    /// The community's care recipients, registered by its staff.
    pub(crate) async fn register_care(&mut self, community: usize) -> anyhow::Result<()> {
        for k in 0..self.profile.care_recipients_per_community {
            let draw: f64 = self.rng.random_range(0.0..1.0);
            let mut cumulative = 0.0;
            let colour = COLOURS
                .iter()
                .position(|(_, _, share)| {
                    cumulative += share;
                    draw < cumulative
                })
                .unwrap_or(COLOURS.len() - 1);
            let compounds = &self.world.communities[community].compounds;
            let compound = compounds[self.rng.random_range(0..compounds.len())].clone();
            let body = json!({
                "name": format!("关爱对象{}-{k}", community + 1), "compound_id": compound,
                "groups": ["living_alone_elderly"], "colour": COLOURS[colour].0,
                "needs": ["定期探访"], "consent": true,
            });
            let token = self.community_token(community).await?;
            let answer = self
                .client
                .post(
                    "care.register",
                    "/api/v1/staff/care-recipients",
                    &token,
                    &body,
                )
                .await;
            if !self.client.expect("care.register", &answer, 201, None) {
                continue;
            }
            let i = self.world.care.len();
            self.world.care.push(CareRecipient {
                id: answer.id(),
                community,
                colour,
                consent_at: self.now(),
                last_visit: None,
            });
            self.plan_visit(i);
        }
        Ok(())
    }

    /// The next visit to recipient `i`: before it falls due, or now and then days late.
    fn plan_visit(&mut self, i: usize) {
        let recipient = &self.world.care[i];
        let every = COLOURS[recipient.colour].1;
        let due = recipient.last_visit.unwrap_or(recipient.consent_at) + Duration::days(every);
        let at = if self.chance(0.85) {
            due - Duration::minutes(self.rng.random_range(60..(every * 12 * 60).max(61)))
        } else {
            due + Duration::minutes(self.rng.random_range(60..10 * 24 * 60))
        };
        self.at(at.max(self.now() + Duration::hours(1)), Event::Visit(i));
    }

    pub(crate) async fn visit(&mut self, i: usize) -> anyhow::Result<()> {
        let now = self.now();
        // A fifth are logged back at the office, hours after the visit.
        let at = if self.chance(0.2) {
            let earliest = self.world.care[i]
                .last_visit
                .unwrap_or(self.world.care[i].consent_at);
            (now - Duration::minutes(self.rng.random_range(30..20 * 60))).max(earliest)
        } else {
            now
        };
        let body = json!({ "at": at, "note": "上门探访，身体状况良好", "outcome": "well" });
        let path = format!(
            "/api/v1/staff/care-recipients/{}/visits",
            self.world.care[i].id
        );
        let token = self.community_token(self.world.care[i].community).await?;
        let answer = self.client.post("care.visit", &path, &token, &body).await;
        if self.client.expect("care.visit", &answer, 201, None) {
            let last = &mut self.world.care[i].last_visit;
            *last = Some(last.map_or(at, |l| l.max(at)));
        }
        self.plan_visit(i);
        Ok(())
    }
}
