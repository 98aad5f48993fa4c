//! Background jobs, run every `jobs.interval_seconds` by each instance that has
//! `jobs.enabled`. Every job is idempotent and safe with several instances running at once:
//! holds, lots, demands and outbox rows change by compare-and-set, and expiry transfers carry
//! idempotency keys. WeChat messages go out last, after every transaction has committed.

use crate::metrics::business::Closure;
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use platform::unit_of_work::atomically;
use platform::Reach;
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr, QueryTrait};

/// Rows one job touches per round; the next round continues.
const BATCH: u64 = 500;
/// Idempotency records are kept this long (API.md promises at least 24 h).
const IDEMPOTENCY_RETENTION_HOURS: i64 = 48;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub reservations_expired: u64,
    pub holds_released: u64,
    pub points_expired: i64,
    pub idempotency_records_purged: u64,
    /// Tables analyzed because autovacuum is off and they changed ([`platform::statistics`]).
    pub tables_analyzed: u64,
    pub demands: demands::service::sla::SlaReport,
    pub parking_no_shows: u64,
    pub home_service_orders: care::service::order_moves::StaleReport,
    pub messages: crate::outbox::DeliveryReport,
}

/// One round of every job, over the whole district: what each instance's timer runs.
pub async fn run_once(state: &AppState) -> anyhow::Result<RoundReport> {
    run_round(state, &Reach::Everywhere).await
}

/// One round of the jobs within `reach`. One query first asks which jobs have anything due
/// ([`due_work`]); only those run, so a quiet round is that question and the purge.
///
/// Under an org, only the jobs whose rows belong to an org run, narrowed to its subtree:
/// lapsed reservations, no-shows, stale home-service orders, the demands' deadlines and
/// the expiry of its residents' points (which goes on after the year's end, as voided
/// holds give points of an expired lot back). The ledger's holds, the purge, the planner's
/// statistics and the WeChat sender are the whole district's and wait for a round
/// [`Reach::Everywhere`] (the simulator runs one at each month end; no hold comes due
/// between in its district, as every hold ends with the reservation, booking or order it
/// holds for).
///
/// The steps run in three chains side by side, each step its own unit of work (one failing
/// step rolls back only itself): the value-moving jobs one after another in a fixed order
/// (they share accounts, holds and lots), the demands' deadlines, and the purge of old
/// idempotency records, which touch none of the others' rows. A round is over when the
/// slowest chain is, not the sum of them: while a round runs in the simulator every street
/// waits for it. WeChat messages go out last, once every chain has committed. On SQLite,
/// with its one writer, the chains take turns.
pub async fn run_round(state: &AppState, reach: &Reach) -> anyhow::Result<RoundReport> {
    let now = state.clock.now();
    let db = &state.db;
    let no_show_after = Duration::minutes(state.settings.parking.no_show_minutes);
    // A purge that finds nothing costs what asking would: it always runs, beside the question;
    // so does keeping the planner's statistics where autovacuum does not.
    let purge = async {
        if !reach.is_everywhere() {
            return Ok((0, 0));
        }
        let purged = platform::idempotency::purge(
            db,
            now - Duration::hours(IDEMPOTENCY_RETENTION_HOURS),
            BATCH,
        )
        .await?;
        let analyzed = platform::statistics::analyze_due_tables(db).await?;
        Ok::<_, anyhow::Error>((purged, analyzed.len() as u64))
    };
    let due_steps = async {
        // Off the writer: on SQLite `db` is its one connection, which every street's round
        // asking at every simulated hour would take from the requests' batches.
        let due = due_work(&state.reads, now, no_show_after, reach).await?;
        let (value, demands) = tokio::try_join!(
            value_moving_steps(state, due, now, no_show_after, reach),
            demand_deadlines(state, due, now, reach),
        )?;
        Ok::<_, anyhow::Error>((due, value, demands))
    };
    let ((purged, analyzed), (due, mut report, demands)) = tokio::try_join!(purge, due_steps)?;
    report.idempotency_records_purged = purged;
    report.tables_analyzed = analyzed;
    report.demands = demands;
    if due.messages {
        report.messages = crate::outbox::deliver_due(state).await?;
    }
    Ok(report)
}

