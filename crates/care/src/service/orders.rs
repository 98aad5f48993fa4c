//! Home-service orders (家政订单): a resident orders a home service for themself, paid in
//! points or in time credits from their wallet; or community staff order one for a care
//! recipient, paid from the community's public-benefit budget (公益, e.g. on festivals).
//! Either way the price is held on the payer's account like a reservation's, until the
//! orderer confirms (posted to the partner) or someone cancels (released). The moves
//! after ordering are in [`super::order_moves`].

use super::access::{self, reach, Reach};
use super::order_notes;
use super::recipients::find_reachable;
use crate::entity::order;
use crate::order_state::{OrderStatus, Party};
use crate::CareError;
use chrono::{DateTime, Duration, Utc};
use identity::service::orgs;
use identity::Actor;
use merchant::offer_rules::OfferKind;
use merchant::service::offers;
use platform::ids::new_id;
use platform::validation::text_field;
use platform::ValidationErrors;
use points_ledger::service::holds::{self, HoldRequest};
use points_ledger::{AccountRef, Asset, LedgerError};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// How far ahead a home service may be ordered.
pub const MAX_DAYS_AHEAD: i64 = 90;
/// How long the payment stays held past the wanted time: long enough for the work and the
/// confirmation; an order left unconfirmed beyond it has its hold released by the ledger.
pub const HOLD_DAYS_AFTER: i64 = 60;

#[derive(Debug, Clone)]
pub struct NewOrder {
    pub offer_id: String,
    /// Staff ordering for a care recipient of their community.
    pub for_care_recipient_id: Option<String>,
    pub at: DateTime<Utc>,
    pub address_note: String,
    /// `points` (default) or `time_credits` (when the offer takes them); residents only.
    pub pay_with: Option<String>,
}

/// Who pays, from which account, in what.
struct Payment {
    account: AccountRef,
    price: i64,
    paid_by: &'static str,
}

fn resident_payment(
    offer: &merchant::entity::offer::Model,
    actor: &Actor,
    pay_with: Option<&str>,
) -> Result<Payment, CareError> {
    let asset = match pay_with.unwrap_or("points") {
        "points" => Asset::Points,
        "time_credits" => Asset::TimeCredits,
        _ => {
            return Err(
                ValidationErrors::single("pay_with", "must be points or time_credits").into(),
            )
        }
    };
    let price = match asset {
        Asset::Points => offer.points_price,
        Asset::TimeCredits => offer.time_credits_price.ok_or_else(|| {
            ValidationErrors::single("pay_with", "this home service is paid in points only")
        })?,
    };
    Ok(Payment {
        account: AccountRef::wallet(asset, &actor.user_id),
        price,
        paid_by: "resident",
    })
}

/// The offer, when it is a home service in the catalog.
async fn home_service_offer(
    conn: &impl ConnectionTrait,
    offer_id: &str,
    now: DateTime<Utc>,
) -> Result<merchant::entity::offer::Model, CareError> {
    let offer = offers::public_offer(conn, offer_id, now).await?;
    if offer.kind != OfferKind::HomeService.as_str() {
        return Err(CareError::NotAHomeService);
    }
    Ok(offer)
}

fn check_fields(input: &NewOrder, now: DateTime<Utc>) -> Result<String, CareError> {
    let mut errors = ValidationErrors::new();
    if input.at < now - Duration::hours(1) {
        errors.add("at", "must not be in the past");
    } else if input.at > now + Duration::days(MAX_DAYS_AHEAD) {
        errors.add("at", format!("must be within {MAX_DAYS_AHEAD} days"));
    }
    let note = text_field(&mut errors, "address_note", &input.address_note, 0, 200);
    errors.into_result()?;
    Ok(note)
}

