//! The shapes of district a run simulates. Every rate here is a mean the seeded generator
//! draws around; the figures the run checks come from what it actually did.

use chrono::{DateTime, TimeZone, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    /// The first simulated moment (a Beijing midnight).
    pub start: DateTime<Utc>,
    pub streets: usize,
    pub communities_per_street: usize,
    pub compounds_per_community: usize,
    /// Residents registering over the run (evenly spread, a burst on the first day).
    pub residents: usize,
    /// Share of residents registered on the first day (the district already on board).
    pub registered_at_start: f64,
    /// Merchants joining (application and review), spread over the communities in turn.
    pub merchants: usize,
    /// Points services they publish: one each, the first ones a second.
    pub offers: usize,
    pub days: i64,
    /// Demands a resident files per year.
    pub demands_per_resident_year: f64,
    /// Mean handling time (submission to resolution), hours.
    pub mean_handling_hours: f64,
    /// Share of ratings that are satisfied.
    pub satisfaction: f64,
    /// Points awards a resident receives per year (volunteering, good deeds).
    pub awards_per_resident_year: f64,
    /// Reservations a resident makes per year at merchants, when they have the points.
    pub reservations_per_resident_year: f64,
    /// Slots over the streets' night lots.
    pub parking_slots: usize,
    /// Evenings a resident books a slot per year, when they have the points.
    pub bookings_per_resident_year: f64,
    /// Help requests a resident files per year (when their time credits cover them).
    pub help_requests_per_resident_year: f64,
    /// Time-credit gifts to family a resident makes per year (when they have credits).
    pub gifts_per_resident_year: f64,
    /// Home-service orders a resident places per year (when they can pay).
    pub home_orders_per_resident_year: f64,
    /// Residents each community registers for targeted care at the start.
    pub care_recipients_per_community: usize,
    /// People's night-school (群众夜校) evenings over the run, the streets taking turns.
    pub night_school_sessions: usize,
    /// Happiness-market (幸福集市) days over the run, each in one compound of a community.
    pub market_days: usize,
    /// The server's `ledger.points_expire_years_after` for the run: 0, so the points earned
    /// in a year expire at its end (the year's last moment; a month started in late December
    /// crosses it).
    pub points_expire_years_after: i32,
    /// Each community budget's allocation: far more than the run's awards and settlements.
    pub community_budget: i64,
    /// Communities whose dashboard figures are checked besides the district and streets.
    pub sampled_communities: usize,
    /// Residents whose wallets are checked.
    pub sampled_wallets: usize,
}

/// The first simulated moment of the profiles: 2026-01-01 00:00 Beijing time.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 12, 31, 16, 0, 0)
        .single()
        .unwrap_or_default()
}

impl Profile {
    /// One street of three communities for a month: seconds to run, every rule exercised.
    pub fn demo_month() -> Self {
        Self {
            name: "demo-month",
            start: start(),
            streets: 1,
            communities_per_street: 3,
            compounds_per_community: 2,
            residents: 300,
            registered_at_start: 0.6,
            merchants: 6,
            offers: 10,
            days: 30,
            demands_per_resident_year: 4.0,
            mean_handling_hours: 6.0,
            satisfaction: 0.95,
            awards_per_resident_year: 24.0,
            reservations_per_resident_year: 12.0,
            parking_slots: 40,
            bookings_per_resident_year: 12.0,
            help_requests_per_resident_year: 12.0,
            gifts_per_resident_year: 6.0,
            home_orders_per_resident_year: 6.0,
            care_recipients_per_community: 8,
            night_school_sessions: 2,
            market_days: 1,
            points_expire_years_after: 0,
            community_budget: 1_000_000,
            sampled_communities: 3,
            sampled_wallets: 30,
        }
    }

    /// The district of PRODUCT.md: 12 streets with 31 communities, 17,000 residents over a
    /// year, 606 merchants with 647 services.
    pub fn pingcheng_year() -> Self {
        Self {
            name: "pingcheng-year",
            start: start(),
            streets: 12,
            communities_per_street: 3,
            compounds_per_community: 7,
            residents: 17_000,
            registered_at_start: 0.2,
            merchants: 606,
            offers: 647,
            days: 365,
            demands_per_resident_year: 1.0,
            mean_handling_hours: 6.0,
            satisfaction: 0.95,
            awards_per_resident_year: 6.0,
            reservations_per_resident_year: 3.0,
            parking_slots: 607,
            bookings_per_resident_year: 3.0,
            help_requests_per_resident_year: 2.0,
            gifts_per_resident_year: 1.0,
            home_orders_per_resident_year: 1.0,
            care_recipients_per_community: 40,
            night_school_sessions: 24,
            market_days: 10,
            points_expire_years_after: 0,
            community_budget: 100_000_000,
            sampled_communities: 5,
            sampled_wallets: 200,
        }
    }

