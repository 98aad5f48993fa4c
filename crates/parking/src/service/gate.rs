//! The lot's plate camera reports entries and exits as signed webhooks. The signature is an
//! HMAC-SHA256 of the raw body with the lot's gate secret, `sha256=<hex>`; an event more than
//! five minutes from the server's clock is refused (a captured request cannot be replayed
//! later), and a repeated event id is answered as the first time without doing anything.

use crate::entity::{gate_event, lot};
use crate::service::bookings::{self, ExitCharge};
use crate::service::lots::find;
use crate::{plate, ParkingError};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use points_ledger::ExpiryRule;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateEvent {
    pub event_id: String,
    pub lot_id: String,
    pub plate: String,
    /// `entry` or `exit`.
    pub kind: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GateDecision {
    /// `open` or `deny`.
    pub action: String,
    pub booking_id: Option<String>,
    pub charged_points: Option<i64>,
    /// Why the gate stays shut, e.g. `no_booking`.
    pub reason: Option<String>,
}

impl GateDecision {
    fn open(booking_id: Option<String>, charged_points: Option<i64>) -> Self {
        Self {
            action: "open".to_owned(),
            booking_id,
            charged_points,
            reason: None,
        }
    }

    fn deny(reason: &str) -> Self {
        Self {
            action: "deny".to_owned(),
            booking_id: None,
            charged_points: None,
            reason: Some(reason.to_owned()),
        }
    }
}

/// `sha256=<hex>` of the body with the secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn signature_matches(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex_part) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_part) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Checks who sent it and when; returns the event and its lot.
pub async fn authenticate(
    conn: &impl ConnectionTrait,
    body: &[u8],
    signature_header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(GateEvent, lot::Model), ParkingError> {
    // Nothing is said about a body that does not verify, not even whether the lot exists:
    // only `lot_id` is read before the signature is checked (it names the key).
    let lot_id = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("lot_id")
                .and_then(|id| id.as_str())
                .map(str::to_owned)
        })
        .ok_or(ParkingError::BadSignature)?;
    let lot = find(conn, &lot_id)
        .await
        .map_err(|_| ParkingError::BadSignature)?;
    let header = signature_header.ok_or(ParkingError::BadSignature)?;
    if !signature_matches(&lot.gate_secret, body, header) {
        return Err(ParkingError::BadSignature);
    }
    // Signed by the lot's camera but not an event we understand: say what is wrong.
    let event: GateEvent = serde_json::from_slice(body).map_err(|e| {
        ParkingError::Validation(platform::ValidationErrors::single(
            "body",
            format!("is not a gate event: {e}"),
        ))
    })?;
    if (event.at - now).abs() > Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
        return Err(ParkingError::StaleEvent);
    }
    Ok((event, lot))
}

/// The answer already given to this event id, if it was seen.
pub async fn earlier_answer(
    conn: &impl ConnectionTrait,
    event: &GateEvent,
) -> Result<Option<GateDecision>, ParkingError> {
    let seen = gate_event::Entity::find_by_id((event.lot_id.clone(), event.event_id.clone()))
        .one(conn)
        .await?;
    Ok(seen.and_then(|e| serde_json::from_str(&e.response).ok()))
}

/// Decides, acts and records the event, once per event id. The event row is claimed first
/// (an insert that does nothing when the id is known): a duplicate racing this one waits on
/// PostgreSQL for the first to commit, then answers as it did; on SQLite, writers are
/// serialised anyway. The caller runs this in one transaction.
pub async fn handle(
    conn: &impl ConnectionTrait,
    lot: &lot::Model,
    event: &GateEvent,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<GateDecision, ParkingError> {
    let claim = gate_event::Entity::insert(gate_event::ActiveModel {
        lot_id: Set(lot.id.clone()),
        event_id: Set(event.event_id.clone()),
        plate: Set(event.plate.chars().take(16).collect()),
        kind: Set(event.kind.chars().take(8).collect()),
        at: Set(event.at),
        response: Set(String::new()),
        received_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([gate_event::Column::LotId, gate_event::Column::EventId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    if claim == 0 {
        return earlier_answer(conn, event)
            .await?
            .ok_or(ParkingError::Changed);
    }
    let decision = decide(conn, lot, event, rule, now).await?;
    gate_event::Entity::update_many()
        .col_expr(
            gate_event::Column::Response,
            Expr::value(serde_json::to_string(&decision).unwrap_or_default()),
        )
        .filter(gate_event::Column::LotId.eq(lot.id.clone()))
        .filter(gate_event::Column::EventId.eq(event.event_id.clone()))
        .exec(conn)
        .await?;
    Ok(decision)
}

async fn decide(
    conn: &impl ConnectionTrait,
    lot: &lot::Model,
    event: &GateEvent,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<GateDecision, ParkingError> {
    Ok(
        match (plate::normalize(&event.plate), event.kind.as_str()) {
            (None, _) => GateDecision::deny("unreadable_plate"),
            (Some(plate), "entry") => match bookings::bookable_entry(conn, lot, &plate, now).await?
            {
                Some(booking) if bookings::enter(conn, &booking, now).await? => {
                    GateDecision::open(Some(booking.id), None)
                }
                _ => GateDecision::deny("no_booking"),
            },
            (Some(plate), "exit") => match bookings::parked(conn, lot, &plate).await? {
                Some(booking) => {
                    let ExitCharge {
                        charged, overstay, ..
                    } = bookings::exit(conn, lot, &booking, rule, now).await?;
                    GateDecision::open(Some(booking.id), Some(charged + overstay))
                }
                // Never trap a car: an exit without a parked booking opens and charges nothing.
                None => GateDecision::open(None, None),
            },
            _ => GateDecision::deny("unknown_kind"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_body_and_secret_verify() {
        let body = br#"{"event_id":"e1"}"#;
        let header = signature("secret", body);
        assert!(signature_matches("secret", body, &header));
        assert!(!signature_matches("other", body, &header));
        assert!(!signature_matches(
            "secret",
            br#"{"event_id":"e2"}"#,
            &header
        ));
        assert!(!signature_matches(
            "secret",
            body,
            header.trim_start_matches("sha256=")
        ));
        assert!(!signature_matches("secret", body, "sha256=zz"));
    }
}
