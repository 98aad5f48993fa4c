//! Demands (诉求) from submission to closure: the community's staff accept, start and
//! resolve each after a handling time drawn around the profile's mean; the resident rates
//! it (satisfied about as often as the profile says), sometimes reopens it and rates again,
//! sometimes withdraws it first, and sometimes never rates (the job closes it after 72 h).

use crate::engine::{Event, Sim};
use crate::world::{Demand, DemandStatus};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{json, Value};

/// Hours a resolved demand waits for its rating before the job closes it.
const AUTO_CLOSE_HOURS: i64 = 72;
/// Days after a resolution during which the resident may reopen it.
const REOPEN_WINDOW_DAYS: i64 = 7;

fn at_of(body: &Value, field: &str) -> Option<DateTime<Utc>> {
    body[field].as_str()?.parse().ok()
}

impl Sim {
    pub(crate) async fn submit(&mut self, r: usize) -> anyhow::Result<()> {
        let Some(community) = self.world.residents[r].community else {
            return Ok(());
        };
        let category = self.rng.random_range(0..self.world.categories.len());
        let token = self.resident_token(r).await?;
        let body = json!({
            "category_id": self.world.categories[category].0,
            "title": "楼道灯不亮",
            "description": "单元楼道灯坏了，晚上上下楼不方便。",
            "community_id": self.world.communities[community].id,
        });
        let answer = self
            .client
            .post("demand.submit", "/api/v1/demands", &token, &body)
            .await;
        if !self.client.expect("demand.submit", &answer, 201, None) {
            return Ok(());
        }
        let Some(due_at) = at_of(&answer.body, "due_at") else {
            self.client
                .surprise(format!("demand.submit: no due_at in {}", answer.body));
            return Ok(());
        };
        let d = self.world.demands.len();
        self.world.demands.push(Demand {
            id: answer.id(),
            resident: r,
            community,
            submitted_at: self.now(),
            due_at,
            status: DemandStatus::Submitted,
            first_resolved_at: None,
            resolved_at: None,
            rating: None,
            ratings: 0,
        });
        if self.chance(0.02) {
            self.after_minutes(5, 30, Event::Withdraw(d));
        } else {
            self.after_minutes(40, 90, Event::Accept(d));
        }
        Ok(())
    }

    /// A staff action on demand `d`; returns whether it was answered 200.
    async fn staff_act(
        &mut self,
        d: usize,
        action: &'static str,
        body: Value,
    ) -> anyhow::Result<bool> {
        let community = self.world.demands[d].community;
        let token = self.community_token(community).await?;
        let path = format!(
            "/api/v1/staff/demands/{}/{action}",
            self.world.demands[d].id
        );
        let operation = match action {
            "accept" => "demand.accept",
            "start" => "demand.start",
            _ => "demand.resolve",
        };
        let answer = self.client.post(operation, &path, &token, &body).await;
        Ok(self.client.expect(operation, &answer, 200, None))
    }

    async fn resident_act(
        &mut self,
        d: usize,
        action: &'static str,
        body: Value,
    ) -> anyhow::Result<bool> {
        let r = self.world.demands[d].resident;
        let token = self.resident_token(r).await?;
        let path = format!("/api/v1/demands/{}/{action}", self.world.demands[d].id);
        let operation = match action {
            "rate" => "demand.rate",
            "reopen" => "demand.reopen",
            _ => "demand.withdraw",
        };
        let answer = self.client.post(operation, &path, &token, &body).await;
        Ok(self.client.expect(operation, &answer, 200, None))
    }

    pub(crate) async fn withdraw(&mut self, d: usize) -> anyhow::Result<()> {
        if self
            .resident_act(d, "withdraw", json!({ "reason": "已自行解决" }))
            .await?
        {
            self.world.demands[d].status = DemandStatus::Withdrawn;
        }
        Ok(())
    }

    pub(crate) async fn accept(&mut self, d: usize) -> anyhow::Result<()> {
        if self.staff_act(d, "accept", json!({})).await? {
            self.world.demands[d].status = DemandStatus::Accepted;
            self.after_minutes(5, 20, Event::Start(d));
        }
        Ok(())
    }

    pub(crate) async fn start(&mut self, d: usize) -> anyhow::Result<()> {
        if !self.staff_act(d, "start", json!({})).await? {
            return Ok(());
        }
        self.world.demands[d].status = DemandStatus::InProgress;
        // Submission to resolution: exponential around the mean, at least ten minutes
        // after now.
        let submitted = self.world.demands[d].submitted_at;
        let elapsed = (self.now() - submitted).num_seconds();
        let handling = self.exponential_seconds(self.profile.mean_handling_hours, elapsed + 600);
        self.at(submitted + Duration::seconds(handling), Event::Resolve(d));
        Ok(())
    }

    pub(crate) async fn resolve(&mut self, d: usize) -> anyhow::Result<()> {
        if !self
            .staff_act(d, "resolve", json!({ "resolution": "已更换灯泡" }))
            .await?
        {
            return Ok(());
        }
        let now = self.now();
        let demand = &mut self.world.demands[d];
        demand.status = DemandStatus::Resolved;
        demand.resolved_at = Some(now);
        demand.first_resolved_at.get_or_insert(now);
        // Most rate within two days; the others leave it to the job's auto-close.
        if self.chance(0.9) {
            self.after_minutes(10, 48 * 60, Event::Rate(d));
        }
        Ok(())
    }

    pub(crate) async fn rate(&mut self, d: usize) -> anyhow::Result<()> {
        if self.world.demands[d].status != DemandStatus::Resolved {
            return Ok(());
        }
        let satisfied = self.chance(self.profile.satisfaction);
        let score = if satisfied {
            self.rng.random_range(4..=5)
        } else {
            self.rng.random_range(1..=3)
        };
        let body = json!({ "satisfied": satisfied, "score": score });
        if !self.resident_act(d, "rate", body).await? {
            return Ok(());
        }
        let demand = &mut self.world.demands[d];
        demand.status = DemandStatus::Closed;
        demand.rating = Some(satisfied);
        demand.ratings += 1;
        let first = demand.ratings == 1;
        let resolved_at = demand.resolved_at;
        // Half of those let down reopen it within the window (and rate it again once it
        // is resolved anew); now and then a satisfied one finds it broken again.
        let reopen = if satisfied { 0.02 } else { 0.5 };
        if first && self.chance(reopen) {
            let latest =
                resolved_at.unwrap_or_else(|| self.now()) + Duration::days(REOPEN_WINDOW_DAYS);
            let minutes = ((latest - self.now()).num_minutes() - 60).max(30);
            self.after_minutes(30, minutes.min(3 * 24 * 60), Event::Reopen(d));
        }
        Ok(())
    }

    pub(crate) async fn reopen(&mut self, d: usize) -> anyhow::Result<()> {
        if self.world.demands[d].status != DemandStatus::Closed {
            return Ok(());
        }
        if self
            .resident_act(d, "reopen", json!({ "reason": "灯又坏了" }))
            .await?
        {
            self.world.demands[d].status = DemandStatus::InProgress;
            self.after_minutes(60, 12 * 60, Event::Resolve(d));
        }
        Ok(())
    }

    /// What the job does at each tick: resolved demands unrated for 72 hours are closed.
    pub(crate) fn close_unrated(&mut self, now: DateTime<Utc>) {
        for demand in &mut self.world.demands {
            if demand.status == DemandStatus::Resolved
                && demand
                    .resolved_at
                    .is_some_and(|at| at <= now - Duration::hours(AUTO_CLOSE_HOURS))
            {
                demand.status = DemandStatus::Closed;
            }
        }
    }
}
