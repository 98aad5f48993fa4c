//! The figures Linli must show, computed from what the simulator did, by the definitions of
//! API.md (and the dashboard's own documentation): counts and sums exactly, rates and means
//! to floating-point rounding, percentiles by linear interpolation between ranks (exact
//! while the API reports `percentile_sample_rate` = 1).

use crate::ops::timebank::{ActivityKind, API_KINDS};
use crate::world::{DemandStatus, World};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Whose figures: the district, a street or a community (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    District,
    Street(usize),
    Community(usize),
}

impl Scope {
    /// Whether a resident or object of `community` (none: never chose one) counts here.
    pub fn covers(self, world: &World, community: Option<usize>) -> bool {
        match (self, community) {
            (Self::District, _) => true,
            (Self::Street(s), Some(c)) => world.communities[c].street == s,
            (Self::Community(x), Some(c)) => x == c,
            _ => false,
        }
    }

    pub fn org_id(self, world: &World) -> &str {
        match self {
            Self::District => &world.district_id,
            Self::Street(s) => &world.streets[s].id,
            Self::Community(c) => &world.communities[c].id,
        }
    }

    pub fn label(self) -> String {
        match self {
            Self::District => "district".to_owned(),
            Self::Street(s) => format!("street {}", s + 1),
            Self::Community(c) => format!("community {}", c + 1),
        }
    }
}

/// A figure's true value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Truth {
    Count(i64),
    /// `None` where the API answers null (no denominator).
    Real(Option<f64>),
}

