//! The staff dashboard's figures for an org subtree over a period: residents, partners and
//! their services, points issued, redeemed, expired and in circulation, the demand metrics,
//! parking and volunteering. Each context owns its tables; this module only reads them, in
//! SQL, scoped by the org's materialised path.

use chrono::{DateTime, Duration, Utc};
use identity::entity::org;
use identity::OrgKind;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointsFigures {
    /// From org budgets to residents (awards, activity settlements) in the period.
    pub issued: i64,
    /// Spent at partners and on parking in the period.
    pub redeemed: i64,
    /// Lapsed in the period.
    pub expired: i64,
    /// Held by the org's residents now.
    pub circulating: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParkingFigures {
    pub bookings: i64,
    /// Booked slot-minutes over open slot-minutes in the period; `None` without lots.
    pub utilization: Option<f64>,
    pub points_spent: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimebankFigures {
    pub volunteer_minutes: i64,
    pub volunteers: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub residents: i64,
    pub merchants_active: i64,
    pub offers_published: i64,
    pub service_value_fen: i64,
    pub points: PointsFigures,
    pub parking: ParkingFigures,
    pub timebank: TimebankFigures,
}

struct Scoped<'a> {
    db: &'a DatabaseConnection,
    backend: DatabaseBackend,
    path: Value,
    from: Value,
    to: Value,
    now: Value,
    /// The whole district: residents need no community to count.
    whole_district: bool,
}

/// The values a query binds, in the order of its `$n` placeholders.
#[derive(Clone, Copy)]
enum Bind {
    /// `$1` the org path prefix (`/d/s/%`).
    Path,
    /// `$1` the path, `$2` and `$3` the period.
    PathPeriod,
    /// `$1` the path, `$2` now.
    PathNow,
}

impl Scoped<'_> {
    /// The single number `n` a query selects.
    async fn number(&self, bind: Bind, sql: &str) -> Result<i64, DbErr> {
        let values = match bind {
            Bind::Path => vec![self.path.clone()],
            Bind::PathPeriod => vec![self.path.clone(), self.from.clone(), self.to.clone()],
            Bind::PathNow => vec![self.path.clone(), self.now.clone()],
        };
        let row = self
            .db
            .query_one(sea_orm::Statement::from_sql_and_values(
                self.backend,
                sql,
                values,
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<i64>>("", "n"))
            .transpose()?
            .flatten()
            .unwrap_or(0))
    }
}

/// SQL for "the community `column` names lies under the org".
fn community_under(column: &str) -> String {
    format!("{column} IN (SELECT id FROM orgs WHERE path LIKE $1)")
}

