//! Residents registering (WeChat login, choosing their community and compound) and their
//! community awarding them points, with a retried request now and then that must post once.

use crate::engine::Sim;
use crate::world::{Movement, Resident};
use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::Method;
use serde_json::json;

impl Sim {
    pub(crate) async fn register(&mut self, n: usize) -> anyhow::Result<()> {
        let name = format!("r{n}");
        let mut session = self.client.wechat_login(&name).await?;
        let community = n % self.world.communities.len();
        let compounds = self.world.communities[community].compounds.clone();
        let compound = &compounds[self.rng.random_range(0..compounds.len())];
        let token = self.client.fresh(&mut session).await?;
        let body = json!({
            "nickname": format!("居民{n}"),
            "community_id": self.world.communities[community].id,
            "compound_id": compound,
        });
        let answer = self
            .client
            .send(
                "me.profile",
                Method::PUT,
                "/api/v1/me/profile",
                Some(&token),
                Some(&body),
                None,
            )
            .await;
        self.client.expect("me.profile", &answer, 200, None);
        self.world.residents.push(Resident {
            community: Some(community),
            ..Resident::new(name, session)
        });
        self.world.registered += 1;
        self.plan_resident(self.world.residents.len() - 1);
        Ok(())
    }

    pub(crate) async fn award(&mut self, r: usize) -> anyhow::Result<()> {
        let Some(community) = self.world.residents[r].community else {
            return Ok(());
        };
        let points = 10 * self.rng.random_range(1..=10i64);
        let user_id = self.world.residents[r].session.user_id.clone();
        let token = self.community_token(community).await?;
        // Now and then the staff's first try carries nonsense: refused, nothing moves.
        if self.chance(0.02) {
            let bad = json!({ "user_id": user_id, "points": -points, "reason": "志愿服务" });
            let answer = self
                .client
                .post("points.award", "/api/v1/staff/points/awards", &token, &bad)
                .await;
            self.client.expect(
                "points.award (negative)",
                &answer,
                422,
                Some("validation_failed"),
            );
        }
        let key = format!(
            "award-{}-{}",
            self.world.residents[r].name,
            self.clock.now().timestamp()
        );
        let body = json!({ "user_id": user_id, "points": points, "reason": "参加社区志愿服务" });
        // A flaky network: the same request again with its key settles once.
        let tries = if self.chance(0.05) { 2 } else { 1 };
        for _ in 0..tries {
            let answer = self
                .client
                .send(
                    "points.award",
                    Method::POST,
                    "/api/v1/staff/points/awards",
                    Some(&token),
                    Some(&body),
                    Some(&key),
                )
                .await;
            self.client.expect("points.award", &answer, 201, None);
        }
        let expires_at = self.profile.expiry_of(self.now());
        self.world.residents[r].earn(points, expires_at);
        self.world.awards.push(Movement {
            at: self.now(),
            community,
            points,
            cash_value_fen: 0,
        });
        Ok(())
    }

    /// What the expiry job does at each round: what is left of the lots due leaves each
    /// wallet, as far as it is not held (held points wait for their hold to end).
    pub(crate) fn expire_points(&mut self, now: DateTime<Utc>) {
        if now < self.profile.points_expire_at() {
            return;
        }
        for r in 0..self.world.residents.len() {
            let amount = self.world.residents[r].expire(now);
            if let (true, Some(community)) = (amount > 0, self.world.residents[r].community) {
                self.world.expired.push(Movement {
                    at: now,
                    community,
                    points: amount,
                    cash_value_fen: 0,
                });
            }
        }
    }

    /// The session of resident `r`, refreshed: their token.
    pub(crate) async fn resident_token(&mut self, r: usize) -> anyhow::Result<String> {
        let mut session = self.world.residents[r].session.clone();
        let token = self.client.fresh(&mut session).await?;
        self.world.residents[r].session = session;
        Ok(token)
    }

    pub(crate) async fn community_token(&mut self, c: usize) -> anyhow::Result<String> {
        let mut session = self.world.communities[c].staff.clone();
        let token = self.client.fresh(&mut session).await?;
        self.world.communities[c].staff = session;
        Ok(token)
    }

    pub(crate) async fn street_token(&mut self, s: usize) -> anyhow::Result<String> {
        let mut session = self.world.streets[s].staff.clone();
        let token = self.client.fresh(&mut session).await?;
        self.world.streets[s].staff = session;
        Ok(token)
    }

    pub(crate) async fn admin_token(&mut self) -> anyhow::Result<String> {
        let mut session = self
            .world
            .admin
            .clone()
            .ok_or_else(|| anyhow::anyhow!("no admin session"))?;
        let token = self.client.fresh(&mut session).await?;
        self.world.admin = Some(session);
        Ok(token)
    }
}