/// The period `[from, to)` and the moment the figures are read.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// `percentile_cont`: linear interpolation between the ranks around `p × (n − 1)`.
pub fn percentile(sorted: &[i64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p * last as f64;
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    let (a, b) = (sorted[low] as f64, sorted[high.min(last)] as f64);
    Some(a + (rank - low as f64) * (b - a))
}

/// Every dashboard figure of `scope` over `window`, by the API's field path.
pub fn dashboard(world: &World, scope: Scope, window: Window) -> BTreeMap<String, Truth> {
    let mut out = BTreeMap::new();
    let mut count = |key: &str, n: i64| {
        out.insert(key.to_owned(), Truth::Count(n));
    };
    let in_scope = |c: usize| scope.covers(world, Some(c));
    let residents = world
        .residents
        .iter()
        .filter(|r| scope.covers(world, r.community))
        .collect::<Vec<_>>();
    count("residents", residents.len() as i64);
    count(
        "points.circulating",
        residents.iter().map(|r| r.points).sum(),
    );
    let merchants = world
        .merchants
        .iter()
        .filter(|m| in_scope(m.community))
        .count() as i64;
    let partners = |kind: &str| {
        world
            .partners
            .iter()
            .filter(|p| p.kind == kind && !p.exited && in_scope(p.community))
            .count() as i64
    };
    let others: i64 = crate::ops::partners::KINDS
        .iter()
        .map(|k| partners(k))
        .sum();
    // Every active partner is in the merchants' table, whatever its kind.
    count("merchants_active", merchants + others);
    count("partners.by_kind.enterprise.active", merchants);
    for kind in crate::ops::partners::KINDS {
        count(&format!("partners.by_kind.{kind}.active"), partners(kind));
    }
    // The merchants' services, and the home services of those that are also partners.
    let services = world
        .offers
        .iter()
        .filter(|o| in_scope(world.merchants[o.merchant].community))
        .count();
    let home_services = world
        .home_services
        .iter()
        .filter(|h| in_scope(world.merchants[h.merchant].community))
        .count();
    count("offers_published", (services + home_services) as i64);
    let period = |at: DateTime<Utc>| at >= window.from && at < window.to;
    let issued = world
        .awards
        .iter()
        .filter(|m| in_scope(m.community) && period(m.at));
    count("points.issued", issued.map(|m| m.points).sum());
    let expired = world
        .expired
        .iter()
        .filter(|m| in_scope(m.community) && period(m.at));
    count("points.expired", expired.map(|m| m.points).sum());
    let redeemed: Vec<_> = world
        .redemptions
        .iter()
        .filter(|m| in_scope(m.community) && period(m.at))
        .collect();
    let parking = parking(world, scope, window);
    let spent_on_parking = match parking.get("parking.points_spent") {
        Some(Truth::Count(n)) => *n,
        _ => 0,
    };
    count(
        "points.redeemed",
        redeemed.iter().map(|m| m.points).sum::<i64>() + spent_on_parking,
    );
    count(
        "service_value_fen",
        redeemed.iter().map(|m| m.cash_value_fen).sum(),
    );
    // Only volunteer activities are settled here (the API also counts any that credit time).
    let settled: Vec<(usize, i64)> = world
        .activities
        .iter()
        .filter(|a| in_scope(a.community) && a.kind == ActivityKind::Volunteer)
        .filter_map(|a| a.settled.as_ref().map(|s| (a, s)))
        .filter(|(_, (at, _))| period(*at))
        .flat_map(|(a, (_, minutes))| {
            a.attendees
                .iter()
                .zip(minutes)
                .map(|(x, m)| (x.resident, *m))
        })
        .collect();
    count(
        "timebank.volunteer_minutes",
        settled.iter().map(|(_, m)| m).sum(),
    );
    let mut volunteers: Vec<usize> = settled
        .iter()
        .filter(|(_, m)| *m > 0)
        .map(|(r, _)| *r)
        .collect();
    volunteers.sort_unstable();
    volunteers.dedup();
    count("timebank.volunteers", volunteers.len() as i64);
    let mut figures = demands(world, scope, window);
    figures.extend(out);
    figures.extend(parking);
    activities(world, scope, window, &mut figures);
    care(world, scope, window.now, &mut figures);
    home_orders(world, scope, &mut figures);
    lists(world, scope, window, &mut figures);
    figures
}

/// `timebank.by_kind.<kind>.*`: activities of each kind starting in the period, and the
/// distinct residents who checked in at them.
fn activities(world: &World, scope: Scope, window: Window, out: &mut BTreeMap<String, Truth>) {
    for kind in API_KINDS {
        let held: Vec<_> = world
            .activities
            .iter()
            .filter(|a| {
                a.kind.as_str() == kind
                    && scope.covers(world, Some(a.community))
                    && a.starts_at >= window.from
                    && a.starts_at < window.to
            })
            .collect();
        let mut came: Vec<usize> = held
            .iter()
            .flat_map(|a| a.attendees.iter())
            .filter(|x| x.checked_in.is_some())
            .map(|x| x.resident)
            .collect();
        came.sort_unstable();
        came.dedup();
        let key = format!("timebank.by_kind.{kind}");
        out.insert(format!("{key}.activities"), Truth::Count(held.len() as i64));
        out.insert(
            format!("{key}.participants"),
            Truth::Count(came.len() as i64),
        );
    }
}

/// Whether a street's lot counts in `scope` (lots belong to streets, not communities).
fn covers_street(scope: Scope, street: usize) -> bool {
    match scope {
        Scope::District => true,
        Scope::Street(s) => s == street,
        Scope::Community(_) => false,
    }
}

/// Open minutes a night lot has each Beijing day: 00:00–08:00 and 18:00–24:00.
const NIGHT_MINUTES_A_DAY: i64 = 14 * 60;
/// The longest run of days the dashboard's utilization covers (the last ones).
const UTILIZATION_DAYS: i64 = 92;

/// `parking.*`: bookings starting in the period (cancelled ones left out), points paid for
/// parking in the period, and booked over open slot-minutes over the period's Beijing days.
pub fn parking(world: &World, scope: Scope, window: Window) -> BTreeMap<String, Truth> {
    use crate::world::BookingStatus;
    let lots: Vec<usize> = (0..world.lots.len())
        .filter(|&l| covers_street(scope, world.lots[l].street))
        .collect();
    let kept = world
        .bookings
        .iter()
        .filter(|b| lots.contains(&b.lot) && b.status != BookingStatus::Cancelled);
    let bookings = kept
        .clone()
        .filter(|b| b.starts_at >= window.from && b.starts_at < window.to)
        .count() as i64;
    let spent: i64 = world
        .parking_spent
        .iter()
        .filter(|c| covers_street(scope, c.street) && c.at >= window.from && c.at < window.to)
        .map(|c| c.points)
        .sum();
    let day = platform::clock::local_day_start;
    let last = day(window.to - chrono::Duration::seconds(1));
    let first = day(window.from).max(last - chrono::Duration::days(UTILIZATION_DAYS - 1));
    let span = (first, last + chrono::Duration::days(1));
    let days = (span.1 - span.0).num_days();
    let booked: i64 = kept
        .map(|b| {
            (b.ends_at.min(span.1) - b.starts_at.max(span.0))
                .num_minutes()
                .max(0)
        })
        .sum();
    let open: i64 =
        lots.iter().map(|&l| world.lots[l].slots).sum::<i64>() * NIGHT_MINUTES_A_DAY * days;
    let utilization = (!lots.is_empty()).then(|| ratio(booked, open)).flatten();
    let mut out = BTreeMap::new();
    out.insert("parking.bookings".to_owned(), Truth::Count(bookings));
    out.insert("parking.points_spent".to_owned(), Truth::Count(spent));
    out.insert("parking.utilization".to_owned(), Truth::Real(utilization));
    out
}

/// The demand metrics of `scope` over `window` (`demands.*` on the dashboard).
pub fn demands(world: &World, scope: Scope, window: Window) -> BTreeMap<String, Truth> {
    let counted: Vec<_> = world
        .demands
        .iter()
        .filter(|d| {
            scope.covers(world, Some(d.community))
                && d.submitted_at >= window.from
                && d.submitted_at < window.to
                && d.status != DemandStatus::Withdrawn
        })
        .collect();
    let total = counted.len() as i64;
    let closed = counted
        .iter()
        .filter(|d| d.status == DemandStatus::Closed)
        .count() as i64;
    let mut handling: Vec<i64> = counted
        .iter()
        .filter_map(|d| {
            d.first_resolved_at
                .map(|r| (r - d.submitted_at).num_seconds())
        })
        .collect();
    handling.sort_unstable();
    let resolved = handling.len() as i64;
    let on_time = counted
        .iter()
        .filter(|d| d.first_resolved_at.is_some_and(|r| r <= d.due_at))
        .count() as i64;
    let rated = counted.iter().filter(|d| d.rating.is_some()).count() as i64;
    let satisfied = counted.iter().filter(|d| d.rating == Some(true)).count() as i64;
    let overdue = counted
        .iter()
        .filter(|d| d.status.is_open() && d.due_at < window.now)
        .count() as i64;
    let hours = |s: Option<f64>| s.map(|s| s / 3600.0);
    let sum: i64 = handling.iter().sum();
    let mut out = BTreeMap::new();
    for (key, value) in [
        ("demands.total", Truth::Count(total)),
        ("demands.closed", Truth::Count(closed)),
        ("demands.closure_rate", Truth::Real(ratio(closed, total))),
        ("demands.resolved", Truth::Count(resolved)),
        ("demands.resolved_on_time", Truth::Count(on_time)),
        (
            "demands.on_time_rate",
            Truth::Real(ratio(on_time, resolved)),
        ),
        (
            "demands.avg_handling_hours",
            Truth::Real(hours(ratio(sum, resolved))),
        ),
        (
            "demands.median_handling_hours",
            Truth::Real(hours(percentile(&handling, 0.5))),
        ),
        (
            "demands.p90_handling_hours",
            Truth::Real(hours(percentile(&handling, 0.9))),
        ),
        ("demands.rated", Truth::Count(rated)),
        ("demands.satisfied", Truth::Count(satisfied)),
        (
            "demands.satisfaction_rate",
            Truth::Real(ratio(satisfied, rated)),
        ),
        ("demands.overdue_open", Truth::Count(overdue)),
    ] {
        out.insert(key.to_owned(), value);
    }
    out
}

/// The care figures at `now` (they are not of a period): recipients, by colour, and those
/// whose next visit has fallen due (the last visit, or the registration, plus the colour's
/// interval, at or before now).
fn care(world: &World, scope: Scope, now: DateTime<Utc>, out: &mut BTreeMap<String, Truth>) {
    let recipients: Vec<_> = world
        .care
        .iter()
        .filter(|r| scope.covers(world, Some(r.community)))
        .collect();
    let total = recipients.len() as i64;
    let overdue = recipients
        .iter()
        .filter(|r| {
            let every = crate::ops::care::COLOURS[r.colour].1;
            r.last_visit.unwrap_or(r.consent_at) + chrono::Duration::days(every) <= now
        })
        .count() as i64;
    out.insert("care.recipients".to_owned(), Truth::Count(total));
    out.insert("care.visits_overdue".to_owned(), Truth::Count(overdue));
    out.insert(
        "care.visits_on_time_rate".to_owned(),
        Truth::Real(ratio(total - overdue, total)),
    );
    for (i, (colour, _, _)) in crate::ops::care::COLOURS.iter().enumerate() {
        let n = recipients.iter().filter(|r| r.colour == i).count() as i64;
        out.insert(format!("care.by_colour.{colour}.count"), Truth::Count(n));
    }
}

/// The home-service order figures (of every order so far, by the orderer's community).
fn home_orders(world: &World, scope: Scope, out: &mut BTreeMap<String, Truth>) {
    use crate::world::OrderStatus;
    let orders: Vec<_> = world
        .home_orders
        .iter()
        .filter(|o| scope.covers(world, Some(o.community)))
        .collect();
    let key = "care.home_service_orders";
    out.insert(format!("{key}.total"), Truth::Count(orders.len() as i64));
    for status in OrderStatus::ALL {
        let n = orders.iter().filter(|o| o.status == status).count() as i64;
        out.insert(
            format!("{key}.by_status.{}.count", status.as_str()),
            Truth::Count(n),
        );
    }
    let ratings: Vec<i64> = orders.iter().filter_map(|o| o.rating).collect();
    let rated = ratings.len() as i64;
    let satisfied = ratings.iter().filter(|&&r| r >= 4).count() as i64;
    out.insert(format!("{key}.rated"), Truth::Count(rated));
    out.insert(
        format!("{key}.mean_rating"),
        Truth::Real(ratio(ratings.iter().sum(), rated)),
    );
    out.insert(
        format!("{key}.satisfaction_rate"),
        Truth::Real(ratio(satisfied, rated)),
    );
}

/// The partner scheme's lists and projects (of all time, by community).
fn lists(world: &World, scope: Scope, window: Window, out: &mut BTreeMap<String, Truth>) {
    use crate::world::{NeedStatus, ProjectStatus};
    let needs = |status: NeedStatus| {
        world
            .needs
            .iter()
            .filter(|n| n.status == status && scope.covers(world, Some(n.community)))
            .count() as i64
    };
    out.insert(
        "partners.needs_open".to_owned(),
        Truth::Count(needs(NeedStatus::Open)),
    );
    out.insert(
        "partners.needs_matched".to_owned(),
        Truth::Count(needs(NeedStatus::Matched)),
    );
    out.insert(
        "partners.needs_met".to_owned(),
        Truth::Count(needs(NeedStatus::Met)),
    );
    let problems = world
        .problems
        .iter()
        .filter(|(_, c, resolved)| !resolved && scope.covers(world, Some(*c)))
        .count() as i64;
    out.insert("partners.problems_open".to_owned(), Truth::Count(problems));
    let running: Vec<_> = world
        .projects
        .iter()
        .filter(|p| {
            p.status == ProjectStatus::Running
                && scope.covers(world, Some(world.partners[p.partner].community))
        })
        .collect();
    out.insert(
        "partners.projects_running".to_owned(),
        Truth::Count(running.len() as i64),
    );
    let approved: Vec<_> = world
        .space_bookings
        .iter()
        .filter(|b| {
            b.approved == Some(true)
                && scope.covers(world, Some(b.community))
                && b.starts_at >= window.from
                && b.starts_at < window.to
        })
        .collect();
    let minutes: i64 = approved
        .iter()
        .map(|b| (b.ends_at - b.starts_at).num_minutes())
        .sum();
    out.insert(
        "partners.space_bookings".to_owned(),
        Truth::Count(approved.len() as i64),
    );
    out.insert(
        "partners.space_hours".to_owned(),
        Truth::Real(Some(minutes as f64 / 60.0)),
    );
    out.insert(
        "partners.disclosures_missing".to_owned(),
        Truth::Count(disclosures_missing(world, scope)),
    );
    let latest: Vec<f64> = running.iter().filter_map(|p| p.latest).collect();
    let mean = (!latest.is_empty()).then(|| latest.iter().sum::<f64>() / latest.len() as f64);
    out.insert(
        "partners.average_goal_achievement".to_owned(),
        Truth::Real(mean),
    );
}

/// Each requirement of a street, for each active partner (merchants included) of the
/// street's communities in `scope`, that the partner has not disclosed for its period.
fn disclosures_missing(world: &World, scope: Scope) -> i64 {
    let done: std::collections::HashSet<(&str, &str)> = world
        .disclosures
        .iter()
        .map(|(id, period)| (id.as_str(), period.as_str()))
        .collect();
    let active = world
        .merchants
        .iter()
        .map(|m| (m.id.as_str(), m.community))
        .chain(
            world
                .partners
                .iter()
                .filter(|p| !p.exited)
                .map(|p| (p.id.as_str(), p.community)),
        )
        .filter(|(_, c)| scope.covers(world, Some(*c)));
    let mut missing = 0;
    for (id, c) in active {
        let street = world.communities[c].street;
        missing += world
            .disclosure_requirements
            .iter()
            .filter(|r| r.street == street && !done.contains(&(id, r.period.as_str())))
            .count() as i64;
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_percentile_cont() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7.0));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2.5));
        // rank 0.9 × 9 = 8.1: 9 + 0.1 × (10 − 9)
        let ten: Vec<i64> = (1..=10).collect();
        let p90 = percentile(&ten, 0.9).unwrap();
        assert!((p90 - 9.1).abs() < 1e-12, "{p90}");
    }
}
