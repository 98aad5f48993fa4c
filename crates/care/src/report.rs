//! Care coverage for the dashboard: recipients by colour under the org, how many are
//! visited on time (their next visit not yet due), and home-service orders with their
//! satisfaction. Counts only.

use crate::entity::order;
use crate::order_state::OrderStatus;
use crate::service::map::counts_under;
use crate::words::Colour;
use crate::CareError;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CareFigures {
    pub recipients: i64,
    /// In `Colour::ALL` order.
    pub by_colour: Vec<(&'static str, i64)>,
    pub visits_overdue: i64,
    /// Recipients not overdue over all recipients; `None` without recipients.
    pub visits_on_time_rate: Option<f64>,
    pub orders: OrderFigures,
}

/// Home-service orders placed for services under the org (a care recipient's compound, or
/// the partner's community).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderFigures {
    pub total: i64,
    /// In `OrderStatus::ALL` order.
    pub by_status: Vec<(&'static str, i64)>,
    /// Ordered by community staff for care recipients, paid by the community.
    pub for_care_recipients: i64,
    pub rated: i64,
    /// `None` without ratings.
    pub mean_rating: Option<f64>,
    /// Rated 4 or 5 over rated; `None` without ratings.
    pub satisfaction_rate: Option<f64>,
}

/// Per status: orders, for care recipients, rated, the sum of ratings, rated 4 or more.
type StatusRow = (
    OrderStatus,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

pub async fn order_figures(
    conn: &impl ConnectionTrait,
    org_path: &str,
) -> Result<OrderFigures, CareError> {
    let rows: Vec<StatusRow> = order::Entity::find()
        .select_only()
        .column(order::Column::Status)
        .column_as(order::Column::Id.count(), "n")
        .column_as(
            Expr::cust("SUM(CASE WHEN care_recipient_id IS NULL THEN 0 ELSE 1 END)"),
            "for_care",
        )
        .column_as(
            Expr::cust("SUM(CASE WHEN rating IS NULL THEN 0 ELSE 1 END)"),
            "rated",
        )
        .column_as(Expr::cust("SUM(rating)"), "rating_sum")
        .column_as(
            Expr::cust("SUM(CASE WHEN rating >= 4 THEN 1 ELSE 0 END)"),
            "satisfied",
        )
        .filter(order::Column::OrgPath.starts_with(org_path))
        .group_by(order::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    let mut figures = OrderFigures::default();
    let (mut rating_sum, mut satisfied) = (0i64, 0i64);
    for status in OrderStatus::ALL {
        let n = rows.iter().find(|r| r.0 == status).map_or(0, |r| r.1);
        figures.by_status.push((status.as_str(), n));
    }
    for (_, n, for_care, rated, sum, good) in rows {
        figures.total += n;
        figures.for_care_recipients += for_care.unwrap_or(0);
        figures.rated += rated.unwrap_or(0);
        rating_sum += sum.unwrap_or(0);
        satisfied += good.unwrap_or(0);
    }
    if figures.rated > 0 {
        figures.mean_rating = Some(rating_sum as f64 / figures.rated as f64);
        figures.satisfaction_rate = Some(satisfied as f64 / figures.rated as f64);
    }
    Ok(figures)
}

pub async fn figures(
    conn: &impl ConnectionTrait,
    org_path: &str,
    now: DateTime<Utc>,
) -> Result<CareFigures, CareError> {
    let compounds = counts_under(conn, org_path, now).await?;
    let orders = order_figures(conn, org_path).await?;
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
        orders,
    })
}
