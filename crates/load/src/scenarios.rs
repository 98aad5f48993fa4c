//! The scenarios: what the district does on a busy day, one flow per iteration of each
//! virtual user. Each scenario's setup builds what it needs through the API (and is not
//! measured); its flows then only ever expect success, so any refusal counts as an error.

use crate::client::{Linli, Session};
use anyhow::Context;
use chrono::{Duration, Utc};
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};

pub const ALL: [&str; 8] = [
    "catalog",
    "wallet",
    "award-one-budget",
    "award-many-budgets",
    "reserve-verify",
    "booking-gate",
    "demand",
    "market-day",
];

/// What a scenario's flows run against, built once by [`World::build`].
pub struct World {
    admin: Session,
    residents: Vec<Session>,
    communities: Vec<String>,
    /// One shop per [`USERS_PER_SHOP`] users, as a market's stalls: a cashier verifies one
    /// code at a time, and the verify limits count attempts in flight.
    shops: Vec<Shop>,
    lot: Option<Lot>,
    category_id: String,
}

pub struct Shop {
    pub merchant_id: String,
    pub offer_id: String,
    pub owner: Session,
}

pub struct Lot {
    pub id: String,
    pub secret: String,
}

pub const DEMO_PASSWORD: &str = "linli-demo";
const USERS_PER_SHOP: usize = 4;

impl World {
    /// Residents for `users` virtual users, funded budgets, and the shop and lot the
    /// scenario needs.
    pub async fn build(api: &Linli, scenario: &str, users: usize) -> anyhow::Result<Self> {
        let admin = api.staff_login("admin", DEMO_PASSWORD).await?;
        let tree = api.setup(Method::GET, "/orgs", None, None, 200).await?;
        let communities = communities_of(&tree);
        anyhow::ensure!(!communities.is_empty(), "the org tree has no community");
        let home = communities[0].clone();
        for community in communities.iter().take(users.max(1)) {
            let body = json!({"org_id": community, "points": 1_000_000_000i64, "memo": "load"});
            api.setup(
                Method::POST,
                "/admin/budgets/allocations",
                Some(&admin.token),
                Some(&body),
                201,
            )
            .await?;
        }
        let funded = !matches!(
            scenario,
            "catalog" | "award-one-budget" | "award-many-budgets"
        );
        let mut residents = Vec::with_capacity(users);
        let run = uuid::Uuid::now_v7().simple().to_string();
        // Awards reach residents of the budget's own community: with many budgets, the
        // users live in as many communities.
        let spread = scenario == "award-many-budgets";
        for n in 0..users {
            let community = if spread {
                &communities[n % communities.len()]
            } else {
                &home
            };
            let resident = api
                .resident_in(&format!("load-{}-{n}", &run[..12]), community)
                .await?;
            if funded {
                award(api, &admin, &resident.user_id, &home, 1_000_000, None).await?;
            }
            residents.push(resident);
        }
        let categories = api
            .setup(Method::GET, "/demand-categories", None, None, 200)
            .await?;
        let category_id = categories[0]["id"]
            .as_str()
            .or_else(|| categories["items"][0]["id"].as_str())
            .context("a demand category")?
            .to_owned();
        let mut shops = Vec::new();
        if matches!(scenario, "reserve-verify" | "market-day") {
            for n in 0..users.div_ceil(USERS_PER_SHOP) {
                shops.push(open_shop(api, &admin, &home, &format!("{}-{n}", &run[..12])).await?);
            }
        }
        let lot = if matches!(scenario, "booking-gate" | "market-day") {
            Some(open_lot(api, &admin, &home, users).await?)
        } else {
            None
        };
        Ok(Self {
            admin,
            residents,
            communities,
            shops,
            lot,
            category_id,
        })
    }

    /// One iteration of `scenario` by virtual user `user`.
    pub async fn flow(&self, api: &Linli, scenario: &str, user: usize) {
        match scenario {
            "catalog" => self.catalog(api).await,
            "wallet" => self.wallet(api, user).await,
            "award-one-budget" => self.award(api, user, &self.communities[0]).await,
            "award-many-budgets" => {
                let budget = &self.communities[user % self.communities.len()];
                self.award(api, user, budget).await
            }
            "reserve-verify" => self.reserve_verify(api, user).await,
            "booking-gate" => self.booking_gate(api, user).await,
            "demand" => self.demand(api, user).await,
            _ => self.market_day(api, user).await,
        }
    }

