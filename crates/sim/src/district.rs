//! The district as streets side by side. After the set-up the coordinator hands the streets
//! to shards: each has its own copy of the set-up world, its own seeded generator and event
//! queue, and its own server on its own clock (the process's servers share one database,
//! cache and group committer, as instances behind a balancer share theirs). On PostgreSQL
//! each shard runs its streets' hourly job rounds itself, narrowed to its streets, on its
//! own clock, so the shards run their events concurrently up to the next month end without
//! waiting for one another; on SQLite, with its one writer, the coordinator runs the
//! district's round at every hour while the shards wait. At a month end the coordinator
//! runs a round of the district's jobs, every shard applies the jobs' rules to its truth,
//! and the checks compare the figures with the shards' worlds merged (`merge`).
//!
//! Streets never touch each other's objects: residents reserve at their own streets'
//! merchants, park in their street's lot, ask their community's neighbours for help and
//! give to family there. So each shard sends the same requests in the same order whatever
//! the others do, and a seed gives the same figures on every run.

use crate::client::{Client, Session};
use crate::engine::{Event, Sim};
use crate::merge::{self, Part};
use crate::world::World;
use platform::Clock;
use std::cmp::Reverse;

/// A shard's generator seed, distinct for each shard of a run.
fn shard_seed(seed: u64, shard: usize) -> u64 {
    seed ^ (shard as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Sim {
    /// Hands the set-up district over to one shard per door (client and clock of a server
    /// of the process): street `s` goes to shard `s mod doors`. The care visits the set-up
    /// planned go to their community's shard.
    pub(crate) async fn split(&mut self, doors: Vec<(Client, Clock)>) -> anyhow::Result<Vec<Sim>> {
        if doors.is_empty() {
            anyhow::bail!("a run needs at least one shard");
        }
        let w = &self.world;
        let created_so_far = [
            w.demands.len(),
            w.reservations.len(),
            w.awards.len(),
            w.redemptions.len(),
            w.activities.len(),
            w.help.len(),
            w.needs.len(),
            w.projects.len(),
            w.problems.len(),
            w.home_orders.len(),
            w.expired.len(),
            w.bookings.len(),
            w.parking_spent.len(),
            w.spaces.len(),
            w.space_bookings.len(),
            w.disclosure_requirements.len(),
            w.disclosures.len(),
        ];
        if created_so_far.iter().any(|&n| n > 0) {
            anyhow::bail!("the set-up created objects only shards may own: {created_so_far:?}");
        }
        let count = doors.len();
        let mut shards = Vec::with_capacity(count);
        for (k, (client, clock)) in doors.into_iter().enumerate() {
            clock.set(self.now());
            let mut shard = Sim::new(
                self.profile.clone(),
                shard_seed(self.seed, k),
                client,
                clock,
                self.jobs.clone(),
            );
            shard.shard = Some(k);
            shard.profile.sampled_wallets = self.profile.sampled_wallets.div_ceil(count);
            shard.world = self.world.clone();
            shard.setup_residents = self.world.residents.len();
            shard.streets = (0..self.world.streets.len())
                .filter(|s| s % count == k)
                .collect();
            shard.offers_here = (0..shard.world.offers.len())
                .filter(|&o| {
                    shard.owns(shard.world.merchants[shard.world.offers[o].merchant].community)
                })
                .collect();
            shard.own_staff_sessions().await?;
            shards.push(shard);
        }
        while let Some(Reverse((at, _, event))) = self.queue.pop() {
            let Event::Visit(i) = event else {
                anyhow::bail!("the set-up planned {event:?}; only care visits go to shards");
            };
            let street = self.world.communities[self.world.care[i].community].street;
            shards[street % count].at(at, event);
        }
        self.streets = (0..self.world.streets.len()).collect();
        Ok(shards)
    }

    /// Sessions of its own for the admin and its streets' and communities' staff: a
    /// refresh token is spent when used, so no two shards (nor the coordinator's checks)
    /// may share one.
    async fn own_staff_sessions(&mut self) -> anyhow::Result<()> {
        if let Some(admin) = &self.world.admin {
            self.world.admin = Some(self.client.login(&admin.login).await?);
        }
        for s in self.streets.clone() {
            self.world.streets[s].staff = self.relogin(&self.world.streets[s].staff).await?;
        }
        for c in 0..self.world.communities.len() {
            if self.owns(c) {
                self.world.communities[c].staff =
                    self.relogin(&self.world.communities[c].staff).await?;
            }
        }
        Ok(())
    }

    async fn relogin(&self, session: &Session) -> anyhow::Result<Session> {
        self.client.login(&session.login).await
    }

    /// The residents this shard drives: those it registered, and the set-up ones (merchant
    /// and partner owners) of its streets.
    pub(crate) fn own_residents(&self) -> Vec<usize> {
        let setup = self.setup_residents.min(self.world.residents.len());
        let streets = merge::setup_resident_streets(&self.world, setup);
        (0..setup)
            .filter(|&r| streets[r].is_some_and(|s| self.streets.contains(&s)))
            .chain(setup..self.world.residents.len())
            .collect()
    }
}

/// The coordinator (the set-up's `Sim`, which owns the job rounds and the checks) and the
/// shards.
pub(crate) struct District {
    pub coordinator: Sim,
    pub shards: Vec<Sim>,
    /// Compare the figures with the truth at each month end.
    checks: bool,
    /// The world as the set-up left it: each merge starts from it.
    setup: World,
}

impl District {
    pub fn new(coordinator: Sim, shards: Vec<Sim>, checks: bool) -> Self {
        let setup = coordinator.world.clone();
        Self {
            coordinator,
            shards,
            checks,
            setup,
        }
    }

    /// Runs the shards' events and the coordinator's moments in time order until both are
    /// done.
    pub async fn run(&mut self) -> anyhow::Result<()> {
        loop {
            let until = self.coordinator.next_at();
            let runs = self.shards.iter_mut().map(|s| s.run_until(until));
            futures_util::future::try_join_all(runs).await?;
            let Some(at) = until else {
                return Ok(());
            };
            self.coordinator.clock.set(at);
            while let Some(event) = self.coordinator.pop_due(at) {
                let from = match event {
                    Event::MonthEnd { from } => Some(from),
                    Event::JobTick => None,
                    other => anyhow::bail!("the coordinator does not run {other:?}"),
                };
                self.coordinator.run_jobs().await?;
                for shard in &mut self.shards {
                    shard.apply_job_rules(at);
                }
                if let Some(from) = from.filter(|_| self.checks) {
                    self.merge();
                    self.coordinator.month_end(from).await?;
                }
            }
        }
    }

    /// How long every job round of the run took, µs: the coordinator's district rounds and
    /// each shard's street rounds.
    pub fn job_rounds(&self) -> Vec<u64> {
        let shards = self.shards.iter().flat_map(|s| s.job_rounds.iter());
        self.coordinator
            .job_rounds
            .iter()
            .chain(shards)
            .copied()
            .collect()
    }

    /// The end of the run: the district's figures against the merged world, then each
    /// shard's sampled wallets.
    pub async fn final_checks(&mut self) -> anyhow::Result<()> {
        self.merge();
        self.coordinator.final_checks().await?;
        for shard in &mut self.shards {
            shard.check_wallets().await?;
            self.coordinator.checks.append(&mut shard.checks);
        }
        Ok(())
    }

    /// The coordinator's world becomes the shards' merged, keeping the coordinator's own
    /// sessions of the admin and the staff.
    fn merge(&mut self) {
        let own = &mut self.coordinator.world;
        let mut base = self.setup.clone();
        base.admin = own.admin.take();
        base.streets = std::mem::take(&mut own.streets);
        base.communities = std::mem::take(&mut own.communities);
        let parts: Vec<Part<'_>> = self
            .shards
            .iter()
            .map(|s| Part {
                world: &s.world,
                streets: &s.streets,
            })
            .collect();
        self.coordinator.world = merge::merged(&base, &parts);
    }
}
