//! The district before its first day, built through the API by its district admin: streets,
//! communities and compounds; a staff member for each street and community; demand
//! categories; the community budgets; and the merchants, who apply, are approved by their
//! community and publish their services.

use crate::client::Session;
use crate::engine::Sim;
use crate::world::{Community, Merchant, Offer, Resident, Street};
use crate::ExistingStreet;
use chrono::Duration;
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};

/// The password of every simulated staff account.
pub const STAFF_PASSWORD: &str = "sim-staff-password";
/// (name, SLA hours).
const CATEGORIES: [(&str, i64); 4] = [
    ("环境卫生", 24),
    ("设施维修", 48),
    ("邻里纠纷", 72),
    ("噪音扰民", 12),
];

impl Sim {
    async fn admin_post(
        &mut self,
        operation: &'static str,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let token = self.admin_token().await?;
        let answer = self.client.post(operation, path, &token, &body).await;
        if answer.status != 201 {
            anyhow::bail!("{operation}: {} {}", answer.status, answer.body);
        }
        Ok(answer.body)
    }

    async fn org(&mut self, kind: &str, name: String, parent: &str) -> anyhow::Result<String> {
        let body = json!({ "kind": kind, "name": name, "parent_id": parent });
        let created = self
            .admin_post("setup.org", "/api/v1/admin/orgs", body)
            .await?;
        Ok(created["id"].as_str().unwrap_or_default().to_owned())
    }

    async fn staff(
        &mut self,
        username: String,
        role: &str,
        org_id: &str,
    ) -> anyhow::Result<Session> {
        let body = json!({ "username": username, "password": STAFF_PASSWORD, "role": role, "org_id": org_id });
        self.admin_post("setup.staff", "/api/v1/admin/staff", body)
            .await?;
        self.client.staff_login(&username, STAFF_PASSWORD).await
    }

    pub async fn setup(
        &mut self,
        district_id: String,
        admin: Session,
        existing: Option<ExistingStreet>,
    ) -> anyhow::Result<()> {
        self.world.district_id = district_id.clone();
        self.world.admin = Some(admin);
        match existing {
            Some(street) => self.fill_street(street).await?,
            None => {
                for s in 0..self.profile.streets {
                    self.new_street(s, &district_id).await?;
                }
            }
        }
        self.categories().await?;
        for c in 0..self.world.communities.len() {
            self.register_care(c).await?;
        }
        for m in 0..self.profile.merchants {
            self.merchant(m).await?;
        }
        for c in 0..self.world.communities.len() {
            self.partners_of(c).await?;
        }
        // The first merchant of each community is also its home-service partner.
        for m in 0..self.world.communities.len().min(self.world.merchants.len()) {
            self.open_home_service(m).await?;
        }
        self.setup_lots().await
    }

    /// Street `s` of the profile with its communities, all new.
    async fn new_street(&mut self, s: usize, district_id: &str) -> anyhow::Result<()> {
        let name = format!("第{}街道", s + 1);
        let id = self.org("street", name.clone(), district_id).await?;
        let staff = self
            .staff(format!("street{}", s + 1), "street_staff", &id)
            .await?;
        self.world.streets.push(Street {
            id: id.clone(),
            name,
            staff,
        });
        for _ in 0..self.profile.communities_of(s) {
            let c = self.world.communities.len() + 1;
            let name = format!("第{c}社区");
            let cid = self.org("community", name.clone(), &id).await?;
            self.community(s, cid, &name, Vec::new()).await?;
        }
        Ok(())
    }

    /// The first communities of a street the server already has, as its staff see them.
    async fn fill_street(&mut self, street: ExistingStreet) -> anyhow::Result<()> {
        let tree = self
            .client
            .send("setup.orgs", Method::GET, "/api/v1/orgs", None, None, None)
            .await;
        let district_id = self.world.district_id.clone();
        let found = children(&tree.body)
            .filter(|d| d["id"] == district_id.as_str())
            .flat_map(children)
            .find(|s| s["kind"] == "street" && s["name"] == street.name.as_str())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no street named {} in the org tree", street.name))?;
        let staff = self
            .client
            .staff_login(&street.staff_username, &street.staff_password)
            .await?;
        self.world.streets.push(Street {
            id: found["id"].as_str().unwrap_or_default().to_owned(),
            name: street.name,
            staff,
        });
        let communities: Vec<&Value> = children(&found)
            .filter(|c| c["kind"] == "community")
            .take(self.profile.communities_of(0))
            .collect();
        if communities.is_empty() {
            anyhow::bail!("the street {} has no community", found["name"]);
        }
        for community in communities {
            let compounds = children(community)
                .filter_map(|k| k["id"].as_str().map(str::to_owned))
                .collect();
            let id = community["id"].as_str().unwrap_or_default().to_owned();
            let name = community["name"].as_str().unwrap_or_default().to_owned();
            self.community(0, id, &name, compounds).await?;
        }
        Ok(())
    }

