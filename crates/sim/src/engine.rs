//! The simulated clock and what happens on it: a queue of events in time order (ties in the
//! order they were scheduled, a job round first), each run at its moment after the clock is
//! set there. Jobs run every simulated hour, and the truth applies the same time rules the
//! jobs do (demands unrated for 72 hours close, reservations past their validity lapse).

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
use std::sync::Arc;

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

/// Runs a round of the server's background jobs, at the clock's current time of the server
/// the round names; answers how much of the work a district round does in batches it did
/// (points expired, old idempotency records purged, messages sent), for the simulator to
/// run district rounds until one does none.
pub type Jobs = Arc<dyn Fn(Round) -> BoxFuture<'static, anyhow::Result<u64>> + Send + Sync>;

/// Which round of the server's jobs to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    /// Every job over the whole district, on the coordinator's server (at each month end).
    District,
    /// The jobs of one street's objects, on the server (and clock) of shard `shard`: its
    /// lapsed reservations, no-shows, stale home-service orders and demand deadlines.
    Street { shard: usize, street_id: String },
}

pub struct Sim {
    pub profile: Profile,
    pub seed: u64,
    pub client: Client,
    pub clock: Clock,
    pub rng: StdRng,
    pub world: World,
    /// The server's jobs: the coordinator runs the district's rounds, each shard its
    /// streets' hourly rounds.
    pub jobs: Option<Jobs>,
    /// Which shard this is (`None` for the coordinator): the server its street rounds run on.
    pub shard: Option<usize>,
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
            shard: None,
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
        // A job round goes first among the events of its moment, as the coordinator's did
        // when it ran every street's rounds between the shards' events.
        let order = if event == Event::JobTick {
            0
        } else {
            self.scheduled
        };
        self.queue.push(Reverse((at, order, event)));
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

    /// Plans a shard's events: with `street_rounds` its streets' hourly job rounds (see
    /// [`Sim::plan_job_ticks`]), its residents' registrations, its communities' activities,
    /// needs and problems.
    pub fn plan_shard(&mut self, street_rounds: bool) {
        if street_rounds {
            self.plan_job_ticks();
        }
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

    /// Plans the coordinator's events: a round of the district's jobs at each Beijing month
    /// end inside the run and at its end, each followed by the checks of the month when the
    /// run checks; without `street_rounds`, a round of the district's jobs at every hour
    /// between as well.
    pub fn plan_clock(&mut self, street_rounds: bool) {
        if !street_rounds {
            self.plan_job_ticks();
        }
        let mut from = self.profile.start;
        for to in self.month_ends() {
            self.at(to, Event::MonthEnd { from });
            from = to;
        }
    }

    /// A job round at every simulated hour but the month ends, where the coordinator runs
    /// the district's.
    fn plan_job_ticks(&mut self) {
        let month_ends = self.month_ends();
        for hour in 1..=self.profile.days * 24 {
            let at = self.profile.start + Duration::hours(hour);
            if !month_ends.contains(&at) {
                self.at(at, Event::JobTick);
            }
        }
    }

    /// Each Beijing month end inside the run, and its end.
    fn month_ends(&self) -> Vec<DateTime<Utc>> {
        let mut ends = Vec::new();
        let mut month = self.profile.start;
        loop {
            let next = crate::check::next_month(month);
            ends.push(next.min(self.end));
            if next >= self.end {
                return ends;
            }
            month = next;
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
            Event::JobTick => self.run_street_jobs().await,
            Event::MonthEnd { .. } => {
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

    /// A round of the district's jobs at the coordinator's clock.
    pub(crate) async fn run_jobs(&mut self) -> anyhow::Result<()> {
        // Expiry works through its lots in batches: rounds follow at once while one expired
        // something, as the truth expires every available point at its moment at once; so
        // does the purge, through the month's idempotency records.
        while self.timed_round(Round::District).await? != 0 {}
        Ok(())
    }

    /// A round of this shard's streets' jobs at its clock, then their rules on its truth.
    async fn run_street_jobs(&mut self) -> anyhow::Result<()> {
        let shard = self
            .shard
            .ok_or_else(|| anyhow::anyhow!("the coordinator runs district rounds only"))?;
        for s in self.streets.clone() {
            let street_id = self.world.streets[s].id.clone();
            self.timed_round(Round::Street { shard, street_id }).await?;
        }
        self.apply_job_rules(self.now());
        Ok(())
    }

    /// Runs one round, noting how long it took; answers the batched work it did.
    async fn timed_round(&mut self, round: Round) -> anyhow::Result<u64> {
        let Some(jobs) = &self.jobs else {
            anyhow::bail!("this run has no server jobs to run");
        };
        let started = std::time::Instant::now();
        let expired = jobs(round).await?;
        let micros = started.elapsed().as_micros();
        self.job_rounds
            .push(u64::try_from(micros).unwrap_or(u64::MAX));
        Ok(expired)
    }

    /// What the jobs just did at `now`, applied to this shard's truth.
    pub(crate) fn apply_job_rules(&mut self, now: DateTime<Utc>) {
        self.close_unrated(now);
        self.lapse_reservations(now);
        self.charge_no_shows(now);
        self.expire_points(now);
    }
}
