//! The community partner scheme (社区合伙人): each community has, besides its merchants, a
//! social organisation and a capable resident as partners (they apply and the community
//! approves), and each offers an elder-care resource (资源清单). Its staff keep the lists:
//! needs raised every fortnight or so (half of them taken up by a project with the best of
//! the need's matches, which must be the community's own partners: proposed, accepted by the partner, agreed, started,
//! evaluated monthly against its goal and closed after three evaluations, which meets the
//! need) and problems raised monthly (most resolved within two weeks). Two thirds into the
//! run the first capable resident leaves the scheme at their own request: their projects
//! under way are terminated. The dashboard's partner figures are checked against the truth.

use crate::engine::{Event, Sim};
use crate::world::{Need, NeedStatus, Partner, Project, ProjectStatus, Resident};
use chrono::Duration;
use rand::Rng;
use reqwest::Method;
use serde_json::json;

/// The partner kinds besides merchants (`enterprise`) that each community has.
pub const KINDS: [&str; 2] = ["social_org", "capable_resident"];
/// Every project's one goal: people served, out of this target.
const TARGET: i64 = 100;
const EVALUATIONS: usize = 3;

/// What happens next to a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProjectStep {
    Accept,
    Agree,
    Start,
    Evaluate,
    Close,
}

impl Sim {
    /// Community `c`'s partners of the other kinds, through application and approval.
    pub(crate) async fn partners_of(&mut self, c: usize) -> anyhow::Result<()> {
        for kind in KINDS {
            let name = format!("{kind}{c}");
            let mut owner = self.client.wechat_login(&name).await?;
            let token = self.client.fresh(&mut owner).await?;
            let body = json!({
                "name": format!("第{}社区{}", c + 1, if kind == "social_org" { "社工服务中心" } else { "能人工作室" }),
                "category": "公益服务", "license_no": format!("SIM-{kind}-{c:04}"), "address": "平城区",
                "contact_phone": "13800000000", "community_id": self.world.communities[c].id,
                "description": "社区合伙人", "kind": kind, "form": "independent",
            });
            let path = "/api/v1/merchants/applications";
            let applied = self.client.post("partner.apply", path, &token, &body).await;
            if !self.client.expect("partner.apply", &applied, 201, None) {
                continue;
            }
            let id = applied.id();
            let staff = self.community_token(c).await?;
            let approve = format!("/api/v1/staff/merchants/{id}/approve");
            let approved = self
                .client
                .post("partner.approve", &approve, &staff, &json!({}))
                .await;
            if !self.client.expect("partner.approve", &approved, 200, None) {
                continue;
            }
            // Its resource list (资源清单): the service it brings to the community's needs.
            let resource = json!({
                "type": if kind == "social_org" { "service" } else { "skill" },
                "title": if kind == "social_org" { "长者助餐配送" } else { "上门理发" },
                "description": "每周服务社区长者", "categories": ["elderly_care"],
                "capacity": 50, "availability": "工作日上午",
            });
            let path = format!("/api/v1/partners/{id}/resources");
            let offered = self
                .client
                .post("partner.resource", &path, &token, &resource)
                .await;
            self.client.expect("partner.resource", &offered, 201, None);
            let owner_index = self.world.residents.len();
            self.world.residents.push(Resident::new(name, owner));
            self.world.partners.push(Partner {
                id,
                community: c,
                kind,
                owner: owner_index,
                exited: false,
            });
        }
        Ok(())
    }

    /// Plans each community's needs (about one a fortnight) and problems (one a month), and
    /// the one exit.
    pub(crate) fn plan_lists(&mut self) {
        let start = self.profile.start;
        let days = self.profile.days;
        // The district's first capable resident leaves, in the shard of its community.
        if let Some(p) = self
            .world
            .partners
            .iter()
            .position(|p| p.kind == "capable_resident")
        {
            if self.owns(self.world.partners[p].community) {
                self.at(start + Duration::days(days * 2 / 3), Event::PartnerExit(p));
            }
        }
        for c in self.own_communities() {
            for _ in 0..(days / 14).max(1) {
                let at = start + Duration::seconds(self.rng.random_range(0..days * 86_400));
                self.at(at, Event::RaiseNeed(c));
            }
            for _ in 0..(days / 30).max(1) {
                let at = start + Duration::seconds(self.rng.random_range(0..days * 86_400));
                self.at(at, Event::RaiseProblem(c));
            }
        }
    }