pub async fn figures(
    db: &DatabaseConnection,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Figures, DbErr> {
    let q = Scoped {
        db,
        backend: db.get_database_backend(),
        path: format!("{}%", org.path).into(),
        from: from.into(),
        to: to.into(),
        now: now.into(),
        whole_district: org.kind == OrgKind::District.as_str(),
    };
    let residents = if q.whole_district {
        // Residents who have not chosen a community yet belong to the district as a whole.
        q.number(
            Bind::Path,
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users WHERE openid IS NOT NULL \
                 AND (community_id IS NULL OR {})",
                community_under("community_id")
            ),
        )
        .await?
    } else {
        q.number(
            Bind::Path,
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users WHERE openid IS NOT NULL AND {}",
                community_under("community_id")
            ),
        )
        .await?
    };
    let merchants = community_under("m.community_id");
    let merchants_active = q
        .number(
            Bind::Path,
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM merchants m WHERE m.status = 'active' AND {merchants}"
            ),
        )
        .await?;
    let offers_published = q
        .number(
            Bind::PathNow,
            &format!(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM offers f JOIN merchants m ON m.id = f.merchant_id \
                 WHERE f.status = 'published' AND m.status = 'active' AND f.valid_until > $2 AND {merchants}"
            ),
        )
        .await?;
    let service_value_fen = q
        .number(
            Bind::PathPeriod,
            &format!(
                "SELECT CAST(COALESCE(SUM(r.cash_value_fen), 0) AS BIGINT) AS n FROM redemptions r \
                 JOIN merchants m ON m.id = r.merchant_id WHERE r.status = 'redeemed' \
                 AND r.redeemed_at >= $2 AND r.redeemed_at < $3 AND {merchants}"
            ),
        )
        .await?;
    let issued = q
        .number(
            Bind::PathPeriod,
            "SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.debit_account_id \
             WHERE a.kind = 'org_budget' AND t.asset = 'points' AND t.code IN ('award', 'settlement') \
             AND a.owner_id IN (SELECT id FROM orgs WHERE path LIKE $1) \
             AND t.created_at >= $2 AND t.created_at < $3",
        )
        .await?;
    let redeemed_at_partners = q
        .number(
            Bind::PathPeriod,
            &format!(
                "SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n FROM ledger_transfers t \
                 JOIN ledger_accounts a ON a.id = t.credit_account_id JOIN merchants m ON m.id = a.owner_id \
                 WHERE a.kind = 'merchant' AND t.code = 'redemption' AND {merchants} \
                 AND t.created_at >= $2 AND t.created_at < $3"
            ),
        )
        .await?;
    let parking_spent = q
        .number(
            Bind::PathPeriod,
            "SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.credit_account_id JOIN parking_lots l ON l.id = a.owner_id \
             WHERE a.kind = 'parking_operator' AND t.code = 'parking' AND l.org_path LIKE $1 \
             AND t.created_at >= $2 AND t.created_at < $3",
        )
        .await?;
    let residents_wallets = if q.whole_district {
        format!(
            "a.kind = 'wallet' AND a.owner_id IN (SELECT id FROM users WHERE community_id IS NULL OR {})",
            community_under("community_id")
        )
    } else {
        format!(
            "a.kind = 'wallet' AND a.owner_id IN (SELECT id FROM users WHERE {})",
            community_under("community_id")
        )
    };
    let expired = q
        .number(
            Bind::PathPeriod,
            &format!(
                "SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n FROM ledger_transfers t \
                 JOIN ledger_accounts a ON a.id = t.debit_account_id \
                 WHERE t.code = 'expiry' AND t.asset = 'points' AND {residents_wallets} \
                 AND t.created_at >= $2 AND t.created_at < $3"
            ),
        )
        .await?;
    let circulating = q
        .number(
            Bind::Path,
            &format!(
                "SELECT CAST(COALESCE(SUM(a.balance), 0) AS BIGINT) AS n FROM ledger_accounts a \
                 WHERE a.asset = 'points' AND {residents_wallets}"
            ),
        )
        .await?;
    let bookings = q
        .number(
            Bind::PathPeriod,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM parking_bookings b JOIN parking_lots l ON l.id = b.lot_id \
             WHERE l.org_path LIKE $1 AND b.status <> 'cancelled' AND b.starts_at >= $2 AND b.starts_at < $3",
        )
        .await?;
    let utilization = parking_utilization(db, &org.path, from, to, now).await?;
    let volunteer_minutes = q
        .number(
            Bind::PathPeriod,
            "SELECT CAST(COALESCE(SUM(s.settled_minutes), 0) AS BIGINT) AS n FROM activity_signups s \
             JOIN activities a ON a.id = s.activity_id WHERE a.org_path LIKE $1 \
             AND s.settled_at >= $2 AND s.settled_at < $3",
        )
        .await?;
    let volunteers = q
        .number(
            Bind::PathPeriod,
            "SELECT CAST(COUNT(DISTINCT s.user_id) AS BIGINT) AS n FROM activity_signups s \
             JOIN activities a ON a.id = s.activity_id WHERE a.org_path LIKE $1 \
             AND s.settled_at >= $2 AND s.settled_at < $3 AND s.settled_minutes > 0",
        )
        .await?;
    Ok(Figures {
        residents,
        merchants_active,
        offers_published,
        service_value_fen,
        points: PointsFigures {
            issued,
            redeemed: redeemed_at_partners + parking_spent,
            expired,
            circulating,
        },
        parking: ParkingFigures {
            bookings,
            utilization,
            points_spent: parking_spent,
        },
        timebank: TimebankFigures {
            volunteer_minutes,
            volunteers,
        },
    })
}

/// Booked over open slot-minutes across the org's lots, day by day over the period (capped
/// at the last 92 days of it, the longest the per-lot figures cover).
async fn parking_utilization(
    db: &DatabaseConnection,
    org_path: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<f64>, DbErr> {
    let lots = parking::service::lots::list(db, Some(org_path))
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    if lots.is_empty() {
        return Ok(None);
    }
    let beijing = platform::clock::CHINA_OFFSET;
    let last = ((to - Duration::seconds(1)) + beijing).date_naive();
    let first = (from + beijing)
        .date_naive()
        .max(last - Duration::days(parking::service::usage::MAX_DAYS - 1));
    let (mut booked, mut open) = (0i64, 0i64);
    for lot in &lots {
        let days = parking::service::usage::daily(db, lot, first, last, now)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        booked += days.iter().map(|d| d.booked_minutes).sum::<i64>();
        open += days.iter().map(|d| d.open_slot_minutes).sum::<i64>();
    }
    Ok((open > 0).then(|| booked as f64 / open as f64))
}

/// Daily and monthly series for the dashboard's charts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// (Beijing date, submitted, closed).
    pub demands_by_day: Vec<(String, i64, i64)>,
    /// (Beijing date, issued, redeemed).
    pub points_by_day: Vec<(String, i64, i64)>,
    /// (Beijing month `YYYY-MM`, volunteer minutes).
    pub volunteer_minutes_by_month: Vec<(String, i64)>,
    /// (lot id, lot name, utilisation over the period).
    pub parking_by_lot: Vec<(String, String, Option<f64>)>,
}

