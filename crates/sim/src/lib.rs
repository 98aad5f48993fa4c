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
mod engine;
mod ops;
pub mod profile;
mod report;
mod truth;
mod world;

pub use engine::Jobs;
pub use ops::setup::STAFF_PASSWORD;
pub use profile::Profile;

use platform::Clock;

/// A server the caller started for the run.
pub struct Hosted {
    pub url: String,
    pub jobs: Jobs,
    pub district_id: String,
    pub admin_username: String,
    pub admin_password: String,
    /// `sqlite` or `postgres`, for the report.
    pub backend: String,
    /// A street already in the database for the run to fill in instead of creating its own.
    pub street: Option<ExistingStreet>,
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

/// The clock a run's server must use: stopped at the profile's first moment.
pub fn clock(profile: &Profile) -> Clock {
    Clock::frozen_at(profile.start)
}

/// Runs the simulation against `hosted`, whose server reads `clock`.
pub async fn run(options: Options, clock: Clock, hosted: Hosted) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let client = client::Client::new(hosted.url.clone(), clock.clone())?;
    let admin = client
        .staff_login(&hosted.admin_username, &hosted.admin_password)
        .await?;
    let profile_name = options.profile.name;
    let days = options.profile.days;
    let mut sim = engine::Sim::new(options.profile, options.seed, client, clock, hosted.jobs);
    sim.setup(hosted.district_id, admin, hosted.street).await?;
    sim.plan(options.checks);
    sim.run_events().await?;
    if options.checks {
        sim.final_checks().await?;
    }
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
        job_rounds: &sim.job_rounds,
    };
    Ok(Outcome {
        report: summary.markdown(),
        verdict: summary.verdict(),
        passed: summary.differences() == 0 && surprises.is_empty(),
    })
}
