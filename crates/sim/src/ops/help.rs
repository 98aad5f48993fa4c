//! Residents helping each other with their time credits: a resident with credits asks the
//! community for help (the minutes are held), a neighbour accepts, does the job and marks it
//! complete, and the requester confirms, which moves the held minutes to the helper; a
//! neighbour who taps accept once it is taken finds it gone (404: it is no longer open to
//! them); a tenth of the requests are cancelled before anyone accepts. Residents also give
//! time credits to family (a retried gift with its key moves them once).

use crate::engine::{Event, Sim};
use crate::world::Help;
use rand::Rng;
use reqwest::Method;
use serde_json::json;

impl Sim {
    /// Another registered resident of `r`'s community, if there is one.
    fn neighbour_of(&mut self, r: usize) -> Option<usize> {
        let community = self.world.residents[r].community?;
        let neighbours: Vec<usize> = (0..self.world.residents.len())
            .filter(|&n| n != r && self.world.residents[n].community == Some(community))
            .collect();
        (!neighbours.is_empty()).then(|| neighbours[self.rng.random_range(0..neighbours.len())])
    }

    /// The time credits `r` can offer or give: earned, less those held.
    fn spare_minutes(&self, r: usize) -> i64 {
        let resident = &self.world.residents[r];
        resident.time_credits - resident.time_credits_held
    }

    pub(crate) async fn ask_help(&mut self, r: usize) -> anyhow::Result<()> {
        let Some(community) = self.world.residents[r].community else {
            return Ok(());
        };
        let minutes = 30 * self.rng.random_range(1..=4i64);
        let covered = self.spare_minutes(r) >= minutes;
        // Those without the credits mostly do not try; the few who do are refused.
        if !covered && !self.chance(0.05) {
            return Ok(());
        }
        let body = json!({
            "title": "周末帮忙陪老人去医院复查", "description": "上午两小时", "service_type": "escort",
            "minutes": minutes, "community_id": self.world.communities[community].id,
        });
        let key = format!(
            "help-{}-{}",
            self.world.residents[r].name,
            self.now().timestamp()
        );
        let token = self.resident_token(r).await?;
        let answer = self
            .client
            .send(
                "help.ask",
                Method::POST,
                "/api/v1/help-requests",
                Some(&token),
                Some(&body),
                Some(&key),
            )
            .await;
        if !covered {
            self.client.expect(
                "help.ask (without the credits)",
                &answer,
                409,
                Some("insufficient_time_credits"),
            );
            return Ok(());
        }
        if !self.client.expect("help.ask", &answer, 201, None) {
            return Ok(());
        }
        self.world.residents[r].time_credits_held += minutes;
        let h = self.world.help.len();
        self.world.help.push(Help {
            id: answer.id(),
            requester: r,
            helper: None,
            minutes,
        });
        if self.chance(0.1) {
            self.after_minutes(10, 240, Event::HelpAction(h, HelpStep::Cancel));
        } else {
            self.after_minutes(30, 24 * 60, Event::HelpAction(h, HelpStep::Accept));
        }
        Ok(())
    }

    pub(crate) async fn help_step(&mut self, h: usize, step: HelpStep) -> anyhow::Result<()> {
        let requester = self.world.help[h].requester;
        let (step, actor) = match step {
            HelpStep::Accept => match self.neighbour_of(requester) {
                Some(n) => (step, n),
                // Nobody else in the community yet: the requester gives up.
                None => (HelpStep::Cancel, requester),
            },
            HelpStep::Complete => (step, self.world.help[h].helper.unwrap_or(requester)),
            HelpStep::Confirm | HelpStep::Cancel => (step, requester),
        };
        if !self.help_post(h, actor, step.action(), 200, None).await? {
            return Ok(());
        }
        let minutes = self.world.help[h].minutes;
        match step {
            HelpStep::Accept => {
                self.world.help[h].helper = Some(actor);
                // A second neighbour taps accept a moment later: the request is taken, and
                // no longer theirs to see.
                if let Some(late) = self.neighbour_of(requester).filter(|&n| n != actor) {
                    if self.chance(0.05) {
                        self.help_post(h, late, "accept", 404, Some("not_found"))
                            .await?;
                    }
                }
                self.after_minutes(60, 6 * 60, Event::HelpAction(h, HelpStep::Complete));
            }
            HelpStep::Complete => {
                self.after_minutes(30, 24 * 60, Event::HelpAction(h, HelpStep::Confirm));
            }
            HelpStep::Confirm => {
                let helper = self.world.help[h].helper.unwrap_or(requester);
                let asked = &mut self.world.residents[requester];
                asked.time_credits -= minutes;
                asked.time_credits_held -= minutes;
                self.world.residents[helper].time_credits += minutes;
            }
            HelpStep::Cancel => {
                self.world.residents[requester].time_credits_held -= minutes;
            }
        }
        Ok(())
    }

    /// `action` on help request `h` by resident `by`, expecting `status` (and `code`).
    async fn help_post(
        &mut self,
        h: usize,
        by: usize,
        action: &str,
        status: u16,
        code: Option<&str>,
    ) -> anyhow::Result<bool> {
        let path = format!("/api/v1/help-requests/{}/{action}", self.world.help[h].id);
        let token = self.resident_token(by).await?;
        let answer = self
            .client
            .post("help.action", &path, &token, &json!({}))
            .await;
        Ok(self
            .client
            .expect(&format!("help.{action}"), &answer, status, code))
    }

    /// Resident `r` gives part of their spare time credits to family in their community.
    pub(crate) async fn gift(&mut self, r: usize) -> anyhow::Result<()> {
        let spare = self.spare_minutes(r);
        let Some(family) = self.neighbour_of(r).filter(|_| spare >= 30) else {
            return Ok(());
        };
        let minutes = 30 * self.rng.random_range(1..=spare / 30);
        let body = json!({
            "to_user_id": self.world.residents[family].session.user_id,
            "minutes": minutes, "memo": "给家里老人",
        });
        let key = format!(
            "gift-{}-{}",
            self.world.residents[r].name,
            self.now().timestamp()
        );
        let token = self.resident_token(r).await?;
        // A flaky network now and then: the same gift again with its key moves it once.
        let tries = if self.chance(0.05) { 2 } else { 1 };
        let mut given = false;
        for _ in 0..tries {
            let answer = self
                .client
                .send(
                    "timecredits.gift",
                    Method::POST,
                    "/api/v1/me/time-credits/transfers",
                    Some(&token),
                    Some(&body),
                    Some(&key),
                )
                .await;
            given |= self.client.expect("timecredits.gift", &answer, 201, None);
        }
        if given {
            self.world.residents[r].time_credits -= minutes;
            self.world.residents[family].time_credits += minutes;
        }
        Ok(())
    }
}

/// What happens next to a help request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HelpStep {
    Accept,
    Complete,
    Confirm,
    Cancel,
}

impl HelpStep {
    fn action(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Complete => "complete",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
        }
    }
}
