//! The district simulator on a few days of `demo-month`: every figure equals its truth, and
//! the same seed gives the same figures again (on each backend the suite runs on).

use linli_tests::{isolate, test_settings};

/// Runs `days` of `demo-month` with `seed` on a fresh database: (passed, the report's
/// figure rows).
async fn simulate(seed: u64, days: i64) -> (bool, Vec<String>) {
    let mut settings = test_settings();
    isolate(&mut settings).await;
    let report = std::env::temp_dir().join(format!("linli-sim-{}.md", uuid::Uuid::now_v7()));
    let args = api::simulate::SimArgs {
        profile: "demo-month".to_owned(),
        seed,
        days: Some(days),
        database_url: Some(settings.database.url.expose().to_owned()),
        redis_url: settings.redis.url.as_ref().map(|u| u.expose().to_owned()),
        report: report.display().to_string(),
    };
    let passed = api::simulate::simulate(settings, args)
        .await
        .expect("the simulation runs");
    let text = std::fs::read_to_string(&report).expect("the report");
    let _ = std::fs::remove_file(&report);
    let figures = text
        .lines()
        .skip_while(|l| !l.starts_with("## Figures"))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| when"))
        .map(str::to_owned)
        .collect();
    (passed, figures)
}

#[tokio::test]
async fn a_simulated_week_matches_its_truth_and_repeats_itself() {
    let (passed, figures) = simulate(7, 7).await;
    assert!(
        passed,
        "{}",
        figures
            .iter()
            .filter(|r| r.contains("≠"))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(figures.len() > 100, "{} figures", figures.len());
    assert!(figures
        .iter()
        .any(|r| r.contains("| demands.total | ") && !r.contains("| 0 | 0 |")));
    let (again, same) = simulate(7, 7).await;
    assert!(again);
    assert_eq!(figures, same, "the same seed gave other figures");
    let (_, other) = simulate(8, 7).await;
    assert_ne!(figures, other, "another seed gave the same figures");
}
