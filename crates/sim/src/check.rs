//! Reading Linli's figures and comparing each with the truth: at every month end the
//! dashboard of the district, each street and the sampled communities for that month; at
//! the run's end also the whole run, the demand metrics, the ledger's own verification and
//! the sampled residents' wallets.

use crate::engine::Sim;
use crate::truth::{self, Scope, Truth, Window};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use reqwest::Method;
use serde_json::Value;

/// One compared figure.
#[derive(Debug, Clone)]
pub struct Row {
    pub when: String,
    pub scope: String,
    pub figure: String,
    pub truth: String,
    pub api: String,
    pub equal: bool,
}

/// The first moment of the next Beijing calendar month after `t`.
pub fn next_month(t: DateTime<Utc>) -> DateTime<Utc> {
    let local = t + platform::clock::CHINA_OFFSET;
    let (y, m) = if local.month() == 12 {
        (local.year() + 1, 1)
    } else {
        (local.year(), local.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .map_or(t, |d| d - platform::clock::CHINA_OFFSET)
}

/// The value at a dotted path; in an array, a key picks the element naming it (e.g.
/// `care.by_colour.red.count` is the count of the element whose colour is `red`).
fn lookup<'a>(body: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(body, |v, key| match v.as_array() {
        Some(items) => items
            .iter()
            .find(|item| {
                item.as_object()
                    .is_some_and(|o| o.values().any(|x| x == key))
            })
            .unwrap_or(&Value::Null),
        None => &v[key],
    })
}

/// Equal counts; reals equal to a relative 1e-9 (they are ratios of the same integers).
fn same(truth: Truth, api: &Value) -> bool {
    match truth {
        Truth::Count(n) => api.as_i64() == Some(n),
        Truth::Real(None) => api.is_null(),
        Truth::Real(Some(x)) => api
            .as_f64()
            .is_some_and(|y| (x - y).abs() <= 1e-9 * x.abs().max(1.0)),
    }
}

/// An API value as the report shows it: reals to six places, like the truth beside it.
fn shown_api(api: &Value) -> String {
    match api {
        Value::Number(n) if n.is_f64() => n.as_f64().map_or(api.to_string(), |x| format!("{x:.6}")),
        other => other.to_string(),
    }
}

fn shown(truth: Truth) -> String {
    match truth {
        Truth::Count(n) => n.to_string(),
        Truth::Real(None) => "null".to_owned(),
        Truth::Real(Some(x)) => format!("{x:.6}"),
    }
}

impl Sim {
    fn scopes(&self) -> Vec<Scope> {
        let mut scopes = vec![Scope::District];
        scopes.extend((0..self.world.streets.len()).map(Scope::Street));
        let sampled = self
            .profile
            .sampled_communities
            .min(self.world.communities.len());
        let step = (self.world.communities.len() / sampled.max(1)).max(1);
        scopes.extend((0..sampled).map(|i| Scope::Community(i * step)));
        scopes
    }

    /// Reads as whoever the scope's own staff are (the district admin for the district).
    async fn get_as(
        &mut self,
        scope: Scope,
        operation: &'static str,
        path: &str,
    ) -> anyhow::Result<Value> {
        let token = match scope {
            Scope::District => self.admin_token().await?,
            Scope::Street(s) => self.street_token(s).await?,
            Scope::Community(c) => self.community_token(c).await?,
        };
        let answer = self
            .client
            .send(operation, Method::GET, path, Some(&token), None, None)
            .await;
        if answer.status != 200 {
            anyhow::bail!("{operation} {path}: {} {}", answer.status, answer.body);
        }
        Ok(answer.body)
    }

    fn compare(&mut self, when: &str, scope: Scope, expected: Vec<(String, Truth)>, body: &Value) {
        for (figure, truth) in expected {
            let api = lookup(body, &figure);
            self.checks.push(Row {
                when: when.to_owned(),
                scope: scope.label(),
                equal: same(truth, api),
                truth: shown(truth),
                api: shown_api(api),
                figure,
            });
        }
    }

    async fn check_dashboards(&mut self, when: &str, window: Window) -> anyhow::Result<()> {
        for scope in self.scopes() {
            let path = format!(
                "/api/v1/staff/dashboard?org_id={}&from={}&to={}",
                scope.org_id(&self.world),
                window.from.format("%Y-%m-%dT%H:%M:%SZ"),
                window.to.format("%Y-%m-%dT%H:%M:%SZ"),
            );
            let body = self.get_as(scope, "check.dashboard", &path).await?;
            let expected = truth::dashboard(&self.world, scope, window)
                .into_iter()
                .collect();
            self.compare(when, scope, expected, &body);
            let rate = &body["demands"]["percentile_sample_rate"];
            if rate.as_f64() != Some(1.0) {
                self.client.surprise(format!(
                    "{when} {}: percentile_sample_rate {rate}",
                    scope.label()
                ));
            }
        }
        Ok(())
    }

