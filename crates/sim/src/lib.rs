//! The district simulator (in the spirit of TigerBeetle's VOPR): a seeded generator drives
//! a real Linli server over its public HTTP API through a month or a year of the district,
//! on a simulated clock it moves itself (the server's jobs run every simulated hour), keeps
//! its own ground truth of everything it did, and compares every figure Linli shows with
//! it. The same seed gives the same requests in the same order.
//!
//! The caller (`linli sim`) hosts the server: it starts it on the simulator's clock, with a
//! district and its admin bootstrapped as an operator would, and hands over a [`Hosted`].

mod check;
mod client;
mod district;
mod engine;
mod merge;
mod ops;
pub mod profile;
mod report;
mod truth;
mod world;

pub use engine::{Jobs, Round};
pub use ops::setup::STAFF_PASSWORD;
pub use profile::Profile;

use platform::Clock;

/// The servers the caller started for the run, one per clock of [`clocks`]: the first is
/// the coordinator's (set-up, job rounds, checks), the others the shards'.
pub struct Hosted {
    pub urls: Vec<String>,
    pub jobs: Jobs,
    pub district_id: String,
    pub admin_username: String,
    pub admin_password: String,
    /// `sqlite` or `postgres`, for the report.
    pub backend: String,
    /// A street already in the database for the run to fill in instead of creating its own.
    pub street: Option<ExistingStreet>,
    /// Each street runs its own job rounds on its own clock and the streets meet only at
    /// month ends (for PostgreSQL's concurrent writers); otherwise the coordinator runs the
    /// district's round at every hour while every street waits (for SQLite's one writer,
    /// where twelve streets' rounds would queue behind each other's writes).
    pub street_rounds: bool,
}

/// A street of the server's org tree (the demo database's) and a login of its staff: the
/// run fills in its first communities (adding compounds where they have none) instead of
/// creating streets.
pub struct ExistingStreet {
    pub name: String,
    pub staff_username: String,
    pub staff_password: String,
}

pub struct Options {
    pub profile: Profile,
    pub seed: u64,
    /// Compare the figures with the truth at each month end and at the end; off when the
    /// run only gives a database its history.
    pub checks: bool,
}

/// How a run ended.
pub struct Outcome {
    pub report: String,
    pub verdict: String,
    /// Every figure equal and no unexpected answer.
    pub passed: bool,
}

/// The clocks of a run's servers, all stopped at the profile's first moment: the
/// coordinator's, then one per shard (a shard for each street).
pub fn clocks(profile: &Profile) -> Vec<Clock> {
    (0..=profile.streets.max(1))
        .map(|_| Clock::frozen_at(profile.start))
        .collect()
}

/// Runs the simulation against `hosted`, whose servers read `clocks` (one each).
pub async fn run(options: Options, clocks: Vec<Clock>, hosted: Hosted) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    if clocks.len() != hosted.urls.len() || clocks.len() < 2 {
        anyhow::bail!(
            "a run needs a coordinator's server and at least one shard's, each with its clock ({} urls, {} clocks)",
            hosted.urls.len(),
            clocks.len()
        );
    }
    let client = client::Client::new(hosted.urls[0].clone(), clocks[0].clone())?;
    let admin = client
        .staff_login(&hosted.admin_username, &hosted.admin_password)
        .await?;
    let profile_name = options.profile.name;
    let days = options.profile.days;
    let mut sim = engine::Sim::new(
        options.profile,
        options.seed,
        client.clone(),
        clocks[0].clone(),
        Some(hosted.jobs),
    );
    sim.setup(hosted.district_id, admin, hosted.street).await?;
    let doors = hosted.urls[1..]
        .iter()
        .zip(&clocks[1..])
        .map(|(url, clock)| (client.door(url.clone(), clock.clone()), clock.clone()))
        .collect();
    let mut shards = sim.split(doors).await?;
    for shard in &mut shards {
        shard.plan_shard(hosted.street_rounds);
    }
    sim.plan_clock(hosted.street_rounds);
    let mut district = district::District::new(sim, shards, options.checks);
    district.run().await?;
    if options.checks {
        district.final_checks().await?;
    }
    let job_rounds = district.job_rounds();
    let sim = &district.coordinator;
    let surprises = sim.client.surprises();
    let operations = sim.client.operations();
    let summary = report::Summary {
        profile: profile_name,
        seed: options.seed,
        days,
        backend: &hosted.backend,
        wall_seconds: started.elapsed().as_secs_f64(),
        peak_rss_mb: report::peak_rss_mb(),
        rows: &sim.checks,
        surprises: &surprises,
        operations: &operations,
        job_rounds: &job_rounds,
    };
    Ok(Outcome {
        report: summary.markdown(),
        verdict: summary.verdict(),
        passed: summary.differences() == 0 && surprises.is_empty(),
    })
}
