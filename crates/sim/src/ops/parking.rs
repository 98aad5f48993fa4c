//! Points parking (积分停车): each street has a night lot (open 18:00–08:00, across
//! midnight); residents book an evening, and the lot's gate reports entry and exit through
//! the signed webhook. Most come and leave (some late: an overstay charged from their
//! balance, unpaid when it cannot be, which blocks their next booking until they pay), some
//! cancel, some never come (the no-show job charges one unit and releases the rest).

use crate::engine::{Event, Sim};
use crate::world::{Booking, BookingStatus, Lot, ParkingCharge};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use reqwest::Method;
use serde_json::json;
use sha2::Sha256;

const POINTS_PER_HOUR: i64 = 10;
const UNIT_MINUTES: i64 = 30;
/// The night: 18:00 to 08:00 the next morning, 840 minutes.
const OPEN_FROM_HOUR: i64 = 18;
const NIGHT_MINUTES: i64 = 14 * 60;
/// After this long without entry a booking is a no-show, charged this many units.
const NO_SHOW_MINUTES: i64 = 30;
const NO_SHOW_UNITS: i64 = 1;

fn unit_points() -> i64 {
    (POINTS_PER_HOUR * UNIT_MINUTES + 59) / 60
}

fn units(minutes: i64) -> i64 {
    if minutes <= 0 {
        0
    } else {
        (minutes + UNIT_MINUTES - 1) / UNIT_MINUTES
    }
}

fn price(minutes: i64) -> i64 {
    units(minutes) * unit_points()
}

/// The start of the Beijing day `at` falls in.
fn beijing_day(at: DateTime<Utc>) -> DateTime<Utc> {
    platform::clock::local_day_start(at)
}

/// A resident's plate, from the number in their name (`r123`), unique across shards.
fn plate_of(name: &str) -> String {
    let number: u64 = name
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    format!("晋B{:05}", number % 100_000)
}

