//! What the simulator knows of its district: the ids Linli gave its objects, the sessions of
//! its people, and, for each object, the state the generator knows it must be in. The truth
//! of every figure is computed from these (see `truth`).

use crate::client::Session;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Street {
    pub id: String,
    pub name: String,
    pub staff: Session,
}

#[derive(Debug, Clone)]
pub struct Community {
    pub id: String,
    pub street: usize,
    pub compounds: Vec<String>,
    pub staff: Session,
}

#[derive(Debug, Clone)]
pub struct Resident {
    /// The fake WeChat login name (`dev-<name>`).
    pub name: String,
    pub session: Session,
    /// `None` for merchant owners, who never chose a community.
    pub community: Option<usize>,
    /// Points on the wallet, held ones included.
    pub points: i64,
    /// Held for live reservations.
    pub held: i64,
    /// Time credits (minutes) earned volunteering, helping or as gifts, held ones included.
    pub time_credits: i64,
    /// Held for their open help requests.
    pub time_credits_held: i64,
    /// Overstay points their balance could not cover, and the booking they are owed on.
    pub unpaid_overstay: i64,
    pub unpaid_booking: Option<usize>,
    /// The wallet's points by lot, as the ledger keeps them: (expires at, remaining), in
    /// order of expiry; spending takes the oldest first.
    pub lots: Vec<(DateTime<Utc>, i64)>,
}

impl Resident {
    /// Someone logged in with an empty wallet and no community yet (merchants' and
    /// partners' owners stay so).
    pub fn new(name: String, session: Session) -> Self {
        Self {
            name,
            session,
            community: None,
            points: 0,
            held: 0,
            time_credits: 0,
            time_credits_held: 0,
            unpaid_overstay: 0,
            unpaid_booking: None,
            lots: Vec::new(),
        }
    }

    pub fn available(&self) -> i64 {
        self.points - self.held
    }

    /// Points earned, in a lot that expires at `expires_at`.
    pub fn earn(&mut self, points: i64, expires_at: DateTime<Utc>) {
        self.points += points;
        match self.lots.last_mut() {
            Some((at, remaining)) if *at == expires_at => *remaining += points,
            _ => self.lots.push((expires_at, points)),
        }
    }

    /// Points spent (a capture, a charge): from the oldest lots.
    pub fn spend(&mut self, points: i64) {
        self.points -= points;
        let mut left = points;
        for (_, remaining) in &mut self.lots {
            let taken = left.min(*remaining);
            *remaining -= taken;
            left -= taken;
        }
        self.lots.retain(|(_, remaining)| *remaining > 0);
    }

    /// What the expiry job takes at `now`: what is left of the lots due, as far as the points
    /// are not held. Answers the points expired.
    pub fn expire(&mut self, now: DateTime<Utc>) -> i64 {
        let due: i64 = self
            .lots
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, remaining)| remaining)
            .sum();
        let amount = due.min(self.available()).max(0);
        self.spend(amount);
        amount
    }
}

#[derive(Debug, Clone)]
pub struct Offer {
    pub id: String,
    pub merchant: usize,
    pub points_price: i64,
    pub cash_value_fen: i64,
}