    /// The year's district (12 streets, 31 communities) for a fortnight at a tenth of its
    /// people, at the demo month's rates: a minute to run, every street a shard of its own
    /// (CI runs it to exercise the streets side by side on both backends).
    pub fn district_fortnight() -> Self {
        Self {
            name: "district-fortnight",
            compounds_per_community: 2,
            residents: 1_500,
            merchants: 62,
            offers: 70,
            days: 14,
            parking_slots: 120,
            care_recipients_per_community: 4,
            night_school_sessions: 12,
            market_days: 4,
            sampled_communities: 5,
            sampled_wallets: 60,
            ..Self {
                streets: 12,
                ..Self::demo_month()
            }
        }
    }

    /// How many offers merchant number `m` publishes.
    pub fn offers_of(&self, m: usize) -> usize {
        1 + usize::from(m < self.offers.saturating_sub(self.merchants))
    }

    /// The demo month ending at the Beijing midnight that began `now`'s day: the history a
    /// fresh demo database is given, so its dashboard shows a living street.
    pub fn month_before(now: DateTime<Utc>) -> Self {
        let days = 30;
        Self {
            start: platform::clock::local_day_start(now) - chrono::Duration::days(days),
            days,
            ..Self::demo_month()
        }
    }

    /// When the points earned in the run's first year expire: the Beijing new year
    /// `points_expire_years_after` years after that year's end.
    pub fn points_expire_at(&self) -> DateTime<Utc> {
        self.expiry_of(self.start)
    }

    /// When points earned at `earned` expire: the Beijing new year
    /// `points_expire_years_after` years after the end of the year they were earned in.
    pub fn expiry_of(&self, earned: DateTime<Utc>) -> DateTime<Utc> {
        use chrono::Datelike;
        let beijing = chrono::Duration::hours(8);
        let year = (earned + beijing).year() + 1 + self.points_expire_years_after;
        let new_year = chrono::NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc() - beijing);
        new_year.unwrap_or(earned)
    }

    pub fn named(name: &str) -> Option<Self> {
        match name {
            "demo-month" => Some(Self::demo_month()),
            "pingcheng-year" => Some(Self::pingcheng_year()),
            "district-fortnight" => Some(Self::district_fortnight()),
            _ => None,
        }
    }

    /// How many communities street `street` has: `communities_per_street`, except that the
    /// district's profiles (the year, the fortnight) spread 31 over their 12 streets (7 of
    /// 3, 5 of 2).
    pub fn communities_of(&self, street: usize) -> usize {
        if matches!(self.name, "pingcheng-year" | "district-fortnight") && street >= 7 {
            2
        } else {
            self.communities_per_street
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_year_has_the_districts_streets_and_communities() {
        let year = Profile::pingcheng_year();
        let communities: usize = (0..year.streets).map(|s| year.communities_of(s)).sum();
        assert_eq!((year.streets, communities), (12, 31));
        let fortnight = Profile::district_fortnight();
        let communities: usize = (0..fortnight.streets)
            .map(|s| fortnight.communities_of(s))
            .sum();
        assert_eq!(
            (fortnight.streets, communities, fortnight.days),
            (12, 31, 14)
        );
        let month = Profile::demo_month();
        assert_eq!(
            (0..month.streets)
                .map(|s| month.communities_of(s))
                .sum::<usize>(),
            3
        );
        let offers: usize = (0..year.merchants).map(|m| year.offers_of(m)).sum();
        assert_eq!((year.merchants, offers), (606, 647));
    }

    #[test]
    fn the_years_points_expire_at_its_end_and_the_months_never() {
        let year = Profile::pingcheng_year();
        assert_eq!(
            year.points_expire_at(),
            year.start + chrono::Duration::days(365)
        );
        let month = Profile::demo_month();
        assert!(month.points_expire_at() > month.start + chrono::Duration::days(month.days));
    }

    #[test]
    fn runs_start_at_midnight_in_beijing() {
        assert_eq!(platform::clock::china_time(start()), "2026-01-01 00:00");
    }
}
