//! The run's Markdown report: every figure, truth beside API; the surprises; and the
//! throughput and latency of each operation.

use crate::check::Row;
use crate::client::OperationStats;
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Summary<'a> {
    pub profile: &'a str,
    pub seed: u64,
    pub days: i64,
    pub backend: &'a str,
    pub wall_seconds: f64,
    pub peak_rss_mb: Option<f64>,
    pub rows: &'a [Row],
    pub surprises: &'a [String],
    pub operations: &'a BTreeMap<&'static str, OperationStats>,
    /// How long each round of the server's jobs took, µs.
    pub job_rounds: &'a [u64],
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn seconds(micros: &[u64]) -> f64 {
    micros.iter().sum::<u64>() as f64 / 1e6
}

impl Summary<'_> {
    pub fn differences(&self) -> usize {
        self.rows.iter().filter(|r| !r.equal).count()
    }

    pub fn requests(&self) -> usize {
        self.operations.values().map(|s| s.micros.len()).sum()
    }

    /// The verdict line the run ends with.
    pub fn verdict(&self) -> String {
        if self.differences() == 0 && self.surprises.is_empty() {
            format!(
                "every figure equals the truth ({} figures compared)",
                self.rows.len()
            )
        } else {
            format!(
                "{} of {} figures differ from the truth; {} unexpected answers",
                self.differences(),
                self.rows.len(),
                self.surprises.len()
            )
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let requests = self.requests();
        let _ = writeln!(
            out,
            "# Simulation `{}`, seed {}, {} days, on {}\n",
            self.profile, self.seed, self.days, self.backend
        );
        let _ = writeln!(out, "**{}**\n", self.verdict());
        let _ = writeln!(
            out,
            "| wall time | requests | requests/s | peak RSS (server and simulator) |"
        );
        let _ = writeln!(out, "|---|---|---|---|");
        let rss = self
            .peak_rss_mb
            .map_or("—".to_owned(), |mb| format!("{mb:.0} MB"));
        let rate = requests as f64 / self.wall_seconds.max(1e-9);
        let _ = writeln!(
            out,
            "| {:.1} s | {requests} | {rate:.0} | {rss} |\n",
            self.wall_seconds
        );
        if !self.surprises.is_empty() {
            let _ = writeln!(out, "## Unexpected answers\n");
            for s in self.surprises.iter().take(50) {
                let _ = writeln!(out, "- {s}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "## Operations\n\n| operation | requests | p50 ms | p99 ms | total s | outcomes |\n|---|---|---|---|---|---|");
        for (name, stats) in self.operations {
            let mut sorted = stats.micros.clone();
            sorted.sort_unstable();
            let outcomes: Vec<String> = stats
                .outcomes
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            let _ = writeln!(
                out,
                "| {name} | {} | {:.1} | {:.1} | {:.1} | {} |",
                sorted.len(),
                quantile(&sorted, 0.5),
                quantile(&sorted, 0.99),
                seconds(&sorted),
                outcomes.join(", ")
            );
        }
        let mut rounds = self.job_rounds.to_vec();
        rounds.sort_unstable();
        let _ = writeln!(
            out,
            "| *(the server's job rounds, in process)* | {} | {:.1} | {:.1} | {:.1} | |",
            rounds.len(),
            quantile(&rounds, 0.5),
            quantile(&rounds, 0.99),
            seconds(&rounds)
        );
        let _ = writeln!(
            out,
            "\n## Figures\n\n| when | scope | figure | truth | API | |\n|---|---|---|---|---|---|"
        );
        for r in self.rows {
            let mark = if r.equal { "=" } else { "**≠**" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {mark} |",
                r.when, r.scope, r.figure, r.truth, r.api
            );
        }
        out
    }
}

/// The process's peak resident set (Linux `VmHWM`), in MB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
