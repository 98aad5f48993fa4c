//! Home services (家政): the first merchant of each community is also a home-service partner
//! with an hour's cleaning (100 points, or 60 minutes of time credits) and a worker its
//! community's staff verify. Residents order it for a day or two ahead, paying in time
//! credits when they have them spare and in points otherwise (held until confirmed); a tenth
//! cancel before dispatch; the partner dispatches its worker and completes the visit at the
//! time asked; the resident confirms (the held price goes to the partner) and nine in ten
//! rate it. The dashboard's home-service orders, by status and by rating, are checked.

use crate::engine::{Event, Sim};
use crate::world::{HomeOrder, HomeService, OrderStatus};
use chrono::Duration;
use rand::Rng;
use reqwest::Method;
use serde_json::json;

pub const POINTS_PRICE: i64 = 100;
pub const TIME_CREDITS_PRICE: i64 = 60;

/// What happens next to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrderStep {
    Cancel,
    Dispatch,
    Complete,
    Confirm,
}

impl Sim {
    /// Merchant `m`'s home service and its verified worker.
    pub(crate) async fn open_home_service(&mut self, m: usize) -> anyhow::Result<()> {
        let merchant = self.world.merchants[m].clone();
        let now = self.now();
        let body = json!({
            "kind": "home_service", "title": "上门助洁（一小时）", "category": "家政服务",
            "points_price": POINTS_PRICE, "time_credits_price": TIME_CREDITS_PRICE, "cash_value_fen": 8000,
            "valid_from": now, "valid_until": now + Duration::days(self.profile.days + 60),
        });
        let owner = self.resident_token(merchant.owner).await?;
        let offers = format!("/api/v1/merchants/{}/offers", merchant.id);
        let created = self.client.post("home.offer", &offers, &owner, &body).await;
        if !self.client.expect("home.offer", &created, 201, None) {
            return Ok(());
        }
        let offer_id = created.id();
        let publish = format!("{offers}/{offer_id}/publish");
        let published = self
            .client
            .post("offer.publish", &publish, &owner, &json!({}))
            .await;
        let body = json!({
            "name": format!("家政员{}", m + 1), "phone": "13700000001",
            "certificate_no": "家政服务员（四级）", "skills": ["保洁", "助老"],
        });
        let workers = format!("/api/v1/partners/{}/workers", merchant.id);
        let worker = self
            .client
            .post("home.worker", &workers, &owner, &body)
            .await;
        if !self.client.expect("offer.publish", &published, 200, None)
            || !self.client.expect("home.worker", &worker, 201, None)
        {
            return Ok(());
        }
        let worker_id = worker.id();
        let staff = self.community_token(merchant.community).await?;
        let verify = format!("/api/v1/staff/workers/{worker_id}/verify");
        let verified = self
            .client
            .post("home.verify", &verify, &staff, &json!({}))
            .await;
        if self.client.expect("home.verify", &verified, 200, None) {
            self.world.home_services.push(HomeService {
                merchant: m,
                offer_id,
                worker_id,
            });
        }
        Ok(())
    }

    pub(crate) async fn order_home_service(&mut self, r: usize) -> anyhow::Result<()> {
        let Some(community) = self.world.residents[r].community else {
            return Ok(());
        };
        let Some(service) = self
            .world
            .home_services
            .iter()
            .position(|s| self.world.merchants[s.merchant].community == community)
        else {
            return Ok(());
        };
        let resident = &self.world.residents[r];
        let in_credits = resident.time_credits - resident.time_credits_held >= TIME_CREDITS_PRICE;
        if !in_credits && resident.available() < POINTS_PRICE {
            return Ok(());
        }
        let at = self.now() + Duration::minutes(self.rng.random_range(24 * 60..3 * 24 * 60));
        let body = json!({
            "offer_id": self.world.home_services[service].offer_id, "at": at,
            "address_note": "3号楼2单元501", "pay_with": if in_credits { "time_credits" } else { "points" },
        });
        let key = format!(
            "home-{}-{}",
            self.world.residents[r].name,
            self.now().timestamp()
        );
        let token = self.resident_token(r).await?;
        let answer = self
            .client
            .send(
                "home.order",
                Method::POST,
                "/api/v1/home-services/orders",
                Some(&token),
                Some(&body),
                Some(&key),
            )
            .await;
        if !self.client.expect("home.order", &answer, 201, None) {
            return Ok(());
        }
        let resident = &mut self.world.residents[r];
        if in_credits {
            resident.time_credits_held += TIME_CREDITS_PRICE;
        } else {
            resident.held += POINTS_PRICE;
        }
        let o = self.world.home_orders.len();
        self.world.home_orders.push(HomeOrder {
            id: answer.id(),
            resident: r,
            community,
            service,
            in_credits,
            status: OrderStatus::Requested,
            rating: None,
        });
        if self.chance(0.1) {
            self.after_minutes(10, 120, Event::HomeOrder(o, OrderStep::Cancel));
        } else {
            self.after_minutes(30, 240, Event::HomeOrder(o, OrderStep::Dispatch));
        }
        self.at(
            at + Duration::hours(2),
            Event::HomeOrder(o, OrderStep::Complete),
        );
        Ok(())
    }