/// The jobs that move value or release it, in this order: lapsed reservations give back
/// their holds before holds past their time are released, points expire, no-shows are
/// charged and stale home-service orders closed.
async fn value_moving_steps(
    state: &AppState,
    due: DueWork,
    now: DateTime<Utc>,
    no_show_after: Duration,
    reach: &Reach,
) -> anyhow::Result<RoundReport> {
    let db = &state.db;
    let mut report = RoundReport::default();
    if due.reservations {
        let reach = reach.clone();
        report.reservations_expired = atomically(db, move |conn| {
            let reach = reach.clone();
            Box::pin(async move {
                merchant::service::redemptions::expire_due(conn, now, &reach, BATCH).await
            })
        })
        .await?;
    }
    if due.holds {
        report.holds_released = atomically(db, move |conn| {
            Box::pin(points_ledger::service::holds::release_expired(
                conn, now, BATCH,
            ))
        })
        .await?;
    }
    if due.points {
        let owners = residents_within(reach);
        report.points_expired = atomically(db, move |conn| {
            let owners = owners.clone();
            Box::pin(async move {
                points_ledger::service::expiry::expire_lots_of(conn, now, owners, BATCH).await
            })
        })
        .await?;
    }
    let (no_show_units, rule) = (state.settings.parking.no_show_units, state.expiry_rule());
    if due.no_shows {
        let reach = reach.clone();
        report.parking_no_shows = atomically(db, move |conn| {
            let reach = reach.clone();
            Box::pin(async move {
                parking::service::bookings::mark_no_shows(
                    conn,
                    no_show_after,
                    no_show_units,
                    rule,
                    now,
                    &reach,
                    BATCH,
                )
                .await
            })
        })
        .await?;
    }
    if due.home_service_orders {
        let reach = reach.clone();
        report.home_service_orders = atomically(db, move |conn| {
            let reach = reach.clone();
            Box::pin(async move {
                care::service::order_moves::close_stale(conn, rule, now, &reach, BATCH).await
            })
        })
        .await?;
    }
    Ok(report)
}

/// The residents whose wallets a round within `reach` expires: all (`None`), or those
/// living under its org.
fn residents_within(reach: &Reach) -> Option<SelectStatement> {
    reach.path().map(identity::service::users::ids_living_under)
}

/// Warnings, escalations and the automatic closing of demands left unrated.
async fn demand_deadlines(
    state: &AppState,
    due: DueWork,
    now: DateTime<Utc>,
    reach: &Reach,
) -> anyhow::Result<demands::service::sla::SlaReport> {
    if !due.demands {
        return Ok(Default::default());
    }
    let reach = reach.clone();
    let report = atomically(&state.db, move |conn| {
        let reach = reach.clone();
        Box::pin(async move { demands::service::sla::run(conn, now, &reach, BATCH).await })
    })
    .await?;
    let business = &state.metrics.business;
    business.demands_overdue(report.escalated);
    business.demands_closed(Closure::Automatic, report.auto_closed);
    Ok(report)
}

/// Which jobs have anything to do at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DueWork {
    reservations: bool,
    holds: bool,
    points: bool,
    demands: bool,
    no_shows: bool,
    home_service_orders: bool,
    messages: bool,
}

/// Asks, in one statement, whether each job would find anything due at `now`: for each
/// job, the first row of the very query the job itself runs, in its order (each context
/// exports the query beside its job, so the two cannot drift apart). In that order each is
/// one step down an index, whatever the planner believes of the table's size; as `EXISTS`
/// the order is dropped, and PostgreSQL without fresh statistics (autovacuum off) chose to
/// read the whole of `ledger_lots` at each round.
async fn due_work(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    no_show_after: Duration,
    reach: &Reach,
) -> Result<DueWork, DbErr> {
    let probe = due_work_query(now, no_show_after, reach);
    let backend = db.get_database_backend();
    let row = db
        .query_one(backend.build(&probe))
        .await?
        .ok_or_else(|| DbErr::Custom("the due-work query returned no row".to_owned()))?;
    let due = |i: usize| row.try_get::<bool>("", &format!("due_{i}"));
    Ok(DueWork {
        reservations: due(0)?,
        holds: due(1)?,
        points: due(2)?,
        demands: due(3)? || due(4)? || due(5)?,
        no_shows: due(6)?,
        home_service_orders: due(7)? || due(8)?,
        messages: due(9)?,
    })
}

