//! Care coverage for the dashboard: recipients by colour under the org and how many are
//! visited on time (their next visit not yet due). Counts only.

use crate::service::map::counts_under;
use crate::words::Colour;
use crate::CareError;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CareFigures {
    pub recipients: i64,
    /// In `Colour::ALL` order.
    pub by_colour: Vec<(&'static str, i64)>,
    pub visits_overdue: i64,
    /// Recipients not overdue over all recipients; `None` without recipients.
    pub visits_on_time_rate: Option<f64>,
}

pub async fn figures(
    conn: &impl ConnectionTrait,
    org_path: &str,
    now: DateTime<Utc>,
) -> Result<CareFigures, CareError> {
    let compounds = counts_under(conn, org_path, now).await?;
    let mut by_colour = [0i64; 5];
    let (mut recipients, mut overdue) = (0, 0);
    for c in &compounds {
        recipients += c.total;
        overdue += c.visits_overdue;
        for (sum, n) in by_colour.iter_mut().zip(c.by_colour) {
            *sum += n;
        }
    }
    Ok(CareFigures {
        recipients,
        by_colour: Colour::ALL
            .iter()
            .map(|c| c.as_str())
            .zip(by_colour)
            .collect(),
        visits_overdue: overdue,
        visits_on_time_rate: (recipients > 0)
            .then(|| (recipients - overdue) as f64 / recipients as f64),
    })
}
