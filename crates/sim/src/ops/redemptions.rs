//! Redemptions (核销): residents reserve services they can pay for (and now and then one
//! they cannot: refused), show a code that the merchant verifies (sometimes double-tapped:
//! exactly one goes through), cancel, or let the reservation lapse (the job releases it).

use crate::engine::{Event, Sim};
use crate::world::{Movement, Reservation, ReservationStatus};
use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::Method;
use serde_json::json;

impl Sim {
    pub(crate) async fn reserve(&mut self, r: usize) -> anyhow::Result<()> {
        // A service of the resident's own streets' merchants (the shard's).
        if self.offers_here.is_empty() {
            return Ok(());
        }
        let o = self.offers_here[self.rng.random_range(0..self.offers_here.len())];
        let price = self.world.offers[o].points_price;
        let affordable = self.world.residents[r].available() >= price;
        // Those who cannot pay mostly do not try; the few who do are refused.
        if !affordable && !self.chance(0.05) {
            return Ok(());
        }
        let token = self.resident_token(r).await?;
        let path = format!("/api/v1/offers/{}/redemptions", self.world.offers[o].id);
        let key = format!(
            "reserve-{}-{}",
            self.world.residents[r].name,
            self.now().timestamp()
        );
        let answer = self
            .client
            .send(
                "redemption.reserve",
                Method::POST,
                &path,
                Some(&token),
                None,
                Some(&key),
            )
            .await;
        if !affordable {
            self.client.expect(
                "redemption.reserve (short)",
                &answer,
                409,
                Some("insufficient_points"),
            );
            return Ok(());
        }
        if !self.client.expect("redemption.reserve", &answer, 201, None) {
            return Ok(());
        }
        let Some(expires_at) = answer.body["expires_at"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        else {
            self.client.surprise(format!(
                "redemption.reserve: no expires_at in {}",
                answer.body
            ));
            return Ok(());
        };
        self.world.residents[r].held += price;
        let x = self.world.reservations.len();
        self.world.reservations.push(Reservation {
            id: answer.id(),
            resident: r,
            offer: o,
            status: ReservationStatus::Reserved,
            expires_at,
        });
        let roll: f64 = self.rng.random_range(0.0..1.0);
        if roll < 0.8 {
            let double_tap = self.chance(0.05);
            self.after_minutes(
                10,
                3 * 24 * 60,
                Event::Redeem {
                    reservation: x,
                    double_tap,
                },
            );
        } else if roll < 0.9 {
            self.after_minutes(60, 2 * 24 * 60, Event::CancelReservation(x));
        }
        Ok(())
    }

    pub(crate) async fn redeem(&mut self, x: usize, double_tap: bool) -> anyhow::Result<()> {
        if self.world.reservations[x].status != ReservationStatus::Reserved {
            return Ok(());
        }
        let (r, o) = (
            self.world.reservations[x].resident,
            self.world.reservations[x].offer,
        );
        let token = self.resident_token(r).await?;
        let path = format!("/api/v1/redemptions/{}/code", self.world.reservations[x].id);
        let shown = self
            .client
            .send(
                "redemption.code",
                Method::POST,
                &path,
                Some(&token),
                None,
                None,
            )
            .await;
        if !self.client.expect("redemption.code", &shown, 200, None) {
            return Ok(());
        }
        let code = shown.body["code"].as_str().unwrap_or_default().to_owned();
        let merchant = self.world.offers[o].merchant;
        let owner = self.world.merchants[merchant].owner;
        let staff = self.resident_token(owner).await?;
        let path = format!(
            "/api/v1/merchants/{}/redemptions/verify",
            self.world.merchants[merchant].id
        );
        let body = json!({ "code": code });
        let verify = || self.client.post("redemption.verify", &path, &staff, &body);
        let statuses = if double_tap {
            let (a, b) = tokio::join!(verify(), verify());
            let mut statuses = [a.status, b.status];
            statuses.sort_unstable();
            if statuses != [200, 404] {
                self.client.surprise(format!(
                    "redemption.verify (double tap): expected one 200 and one 404, got {statuses:?}"
                ));
            }
            statuses.to_vec()
        } else {
            let answer = verify().await;
            self.client.expect("redemption.verify", &answer, 200, None);
            vec![answer.status]
        };
        if statuses.contains(&200) {
            let offer = self.world.offers[o].clone();
            let resident = &mut self.world.residents[r];
            resident.spend(offer.points_price);
            resident.held -= offer.points_price;
            self.world.reservations[x].status = ReservationStatus::Redeemed;
            self.world.redemptions.push(Movement {
                at: self.now(),
                community: self.world.merchants[merchant].community,
                points: offer.points_price,
                cash_value_fen: offer.cash_value_fen,
            });
        }
        Ok(())
    }

    pub(crate) async fn cancel_reservation(&mut self, x: usize) -> anyhow::Result<()> {
        if self.world.reservations[x].status != ReservationStatus::Reserved {
            return Ok(());
        }
        let r = self.world.reservations[x].resident;
        let token = self.resident_token(r).await?;
        let path = format!(
            "/api/v1/redemptions/{}/cancel",
            self.world.reservations[x].id
        );
        let answer = self
            .client
            .send(
                "redemption.cancel",
                Method::POST,
                &path,
                Some(&token),
                None,
                None,
            )
            .await;
        if self.client.expect("redemption.cancel", &answer, 200, None) {
            self.release(x, ReservationStatus::Cancelled);
        }
        Ok(())
    }

    fn release(&mut self, x: usize, status: ReservationStatus) {
        let (r, o) = (
            self.world.reservations[x].resident,
            self.world.reservations[x].offer,
        );
        self.world.residents[r].held -= self.world.offers[o].points_price;
        self.world.reservations[x].status = status;
    }

    /// What the job does at each tick: reservations past their validity lapse.
    pub(crate) fn lapse_reservations(&mut self, now: DateTime<Utc>) {
        let due: Vec<usize> = self
            .world
            .reservations
            .iter()
            .enumerate()
            .filter(|(_, x)| x.status == ReservationStatus::Reserved && x.expires_at <= now)
            .map(|(i, _)| i)
            .collect();
        for x in due {
            self.release(x, ReservationStatus::Expired);
        }
    }
}
