//! Figures of a run and the Markdown table they are written as.

use crate::client::Sample;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One scenario on one setup, summarised.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub setup: String,
    pub requests: usize,
    pub ok: usize,
    pub ok_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// `status code` → count, for every request that did not succeed.
    pub errors: BTreeMap<String, usize>,
    pub peak_rss_mib: Option<f64>,
    /// What the checks after the run said (ledger, bookings).
    pub checks: String,
    /// operation → (requests, p50 ms, p99 ms).
    pub operations: BTreeMap<&'static str, (usize, f64, f64)>,
}

impl Row {
    pub fn from_samples(
        scenario: &str,
        setup: &str,
        samples: &[Sample],
        seconds: f64,
        peak_rss_mib: Option<f64>,
    ) -> Self {
        let micros: Vec<u64> = samples.iter().map(|s| s.micros).collect();
        let (p50_ms, p99_ms) = percentiles(micros);
        let mut by_operation: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for sample in samples {
            by_operation
                .entry(sample.operation)
                .or_default()
                .push(sample.micros);
        }
        let operations = by_operation
            .into_iter()
            .map(|(operation, micros)| {
                let n = micros.len();
                let (p50, p99) = percentiles(micros);
                (operation, (n, p50, p99))
            })
            .collect();
        let mut errors = BTreeMap::new();
        for sample in samples.iter().filter(|s| !(200..300).contains(&s.status)) {
            let key = format!(
                "{} {}",
                sample.status,
                sample.code.as_deref().unwrap_or("-")
            );
            *errors.entry(key).or_insert(0) += 1;
        }
        let ok = samples.len() - errors.values().sum::<usize>();
        Self {
            scenario: scenario.to_owned(),
            setup: setup.to_owned(),
            requests: samples.len(),
            ok,
            ok_per_second: ok as f64 / seconds.max(f64::EPSILON),
            p50_ms,
            p99_ms,
            errors,
            peak_rss_mib,
            checks: String::new(),
            operations,
        }
    }

    pub fn error_count(&self) -> usize {
        self.errors.values().sum()
    }
}

/// p50 and p99 in milliseconds (nearest rank).
fn percentiles(mut micros: Vec<u64>) -> (f64, f64) {
    micros.sort_unstable();
    let at = |q: f64| {
        micros
            .get(((micros.len().max(1) - 1) as f64 * q).round() as usize)
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    (at(0.50), at(0.99))
}

pub fn markdown(title: &str, preamble: &str, rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {title}\n\n{preamble}\n");
    let _ = writeln!(
        md,
        "| scenario | setup | requests | ok | ok/s | p50 ms | p99 ms | errors | server RSS MiB | checks |"
    );
    let _ = writeln!(md, "|---|---|---:|---:|---:|---:|---:|---|---:|---|");
    for row in rows {
        let errors = if row.errors.is_empty() {
            "0".to_owned()
        } else {
            row.errors
                .iter()
                .map(|(k, n)| format!("{n}× {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let rss = row
            .peak_rss_mib
            .map_or("–".to_owned(), |mib| format!("{mib:.0}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {} | {} |",
            row.scenario,
            row.setup,
            row.requests,
            row.ok,
            row.ok_per_second,
            row.p50_ms,
            row.p99_ms,
            errors,
            rss,
            row.checks
        );
    }
    let _ = writeln!(md, "\nBy operation:\n");
    let _ = writeln!(md, "| scenario | operation | requests | p50 ms | p99 ms |");
    let _ = writeln!(md, "|---|---|---:|---:|---:|");
    for row in rows {
        for (operation, (n, p50, p99)) in &row.operations {
            let _ = writeln!(
                md,
                "| {} | {operation} | {n} | {p50:.1} | {p99:.1} |",
                row.scenario
            );
        }
    }
    md
}