    pub(crate) async fn month_end(&mut self, from: DateTime<Utc>) -> anyhow::Result<()> {
        let now = self.now();
        let when = format!("month to {}", platform::clock::china_time(now));
        self.check_dashboards(&when, Window { from, to: now, now })
            .await
    }

    /// The end of the run: the whole run's dashboards and demand metrics and the ledger (the
    /// shards check their sampled wallets).
    pub async fn final_checks(&mut self) -> anyhow::Result<()> {
        let now = self.now();
        let window = Window {
            from: self.profile.start,
            to: now,
            now,
        };
        self.check_dashboards("whole run", window).await?;
        let metrics = format!(
            "/api/v1/staff/metrics/demands?org_id={}&from={}&to={}",
            self.world.district_id,
            window.from.format("%Y-%m-%dT%H:%M:%SZ"),
            window.to.format("%Y-%m-%dT%H:%M:%SZ"),
        );
        let body = self
            .get_as(Scope::District, "check.metrics", &metrics)
            .await?;
        let expected = truth::demands(&self.world, Scope::District, window)
            .into_iter()
            .map(|(k, v)| (k.trim_start_matches("demands.").to_owned(), v))
            .collect();
        self.compare("whole run (metrics)", Scope::District, expected, &body);
        let ledger = self
            .get_as(
                Scope::District,
                "check.ledger",
                "/api/v1/admin/ledger/verify",
            )
            .await?;
        self.checks.push(Row {
            when: "end".to_owned(),
            scope: "ledger".to_owned(),
            figure: "balanced".to_owned(),
            truth: "true".to_owned(),
            api: ledger["balanced"].to_string(),
            equal: ledger["balanced"] == true,
        });
        Ok(())
    }

    /// A shard's sampled wallets, read by their owners.
    pub(crate) async fn check_wallets(&mut self) -> anyhow::Result<()> {
        let own = self.own_residents();
        let count = own.len();
        let sampled = self.profile.sampled_wallets.min(count);
        let step = (count / sampled.max(1)).max(1);
        // Every step-th resident, and the parties of the first help requests (whose time
        // credits moved between residents).
        let mut chosen: Vec<usize> = (0..sampled).map(|i| own[i * step]).collect();
        for help in self.world.help.iter().take(sampled / 4) {
            chosen.extend([help.requester].into_iter().chain(help.helper));
        }
        chosen.sort_unstable();
        chosen.dedup();
        for r in chosen {
            let token = self.resident_token(r).await?;
            let answer = self
                .client
                .send(
                    "check.wallet",
                    Method::GET,
                    "/api/v1/me/wallet",
                    Some(&token),
                    None,
                    None,
                )
                .await;
            let resident = &self.world.residents[r];
            let expected = vec![
                ("points.balance".to_owned(), Truth::Count(resident.points)),
                ("points.held".to_owned(), Truth::Count(resident.held)),
                (
                    "time_credits.balance_minutes".to_owned(),
                    Truth::Count(resident.time_credits),
                ),
                (
                    "time_credits.held_minutes".to_owned(),
                    Truth::Count(resident.time_credits_held),
                ),
            ];
            let label = format!("wallet of {}", resident.name);
            for (figure, truth) in expected {
                let api = lookup(&answer.body, &figure);
                self.checks.push(Row {
                    when: "end".to_owned(),
                    scope: label.clone(),
                    equal: same(truth, api),
                    truth: shown(truth),
                    api: shown_api(api),
                    figure,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_turn_at_beijing_midnight() {
        let start = crate::profile::start();
        assert_eq!(
            platform::clock::china_time(next_month(start)),
            "2026-02-01 00:00"
        );
        let december = Utc.with_ymd_and_hms(2026, 12, 10, 0, 0, 0).unwrap();
        assert_eq!(
            platform::clock::china_time(next_month(december)),
            "2027-01-01 00:00"
        );
    }

    #[test]
    fn reals_compare_to_rounding_and_nulls_to_nulls() {
        assert!(same(
            Truth::Real(Some(0.95)),
            &serde_json::json!(0.950_000_000_000_1)
        ));
        assert!(!same(Truth::Real(Some(0.95)), &serde_json::json!(0.951)));
        assert!(same(Truth::Real(None), &Value::Null));
        assert!(!same(Truth::Count(3), &serde_json::json!(4)));
    }
}