#[derive(Debug, Clone)]
pub struct Merchant {
    pub id: String,
    pub community: usize,
    /// Index of the owner among the residents.
    pub owner: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandStatus {
    Submitted,
    Accepted,
    InProgress,
    Resolved,
    Closed,
    Withdrawn,
}

impl DemandStatus {
    pub fn is_open(self) -> bool {
        matches!(self, Self::Submitted | Self::Accepted | Self::InProgress)
    }
}

#[derive(Debug, Clone)]
pub struct Demand {
    pub id: String,
    pub resident: usize,
    pub community: usize,
    pub submitted_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub status: DemandStatus,
    pub first_resolved_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The latest rating: satisfied or not.
    pub rating: Option<bool>,
    /// Ratings given so far (a reopened demand is rated again).
    pub ratings: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Reserved,
    Redeemed,
    Cancelled,
    Expired,
}

#[derive(Debug, Clone)]
pub struct Reservation {
    pub id: String,
    pub resident: usize,
    pub offer: usize,
    pub status: ReservationStatus,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Attendee {
    pub resident: usize,
    pub checked_in: Option<DateTime<Utc>>,
    pub checked_out: Option<DateTime<Utc>>,
}

/// A volunteer activity of a community, settled into time credits and points.
#[derive(Debug, Clone)]
pub struct Activity {
    pub id: String,
    pub kind: crate::ops::timebank::ActivityKind,
    pub community: usize,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: usize,
    pub points_per_hour: i64,
    pub attendees: Vec<Attendee>,
    /// When it was settled, and each attendee's settled minutes then.
    pub settled: Option<(DateTime<Utc>, Vec<i64>)>,
}

/// A street's night lot.
#[derive(Debug, Clone)]
pub struct Lot {
    pub id: String,
    pub street: usize,
    pub slots: i64,
    pub gate_secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    Booked,
    Parked,
    Exited,
    Cancelled,
    NoShow,
}

#[derive(Debug, Clone)]
pub struct Booking {
    pub id: String,
    pub resident: usize,
    pub lot: usize,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub held: i64,
    pub status: BookingStatus,
    pub entered_at: Option<DateTime<Utc>>,
}

/// Points paid for parking at a street's lot.
#[derive(Debug, Clone, Copy)]
pub struct ParkingCharge {
    pub at: DateTime<Utc>,
    pub street: usize,
    pub points: i64,
}

/// A movement of points the truth keeps with its time: what the dashboard's period sums.
#[derive(Debug, Clone, Copy)]
pub struct Movement {
    pub at: DateTime<Utc>,
    pub community: usize,
    pub points: i64,
    /// Cash value (fen) of a redemption; 0 for awards.
    pub cash_value_fen: i64,
}

/// A resident registered for targeted care (五色图).
#[derive(Debug, Clone)]
pub struct CareRecipient {
    pub id: String,
    pub community: usize,
    /// Index into `ops::care::COLOURS`.
    pub colour: usize,
    pub consent_at: DateTime<Utc>,
    pub last_visit: Option<DateTime<Utc>>,
}

/// A partner's home service and the worker it dispatches.
#[derive(Debug, Clone)]
pub struct HomeService {
    pub merchant: usize,
    pub offer_id: String,
    pub worker_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Requested,
    Dispatched,
    Completed,
    Confirmed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [Self; 5] = [
        Self::Requested,
        Self::Dispatched,
        Self::Completed,
        Self::Confirmed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Dispatched => "dispatched",
            Self::Completed => "completed",
            Self::Confirmed => "confirmed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A resident's home-service order.
#[derive(Debug, Clone)]
pub struct HomeOrder {
    pub id: String,
    pub resident: usize,
    pub community: usize,
    pub service: usize,
    /// Paid in time credits (else in points).
    pub in_credits: bool,
    pub status: OrderStatus,
    pub rating: Option<i64>,
}

impl HomeOrder {
    /// The price held and paid: points or minutes of time credits.
    pub fn price(&self) -> i64 {
        use crate::ops::home_services::{POINTS_PRICE, TIME_CREDITS_PRICE};
        if self.in_credits {
            TIME_CREDITS_PRICE
        } else {
            POINTS_PRICE
        }
    }
}

/// A partner of a kind other than `enterprise` (merchants are partners too).
#[derive(Debug, Clone)]
pub struct Partner {
    pub id: String,
    pub community: usize,
    pub kind: &'static str,
    /// Index of the owner among the residents.
    pub owner: usize,
    /// Left the scheme.
    pub exited: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedStatus {
    Open,
    Matched,
    Met,
}

/// A need of a community's list (需求清单).
#[derive(Debug, Clone)]
pub struct Need {
    pub id: String,
    pub community: usize,
    pub status: NeedStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectStatus {
    Proposed,
    Agreed,
    Running,
    Closed,
    /// Its partner left before it was closed.
    Terminated,
}

/// A partner project serving one need.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub partner: usize,
    pub need: usize,
    pub status: ProjectStatus,
    pub evaluations: usize,
    /// The latest evaluation's goal achievement (capped at 1).
    pub latest: Option<f64>,
}

/// A help request between residents; its minutes are held from the requester until it ends.
#[derive(Debug, Clone)]
pub struct Help {
    pub id: String,
    pub requester: usize,
    pub helper: Option<usize>,
    pub minutes: i64,
}

/// A community's shared space (空间换服务), free to book, run by its social organisation.
#[derive(Debug, Clone)]
pub struct Space {
    pub id: String,
    pub community: usize,
    /// The operating partner (its owner may decide bookings).
    pub operator: Option<usize>,
}

/// A booking of a space; `approved` once decided.
#[derive(Debug, Clone)]
pub struct SpaceBooking {
    pub id: String,
    pub space_id: String,
    pub community: usize,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub approved: Option<bool>,
}

/// A street's requirement that its partners disclose their finances for a period.
#[derive(Debug, Clone)]
pub struct DisclosureRequirement {
    pub street: usize,
    /// `YYYY-Qn`.
    pub period: String,
}

#[derive(Debug, Clone, Default)]
pub struct World {
    pub district_id: String,
    pub admin: Option<Session>,
    pub streets: Vec<Street>,
    pub communities: Vec<Community>,
    /// (id, SLA hours).
    pub categories: Vec<(String, i64)>,
    pub residents: Vec<Resident>,
    pub merchants: Vec<Merchant>,
    pub offers: Vec<Offer>,
    pub demands: Vec<Demand>,
    pub reservations: Vec<Reservation>,
    /// Awards from community budgets, by the budget's community.
    pub awards: Vec<Movement>,
    /// Redemptions, by the merchant's community.
    pub redemptions: Vec<Movement>,
    pub activities: Vec<Activity>,
    pub help: Vec<Help>,
    pub care: Vec<CareRecipient>,
    pub home_services: Vec<HomeService>,
    pub partners: Vec<Partner>,
    pub needs: Vec<Need>,
    pub projects: Vec<Project>,
    /// (id, community, resolved).
    pub problems: Vec<(String, usize, bool)>,
    pub home_orders: Vec<HomeOrder>,
    /// Points expired from residents' wallets, by their community.
    pub expired: Vec<Movement>,
    pub lots: Vec<Lot>,
    pub bookings: Vec<Booking>,
    pub parking_spent: Vec<ParkingCharge>,
    pub spaces: Vec<Space>,
    pub space_bookings: Vec<SpaceBooking>,
    pub disclosure_requirements: Vec<DisclosureRequirement>,
    /// (partner id, period) of every finance disclosure made.
    pub disclosures: Vec<(String, String)>,
    /// Residents registered so far (the next one's number).
    pub registered: usize,
}
