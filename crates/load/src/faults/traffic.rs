//! The write load faults are made under, and its ground truth. Residents write through the
//! fleet's instances in turn, each with a kind of keyed write of its own (an award to them
//! from their community's budget, a reservation at a market stall, a parking booking, a
//! demand), every request with a fresh `Idempotency-Key`; every request and its first answer
//! is kept. Afterwards [`Traffic::settle`] sends every unanswered or refused write again with
//! its key until it is answered, [`Traffic::check`] sends every acknowledged one again and
//! expects the same answer (a replay, not a second write), and counts each resident's
//! awards, reservations, bookings and demands through the API against the writes that were
//! acknowledged: one fewer is a lost write, one more a doubled one.
//!
//! Two kinds of write carry on without keys, as their clients do: a reservation is shown as
//! a one-time code and verified by the stall's cashier, and a demand is accepted, started
//! and resolved by staff. These [`Step`]s are checked by the state they leave: a verify
//! acknowledged must leave its redemption redeemed, and no redemption is redeemed without
//! one; every demand whose steps were sent (again, after the fault, as staff would) ends
//! resolved with exactly one event for each step.

use crate::client::{Linli, Session};
use crate::scenarios::{self, Lot, Shop};
use anyhow::Context;
use chrono::{DurationRound, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Award,
    Reserve,
    Book,
    Demand,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Award, Kind::Reserve, Kind::Book, Kind::Demand];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Award => "award",
            Kind::Reserve => "reserve",
            Kind::Book => "book",
            Kind::Demand => "demand",
        }
    }
}

/// How a request was answered: its status (0: no answer at all, e.g. the connection was
/// refused or cut), the problem `code` of a refusal, the created object's `id`.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub code: Option<String>,
    pub id: Option<String>,
    /// When the answer came, from the start of the run.
    pub at: Duration,
    pub took: Duration,
}