/// The statement [`due_work`] runs: `SELECT (SELECT 1 FROM … LIMIT 1) IS NOT NULL AS
/// due_0, …` in the order it reads. Under an org, the whole district's jobs are asked
/// `SELECT false` (they do not run there).
fn due_work_query(now: DateTime<Utc>, no_show_after: Duration, reach: &Reach) -> SelectStatement {
    let [warn, escalate, close] = demands::service::sla::due(now, reach);
    let [unserved, unconfirmed] = care::service::order_moves::stale(now, reach);
    let everywhere = |ask: SelectStatement| reach.is_everywhere().then_some(ask);
    let asks = [
        Some(merchant::service::redemptions::due_to_expire(now, reach).into_query()),
        everywhere(points_ledger::service::holds::due_to_release(now).into_query()),
        // Asked of the whole district even under an org: naming the org's residents costs a
        // walk through them, and lots fall due only at a year's end.
        Some(points_ledger::service::expiry::due_to_expire(now).into_query()),
        Some(warn.into_query()),
        Some(escalate.into_query()),
        Some(close.into_query()),
        Some(parking::service::bookings::due_as_no_shows(no_show_after, now, reach).into_query()),
        Some(unserved.into_query()),
        Some(unconfirmed.into_query()),
        everywhere(platform::outbox::due(now)),
    ];
    let mut probe = Query::select();
    for (i, ask) in asks.into_iter().enumerate() {
        let name = Alias::new(format!("due_{i}"));
        let Some(mut ask) = ask else {
            probe.expr_as(Expr::val(false), name);
            continue;
        };
        ask.clear_selects().expr(Expr::val(1)).limit(1);
        let first = SimpleExpr::SubQuery(None, Box::new(ask.into_sub_query_statement()));
        probe.expr_as(Expr::expr(first).is_not_null(), name);
    }
    probe
}