/// `column` as a Beijing-time date (`YYYY-MM-DD`, or `YYYY-MM` with `month`), in SQL.
fn local_date(backend: DatabaseBackend, column: &str, month: bool) -> String {
    match backend {
        DatabaseBackend::Postgres => format!(
            "to_char(({column} AT TIME ZONE 'UTC') + interval '8 hours', '{}')",
            if month { "YYYY-MM" } else { "YYYY-MM-DD" }
        ),
        _ => format!(
            "strftime('{}', {column}, '+8 hours')",
            if month { "%Y-%m" } else { "%Y-%m-%d" }
        ),
    }
}

impl Scoped<'_> {
    /// `(key, n)` rows of a grouped query binding `$1` (the path, or an org id) and the
    /// period as `$2`, `$3`.
    async fn grouped(&self, first: Value, sql: &str) -> Result<Vec<(String, i64)>, DbErr> {
        let rows = self
            .db
            .query_all(sea_orm::Statement::from_sql_and_values(
                self.backend,
                sql,
                [first, self.from.clone(), self.to.clone()],
            ))
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.try_get("", "k")?,
                    r.try_get::<Option<i64>>("", "n")?.unwrap_or(0),
                ))
            })
            .collect()
    }
}

/// Two series keyed by date merged into one, sorted by date.
fn merge(a: Vec<(String, i64)>, b: Vec<(String, i64)>) -> Vec<(String, i64, i64)> {
    let mut merged: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for (k, n) in a {
        merged.entry(k).or_default().0 += n;
    }
    for (k, n) in b {
        merged.entry(k).or_default().1 += n;
    }
    merged.into_iter().map(|(k, (x, y))| (k, x, y)).collect()
}

pub async fn series(
    db: &DatabaseConnection,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Series, DbErr> {
    let backend = db.get_database_backend();
    let q = Scoped {
        db,
        backend,
        path: format!("{}%", org.path).into(),
        from: from.into(),
        to: to.into(),
        now: now.into(),
        whole_district: org.kind == OrgKind::District.as_str(),
    };
    // Demands: whole days from the daily counts, the hours at the edges from the demands.
    let demands_by_day = demands::service::metrics::daily_series(db, org, from, to)
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    let day = local_date(backend, "t.created_at", false);
    let issued = q
        .grouped(q.path.clone(), &format!(
            "SELECT {day} AS k, CAST(SUM(t.amount) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.debit_account_id \
             WHERE a.kind = 'org_budget' AND t.asset = 'points' AND t.code IN ('award', 'settlement') \
             AND a.owner_id IN (SELECT id FROM orgs WHERE path LIKE $1) \
             AND t.created_at >= $2 AND t.created_at < $3 GROUP BY 1"
        ))
        .await?;
    let mut redeemed = q
        .grouped(q.path.clone(), &format!(
            "SELECT {day} AS k, CAST(SUM(t.amount) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.credit_account_id JOIN merchants m ON m.id = a.owner_id \
             WHERE a.kind = 'merchant' AND t.code = 'redemption' \
             AND m.community_id IN (SELECT id FROM orgs WHERE path LIKE $1) \
             AND t.created_at >= $2 AND t.created_at < $3 GROUP BY 1"
        ))
        .await?;
    redeemed.extend(
        q.grouped(q.path.clone(), &format!(
            "SELECT {day} AS k, CAST(SUM(t.amount) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.credit_account_id JOIN parking_lots l ON l.id = a.owner_id \
             WHERE a.kind = 'parking_operator' AND t.code = 'parking' AND l.org_path LIKE $1 \
             AND t.created_at >= $2 AND t.created_at < $3 GROUP BY 1"
        ))
        .await?,
    );
    let volunteer_minutes_by_month = q
        .grouped(
            q.path.clone(),
            &format!(
            "SELECT {} AS k, CAST(SUM(s.settled_minutes) AS BIGINT) AS n FROM activity_signups s \
             JOIN activities a ON a.id = s.activity_id WHERE a.org_path LIKE $1 \
             AND s.settled_at >= $2 AND s.settled_at < $3 GROUP BY 1 ORDER BY 1",
            local_date(backend, "s.settled_at", true)
        ),
        )
        .await?;
    let mut parking_by_lot = Vec::new();
    let beijing = platform::clock::CHINA_OFFSET;
    let last = ((to - Duration::seconds(1)) + beijing).date_naive();
    let first = (from + beijing)
        .date_naive()
        .max(last - Duration::days(parking::service::usage::MAX_DAYS - 1));
    for lot in parking::service::lots::list(db, Some(&org.path))
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?
    {
        let days = parking::service::usage::daily(db, &lot, first, last, now)
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        let booked: i64 = days.iter().map(|d| d.booked_minutes).sum();
        let open: i64 = days.iter().map(|d| d.open_slot_minutes).sum();
        parking_by_lot.push((
            lot.id,
            lot.name,
            (open > 0).then(|| booked as f64 / open as f64),
        ));
    }
    Ok(Series {
        demands_by_day,
        points_by_day: merge(issued, redeemed),
        volunteer_minutes_by_month,
        parking_by_lot,
    })
}