impl Sim {
    pub(crate) async fn setup_lots(&mut self) -> anyhow::Result<()> {
        let streets = self.world.streets.len();
        for s in 0..streets {
            let slots = self.profile.parking_slots / streets
                + usize::from(s < self.profile.parking_slots % streets);
            let body = json!({
                "name": format!("{}夜间停车场", self.world.streets[s].name), "org_id": self.world.streets[s].id, "address": "平城区",
                "slot_count": slots, "points_per_hour": POINTS_PER_HOUR, "billing_unit_minutes": UNIT_MINUTES,
                "open_hours": [{ "days": [1, 2, 3, 4, 5, 6, 7], "from": "18:00", "to": "08:00" }],
                "max_booking_hours": 14,
            });
            let token = self.admin_token().await?;
            let answer = self
                .client
                .post("setup.lot", "/api/v1/admin/parking/lots", &token, &body)
                .await;
            if answer.status != 201 {
                anyhow::bail!("setup.lot: {} {}", answer.status, answer.body);
            }
            let secret = answer.body["gate_secret"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            self.world.lots.push(Lot {
                id: answer.id(),
                street: s,
                slots: slots as i64,
                gate_secret: secret,
            });
        }
        Ok(())
    }

    pub(crate) async fn book(&mut self, r: usize) -> anyhow::Result<()> {
        let Some(community) = self.world.residents[r].community else {
            return Ok(());
        };
        let street = self.world.communities[community].street;
        let Some(lot) = self.world.lots.iter().position(|l| l.street == street) else {
            return Ok(());
        };
        // This evening, or the next when this one has begun.
        let now = self.now();
        let mut evening = beijing_day(now) + Duration::hours(OPEN_FROM_HOUR);
        let offset = self.rng.random_range(30..=240i64);
        if evening + Duration::minutes(offset) <= now + Duration::minutes(10) {
            evening += Duration::days(1);
        }
        let starts_at = evening + Duration::minutes(offset);
        let minutes = self.rng.random_range(60..=(NIGHT_MINUTES - offset));
        let ends_at = starts_at + Duration::minutes(minutes);
        if ends_at > self.end {
            return Ok(());
        }
        let quote = price(minutes);
        // One car: no second booking while one of theirs is live.
        let live = self.world.bookings.iter().any(|b| {
            b.resident == r && matches!(b.status, BookingStatus::Booked | BookingStatus::Parked)
        });
        if live {
            return Ok(());
        }
        let resident = &self.world.residents[r];
        let (blocked, affordable) = (resident.unpaid_overstay > 0, resident.available() >= quote);
        if !affordable && !blocked {
            return Ok(());
        }
        let token = self.resident_token(r).await?;
        let body = json!({ "lot_id": self.world.lots[lot].id, "plate": plate_of(&self.world.residents[r].name), "starts_at": starts_at, "ends_at": ends_at });
        let key = format!("book-{}-{}", self.world.residents[r].name, now.timestamp());
        let answer = self
            .client
            .send(
                "parking.book",
                Method::POST,
                "/api/v1/parking/bookings",
                Some(&token),
                Some(&body),
                Some(&key),
            )
            .await;
        if blocked {
            self.client.expect(
                "parking.book (unpaid)",
                &answer,
                409,
                Some("unpaid_overstay"),
            );
            return self.pay_overstay(r).await;
        }
        if !self.client.expect("parking.book", &answer, 201, None) {
            return Ok(());
        }
        if answer.body["held_points"].as_i64() != Some(quote) {
            self.client.surprise(format!(
                "parking.book: held {} for a quote of {quote}",
                answer.body["held_points"]
            ));
        }
        self.world.residents[r].held += quote;
        let b = self.world.bookings.len();
        self.world.bookings.push(Booking {
            id: answer.id(),
            resident: r,
            lot,
            starts_at,
            ends_at,
            held: quote,
            status: BookingStatus::Booked,
            entered_at: None,
        });
        let roll: f64 = self.rng.random_range(0.0..1.0);
        if roll < 0.08 {
            let lead = (starts_at - self.now()).num_minutes().max(2);
            self.after_minutes(1, lead - 1, Event::CancelBooking(b));
        } else if roll >= 0.13 {
            let entry = starts_at + Duration::seconds(self.rng.random_range(0..900));
            let late = self.rng.random_range(-60..=45i64);
            let exit = (ends_at + Duration::minutes(late)).max(entry + Duration::minutes(5));
            self.at(
                entry,
                Event::Gate {
                    booking: b,
                    entry: true,
                },
            );
            self.at(
                exit,
                Event::Gate {
                    booking: b,
                    entry: false,
                },
            );
        }
        Ok(())
    }

    pub(crate) async fn cancel_booking(&mut self, b: usize) -> anyhow::Result<()> {
        if self.world.bookings[b].status != BookingStatus::Booked {
            return Ok(());
        }
        let r = self.world.bookings[b].resident;
        let token = self.resident_token(r).await?;
        let path = format!(
            "/api/v1/parking/bookings/{}/cancel",
            self.world.bookings[b].id
        );
        let answer = self
            .client
            .post("parking.cancel", &path, &token, &json!({}))
            .await;
        if self.client.expect("parking.cancel", &answer, 200, None) {
            self.world.residents[r].held -= self.world.bookings[b].held;
            self.world.bookings[b].status = BookingStatus::Cancelled;
        }
        Ok(())
    }

    /// The lot's gate reports the car, signed with the lot's secret.
    pub(crate) async fn gate(&mut self, b: usize, entry: bool) -> anyhow::Result<()> {
        let booking = self.world.bookings[b].clone();
        if entry != (booking.status == BookingStatus::Booked)
            || (!entry && booking.entered_at.is_none())
        {
            return Ok(());
        }
        let lot = self.world.lots[booking.lot].clone();
        let now = self.now();
        let body = json!({
            "event_id": format!("{}-{}", booking.id, if entry { "in" } else { "out" }),
            "lot_id": lot.id, "plate": plate_of(&self.world.residents[booking.resident].name),
            "kind": if entry { "entry" } else { "exit" }, "at": now,
        })
        .to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(lot.gate_secret.as_bytes())?;
        mac.update(body.as_bytes());
        let signature = format!("sha256={}", hex_of(&mac.finalize().into_bytes()));
        let answer = self.client.gate_event(&body, &signature).await;
        if !self.client.expect("parking.gate", &answer, 200, None) {
            return Ok(());
        }
        if answer.body["action"] != "open" {
            self.client.surprise(format!(
                "parking.gate: {} denied: {}",
                if entry { "entry" } else { "exit" },
                answer.body
            ));
            return Ok(());
        }
        if entry {
            self.world.bookings[b].status = BookingStatus::Parked;
            self.world.bookings[b].entered_at = Some(now);
        } else {
            self.settle_exit(b, now, answer.body["charged_points"].as_i64());
        }
        Ok(())
    }

    fn settle_exit(&mut self, b: usize, now: DateTime<Utc>, charged_by_api: Option<i64>) {
        let booking = self.world.bookings[b].clone();
        let entered = booking.entered_at.unwrap_or(booking.starts_at);
        let inside = (now.min(booking.ends_at) - entered.max(booking.starts_at)).num_minutes();
        let charged = (units(inside).max(1) * unit_points()).min(booking.held);
        let overstay = if now > booking.ends_at {
            price((now - booking.ends_at).num_minutes())
        } else {
            0
        };
        let resident = &mut self.world.residents[booking.resident];
        let paid = overstay.min((resident.available() + booking.held - charged).max(0));
        resident.spend(charged + paid);
        resident.held -= booking.held;
        resident.unpaid_overstay += overstay - paid;
        resident.unpaid_booking = (overstay > paid).then_some(b).or(resident.unpaid_booking);
        if charged_by_api != Some(charged + paid) {
            self.client.surprise(format!(
                "parking.gate exit: charged {charged_by_api:?}, truth {}",
                charged + paid
            ));
        }
        self.world.bookings[b].status = BookingStatus::Exited;
        let street = self.world.lots[booking.lot].street;
        self.world.parking_spent.push(ParkingCharge {
            at: now,
            street,
            points: charged + paid,
        });
    }

    /// A resident blocked by an unpaid overstay pays it once their balance covers it.
    async fn pay_overstay(&mut self, r: usize) -> anyhow::Result<()> {
        let resident = &self.world.residents[r];
        let (owed, Some(b)) = (resident.unpaid_overstay, resident.unpaid_booking) else {
            return Ok(());
        };
        if resident.available() < owed {
            return Ok(());
        }
        let token = self.resident_token(r).await?;
        let path = format!("/api/v1/parking/bookings/{}/pay", self.world.bookings[b].id);
        let answer = self
            .client
            .post("parking.pay", &path, &token, &json!({}))
            .await;
        if self.client.expect("parking.pay", &answer, 200, None) {
            let resident = &mut self.world.residents[r];
            resident.spend(owed);
            resident.unpaid_overstay = 0;
            resident.unpaid_booking = None;
            let street = self.world.lots[self.world.bookings[b].lot].street;
            self.world.parking_spent.push(ParkingCharge {
                at: self.now(),
                street,
                points: owed,
            });
        }
        Ok(())
    }

    /// What the no-show job does at each tick: bookings nobody drove into for 30 minutes
    /// are charged one unit (at most what was held); the rest is released.
    pub(crate) fn charge_no_shows(&mut self, now: DateTime<Utc>) {
        let due = now - Duration::minutes(NO_SHOW_MINUTES);
        for b in 0..self.world.bookings.len() {
            // Checked before the clone: this runs over every booking at every job round.
            let pending = &self.world.bookings[b];
            if pending.status != BookingStatus::Booked || pending.starts_at > due {
                continue;
            }
            let booking = pending.clone();
            let charge = (NO_SHOW_UNITS * unit_points()).min(booking.held);
            let resident = &mut self.world.residents[booking.resident];
            resident.spend(charge);
            resident.held -= booking.held;
            self.world.bookings[b].status = BookingStatus::NoShow;
            let street = self.world.lots[booking.lot].street;
            self.world.parking_spent.push(ParkingCharge {
                at: now,
                street,
                points: charge,
            });
        }
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