/// Runs a round every `jobs.interval_seconds` until `stop` turns true; errors are logged
/// and the next round tries again. Stopping waits for the round in progress: a round is
/// never cut off between its steps.
pub async fn run_until(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(
        state.settings.jobs.interval_seconds,
    ));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
        match run_once(&state).await {
            Ok(report) if report != RoundReport::default() => {
                tracing::info!(?report, "background jobs ran")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "background jobs failed; retrying next round")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run every job round on every instance, the question must stay an index probe per
    /// job however large the tables grow: SQLite's plan of it has no table scan (the
    /// no-show and stale-order queries read whole tables until their indexes came).
    #[tokio::test]
    async fn the_due_work_question_is_answered_from_indexes_alone() {
        let url = platform::db::create_fresh_database(None, "linli_t")
            .await
            .unwrap();
        let db = sea_orm::Database::connect(&url).await.unwrap();
        crate::migrator::migrate(&db).await.unwrap();
        let (sql, values) = due_work_query(
            chrono::Utc::now(),
            Duration::minutes(30),
            &Reach::Everywhere,
        )
        .build(sea_orm::sea_query::SqliteQueryBuilder);
        let steps = platform::testing::sqlite_plan(&db, &sql, values.0).await;
        let searches = steps.iter().filter(|s| s.starts_with("SEARCH")).count();
        assert!(searches >= 10, "{steps:?}");
        assert!(
            steps
                .iter()
                .all(|s| !s.starts_with("SCAN") || s == "SCAN CONSTANT ROW"),
            "a job's question reads a whole table: {steps:?}"
        );
        db.close().await.unwrap();
        platform::db::drop_fresh_database(None, &url).await.unwrap();
    }

    /// A street's question (each street asks at every simulated hour of the simulator's
    /// year) is index steps too: no table of rows that grow with the year is read whole.
    #[tokio::test]
    async fn a_streets_due_work_question_reads_no_growing_table_whole() {
        let url = platform::db::create_fresh_database(None, "linli_t")
            .await
            .unwrap();
        let db = sea_orm::Database::connect(&url).await.unwrap();
        crate::migrator::migrate(&db).await.unwrap();
        let street = Reach::Under("/d/s/".to_owned());
        let (sql, values) = due_work_query(chrono::Utc::now(), Duration::minutes(30), &street)
            .build(sea_orm::sea_query::SqliteQueryBuilder);
        let steps = platform::testing::sqlite_plan(&db, &sql, values.0).await;
        assert!(
            steps
                .iter()
                .all(|s| !s.starts_with("SCAN") || s == "SCAN CONSTANT ROW"),
            "a street's question reads a table whole: {steps:?}"
        );
        // The street's merchants and lots are checked row by row on the rows due, never
        // listed to walk from (see `parking::service::bookings::due_as_no_shows`).
        assert!(
            steps.iter().all(|s| !s.starts_with("LIST SUBQUERY")),
            "{steps:?}"
        );
        assert!(
            steps
                .iter()
                .any(|s| s.starts_with("CORRELATED SCALAR SUBQUERY")),
            "{steps:?}"
        );
        db.close().await.unwrap();
        platform::db::drop_fresh_database(None, &url).await.unwrap();
    }

    /// The answer names exactly the jobs with work: none on a new database; the hold
    /// release once a hold's time has run out, the sender once a message is queued, and
    /// nothing else. Decoded on the backend the suite runs on (PostgreSQL's booleans,
    /// SQLite's integers).
    #[tokio::test]
    async fn the_due_work_answer_names_the_jobs_with_work() {
        use points_ledger::service::{holds, transfers};
        use points_ledger::{AccountRef, Asset, ExpiryRule};
        let db = platform::testing::fresh_database().await;
        crate::migrator::migrate(&db).await.unwrap();
        let now = chrono::Utc::now();
        let after = Duration::minutes(30);
        let nothing = DueWork {
            reservations: false,
            holds: false,
            points: false,
            demands: false,
            no_shows: false,
            home_service_orders: false,
            messages: false,
        };
        assert_eq!(
            due_work(&db, now, after, &Reach::Everywhere).await.unwrap(),
            nothing
        );

        let wallet = AccountRef::wallet(Asset::Points, "resident-1");
        transfers::transfer(
            &db,
            transfers::TransferRequest {
                idempotency_key: "fund".to_owned(),
                from: AccountRef::treasury("district"),
                to: wallet.clone(),
                amount: 100,
                code: transfers::TransferCode::Award,
                memo: String::new(),
                reference: None,
            },
            ExpiryRule::default(),
            now,
        )
        .await
        .unwrap();
        holds::reserve(
            &db,
            holds::HoldRequest {
                idempotency_key: "hold".to_owned(),
                account: wallet,
                amount: 30,
                expires_at: now + Duration::hours(1),
                reference: None,
            },
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            due_work(&db, now, after, &Reach::Everywhere).await.unwrap(),
            nothing
        );
        let later = now + Duration::hours(2);
        let held = DueWork {
            holds: true,
            ..nothing
        };
        assert_eq!(
            due_work(&db, later, after, &Reach::Everywhere)
                .await
                .unwrap(),
            held
        );

        platform::outbox::grant(&db, "resident-1", "demand_status", now)
            .await
            .unwrap();
        let queued = platform::outbox::enqueue_if_allowed(
            &db,
            platform::outbox::SubscribeMessage {
                user_id: "resident-1",
                kind: "demand_status",
                page: "pages/index".to_owned(),
                data: serde_json::json!({}),
            },
            now,
        )
        .await
        .unwrap();
        assert!(queued);
        let both = DueWork {
            messages: true,
            ..held
        };
        assert_eq!(
            due_work(&db, later, after, &Reach::Everywhere)
                .await
                .unwrap(),
            both
        );
        // A round narrowed to an org leaves the holds and the sender to the district's.
        let street = Reach::Under("/d/s/".to_owned());
        assert_eq!(due_work(&db, later, after, &street).await.unwrap(), nothing);
    }
}
