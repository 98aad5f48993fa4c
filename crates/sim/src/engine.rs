//! The simulated clock and what happens on it: a queue of events in time order (ties in the
//! order they were scheduled), each run at its moment after the clock is set there. Jobs
//! run every simulated hour, and the truth applies the same time rules the jobs do (demands
//! unrated for 72 hours close, reservations past their validity lapse).

use crate::client::Client;
use crate::profile::Profile;
use crate::world::World;
use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;
use platform::Clock;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Something that happens at a moment. Indices name the world's residents, demands and
/// reservations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    JobTick,
    Register(usize),
    Award(usize),
    Submit(usize),
    Withdraw(usize),
    Accept(usize),
    Start(usize),
    Resolve(usize),
    Rate(usize),
    Reopen(usize),
    Reserve(usize),
    Redeem {
        reservation: usize,
        double_tap: bool,
    },
    CancelReservation(usize),
    CreateActivity {
        kind: crate::ops::timebank::ActivityKind,
        community: usize,
        day: DateTime<Utc>,
    },
    SignUp {
        activity: usize,
        resident: usize,
    },
    CheckIn {
        activity: usize,
        attendee: usize,
    },
    CheckOut {
        activity: usize,
        attendee: usize,
    },
    Settle(usize),
    Book(usize),
    CancelBooking(usize),
    Gate {
        booking: usize,
        entry: bool,
    },
    Visit(usize),
    RaiseNeed(usize),
    ProposeProject(usize),
    ProjectStep(usize, crate::ops::partners::ProjectStep),
    RaiseProblem(usize),
    PartnerExit(usize),
    ResolveProblem(usize),
    OrderHome(usize),
    HomeOrder(usize, crate::ops::home_services::OrderStep),
    AskHelp(usize),
    HelpAction(usize, crate::ops::help::HelpStep),
    Gift(usize),
    OpenSpace(usize),
    AskSpace(usize),
    DecideSpace(usize),
    RequireDisclosures(usize),
    Disclose {
        partner: crate::ops::disclosures::Discloser,
        requirement: usize,
    },
    /// Compare every figure of the month `[from, now)` with the truth.
    MonthEnd {
        from: DateTime<Utc>,
    },
}

/// Runs the server's background jobs once, at the clock's current time; answers the points
/// the round expired.
pub type Jobs = Box<dyn Fn() -> BoxFuture<'static, anyhow::Result<i64>> + Send + Sync>;

pub struct Sim {
    pub profile: Profile,
    pub seed: u64,
    pub client: Client,
    pub clock: Clock,
    pub rng: StdRng,
    pub world: World,
    /// The server's jobs: the coordinator runs them; its streets' shards have none.
    pub jobs: Option<Jobs>,
    /// The streets whose residents, communities and objects this shard drives (all of them
    /// for the coordinator, which drives none but checks them all).
    pub streets: Vec<usize>,
    /// The services its residents reserve: those of its streets' merchants.
    pub offers_here: Vec<usize>,
    /// Residents of the set-up (owners), before the shard's own.
    pub setup_residents: usize,
    pub checks: Vec<crate::check::Row>,
    /// How long each round of the server's jobs took, µs.
    pub job_rounds: Vec<u64>,
    pub(crate) queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Event)>>,
    scheduled: u64,
    pub end: DateTime<Utc>,
}

