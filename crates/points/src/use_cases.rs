//! The operations of points and time credits. Each takes the caller, its parsed command and
//! the connection of the unit of work it runs in; it checks scope, loads what it needs,
//! applies the rules and moves value through the ledger.

use crate::values::{Note, Quantity};
use crate::PointsError;
use chrono::{DateTime, Utc};
use identity::actor::district_of;
use identity::entity::{org, user};
use identity::service::{orgs, users};
use identity::{Actor, OrgKind, Role};
use platform::ValidationErrors;
use points_ledger::service::accounts::{balance_of, balances_of, Balance};
use points_ledger::service::statement::{expiring, statement, StatementLine};
use points_ledger::service::transfers::{transfer, Posted, TransferCode, TransferRequest};
use points_ledger::service::verify::{verify, VerifyReport};
use points_ledger::{AccountKind, AccountRef, Asset, ExpiryRule};
use sea_orm::ConnectionTrait;

/// What a value-moving use case needs besides its command: the time, the expiry rule of
/// points earned now, and the ledger's idempotency key for the transfer.
#[derive(Debug, Clone)]
pub struct Posting {
    pub now: DateTime<Utc>,
    pub expiry: ExpiryRule,
    pub ledger_key: String,
}

impl Posting {
    /// The ledger key is derived from the client's `Idempotency-Key` when there is one, so
    /// the ledger's own exactly-once guarantee backs the HTTP one; without, every request
    /// is new.
    pub fn new(
        actor: &Actor,
        purpose: &str,
        client_key: Option<&str>,
        now: DateTime<Utc>,
        expiry: ExpiryRule,
    ) -> Self {
        let unique = match client_key {
            Some(key) => key.to_owned(),
            None => platform::ids::new_id(),
        };
        Self {
            now,
            expiry,
            ledger_key: format!("http:{}:{purpose}:{unique}", actor.user_id),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Allocations: treasury → street or community, street → its communities.

#[derive(Debug, Clone)]
pub struct Allocation {
    pub org_id: String,
    pub points: Quantity,
    pub memo: Note,
}

#[derive(Debug, Clone)]
pub struct Allocated {
    pub transfer_id: String,
    /// The district (treasury) or street the points came from.
    pub from_org_id: String,
    pub org_id: String,
    pub points: i64,
    pub memo: String,
    /// The receiving budget's balance afterwards.
    pub balance: i64,
    pub created_at: DateTime<Utc>,
}

pub async fn allocate(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    command: Allocation,
    posting: &Posting,
) -> Result<Allocated, PointsError> {
    let target = orgs::find(conn, &command.org_id)
        .await?
        .ok_or_else(|| ValidationErrors::single("org_id", "no such org"))?;
    let kind = OrgKind::parse(&target.kind);
    if !matches!(kind, Some(OrgKind::Street | OrgKind::Community)) {
        return Err(ValidationErrors::single(
            "org_id",
            "budgets are allocated to streets and communities",
        )
        .into());
    }
    let (source, from_org_id) = match actor.staff_role_over(&target.path) {
        Some(Role::DistrictAdmin) => {
            let district = district_of(&target.path)
                .ok_or(PointsError::NotFound("district of the org"))?;
            (AccountRef::treasury(district), district.to_owned())
        }
        Some(Role::StreetStaff) if kind == Some(OrgKind::Community) => {
            let street = target
                .parent_id
                .clone()
                .ok_or(PointsError::NotFound("street of the community"))?;
            (AccountRef::org_budget(&street), street)
        }
        _ => {
            return Err(PointsError::Forbidden(
                "Only the district admin allocates from the treasury, and street staff to their own communities.",
            ))
        }
    };
    let budget = AccountRef::org_budget(&target.id);
    let posted = transfer(
        conn,
        TransferRequest {
            idempotency_key: posting.ledger_key.clone(),
            from: source,
            to: budget.clone(),
            amount: command.points.get(),
            code: TransferCode::Allocation,
            memo: command.memo.as_str().to_owned(),
            reference: Some(("org".to_owned(), target.id.clone())),
        },
        posting.expiry,
        posting.now,
    )
    .await
    .map_err(PointsError::from_budget)?;
    let balance = credited_balance(conn, &posted, &budget).await?;
    Ok(Allocated {
        transfer_id: posted.transfer.id,
        from_org_id,
        org_id: target.id,
        points: command.points.get(),
        memo: command.memo.into_string(),
        balance,
        created_at: posted.transfer.created_at,
    })
}

// ---------------------------------------------------------------------------------------
// Awards: a community's or street's budget → a resident it serves.

#[derive(Debug, Clone)]
pub struct Award {
    pub resident_id: String,
    pub points: Quantity,
    pub reason: Note,
    /// Default: the caller's own community or street.
    pub budget_org_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Awarded {
    pub transfer_id: String,
    pub user_id: String,
    pub points: i64,
    pub reason: String,
    pub budget_org_id: String,
    /// The budget's balance afterwards.
    pub budget_balance: i64,
    pub created_at: DateTime<Utc>,
}

pub async fn award(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    command: Award,
    posting: &Posting,
) -> Result<Awarded, PointsError> {
    if !actor.is_org_staff() {
        return Err(PointsError::Forbidden(
            "Only street and community staff award points.",
        ));
    }
    let budget_org_id = command
        .budget_org_id
        .clone()
        .or_else(|| {
            actor
                .staff_scopes()
                .find(|(_, org)| matches!(org.kind, OrgKind::Community | OrgKind::Street))
                .map(|(_, org)| org.id.clone())
        })
        .ok_or_else(|| {
            ValidationErrors::single("org_id", "name the community or street budget to pay from")
        })?;
    let budget_org = orgs::find(conn, &budget_org_id)
        .await?
        .ok_or_else(|| ValidationErrors::single("org_id", "no such org"))?;
    if !matches!(
        OrgKind::parse(&budget_org.kind),
        Some(OrgKind::Community | OrgKind::Street)
    ) {
        return Err(ValidationErrors::single(
            "org_id",
            "awards are paid from a community or street budget",
        )
        .into());
    }
    if !actor.can_reach(&budget_org.path) {
        return Err(PointsError::Forbidden(
            "You cannot award from another org's budget.",
        ));
    }
    let resident = users::find_resident(conn, &command.resident_id)
        .await?
        .ok_or_else(|| ValidationErrors::single("user_id", "no such resident"))?;
    ensure_budget_pays_resident(conn, &budget_org, &resident).await?;

    let budget = AccountRef::org_budget(&budget_org.id);
    let posted = transfer(
        conn,
        TransferRequest {
            idempotency_key: posting.ledger_key.clone(),
            from: budget.clone(),
            to: AccountRef::wallet(Asset::Points, &resident.id),
            amount: command.points.get(),
            code: TransferCode::Award,
            memo: command.reason.as_str().to_owned(),
            reference: Some(("staff".to_owned(), actor.user_id.clone())),
        },
        posting.expiry,
        posting.now,
    )
    .await
    .map_err(PointsError::from_budget)?;
    let budget_balance = debited_balance(conn, &posted, &budget).await?;
    Ok(Awarded {
        transfer_id: posted.transfer.id,
        user_id: resident.id,
        points: command.points.get(),
        reason: command.reason.into_string(),
        budget_org_id: budget_org.id,
        budget_balance,
        created_at: posted.transfer.created_at,
    })
}

/// A budget pays residents of its own org's subtree, or residents who checked in at an
/// activity run in that subtree (volunteers come from elsewhere too). Anything wider would
/// let one street's budget flow to another street's residents.
async fn ensure_budget_pays_resident(
    conn: &impl ConnectionTrait,
    budget_org: &org::Model,
    resident: &user::Model,
) -> Result<(), PointsError> {
    let home = match &resident.community_id {
        Some(id) => orgs::find(conn, id).await?,
        None => None,
    };
    if home.is_some_and(|c| c.path.starts_with(&budget_org.path)) {
        return Ok(());
    }
    if timebank::service::attendance::attended_under(conn, &resident.id, &budget_org.path).await? {
        return Ok(());
    }
    Err(PointsError::ResidentOutOfScope)
}

// ---------------------------------------------------------------------------------------
// Time-credit gifts between residents.

#[derive(Debug, Clone)]
pub struct Gift {
    pub to_user_id: String,
    pub minutes: Quantity,
    pub memo: Note,
}

#[derive(Debug, Clone)]
pub struct Gifted {
    pub transfer_id: String,
    pub to_user_id: String,
    pub minutes: i64,
    pub memo: String,
    /// The giver's time-credit balance afterwards.
    pub balance_minutes: i64,
    pub created_at: DateTime<Utc>,
}

pub async fn gift_time_credits(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    command: Gift,
    posting: &Posting,
) -> Result<Gifted, PointsError> {
    if command.to_user_id == actor.user_id {
        return Err(ValidationErrors::single("to_user_id", "cannot be yourself").into());
    }
    if users::find_resident(conn, &command.to_user_id)
        .await?
        .is_none()
    {
        return Err(ValidationErrors::single("to_user_id", "no such resident").into());
    }
    let own = AccountRef::wallet(Asset::TimeCredits, &actor.user_id);
    let posted = transfer(
        conn,
        TransferRequest {
            idempotency_key: posting.ledger_key.clone(),
            from: own.clone(),
            to: AccountRef::wallet(Asset::TimeCredits, &command.to_user_id),
            amount: command.minutes.get(),
            code: TransferCode::Gift,
            memo: command.memo.as_str().to_owned(),
            reference: None,
        },
        posting.expiry,
        posting.now,
    )
    .await?;
    let balance = debited_balance(conn, &posted, &own).await?;
    Ok(Gifted {
        transfer_id: posted.transfer.id,
        to_user_id: command.to_user_id,
        minutes: command.minutes.get(),
        memo: command.memo.into_string(),
        balance_minutes: balance,
        created_at: posted.transfer.created_at,
    })
}

// ---------------------------------------------------------------------------------------
// Reads.

/// A resident's two wallets, and when their points expire.
#[derive(Debug, Clone)]
pub struct Wallet {
    pub points: Balance,
    pub time_credits: Balance,
    /// Unexpired points by expiry date, soonest first.
    pub expiring: Vec<(i64, DateTime<Utc>)>,
}

pub async fn wallet(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Wallet, PointsError> {
    let balances = balances_of(conn, AccountKind::Wallet, &actor.user_id).await?;
    let points_ref = AccountRef::wallet(Asset::Points, &actor.user_id);
    let expiring = expiring(conn, &points_ref, now).await?;
    let of = |asset| balances.get(&asset).copied().unwrap_or_default();
    Ok(Wallet {
        points: of(Asset::Points),
        time_credits: of(Asset::TimeCredits),
        expiring,
    })
}

/// The caller's statement of one asset, newest first: `limit` lines before the entry
/// `before`, and the id to continue from.
pub async fn own_statement(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    asset: Asset,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<StatementLine>, Option<String>), PointsError> {
    Ok(statement(
        conn,
        &AccountRef::wallet(asset, &actor.user_id),
        limit,
        before,
    )
    .await?)
}

/// An org's points budget: the treasury for a district (negative: points issued so far).
#[derive(Debug, Clone)]
pub struct Budget {
    pub org_id: String,
    /// `treasury` or `org_budget`.
    pub kind: &'static str,
    pub balance: i64,
}

pub async fn budget(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    org_id: &str,
) -> Result<Budget, PointsError> {
    let org = orgs::find(conn, org_id)
        .await?
        .ok_or(PointsError::NotFound("org"))?;
    if !actor.can_reach(&org.path) {
        return Err(PointsError::Forbidden("This org is outside your scope."));
    }
    let (account, kind) = if org.kind == OrgKind::District.as_str() {
        (AccountRef::treasury(&org.id), "treasury")
    } else {
        (AccountRef::org_budget(&org.id), "org_budget")
    };
    let balance = balance_of(conn, &account).await?;
    Ok(Budget {
        org_id: org.id,
        kind,
        balance: balance.balance,
    })
}

/// The proof of the books, for the district admin.
pub async fn verify_books(
    conn: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<VerifyReport, PointsError> {
    if !actor.has_role(Role::DistrictAdmin) {
        return Err(PointsError::Forbidden(
            "Only the district admin verifies the ledger.",
        ));
    }
    Ok(verify(conn).await?)
}

/// The debited account's balance after `posted`: known from the posting itself, read only
/// for a replay.
async fn debited_balance(
    conn: &impl ConnectionTrait,
    posted: &Posted,
    account: &AccountRef,
) -> Result<i64, PointsError> {
    match posted.balances_after {
        Some((debit, _)) => Ok(debit),
        None => Ok(balance_of(conn, account).await?.balance),
    }
}

/// The credited account's balance after `posted` (see [`debited_balance`]).
async fn credited_balance(
    conn: &impl ConnectionTrait,
    posted: &Posted,
    account: &AccountRef,
) -> Result<i64, PointsError> {
    match posted.balances_after {
        Some((_, credit)) => Ok(credit),
        None => Ok(balance_of(conn, account).await?.balance),
    }
}
