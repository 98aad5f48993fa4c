//! Volunteer leaderboards: settled minutes per resident under an org, for this month, this
//! year or all time (Beijing time). Computed in SQL; `api` keeps them in Redis sorted sets
//! when Redis is configured.

use crate::TimebankError;
use chrono::{DateTime, Datelike, TimeZone, Utc};
use sea_orm::ConnectionTrait;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month,
    Year,
    All,
}

impl Period {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "month" => Some(Self::Month),
            "year" => Some(Self::Year),
            "all" => Some(Self::All),
            _ => None,
        }
    }

    /// When the period began, in UTC; `None` for all time.
    pub fn start(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now + platform::clock::CHINA_OFFSET;
        let (year, month) = match self {
            Self::Month => (local.year(), local.month()),
            Self::Year => (local.year(), 1),
            Self::All => return None,
        };
        Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
            .single()
            .map(|midnight| midnight - platform::clock::CHINA_OFFSET)
    }

    /// A name for the period that changes when the period does, e.g. `m2026-11`.
    pub fn key(self, now: DateTime<Utc>) -> String {
        let local = now + platform::clock::CHINA_OFFSET;
        match self {
            Self::Month => format!("m{}-{:02}", local.year(), local.month()),
            Self::Year => format!("y{}", local.year()),
            Self::All => "all".to_owned(),
        }
    }
}

/// `(user_id, minutes)` for every resident with settled minutes under the org, most first.
pub async fn totals(
    conn: &impl ConnectionTrait,
    org_path: &str,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, TimebankError> {
    let backend = conn.get_database_backend();
    let mut sql = format!(
        "SELECT s.user_id AS user_id, CAST(SUM(s.settled_minutes) AS BIGINT) AS minutes \
         FROM activity_signups s JOIN activities a ON a.id = s.activity_id \
         WHERE s.settled_at IS NOT NULL AND s.settled_minutes > 0 AND a.org_path LIKE $1 \
         AND {}",
        crate::report::VOLUNTEERING
    );
    let mut values: Vec<sea_orm::Value> = vec![format!("{org_path}%").into()];
    if let Some(start) = period.start(now) {
        sql.push_str(" AND a.starts_at >= $2");
        values.push(start.into());
    }
    sql.push_str(" GROUP BY s.user_id ORDER BY minutes DESC, s.user_id");
    let rows = conn
        .query_all(sea_orm::Statement::from_sql_and_values(
            backend, &sql, values,
        ))
        .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("", "user_id")?, row.try_get("", "minutes")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_at_beijing_midnight() {
        // 2026-12-31 20:00 UTC is already 2027-01-01 in Beijing.
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 20, 0, 0).unwrap();
        assert_eq!(Period::Year.key(now), "y2027");
        assert_eq!(Period::Month.key(now), "m2027-01");
        assert_eq!(
            Period::Month.start(now),
            Some(Utc.with_ymd_and_hms(2026, 12, 31, 16, 0, 0).unwrap())
        );
        assert_eq!(Period::All.start(now), None);
    }
}