    async fn catalog(&self, api: &Linli) {
        api.get("catalog", "/offers", None).await;
    }

    async fn wallet(&self, api: &Linli, user: usize) {
        let resident = &self.residents[user];
        api.get("wallet", "/me/wallet", Some(&resident.token)).await;
    }

    async fn award(&self, api: &Linli, user: usize, budget: &str) {
        let to = &self.residents[user].user_id;
        let key = uuid::Uuid::now_v7().to_string();
        let body = json!({"user_id": to, "points": 1, "reason": "志愿服务", "org_id": budget});
        api.post(
            "award",
            "/staff/points/awards",
            Some(&self.admin.token),
            &body,
            Some(&key),
        )
        .await;
    }

    async fn reserve_verify(&self, api: &Linli, user: usize) {
        let Some(shop) = self.shops.get(user / USERS_PER_SHOP) else {
            return;
        };
        let resident = &self.residents[user];
        let key = uuid::Uuid::now_v7().to_string();
        let (status, reserved) = api
            .post(
                "reserve",
                &format!("/offers/{}/redemptions", shop.offer_id),
                Some(&resident.token),
                &json!({}),
                Some(&key),
            )
            .await;
        let Some(id) = reserved["id"].as_str().filter(|_| status == 201) else {
            return;
        };
        let (_, code) = api
            .post(
                "code",
                &format!("/redemptions/{id}/code"),
                Some(&resident.token),
                &json!({}),
                None,
            )
            .await;
        let Some(code) = code["code"].as_str() else {
            return;
        };
        api.post(
            "verify",
            &format!("/merchants/{}/redemptions/verify", shop.merchant_id),
            Some(&shop.owner.token),
            &json!({ "code": code }),
            None,
        )
        .await;
    }

    async fn booking_gate(&self, api: &Linli, user: usize) {
        let Some(lot) = &self.lot else { return };
        let resident = &self.residents[user];
        let plate = format!("晋B{:05}", user);
        let now = Utc::now();
        let body = json!({
            "lot_id": lot.id, "plate": plate,
            "starts_at": now, "ends_at": now + Duration::hours(1),
        });
        let key = uuid::Uuid::now_v7().to_string();
        let (status, _) = api
            .post(
                "book",
                "/parking/bookings",
                Some(&resident.token),
                &body,
                Some(&key),
            )
            .await;
        if status != 201 {
            return;
        }
        for (operation, kind) in [("gate-entry", "entry"), ("gate-exit", "exit")] {
            let event = json!({
                "event_id": uuid::Uuid::now_v7().to_string(), "lot_id": lot.id,
                "plate": plate, "kind": kind, "at": Utc::now(),
            })
            .to_string();
            let signature = parking::service::gate::signature(&lot.secret, event.as_bytes());
            api.post_raw(
                operation,
                "/parking/gate-events",
                event,
                &[("x-linli-signature", signature)],
            )
            .await;
        }
    }

    async fn demand(&self, api: &Linli, user: usize) {
        let resident = &self.residents[user];
        let body = json!({
            "category_id": self.category_id, "title": "楼道灯不亮",
            "description": "三单元二楼的灯坏了", "community_id": self.communities[0],
        });
        let (status, demand) = api
            .post(
                "demand-submit",
                "/demands",
                Some(&resident.token),
                &body,
                None,
            )
            .await;
        let Some(id) = demand["id"].as_str().filter(|_| status == 201) else {
            return;
        };
        let staff = Some(self.admin.token.as_str());
        for (operation, action, body) in [
            ("demand-accept", "accept", json!({})),
            ("demand-start", "start", json!({})),
            (
                "demand-resolve",
                "resolve",
                json!({"resolution": "已更换灯泡"}),
            ),
        ] {
            let path = format!("/staff/demands/{id}/{action}");
            let (status, _) = api.post(operation, &path, staff, &body, None).await;
            if !(200..300).contains(&status) {
                return;
            }
        }
        let rating = json!({"satisfied": true, "score": 5});
        api.post(
            "demand-rate",
            &format!("/demands/{id}/rate"),
            Some(&resident.token),
            &rating,
            None,
        )
        .await;
    }