impl Answer {
    pub fn acknowledged(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Worth sending again with the same key: no answer, the server's trouble, or a race
    /// lost to another request.
    fn retryable(&self) -> bool {
        matches!(self.status, 0 | 409 | 429) && self.code.as_deref() != Some("no_slot_available")
            || self.status >= 500
    }

    /// Worth sending a step again: no answer, the server's trouble, a lost race. A refusal
    /// of the step itself (the code already used, the demand already moved on) is final.
    fn step_retryable(&self) -> bool {
        self.status == 0
            || self.status >= 500
            || self.status == 429
            || (self.status == 409 && self.code.as_deref() == Some("conflict"))
    }

    /// "500", "503 database_unavailable", "no answer".
    pub fn label(&self) -> String {
        match (self.status, &self.code) {
            (0, _) => "no answer".to_owned(),
            (status, Some(code)) => format!("{status} {code}"),
            (status, None) => status.to_string(),
        }
    }
}

/// A write after a keyed one, without a key of its own: its outcome is read from the state.
#[derive(Debug, Clone)]
pub struct Step {
    writer: usize,
    /// `verify`, or the demand action: `accept`, `start`, `resolve`.
    pub action: &'static str,
    /// The redemption or demand it acts on.
    subject: String,
    path: String,
    body: Value,
    pub first: Answer,
    pub settled: Option<Answer>,
}

impl Step {
    pub fn outcome(&self) -> &Answer {
        self.settled.as_ref().unwrap_or(&self.first)
    }
}

/// Sends with `send` until the answer is final (`retryable` says it is not worth another
/// try), a quarter second apart, for at most a minute; the last answer and how many
/// requests it took.
async fn until_final<F, Fut>(retryable: fn(&Answer) -> bool, send: F) -> (Answer, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let mut answer = send().await;
    let mut requests = 1;
    for _ in 0..240 {
        if !retryable(&answer) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        answer = send().await;
        requests += 1;
    }
    (answer, requests)
}

/// Acknowledged writes replayed side by side by [`Traffic::check`].
const REPLAYS_AT_ONCE: usize = 16;

/// The demand actions staff take after a submission, in order.
const DEMAND_STEPS: [(&str, &str); 3] = [
    ("accept", "{}"),
    ("start", "{}"),
    ("resolve", r#"{"resolution": "已处理"}"#),
];

/// One keyed write, as sent and as answered.
#[derive(Debug, Clone)]
pub struct Write {
    pub kind: Kind,
    pub writer: usize,
    pub key: String,
    path: String,
    body: Value,
    pub first: Answer,
    /// The answer to the last resend by [`Traffic::settle`], when the first was not final.
    pub settled: Option<Answer>,
}

impl Write {
    /// The answer that counts: the settled one, else the first.
    pub fn outcome(&self) -> &Answer {
        self.settled.as_ref().unwrap_or(&self.first)
    }
}

struct Writer {
    kind: Kind,
    resident: Session,
    plate: String,
    /// Bookings made so far, for the next one's window.
    booked: AtomicUsize,
}

pub struct Traffic {
    api: Linli,
    admin: Session,
    /// A resident outside the books' checks, for awards that probe whether a server writes.
    probe: Session,
    community: String,
    writers: Vec<Writer>,
    shop: Shop,
    lot: Lot,
    category_id: String,
    /// Bookings start in whole hours from here, two hours apart per resident.
    first_booking: chrono::DateTime<Utc>,
    writes: Mutex<Vec<Write>>,
    steps: Mutex<Vec<Step>>,
    started: Instant,
}

impl Traffic {
    /// Residents for `per_kind` writers of each kind in the demo's first community, funded,
    /// with a stall and a lot to use.
    pub async fn prepare(api: &Linli, per_kind: usize) -> anyhow::Result<Arc<Self>> {
        let admin = api.staff_login("admin", scenarios::DEMO_PASSWORD).await?;
        let tree = api.setup(Method::GET, "/orgs", None, None, 200).await?;
        let community = scenarios::communities_of(&tree)
            .into_iter()
            .next()
            .context("the org tree has no community")?;
        let allocation = json!({"org_id": community, "points": 1_000_000_000i64, "memo": "faults"});
        api.setup(
            Method::POST,
            "/admin/budgets/allocations",
            Some(&admin.token),
            Some(&allocation),
            201,
        )
        .await?;
        let run = uuid::Uuid::now_v7().simple().to_string();
        let mut writers = Vec::new();
        for kind in Kind::ALL {
            for n in 0..per_kind {
                let number = writers.len();
                let name = format!("faults-{}-{}-{n}", &run[..12], kind.name());
                let resident = api.resident_in(&name, &community).await?;
                if kind != Kind::Award {
                    scenarios::award(api, &admin, &resident.user_id, &community, 10_000_000, None)
                        .await?;
                }
                writers.push(Writer {
                    kind,
                    resident,
                    plate: format!("晋B{:05}", 70_000 + number),
                    booked: AtomicUsize::new(0),
                });
            }
        }
        let probe = api
            .resident_in(&format!("faults-{}-probe", &run[..12]), &community)
            .await?;
        let shop = scenarios::open_shop(api, &admin, &community, &format!("faults-{}", &run[..12]))
            .await?;
        let lot = scenarios::open_lot(api, &admin, &community, writers.len()).await?;
        let categories = api
            .setup(Method::GET, "/demand-categories", None, None, 200)
            .await?;
        let category_id = categories[0]["id"]
            .as_str()
            .or_else(|| categories["items"][0]["id"].as_str())
            .context("a demand category")?
            .to_owned();
        let first_booking = (Utc::now() + chrono::Duration::days(1))
            .duration_trunc(chrono::Duration::hours(1))
            .context("rounding the first booking")?;
        Ok(Arc::new(Self {
            api: api.clone(),
            admin,
            probe,
            community,
            writers,
            shop,
            lot,
            category_id,
            first_booking,
            writes: Mutex::new(Vec::new()),
            steps: Mutex::new(Vec::new()),
            started: Instant::now(),
        }))
    }

    /// Every writer writes, one request at a time each, until `stop` is set.
    pub async fn run(self: &Arc<Self>, stop: Arc<AtomicBool>) {
        let tasks = (0..self.writers.len()).map(|writer| {
            let traffic = self.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    traffic.write_once(writer).await;
                }
            })
        });
        futures_util::future::join_all(tasks).await;
    }

    /// A keyed write to the fleet, once, in its very first form; kept with its answer.
    async fn write_once(&self, writer: usize) {
        let (path, body) = self.next_request(writer);
        let key = uuid::Uuid::now_v7().to_string();
        let first = self.send(writer, &path, &body, &key).await;
        let kind = self.writers[writer].kind;
        if !first.acknowledged() {
            // As a client does after a failure: a moment before the next request, rather
            // than thousands a second against a server that is not there.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let created = first.acknowledged().then(|| first.id.clone()).flatten();
        self.lock().push(Write {
            kind,
            writer,
            key,
            path,
            body,
            first,
            settled: None,
        });
        if let Some(id) = created {
            match kind {
                Kind::Reserve => self.redeem(writer, &id).await,
                Kind::Demand => self.handle_demand(writer, &id).await,
                Kind::Award | Kind::Book => {}
            }
        }
    }

    /// The resident shows a code and the cashier verifies it.
    async fn redeem(&self, writer: usize, redemption: &str) {
        let resident = &self.writers[writer].resident.token;
        let (status, code) = self
            .api
            .call(
                Some("code"),
                Method::POST,
                &format!("/redemptions/{redemption}/code"),
                Some(resident),
                Some(&json!({})),
                None,
            )
            .await;
        let Some(code) = code["code"].as_str().filter(|_| status == 200) else {
            return;
        };
        let path = format!("/merchants/{}/redemptions/verify", self.shop.merchant_id);
        let body = json!({ "code": code });
        let first = self
            .post("verify", &self.shop.owner.token, &path, &body, None)
            .await;
        self.lock_steps().push(Step {
            writer,
            action: "verify",
            subject: redemption.to_owned(),
            path,
            body,
            first,
            settled: None,
        });
    }

    /// Staff accept, start and resolve the demand, stopping at the first step not answered.
    async fn handle_demand(&self, writer: usize, demand: &str) {
        for (action, body) in DEMAND_STEPS {
            let path = format!("/staff/demands/{demand}/{action}");
            let body: Value = serde_json::from_str(body).unwrap_or_default();
            let first = self
                .post(action, &self.admin.token, &path, &body, None)
                .await;
            let done = first.acknowledged();
            self.lock_steps().push(Step {
                writer,
                action,
                subject: demand.to_owned(),
                path,
                body,
                first,
                settled: None,
            });
            if !done {
                return;
            }
        }
    }

    fn lock_steps(&self) -> std::sync::MutexGuard<'_, Vec<Step>> {
        self.steps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every step so far.
    pub fn steps(&self) -> Vec<Step> {
        self.lock_steps().clone()
    }

    fn next_request(&self, writer: usize) -> (String, Value) {
        let who = &self.writers[writer];
        match who.kind {
            Kind::Award => (
                "/staff/points/awards".to_owned(),
                json!({"user_id": who.resident.user_id, "points": 1, "reason": "志愿服务",
                       "org_id": self.community}),
            ),
            Kind::Reserve => (
                format!("/offers/{}/redemptions", self.shop.offer_id),
                json!({}),
            ),
            Kind::Book => {
                let n = who.booked.fetch_add(1, Ordering::Relaxed);
                let hours = i64::try_from(n).unwrap_or(i64::MAX / 4) * 2;
                let starts_at = self.first_booking + chrono::Duration::hours(hours);
                (
                    "/parking/bookings".to_owned(),
                    json!({"lot_id": self.lot.id, "plate": who.plate, "starts_at": starts_at,
                           "ends_at": starts_at + chrono::Duration::hours(1)}),
                )
            }
            Kind::Demand => (
                "/demands".to_owned(),
                json!({"category_id": self.category_id, "title": "楼道灯不亮",
                       "description": "三单元二楼的灯坏了", "community_id": self.community}),
            ),
        }
    }

    async fn send(&self, writer: usize, path: &str, body: &Value, key: &str) -> Answer {
        let who = &self.writers[writer];
        let token = match who.kind {
            Kind::Award => &self.admin.token,
            _ => &who.resident.token,
        };
        self.post(who.kind.name(), token, path, body, Some(key))
            .await
    }

    /// A measured POST as `token`, and how it was answered.
    async fn post(
        &self,
        operation: &'static str,
        token: &str,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Answer {
        let begun = Instant::now();
        let (status, answer) = self
            .api
            .call(
                Some(operation),
                Method::POST,
                path,
                Some(token),
                Some(body),
                key,
            )
            .await;
        Answer {
            status,
            code: (status >= 300)
                .then(|| answer["code"].as_str().map(str::to_owned))
                .flatten(),
            id: answer["id"]
                .as_str()
                .or_else(|| answer["transfer_id"].as_str())
                .map(str::to_owned),
            at: self.started.elapsed(),
            took: begun.elapsed(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Write>> {
        self.writes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every write so far.
    pub fn writes(&self) -> Vec<Write> {
        self.lock().clone()
    }

    /// Sends every write whose answer is not final again with its own key (and body) until
    /// it is: acknowledged, or refused for a reason of its own. Gives up on one after a
    /// minute of trying. Returns how many were sent again.
    pub async fn settle(&self) -> usize {
        let pending: Vec<usize> = self
            .lock()
            .iter()
            .enumerate()
            .filter(|(_, w)| !w.first.acknowledged())
            .map(|(n, _)| n)
            .collect();
        let resent = pending.len();
        eprintln!("  sending {resent} unanswered writes again with their keys");
        for n in pending {
            let (writer, path, body, key) = {
                let writes = self.lock();
                let w = &writes[n];
                (w.writer, w.path.clone(), w.body.clone(), w.key.clone())
            };
            let (answer, _) =
                until_final(Answer::retryable, || self.send(writer, &path, &body, &key)).await;
            if !answer.acknowledged() {
                eprintln!("    {path}: {} in the end", answer.label());
            }
            self.lock()[n].settled = Some(answer);
        }
        resent
    }

    /// Sends every step a fault left unanswered again (the same code to the cashier, the
    /// same action to staff) until it is answered for good, and takes the demands whose
    /// handling stopped there through their remaining steps. Returns the requests sent.
    pub async fn settle_steps(&self) -> usize {
        let mut sent = 0;
        let steps = self.steps();
        for (n, step) in steps.iter().enumerate() {
            if step.first.acknowledged() || !step.first.step_retryable() {
                continue;
            }
            let token = self.step_token(step.action);
            let (answer, requests) = until_final(Answer::step_retryable, || {
                self.post(step.action, token, &step.path, &step.body, None)
            })
            .await;
            sent += requests;
            self.lock_steps()[n].settled = Some(answer);
        }
        // Demands whose handling a fault cut short: the steps never sent, now.
        let mut last: BTreeMap<String, (usize, &'static str)> = BTreeMap::new();
        for step in steps.iter().filter(|s| s.action != "verify") {
            last.insert(step.subject.clone(), (step.writer, step.action));
        }
        for (demand, (writer, action)) in last {
            let after = DEMAND_STEPS
                .iter()
                .position(|(a, _)| *a == action)
                .map_or(0, |p| p + 1);
            for &(action, body) in &DEMAND_STEPS[after..] {
                let path = format!("/staff/demands/{demand}/{action}");
                let body: Value = serde_json::from_str(body).unwrap_or_default();
                let (answer, requests) = until_final(Answer::step_retryable, || {
                    self.post(action, &self.admin.token, &path, &body, None)
                })
                .await;
                sent += requests;
                self.lock_steps().push(Step {
                    writer,
                    action,
                    subject: demand.clone(),
                    path,
                    body,
                    first: answer,
                    settled: None,
                });
            }
        }
        sent
    }

    fn step_token(&self, action: &str) -> &str {
        if action == "verify" {
            &self.shop.owner.token
        } else {
            &self.admin.token
        }
    }

    /// The state the steps left, after [`Traffic::settle_steps`]; each line a failure.
    async fn check_steps(&self) -> anyhow::Result<Vec<String>> {
        let steps = self.steps();
        let mut failures = Vec::new();
        // Redemptions: an acknowledged verify left it redeemed; none redeemed without one.
        let mut verified: BTreeMap<String, bool> = BTreeMap::new();
        for step in steps.iter().filter(|s| s.action == "verify") {
            let acknowledged = step.outcome().acknowledged();
            *verified.entry(step.subject.clone()).or_default() |= acknowledged;
        }
        for writer in self.writers.iter().filter(|w| w.kind == Kind::Reserve) {
            for item in self.list(writer, "/me/redemptions").await? {
                let id = item["id"].as_str().unwrap_or_default();
                let redeemed = item["status"] == "redeemed";
                match verified.get(id) {
                    Some(true) if !redeemed => failures.push(format!(
                        "redemption {id}: its verify was acknowledged, its status is {}",
                        item["status"]
                    )),
                    None if redeemed => failures.push(format!(
                        "redemption {id} is redeemed though no verify was sent for it"
                    )),
                    _ => {}
                }
            }
        }
        // Demands: resolved, each step's event exactly once.
        let demands: std::collections::BTreeSet<&String> = steps
            .iter()
            .filter(|s| s.action != "verify")
            .map(|s| &s.subject)
            .collect();
        for demand in demands {
            let detail = self
                .api
                .setup(
                    Method::GET,
                    &format!("/demands/{demand}"),
                    Some(&self.admin.token),
                    None,
                    200,
                )
                .await?;
            if detail["status"] != "resolved" {
                failures.push(format!(
                    "demand {demand} ended {} after every step was sent",
                    detail["status"]
                ));
            }
            let events = detail["events"].as_array().cloned().unwrap_or_default();
            for (action, _) in DEMAND_STEPS {
                let times = events.iter().filter(|e| e["action"] == action).count();
                if times != 1 {
                    failures.push(format!("demand {demand}: {times} `{action}` events"));
                }
            }
        }
        Ok(failures)
    }

    /// The books after [`Traffic::settle`]: what every resident has against what was
    /// acknowledged, and every acknowledged write replayed under its key. Each line is a
    /// failure; none means nothing was lost or doubled.
    pub async fn check(&self) -> anyhow::Result<Vec<String>> {
        let writes = self.writes();
        let mut failures = Vec::new();
        for write in &writes {
            let outcome = write.outcome();
            if !outcome.acknowledged() && outcome.retryable() {
                failures.push(format!(
                    "{} {} never settled: {}",
                    write.kind.name(),
                    write.key,
                    outcome.label()
                ));
            }
        }
        // Acknowledged writes, replayed: the same object, not a second one. Many at a time:
        // a run acknowledges tens of thousands.
        use futures_util::StreamExt;
        let replayed: Vec<Option<String>> =
            futures_util::stream::iter(writes.iter().filter(|w| w.outcome().acknowledged()))
                .map(|write| async move {
                    let again = self
                        .send(write.writer, &write.path, &write.body, &write.key)
                        .await;
                    (!again.acknowledged() || again.id != write.outcome().id).then(|| {
                        format!(
                            "{} {} replayed as {} {:?} (first {:?})",
                            write.kind.name(),
                            write.key,
                            again.label(),
                            again.id,
                            write.outcome().id
                        )
                    })
                })
                .buffer_unordered(REPLAYS_AT_ONCE)
                .collect()
                .await;
        failures.extend(replayed.into_iter().flatten());
        let mut acknowledged: BTreeMap<usize, usize> = BTreeMap::new();
        for write in writes.iter().filter(|w| w.outcome().acknowledged()) {
            *acknowledged.entry(write.writer).or_default() += 1;
        }
        for (n, writer) in self.writers.iter().enumerate() {
            let expected = acknowledged.get(&n).copied().unwrap_or(0);
            let found = self.count(writer).await?;
            if found != expected {
                failures.push(format!(
                    "resident {} ({}): {found} in the books, {expected} acknowledged",
                    writer.resident.user_id,
                    writer.kind.name()
                ));
            }
        }
        failures.extend(self.check_steps().await?);
        Ok(failures)
    }

    /// What the books hold for one writer: the points awarded to them (one each), or their
    /// reservations, bookings or demands.
    async fn count(&self, writer: &Writer) -> anyhow::Result<usize> {
        let token = Some(writer.resident.token.as_str());
        if writer.kind == Kind::Award {
            let wallet = self
                .api
                .setup(Method::GET, "/me/wallet", token, None, 200)
                .await?;
            let balance = wallet["points"]["balance"]
                .as_i64()
                .context("a wallet balance")?;
            return Ok(usize::try_from(balance)?);
        }
        let path = match writer.kind {
            Kind::Reserve => "/me/redemptions",
            Kind::Book => "/me/parking/bookings",
            _ => "/me/demands",
        };
        Ok(self.list(writer, path).await?.len())
    }

    /// Every item of one of the writer's own lists, page after page.
    async fn list(&self, writer: &Writer, path: &str) -> anyhow::Result<Vec<Value>> {
        let token = Some(writer.resident.token.as_str());
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = match &cursor {
                Some(c) => format!("{path}?limit=100&cursor={c}"),
                None => format!("{path}?limit=100"),
            };
            let body = self.api.setup(Method::GET, &page, token, None, 200).await?;
            let items = body["items"].as_array().context("a list")?;
            let empty = items.is_empty();
            all.extend(items.iter().cloned());
            match body["next_cursor"].as_str() {
                Some(next) if !empty => cursor = Some(next.to_owned()),
                _ => return Ok(all),
            }
        }
    }

    /// The token awards are made with (the district admin's).
    pub fn award_token(&self) -> &str {
        &self.admin.token
    }

    /// An award of one point to the probe resident: whether a server can write, without
    /// touching the residents whose books are checked.
    pub fn probe_award(&self) -> Value {
        json!({"user_id": self.probe.user_id, "points": 1, "reason": "探测",
               "org_id": self.community})
    }

    /// Seconds since the traffic was prepared (the clock [`Answer::at`] is on).
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