    pub(crate) async fn home_order_step(
        &mut self,
        o: usize,
        step: OrderStep,
    ) -> anyhow::Result<()> {
        let order = self.world.home_orders[o].clone();
        let service = self.world.home_services[order.service].clone();
        let merchant = self.world.merchants[service.merchant].clone();
        let expected = match step {
            OrderStep::Cancel | OrderStep::Dispatch => OrderStatus::Requested,
            OrderStep::Complete => OrderStatus::Dispatched,
            OrderStep::Confirm => OrderStatus::Completed,
        };
        if order.status != expected {
            return Ok(());
        }
        let (by, path, body) = match step {
            OrderStep::Cancel => (
                order.resident,
                format!("/api/v1/home-services/orders/{}/cancel", order.id),
                json!({ "reason": "临时有事" }),
            ),
            OrderStep::Dispatch => (
                merchant.owner,
                format!(
                    "/api/v1/partners/{}/home-services/orders/{}/dispatch",
                    merchant.id, order.id
                ),
                json!({ "worker_id": service.worker_id }),
            ),
            OrderStep::Complete => (
                merchant.owner,
                format!("/api/v1/home-services/orders/{}/complete", order.id),
                json!({}),
            ),
            OrderStep::Confirm => (
                order.resident,
                format!("/api/v1/home-services/orders/{}/confirm", order.id),
                json!({}),
            ),
        };
        let token = self.resident_token(by).await?;
        let answer = self.client.post("home.move", &path, &token, &body).await;
        if !self.client.expect("home.move", &answer, 200, None) {
            return Ok(());
        }
        let (price, resident) = (order.price(), order.resident);
        let status = match step {
            OrderStep::Cancel => {
                self.release_order_hold(resident, order.in_credits, price);
                OrderStatus::Cancelled
            }
            OrderStep::Dispatch => OrderStatus::Dispatched,
            OrderStep::Complete => {
                self.after_minutes(30, 600, Event::HomeOrder(o, OrderStep::Confirm));
                OrderStatus::Completed
            }
            OrderStep::Confirm => {
                self.release_order_hold(resident, order.in_credits, price);
                let wallet = &mut self.world.residents[resident];
                if order.in_credits {
                    wallet.time_credits -= price;
                } else {
                    wallet.spend(price);
                }
                OrderStatus::Confirmed
            }
        };
        self.world.home_orders[o].status = status;
        if step == OrderStep::Confirm && self.chance(0.9) {
            self.rate_home_order(o).await?;
        }
        Ok(())
    }

    fn release_order_hold(&mut self, r: usize, in_credits: bool, price: i64) {
        let wallet = &mut self.world.residents[r];
        if in_credits {
            wallet.time_credits_held -= price;
        } else {
            wallet.held -= price;
        }
    }

    async fn rate_home_order(&mut self, o: usize) -> anyhow::Result<()> {
        let rating = if self.chance(self.profile.satisfaction) {
            self.rng.random_range(4..=5)
        } else {
            self.rng.random_range(1..=3)
        };
        let order = &self.world.home_orders[o];
        let path = format!("/api/v1/home-services/orders/{}/rate", order.id);
        let token = self.resident_token(order.resident).await?;
        let body = json!({ "rating": rating, "comment": "阿姨很细心" });
        let answer = self.client.post("home.rate", &path, &token, &body).await;
        if self.client.expect("home.rate", &answer, 200, None) {
            self.world.home_orders[o].rating = Some(rating);
        }
        Ok(())
    }
}