    /// A market day (幸福集市): mostly browsing and wallets, a fifth redeeming at the
    /// stalls, some awards for the volunteers, a few cars and a few demands.
    async fn market_day(&self, api: &Linli, user: usize) {
        let roll = rand::rng().random_range(0..100);
        match roll {
            0..40 => self.catalog(api).await,
            40..60 => self.wallet(api, user).await,
            60..80 => self.reserve_verify(api, user).await,
            80..90 => self.award(api, user, &self.communities[0]).await,
            90..95 => self.booking_gate(api, user).await,
            _ => self.demand(api, user).await,
        }
    }

    /// The admin's token, for the checks after the run.
    pub fn admin_token(&self) -> &str {
        &self.admin.token
    }
}

pub fn communities_of(tree: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack: Vec<&Value> = tree
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    while let Some(node) = stack.pop() {
        if node["kind"] == "community" {
            if let Some(id) = node["id"].as_str() {
                found.push(id.to_owned());
            }
        }
        if let Some(children) = node["children"].as_array() {
            stack.extend(children.iter());
        }
    }
    found.sort();
    found
}

pub async fn award(
    api: &Linli,
    staff: &Session,
    user_id: &str,
    budget: &str,
    points: i64,
    key: Option<&str>,
) -> anyhow::Result<()> {
    let body = json!({"user_id": user_id, "points": points, "reason": "load", "org_id": budget});
    let (status, answer) = api
        .call(
            None,
            Method::POST,
            "/staff/points/awards",
            Some(&staff.token),
            Some(&body),
            key,
        )
        .await;
    anyhow::ensure!(
        (200..300).contains(&status),
        "funding a resident: {status} {answer}"
    );
    Ok(())
}

/// A merchant applied for by a resident, approved, with one published offer of 1 point and
/// no stock limit.
pub async fn open_shop(
    api: &Linli,
    admin: &Session,
    community: &str,
    name: &str,
) -> anyhow::Result<Shop> {
    let owner = api.resident(&format!("load-owner-{name}")).await?;
    let application = json!({
        "name": "集市小铺", "category": "生活服务", "license_no": "91140200MA0LOAD",
        "address": "平城区新华街1号", "contact_phone": "13800002222",
        "community_id": community, "description": "负载测试",
    });
    let merchant = api
        .setup(
            Method::POST,
            "/merchants/applications",
            Some(&owner.token),
            Some(&application),
            201,
        )
        .await?;
    let merchant_id = merchant["id"].as_str().context("merchant id")?.to_owned();
    api.setup(
        Method::POST,
        &format!("/staff/merchants/{merchant_id}/approve"),
        Some(&admin.token),
        Some(&json!({})),
        200,
    )
    .await?;
    let now = Utc::now();
    let offer = json!({
        "title": "理发一次", "description": "集市特惠", "category": "生活服务",
        "points_price": 1, "cash_value_fen": 100,
        "valid_from": now - Duration::hours(1), "valid_until": now + Duration::days(30),
    });
    let created = api
        .setup(
            Method::POST,
            &format!("/merchants/{merchant_id}/offers"),
            Some(&owner.token),
            Some(&offer),
            201,
        )
        .await?;
    let offer_id = created["id"].as_str().context("offer id")?.to_owned();
    api.setup(
        Method::POST,
        &format!("/merchants/{merchant_id}/offers/{offer_id}/publish"),
        Some(&owner.token),
        Some(&json!({})),
        200,
    )
    .await?;
    Ok(Shop {
        merchant_id,
        offer_id,
        owner,
    })
}

/// A lot open round the clock with a slot for every virtual user and more.
pub async fn open_lot(
    api: &Linli,
    admin: &Session,
    org: &str,
    users: usize,
) -> anyhow::Result<Lot> {
    let body = json!({
        "name": "集市停车场", "org_id": org, "address": "新华街1号",
        "slot_count": (users * 2).max(607), "points_per_hour": 10, "billing_unit_minutes": 30,
        "open_hours": [{"days": [1, 2, 3, 4, 5, 6, 7], "from": "00:00", "to": "24:00"}],
        "max_booking_hours": 12,
    });
    let lot = api
        .setup(
            Method::POST,
            "/admin/parking/lots",
            Some(&admin.token),
            Some(&body),
            201,
        )
        .await?;
    Ok(Lot {
        id: lot["id"].as_str().context("lot id")?.to_owned(),
        secret: lot["gate_secret"]
            .as_str()
            .context("gate secret")?
            .to_owned(),
    })
}