/// Places an order: the payment held, the partner's staff told.
pub async fn place(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewOrder,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    let address_note = check_fields(&input, now)?;
    let offer = home_service_offer(conn, &input.offer_id, now).await?;
    let id = new_id();
    let (payment, user_id, recipient_id, org_path) = match &input.for_care_recipient_id {
        Some(recipient_id) => {
            let (recipient, how) = find_reachable(conn, actor, recipient_id).await?;
            if how != Reach::Write {
                return Err(CareError::Forbidden(
                    "Street staff read care records; the community's staff order for them.",
                ));
            }
            if input.pay_with.as_deref().is_some_and(|p| p != "points") {
                return Err(ValidationErrors::single(
                    "pay_with",
                    "the community's public-benefit budget pays in points",
                )
                .into());
            }
            access::log(
                conn,
                &recipient.id,
                actor,
                "order",
                "home-service order",
                now,
            )
            .await?;
            let payment = Payment {
                account: AccountRef::org_budget(&recipient.community_id),
                price: offer.points_price,
                paid_by: "community",
            };
            (
                payment,
                recipient.user_id,
                Some(recipient.id),
                recipient.org_path,
            )
        }
        None => {
            let payment = resident_payment(&offer, actor, input.pay_with.as_deref())?;
            let partner = merchant::entity::merchant::Entity::find_by_id(offer.merchant_id.clone())
                .one(conn)
                .await?
                .ok_or(CareError::NotFound("offer"))?;
            let path = orgs::find(conn, &partner.community_id)
                .await?
                .map(|c| c.path)
                .ok_or(CareError::NotFound("offer"))?;
            (payment, Some(actor.user_id.clone()), None, path)
        }
    };
    let hold = holds::reserve(
        conn,
        HoldRequest {
            idempotency_key: format!("home-service:{id}"),
            account: payment.account.clone(),
            amount: payment.price,
            expires_at: input.at + Duration::days(HOLD_DAYS_AFTER),
            reference: Some(("home_service_order".to_owned(), id.clone())),
        },
        now,
    )
    .await
    .map_err(|e| match e {
        LedgerError::Insufficient { .. } if payment.paid_by == "community" => {
            CareError::BudgetExhausted
        }
        other => other.into(),
    })?;
    offers::take_stock(conn, &offer).await?;
    let row = order::Model {
        id,
        offer_id: offer.id,
        partner_id: offer.merchant_id,
        offer_title: offer.title,
        user_id,
        ordered_by: actor.user_id.clone(),
        care_recipient_id: recipient_id,
        org_path,
        asset: payment.account.asset.as_str().to_owned(),
        price: payment.price,
        paid_by: payment.paid_by.to_owned(),
        hold_id: hold.id,
        at: input.at,
        address_note,
        status: OrderStatus::Requested,
        worker_id: None,
        dispatched_at: None,
        completed_at: None,
        confirmed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        rating: None,
        rating_comment: None,
        created_at: now,
        updated_at: now,
    };
    order::Entity::insert(order::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    order_notes::placed(conn, &row, now).await?;
    Ok(row)
}

/// How the actor stands to the order: its orderer (the resident, or community staff of a
/// care recipient's community), the partner's staff, or nobody (not found).
pub fn party_of(actor: &Actor, row: &order::Model) -> Option<Party> {
    let orderer = match &row.care_recipient_id {
        None => row.ordered_by == actor.user_id,
        Some(_) => reach(actor, &row.org_path) == Some(Reach::Write),
    };
    if orderer {
        Some(Party::Orderer)
    } else if actor.merchant_ids().contains(&row.partner_id) {
        Some(Party::Partner)
    } else {
        None
    }
}

/// One order, for those who may see it: the parties, the resident served, and the street
/// above a care recipient's community (read only).
pub async fn find(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    order_id: &str,
) -> Result<order::Model, CareError> {
    let row = order::Entity::find_by_id(order_id.to_owned())
        .one(conn)
        .await?
        .ok_or(CareError::NotFound("order"))?;
    let served = row.user_id.as_deref() == Some(actor.user_id.as_str());
    let street = row.care_recipient_id.is_some() && reach(actor, &row.org_path).is_some();
    if served || street || party_of(actor, &row).is_some() {
        Ok(row)
    } else {
        Err(CareError::NotFound("order"))
    }
}

/// The orders the actor placed or is served by, newest first.
pub async fn mine(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    limit: u64,
) -> Result<Vec<order::Model>, CareError> {
    Ok(order::Entity::find()
        .filter(
            Condition::any()
                .add(order::Column::UserId.eq(actor.user_id.as_str()))
                .add(order::Column::OrderedBy.eq(actor.user_id.as_str())),
        )
        .order_by_desc(order::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}

/// A partner's orders, newest first, for its own staff; optionally of one status.
pub async fn of_partner(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
    status: Option<OrderStatus>,
    limit: u64,
) -> Result<Vec<order::Model>, CareError> {
    offers::merchant_of_member(conn, actor, partner_id).await?;
    let mut query = order::Entity::find().filter(order::Column::PartnerId.eq(partner_id));
    if let Some(status) = status {
        query = query.filter(order::Column::Status.eq(status));
    }
    Ok(query
        .order_by_desc(order::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}