impl Sim {
    pub fn new(
        profile: Profile,
        seed: u64,
        client: Client,
        clock: Clock,
        jobs: Option<Jobs>,
    ) -> Self {
        let end = profile.start + Duration::days(profile.days);
        Self {
            profile,
            seed,
            client,
            clock,
            rng: StdRng::seed_from_u64(seed),
            world: World::default(),
            jobs,
            streets: Vec::new(),
            offers_here: Vec::new(),
            setup_residents: 0,
            checks: Vec::new(),
            job_rounds: Vec::new(),
            queue: BinaryHeap::new(),
            scheduled: 0,
            end,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Schedules `event` at `at` (whole seconds); the run is `[start, end)`: events from its
    /// end on are dropped, except the last job round and the final checks.
    pub fn at(&mut self, at: DateTime<Utc>, event: Event) {
        let at = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
        let keep_at_end = matches!(event, Event::MonthEnd { .. } | Event::JobTick);
        if at > self.end || (at == self.end && !keep_at_end) {
            return;
        }
        self.scheduled += 1;
        self.queue.push(Reverse((at, self.scheduled, event)));
    }

    /// Schedules `event` after a delay drawn uniformly from `[min, max]` minutes.
    pub fn after_minutes(&mut self, min: i64, max: i64, event: Event) {
        let minutes = self.rng.random_range(min..=max.max(min));
        let seconds = self.rng.random_range(0..60);
        let at = self.now() + Duration::minutes(minutes) + Duration::seconds(seconds);
        self.at(at, event);
    }

    /// A moment drawn uniformly from the simulated day starting at `day`.
    pub fn during(&mut self, day: DateTime<Utc>) -> DateTime<Utc> {
        day + Duration::seconds(self.rng.random_range(0..86_400))
    }

    /// Draws whether something happens with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// An exponentially distributed duration with the given mean, in whole seconds, at least
    /// `min_seconds`.
    pub fn exponential_seconds(&mut self, mean_hours: f64, min_seconds: i64) -> i64 {
        let u: f64 = self.rng.random_range(f64::EPSILON..1.0);
        let seconds = (-u.ln() * mean_hours * 3600.0) as i64;
        seconds.max(min_seconds)
    }

    /// Plans a shard's events: its residents' registrations, its communities' activities,
    /// needs and problems.
    pub fn plan_shard(&mut self) {
        let start = self.profile.start;
        let days = self.profile.days;
        let at_start = (self.profile.residents as f64 * self.profile.registered_at_start) as usize;
        let communities = self.world.communities.len();
        for n in 0..self.profile.residents {
            // Resident n lives in community n mod the communities (see `register`).
            if !self.owns(n % communities) {
                continue;
            }
            let day = if n < at_start {
                start
            } else {
                start + Duration::days(self.rng.random_range(0..days))
            };
            let at = self.during(day);
            self.at(at, Event::Register(n));
        }
        self.plan_activities();
        self.plan_lists();
        self.plan_spaces();
        self.plan_disclosures();
    }

    /// Plans the coordinator's events: the hourly job rounds and, with `checks`, the
    /// month-end checks.
    pub fn plan_clock(&mut self, checks: bool) {
        for hour in 1..=self.profile.days * 24 {
            self.at(self.profile.start + Duration::hours(hour), Event::JobTick);
        }
        if checks {
            self.plan_month_ends();
        }
    }

    /// The communities of this shard's streets.
    pub fn own_communities(&self) -> Vec<usize> {
        (0..self.world.communities.len())
            .filter(|&c| self.owns(c))
            .collect()
    }

    /// Whether community `c` lies in this shard's streets.
    pub fn owns(&self, c: usize) -> bool {
        self.streets.contains(&self.world.communities[c].street)
    }

    /// A check at each Beijing month end inside the run, and one at its end.
    fn plan_month_ends(&mut self) {
        let mut month = self.profile.start;
        loop {
            let next = crate::check::next_month(month);
            let to = next.min(self.end);
            self.at(to, Event::MonthEnd { from: month });
            if next >= self.end {
                break;
            }
            month = next;
        }
    }

    /// A resident's activity from registration to the run's end, drawn by Poisson rates.
    pub fn plan_resident(&mut self, resident: usize) {
        let remaining_days = (self.end - self.now()).num_seconds() as f64 / 86_400.0;
        let per_year = |rate: f64| rate * remaining_days / 365.0;
        let demands = self.poisson(per_year(self.profile.demands_per_resident_year));
        let awards = self.poisson(per_year(self.profile.awards_per_resident_year));
        let reservations = self.poisson(per_year(self.profile.reservations_per_resident_year));
        let bookings = self.poisson(per_year(self.profile.bookings_per_resident_year));
        let help = self.poisson(per_year(self.profile.help_requests_per_resident_year));
        let gifts = self.poisson(per_year(self.profile.gifts_per_resident_year));
        let home = self.poisson(per_year(self.profile.home_orders_per_resident_year));
        for (times, event) in [
            (help, Event::AskHelp(resident)),
            (gifts, Event::Gift(resident)),
            (home, Event::OrderHome(resident)),
            (bookings, Event::Book(resident)),
            (demands, Event::Submit(resident)),
            (awards, Event::Award(resident)),
            (reservations, Event::Reserve(resident)),
        ] {
            for _ in 0..times {
                let offset = self
                    .rng
                    .random_range(0..((remaining_days * 86_400.0) as i64).max(1));
                let at = self.now() + Duration::seconds(offset);
                self.at(at, event);
            }
        }
    }

    fn poisson(&mut self, mean: f64) -> u32 {
        // Knuth's method; means here stay small (a resident's year).
        let limit = (-mean).exp();
        let (mut k, mut p) = (0u32, 1.0f64);
        loop {
            p *= self.rng.random_range(0.0..1.0f64);
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }

    /// When the next event is due, if any.
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Runs, in order, every event due before `until` (all of them with `None`); the first
    /// one that cannot go on ends the run.
    pub async fn run_until(&mut self, until: Option<DateTime<Utc>>) -> anyhow::Result<()> {
        while let Some(at) = self.next_at() {
            if until.is_some_and(|until| at >= until) {
                break;
            }
            let Some(Reverse((at, _, event))) = self.queue.pop() else {
                break;
            };
            self.clock.set(at);
            self.handle(event).await?;
        }
        Ok(())
    }

    /// Takes the next event if it is due at `at`.
    pub fn pop_due(&mut self, at: DateTime<Utc>) -> Option<Event> {
        if self.next_at() != Some(at) {
            return None;
        }
        self.queue.pop().map(|Reverse((_, _, event))| event)
    }

    async fn handle(&mut self, event: Event) -> anyhow::Result<()> {
        match event {
            Event::JobTick | Event::MonthEnd { .. } => {
                anyhow::bail!("{event:?} is the coordinator's, not a street's")
            }
            Event::Register(n) => self.register(n).await,
            Event::Award(r) => self.award(r).await,
            Event::Submit(r) => self.submit(r).await,
            Event::Withdraw(d) => self.withdraw(d).await,
            Event::Accept(d) => self.accept(d).await,
            Event::Start(d) => self.start(d).await,
            Event::Resolve(d) => self.resolve(d).await,
            Event::Rate(d) => self.rate(d).await,
            Event::Reopen(d) => self.reopen(d).await,
            Event::Reserve(r) => self.reserve(r).await,
            Event::Redeem {
                reservation,
                double_tap,
            } => self.redeem(reservation, double_tap).await,
            Event::CancelReservation(x) => self.cancel_reservation(x).await,
            Event::CreateActivity {
                kind,
                community,
                day,
            } => self.create_activity(kind, community, day).await,
            Event::SignUp { activity, resident } => self.sign_up(activity, resident).await,
            Event::CheckIn { activity, attendee } => self.check(activity, attendee, true).await,
            Event::CheckOut { activity, attendee } => self.check(activity, attendee, false).await,
            Event::Settle(a) => self.settle(a).await,
            Event::Book(r) => self.book(r).await,
            Event::CancelBooking(b) => self.cancel_booking(b).await,
            Event::Gate { booking, entry } => self.gate(booking, entry).await,
            Event::Visit(i) => self.visit(i).await,
            Event::RaiseNeed(c) => self.raise_need(c).await,
            Event::ProposeProject(n) => self.propose_project(n).await,
            Event::ProjectStep(p, step) => self.project_step(p, step).await,
            Event::RaiseProblem(c) => self.raise_problem(c).await,
            Event::PartnerExit(p) => self.partner_exit(p).await,
            Event::ResolveProblem(i) => self.resolve_problem(i).await,
            Event::OrderHome(r) => self.order_home_service(r).await,
            Event::HomeOrder(o, step) => self.home_order_step(o, step).await,
            Event::AskHelp(r) => self.ask_help(r).await,
            Event::HelpAction(h, step) => self.help_step(h, step).await,
            Event::Gift(r) => self.gift(r).await,
            Event::OpenSpace(c) => self.open_space(c).await,
            Event::AskSpace(c) => self.ask_space(c).await,
            Event::DecideSpace(b) => self.decide_space(b).await,
            Event::RequireDisclosures(s) => self.require_disclosures(s).await,
            Event::Disclose {
                partner,
                requirement,
            } => self.disclose(partner, requirement).await,
        }
    }

    /// A round of the server's jobs at the clock's time (the coordinator's).
    pub(crate) async fn run_jobs(&mut self) -> anyhow::Result<()> {
        let Some(jobs) = &self.jobs else {
            anyhow::bail!("only the coordinator runs the server's jobs");
        };
        // Expiry works through its lots in batches: rounds follow at once while one expired
        // something, as the truth expires every available point at its moment at once.
        loop {
            let started = std::time::Instant::now();
            let expired = jobs().await?;
            let micros = started.elapsed().as_micros();
            self.job_rounds
                .push(u64::try_from(micros).unwrap_or(u64::MAX));
            if expired == 0 {
                return Ok(());
            }
        }
    }

    /// What the jobs just did at `now`, applied to this shard's truth.
    pub(crate) fn apply_job_rules(&mut self, now: DateTime<Utc>) {
        self.close_unrated(now);
        self.lapse_reservations(now);
        self.charge_no_shows(now);
        self.expire_points(now);
    }
}