    /// A community of street `street`: compounds where it has none, a staff member and the
    /// year's budget.
    async fn community(
        &mut self,
        street: usize,
        id: String,
        name: &str,
        mut compounds: Vec<String>,
    ) -> anyhow::Result<()> {
        let c = self.world.communities.len() + 1;
        if compounds.is_empty() {
            for k in 0..self.profile.compounds_per_community {
                let compound = self
                    .org("compound", format!("{name}{}号小区", k + 1), &id)
                    .await?;
                compounds.push(compound);
            }
        }
        let staff = self
            .staff(format!("community{c}"), "community_staff", &id)
            .await?;
        let body = json!({ "org_id": id, "points": self.profile.community_budget, "memo": "年度积分预算" });
        self.admin_post("setup.budget", "/api/v1/admin/budgets/allocations", body)
            .await?;
        self.world.communities.push(Community {
            id,
            street,
            compounds,
            staff,
        });
        Ok(())
    }

    /// The demand categories, reusing those the server already has by name.
    async fn categories(&mut self) -> anyhow::Result<()> {
        let listed = self
            .client
            .send(
                "setup.categories",
                Method::GET,
                "/api/v1/demand-categories",
                None,
                None,
                None,
            )
            .await;
        for (name, sla_hours) in CATEGORIES {
            let existing = listed.body.as_array().and_then(|all| {
                all.iter()
                    .find(|c| c["name"] == name && c["sla_hours"] == sla_hours)
            });
            let id = match existing {
                Some(category) => category["id"].as_str().unwrap_or_default().to_owned(),
                None => {
                    let body = json!({ "name": name, "sla_hours": sla_hours });
                    let created = self
                        .admin_post("setup.category", "/api/v1/admin/demand-categories", body)
                        .await?;
                    created["id"].as_str().unwrap_or_default().to_owned()
                }
            };
            self.world.categories.push((id, sla_hours));
        }
        Ok(())
    }

    /// Merchant `m`: its owner (a resident without a community) applies, the community's
    /// staff approve, and the owner publishes its services for the whole run.
    async fn merchant(&mut self, m: usize) -> anyhow::Result<()> {
        let community = m % self.world.communities.len();
        let mut owner = self.client.wechat_login(&format!("owner{m}")).await?;
        let token = self.client.fresh(&mut owner).await?;
        let body = json!({
            "name": format!("第{}号商户", m + 1), "category": "生活服务", "license_no": format!("92140200SIM{m:05}"),
            "address": "平城区", "contact_phone": "13800000000",
            "community_id": self.world.communities[community].id, "description": "社区便民服务",
        });
        let applied = self
            .client
            .post(
                "merchant.apply",
                "/api/v1/merchants/applications",
                &token,
                &body,
            )
            .await;
        if !self.client.expect("merchant.apply", &applied, 201, None) {
            anyhow::bail!("merchant {m} could not apply");
        }
        let id = applied.id();
        let staff = self.community_token(community).await?;
        let approved = self
            .client
            .post(
                "merchant.approve",
                &format!("/api/v1/staff/merchants/{id}/approve"),
                &staff,
                &json!({}),
            )
            .await;
        self.client.expect("merchant.approve", &approved, 200, None);
        let owner_index = self.world.residents.len();
        self.world
            .residents
            .push(Resident::new(format!("owner{m}"), owner));
        self.world.merchants.push(Merchant {
            id: id.clone(),
            community,
            owner: owner_index,
        });
        let now = self.now();
        for _ in 0..self.profile.offers_of(m) {
            let points_price = 10 * self.rng.random_range(5..=30i64);
            let cash_value_fen = points_price * 10;
            let body = json!({
                "title": "社区便民服务一次", "category": "生活服务", "points_price": points_price,
                "cash_value_fen": cash_value_fen, "valid_from": now, "valid_until": now + Duration::days(self.profile.days + 60),
            });
            let token = self.resident_token(owner_index).await?;
            let created = self
                .client
                .post(
                    "offer.create",
                    &format!("/api/v1/merchants/{id}/offers"),
                    &token,
                    &body,
                )
                .await;
            if !self.client.expect("offer.create", &created, 201, None) {
                continue;
            }
            let offer_id = created.id();
            let published = self
                .client
                .post(
                    "offer.publish",
                    &format!("/api/v1/merchants/{id}/offers/{offer_id}/publish"),
                    &token,
                    &json!({}),
                )
                .await;
            if self.client.expect("offer.publish", &published, 200, None) {
                let merchant = self.world.merchants.len() - 1;
                self.world.offers.push(Offer {
                    id: offer_id,
                    merchant,
                    points_price,
                    cash_value_fen,
                });
            }
        }
        Ok(())
    }
}

/// The children of an org tree node (or the roots, given the tree itself).
fn children(node: &Value) -> impl Iterator<Item = &Value> {
    let list = if node.is_array() {
        node.as_array()
    } else {
        node["children"].as_array()
    };
    list.into_iter().flatten()
}
