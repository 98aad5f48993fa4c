//! What the district's people did, as Prometheus counters: points issued and redeemed,
//! time credits earned, demands submitted, closed and gone overdue, parking bookings, and
//! WeChat messages by outcome and WeChat's `errcode`.
//!
//! Each instance counts what it committed itself, after the commit (a request replayed
//! under its `Idempotency-Key` is not counted again), so the district's figure is the sum
//! over instances: `sum(rate(linli_points_issued_total[5m]))`. The database stays the
//! ground truth (the dashboard's figures); these are for watching the rates move.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

pub struct Business {
    points_issued: IntCounterVec,
    points_redeemed: IntCounterVec,
    time_credit_minutes_issued: IntCounter,
    demands_submitted: IntCounter,
    demands_closed: IntCounterVec,
    demands_overdue: IntCounter,
    parking_bookings: IntCounter,
    outbox_messages: IntCounterVec,
}

/// Where issued points come from.
#[derive(Debug, Clone, Copy)]
pub enum PointsSource {
    /// A staff award from an org's budget.
    Award,
    /// An activity's settlement paying its attendees.
    Volunteering,
}

/// Where points are spent for good.
#[derive(Debug, Clone, Copy)]
pub enum PointsChannel {
    /// A reservation's code verified at the merchant (核销).
    Merchant,
    /// A parking stay charged at the exit gate, overstay included.
    Parking,
}

/// How a demand came to be closed.
#[derive(Debug, Clone, Copy)]
pub enum Closure {
    /// The resident rated the resolution.
    Rated,
    /// Nobody rated it within the rating window; the job closed it.
    Automatic,
}

impl Business {
    pub(super) fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let counter = IntCounter::new(name, help)?;
            registry.register(Box::new(counter.clone()))?;
            Ok(counter)
        };
        let family =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let family = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(family.clone()))?;
                Ok(family)
            };
        let business = Self {
            points_issued: family(
                "points_issued_total",
                "Points paid to residents, by source (award, volunteering)",
                &["source"],
            )?,
            points_redeemed: family(
                "points_redeemed_total",
                "Points spent for good, by channel (merchant: codes verified; parking: stays charged)",
                &["channel"],
            )?,
            time_credit_minutes_issued: counter(
                "time_credit_minutes_issued_total",
                "Time-bank minutes paid to volunteers by activity settlements",
            )?,
            demands_submitted: counter("demands_submitted_total", "Demands filed by residents")?,
            demands_closed: family(
                "demands_closed_total",
                "Demands closed, by how (rated: by the resident's rating; automatic: the rating window passed)",
                &["how"],
            )?,
            demands_overdue: counter(
                "demands_overdue_total",
                "Demands that passed their handling deadline and were escalated",
            )?,
            parking_bookings: counter("parking_bookings_total", "Parking bookings made")?,
            outbox_messages: family(
                "outbox_messages_total",
                "WeChat subscribe messages tried, by outcome (sent, refused, retried, failed) and code (WeChat's errcode, or what stopped it on our side)",
                &["outcome", "code"],
            )?,
        };
        // Every series a dashboard graphs exists from the start, at 0, rather than
        // appearing with the first event.
        for source in [PointsSource::Award, PointsSource::Volunteering] {
            business.points_issued.with_label_values(&[source.label()]);
        }
        for channel in [PointsChannel::Merchant, PointsChannel::Parking] {
            business
                .points_redeemed
                .with_label_values(&[channel.label()]);
        }
        for how in [Closure::Rated, Closure::Automatic] {
            business.demands_closed.with_label_values(&[how.label()]);
        }
        business.outbox_messages.with_label_values(&["sent", "0"]);
        Ok(business)
    }

    pub fn points_issued(&self, source: PointsSource, points: i64) {
        self.points_issued
            .with_label_values(&[source.label()])
            .inc_by(positive(points));
    }

    pub fn points_redeemed(&self, channel: PointsChannel, points: i64) {
        self.points_redeemed
            .with_label_values(&[channel.label()])
            .inc_by(positive(points));
    }

    pub fn time_credits_issued(&self, minutes: i64) {
        self.time_credit_minutes_issued.inc_by(positive(minutes));
    }

    pub fn demand_submitted(&self) {
        self.demands_submitted.inc();
    }

    pub fn demands_closed(&self, how: Closure, count: u64) {
        self.demands_closed
            .with_label_values(&[how.label()])
            .inc_by(count);
    }

    pub fn demands_overdue(&self, count: u64) {
        self.demands_overdue.inc_by(count);
    }

    pub fn parking_booked(&self) {
        self.parking_bookings.inc();
    }

    /// One delivery attempt; `code` is WeChat's errcode as text (`0` when sent) or our own
    /// reason (`no_template`, `no_openid`, `network`, `bad_reply`).
    pub fn outbox_message(&self, outcome: &str, code: &str) {
        self.outbox_messages
            .with_label_values(&[outcome, code])
            .inc();
    }
}

impl PointsSource {
    fn label(self) -> &'static str {
        match self {
            Self::Award => "award",
            Self::Volunteering => "volunteering",
        }
    }
}

impl PointsChannel {
    fn label(self) -> &'static str {
        match self {
            Self::Merchant => "merchant",
            Self::Parking => "parking",
        }
    }
}

impl Closure {
    fn label(self) -> &'static str {
        match self {
            Self::Rated => "rated",
            Self::Automatic => "automatic",
        }
    }
}

/// Amounts are never negative where these are called; a counter must not go down anyway.
fn positive(amount: i64) -> u64 {
    u64::try_from(amount).unwrap_or(0)
}