    pub(crate) async fn raise_need(&mut self, c: usize) -> anyhow::Result<()> {
        let body = json!({
            "community_id": self.world.communities[c].id, "category": "elderly_care",
            "title": "独居老人助餐", "description": "走访中发现独居老人午餐不便", "households": 12, "source": "visit",
        });
        let token = self.community_token(c).await?;
        let answer = self
            .client
            .post("need.raise", "/api/v1/staff/needs", &token, &body)
            .await;
        if !self.client.expect("need.raise", &answer, 201, None) {
            return Ok(());
        }
        let n = self.world.needs.len();
        self.world.needs.push(Need {
            id: answer.id(),
            community: c,
            status: NeedStatus::Open,
        });
        if self.chance(0.5) {
            self.after_minutes(24 * 60, 7 * 24 * 60, Event::ProposeProject(n));
        }
        Ok(())
    }

    /// The staff open the need's matches and propose a project to the best one. Every
    /// active partner of the community offers an elder-care resource, so they must rank
    /// above every partner from further away (25 points for the same community against 15
    /// for the same street outweigh what rating and evaluations can add), and a partner that
    /// has left must not be offered at all.
    pub(crate) async fn propose_project(&mut self, n: usize) -> anyhow::Result<()> {
        let c = self.world.needs[n].community;
        let candidates: Vec<usize> = (0..self.world.partners.len())
            .filter(|&p| self.world.partners[p].community == c && !self.world.partners[p].exited)
            .collect();
        if candidates.is_empty() {
            return Ok(());
        }
        let token = self.community_token(c).await?;
        let path = format!("/api/v1/staff/needs/{}/matches", self.world.needs[n].id);
        let answer = self
            .client
            .send("need.matches", Method::GET, &path, Some(&token), None, None)
            .await;
        if !self.client.expect("need.matches", &answer, 200, None) {
            return Ok(());
        }
        let ranked: Vec<&str> = answer
            .body
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|x| x["partner"]["id"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut first: Vec<&str> = ranked.iter().take(candidates.len()).copied().collect();
        let mut ours: Vec<&str> = candidates
            .iter()
            .map(|&p| self.world.partners[p].id.as_str())
            .collect();
        first.sort_unstable();
        ours.sort_unstable();
        let gone = self
            .world
            .partners
            .iter()
            .find(|p| p.exited && ranked.contains(&p.id.as_str()));
        if first != ours || gone.is_some() {
            self.client.surprise(format!(
                "need.matches: expected the community's own partners {ours:?} first and no \
                 partner that has left, got {ranked:?}"
            ));
            return Ok(());
        }
        let best = ranked[0];
        let Some(partner) = candidates
            .into_iter()
            .find(|&p| self.world.partners[p].id == best)
        else {
            return Ok(());
        };
        let today = platform::clock::local_day_start(self.now()) + Duration::hours(8);
        let body = json!({
            "partner_id": self.world.partners[partner].id, "community_id": self.world.communities[c].id,
            "need_ids": [self.world.needs[n].id], "kind": "elderly_care", "mechanism": "time_bank_points",
            "title": "长者助餐服务", "goals": [{ "metric": "助餐服务人次", "target": TARGET }],
            "starts_on": today.date_naive(), "ends_on": (today + Duration::days(120)).date_naive(),
        });
        let answer = self
            .client
            .post("project.propose", "/api/v1/staff/projects", &token, &body)
            .await;
        if !self.client.expect("project.propose", &answer, 201, None) {
            return Ok(());
        }
        let p = self.world.projects.len();
        self.world.projects.push(Project {
            id: answer.id(),
            partner,
            need: n,
            status: ProjectStatus::Proposed,
            evaluations: 0,
            latest: None,
        });
        self.after_minutes(60, 48 * 60, Event::ProjectStep(p, ProjectStep::Accept));
        Ok(())
    }

    pub(crate) async fn project_step(&mut self, p: usize, step: ProjectStep) -> anyhow::Result<()> {
        let project = self.world.projects[p].clone();
        if project.status == ProjectStatus::Terminated {
            return Ok(());
        }
        let partner = self.world.partners[project.partner].clone();
        let (token, path, body, status) = match step {
            ProjectStep::Accept => (
                self.resident_token(partner.owner).await?,
                format!(
                    "/api/v1/partners/{}/projects/{}/accept",
                    partner.id, project.id
                ),
                json!({}),
                200,
            ),
            ProjectStep::Evaluate => {
                let achieved = self.rng.random_range(40..=130i64);
                self.world.projects[p].latest = Some((achieved as f64 / TARGET as f64).min(1.0));
                let body = json!({
                    "period": format!("第{}期", project.evaluations + 1), "notes": "按月评估",
                    "results": [{ "metric": "助餐服务人次", "achieved": achieved }],
                });
                let path = format!("/api/v1/staff/projects/{}/evaluations", project.id);
                (
                    self.community_token(partner.community).await?,
                    path,
                    body,
                    201,
                )
            }
            ProjectStep::Agree | ProjectStep::Start | ProjectStep::Close => {
                let action = match step {
                    ProjectStep::Agree => "agree",
                    ProjectStep::Start => "start",
                    _ => "close",
                };
                let path = format!("/api/v1/staff/projects/{}/{action}", project.id);
                (
                    self.community_token(partner.community).await?,
                    path,
                    json!({}),
                    200,
                )
            }
        };
        let answer = self.client.post("project.move", &path, &token, &body).await;
        if !self.client.expect("project.move", &answer, status, None) {
            self.world.projects[p].latest = project.latest;
            return Ok(());
        }
        let need = &mut self.world.needs[project.need].status;
        let next = match step {
            ProjectStep::Accept => Some((ProjectStep::Agree, 60, 24 * 60)),
            ProjectStep::Agree => {
                if *need == NeedStatus::Open {
                    *need = NeedStatus::Matched;
                }
                self.world.projects[p].status = ProjectStatus::Agreed;
                Some((ProjectStep::Start, 24 * 60, 3 * 24 * 60))
            }
            ProjectStep::Start => {
                self.world.projects[p].status = ProjectStatus::Running;
                Some((ProjectStep::Evaluate, 30 * 24 * 60, 31 * 24 * 60))
            }
            ProjectStep::Evaluate => {
                self.world.projects[p].evaluations += 1;
                if self.world.projects[p].evaluations < EVALUATIONS {
                    Some((ProjectStep::Evaluate, 30 * 24 * 60, 31 * 24 * 60))
                } else {
                    Some((ProjectStep::Close, 24 * 60, 5 * 24 * 60))
                }
            }
            ProjectStep::Close => {
                *need = NeedStatus::Met;
                self.world.projects[p].status = ProjectStatus::Closed;
                None
            }
        };
        if let Some((step, min, max)) = next {
            self.after_minutes(min, max, Event::ProjectStep(p, step));
        }
        Ok(())
    }

    /// Partner `p` leaves at their own request, decided by their community's staff.
    pub(crate) async fn partner_exit(&mut self, p: usize) -> anyhow::Result<()> {
        let partner = self.world.partners[p].clone();
        let path = format!("/api/v1/staff/partners/{}/exit", partner.id);
        let body = json!({ "reason": "own_request", "basis": "本人书面申请退出" });
        let token = self.community_token(partner.community).await?;
        let answer = self.client.post("partner.exit", &path, &token, &body).await;
        if !self.client.expect("partner.exit", &answer, 200, None) {
            return Ok(());
        }
        self.world.partners[p].exited = true;
        for project in self.world.projects.iter_mut().filter(|x| x.partner == p) {
            if project.status != ProjectStatus::Closed {
                project.status = ProjectStatus::Terminated;
            }
        }
        Ok(())
    }

    pub(crate) async fn raise_problem(&mut self, c: usize) -> anyhow::Result<()> {
        let body = json!({
            "community_id": self.world.communities[c].id, "title": "楼道堆物",
            "description": "3号楼楼道堆放杂物，存在消防隐患", "severity": "medium",
        });
        let token = self.community_token(c).await?;
        let answer = self
            .client
            .post("problem.raise", "/api/v1/staff/problems", &token, &body)
            .await;
        if !self.client.expect("problem.raise", &answer, 201, None) {
            return Ok(());
        }
        let i = self.world.problems.len();
        self.world.problems.push((answer.id(), c, false));
        if self.chance(0.8) {
            self.after_minutes(24 * 60, 14 * 24 * 60, Event::ResolveProblem(i));
        }
        Ok(())
    }

    pub(crate) async fn resolve_problem(&mut self, i: usize) -> anyhow::Result<()> {
        let (id, c, _) = self.world.problems[i].clone();
        let path = format!("/api/v1/staff/problems/{id}/resolve");
        let body = json!({ "resolution": "已协调物业清理。" });
        let token = self.community_token(c).await?;
        let answer = self
            .client
            .post("problem.resolve", &path, &token, &body)
            .await;
        if self.client.expect("problem.resolve", &answer, 200, None) {
            self.world.problems[i].2 = true;
        }
        Ok(())
    }
}
