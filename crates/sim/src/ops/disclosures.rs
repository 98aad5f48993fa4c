//! Disclosure and supervision (信息公开): at the start of the run and of every quarter in it,
//! each street requires its partners (merchants included) to disclose their finances for
//! the quarter; most do, at some moment between a day after the requirement and three weeks
//! after the quarter's end (a partner that has left no longer can). The truth:
//! `partners.disclosures_missing`, each required period of each active partner under the
//! org not yet disclosed.

use crate::engine::{Event, Sim};
use crate::world::DisclosureRequirement;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use platform::clock::CHINA_OFFSET;
use rand::Rng;
use serde_json::json;

/// Who discloses: a merchant or another partner, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Discloser {
    Merchant(usize),
    Partner(usize),
}

/// The Beijing quarter holding `t`: its first moment, the next quarter's, and `YYYY-Qn`.
pub fn quarter_of(t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>, String) {
    let local = (t + CHINA_OFFSET).date_naive();
    let q = (local.month() - 1) / 3;
    let utc = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(t, |d| d.and_utc() - CHINA_OFFSET)
    };
    let start = utc(local.year(), q * 3 + 1);
    let next = if q == 3 {
        utc(local.year() + 1, 1)
    } else {
        utc(local.year(), q * 3 + 4)
    };
    (start, next, format!("{}-Q{}", local.year(), q + 1))
}

impl Sim {
    /// Each of the shard's streets requires the quarter under way at the start, then each
    /// quarter as it begins.
    pub(crate) fn plan_disclosures(&mut self) {
        let mut at = self.profile.start + Duration::hours(3);
        while at < self.end {
            for s in self.streets.clone() {
                self.at(at, Event::RequireDisclosures(s));
            }
            at = quarter_of(at).1 + Duration::hours(10);
        }
    }

    pub(crate) async fn require_disclosures(&mut self, s: usize) -> anyhow::Result<()> {
        let (_, next, period) = quarter_of(self.now());
        let body =
            json!({ "org_id": self.world.streets[s].id, "kind": "finance", "period": period });
        let token = self.street_token(s).await?;
        let answer = self
            .client
            .post(
                "disclosure.require",
                "/api/v1/staff/disclosure-requirements",
                &token,
                &body,
            )
            .await;
        if !self.client.expect("disclosure.require", &answer, 200, None) {
            return Ok(());
        }
        let requirement = self.world.disclosure_requirements.len();
        self.world
            .disclosure_requirements
            .push(DisclosureRequirement { street: s, period });
        let in_street = |c: usize| self.world.communities[c].street == s;
        let mut who: Vec<Discloser> = (0..self.world.merchants.len())
            .filter(|&m| in_street(self.world.merchants[m].community))
            .map(Discloser::Merchant)
            .collect();
        who.extend(
            (0..self.world.partners.len())
                .filter(|&p| in_street(self.world.partners[p].community))
                .map(Discloser::Partner),
        );
        let window = (next + Duration::days(21) - self.now()).num_minutes();
        for partner in who {
            if self.chance(0.85) {
                self.after_minutes(
                    24 * 60,
                    window,
                    Event::Disclose {
                        partner,
                        requirement,
                    },
                );
            }
        }
        Ok(())
    }

    pub(crate) async fn disclose(
        &mut self,
        partner: Discloser,
        requirement: usize,
    ) -> anyhow::Result<()> {
        let (id, owner) = match partner {
            Discloser::Merchant(m) => {
                let m = &self.world.merchants[m];
                (m.id.clone(), m.owner)
            }
            Discloser::Partner(p) => {
                let p = &self.world.partners[p];
                if p.exited {
                    return Ok(());
                }
                (p.id.clone(), p.owner)
            }
        };
        let period = self.world.disclosure_requirements[requirement]
            .period
            .clone();
        let body = json!({
            "kind": "finance", "period": period, "title": format!("{period} 财务公开"),
            "body": "本季度收支情况如下，接受居民监督。", "amount_fen": self.rng.random_range(0..5_000_000i64),
        });
        let token = self.resident_token(owner).await?;
        let path = format!("/api/v1/partners/{id}/disclosures");
        let answer = self
            .client
            .post("disclosure.publish", &path, &token, &body)
            .await;
        if self.client.expect("disclosure.publish", &answer, 201, None) {
            self.world.disclosures.push((id, period));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn quarters_are_beijing_quarters() {
        // 2026-03-31 20:00 UTC is 2026-04-01 04:00 in Beijing: the second quarter.
        let t = Utc.with_ymd_and_hms(2026, 3, 31, 20, 0, 0).unwrap();
        let (start, next, label) = quarter_of(t);
        assert_eq!(label, "2026-Q2");
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 3, 31, 16, 0, 0).unwrap());
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 6, 30, 16, 0, 0).unwrap());
        let december = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let (_, next, label) = quarter_of(december);
        assert_eq!(label, "2026-Q4");
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap());
    }
}
