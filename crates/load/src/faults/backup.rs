//! The backup and restore drill: under the write load, then with the load stopped, the
//! database is backed up with `deploy/backup.sh` and restored with `deploy/restore.sh` into
//! an empty database (which runs `linli ledger verify`, `demands verify-counts` and
//! `parking verify-bookings` on it); a new instance on the restored database must then show
//! the district's dashboard exactly as the original instances do.

use super::{outcome, Outcome, Setup, Stage};
use crate::client::{Linli, Recorder};
use crate::servers::{Fleet, Launch};
use anyhow::{bail, Context};
use chrono::DurationRound;
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

pub(super) async fn backup_restore(setup: &Setup) -> anyhow::Result<Outcome> {
    let mut outcome = outcome("backup-restore");
    let mut stage = Stage::build(setup).await?;
    stage.start_load();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stage.stop_load().await?;
    // One fixed period for both readings (by default the dashboard's period ends now).
    let today = chrono::Utc::now()
        .duration_trunc(chrono::Duration::days(1))
        .context("today")?;
    let period = format!(
        "from={}&to={}",
        (today - chrono::Duration::days(30)).format("%Y-%m-%dT%H:%M:%SZ"),
        (today + chrono::Duration::days(2)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let original = dashboard(&stage.api, &period).await?;

    let source = stage
        .fleet
        .database_url
        .clone()
        .context("the fleet's database")?;
    let file = std::env::temp_dir().join(format!(
        "linli-faults-{}.dump",
        uuid::Uuid::now_v7().simple()
    ));
    let path = format!(
        "{}:{}",
        stage.postgres.bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let begun = Instant::now();
    script(
        &setup.deploy_dir.join("backup.sh"),
        &[&source, &file.display().to_string()],
        &path,
        setup,
    )
    .await?;
    let backed_up = begun.elapsed();
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let target =
        platform::db::create_fresh_database(Some(&stage.postgres.admin_url), "linli_restored")
            .await?;
    let begun = Instant::now();
    let restored = script(
        &setup.deploy_dir.join("restore.sh"),
        &[&file.display().to_string(), &target],
        &path,
        setup,
    )
    .await;
    let _ = std::fs::remove_file(&file);
    match restored {
        Ok(said) if said.contains("verified") => {}
        Ok(said) => outcome.fail(format!("restore.sh: {said}")),
        Err(e) => outcome.fail(format!("{e:#}")),
    }
    let restore_took = begun.elapsed();

    let replica = Fleet::start(Launch {
        binary: setup.binary.clone(),
        config_dir: setup.config_dir.clone(),
        database_url: target,
        redis_url: None,
        redis_prefix: String::new(),
        instances: 1,
        pool: 4,
        lanes: 1,
        extra_env: vec![("LINLI__DEMO__SEED".to_owned(), "false".to_owned())],
        log_dir: setup.log_dir.clone(),
    })
    .await?;
    let replica_api = Linli::new(&replica.urls, 4, Recorder::default())?;
    let after = dashboard(&replica_api, &period).await?;
    replica.stop().await;
    if after != original {
        outcome.fail(format!(
            "the restored dashboard differs: before {original}, after {after}"
        ));
    }
    outcome.figure(
        "backup (pg_dump, custom format)",
        format!("{:.1} s, {} KiB", backed_up.as_secs_f64(), size / 1024),
    );
    outcome.figure(
        "restore and its checks (ledger, demand counts, bookings)",
        format!("{:.1} s", restore_took.as_secs_f64()),
    );
    outcome.figure(
        "district dashboard after restore",
        if after == original {
            "identical"
        } else {
            "DIFFERENT"
        },
    );
    stage.finish(setup, &mut outcome).await?;
    Ok(outcome)
}

/// The district admin's dashboard for the whole district over `period` (a query string).
async fn dashboard(api: &Linli, period: &str) -> anyhow::Result<Value> {
    let admin = api
        .staff_login("admin", crate::scenarios::DEMO_PASSWORD)
        .await?;
    api.setup(
        Method::GET,
        &format!("/staff/dashboard?{period}"),
        Some(&admin.token),
        None,
        200,
    )
    .await
}

/// Runs a deploy script with `linli` and PostgreSQL's programs at hand; its output.
async fn script(
    script: &std::path::Path,
    args: &[&str],
    path: &str,
    setup: &Setup,
) -> anyhow::Result<String> {
    let output = tokio::process::Command::new("bash")
        .arg(script)
        .args(args)
        .env("PATH", path)
        .env("LINLI", &setup.binary)
        .env("LINLI_CONFIG_DIR", &setup.config_dir)
        .env("LINLI__LOG__FILTER", "warn")
        .output()
        .await
        .with_context(|| format!("running {}", script.display()))?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if !output.status.success() {
        bail!("{} failed: {said}", script.display());
    }
    Ok(said)
}
