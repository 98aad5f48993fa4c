//! The `Idempotency-Key` header of every POST that moves points or time credits or books a
//! resource. Same key + same body from the same user → the first (successful) response again,
//! nothing posted twice; same key + different body → 422 `idempotency_key_reused`.
//!
//! Usage inside a handler, around the transaction that does the work:
//! ```ignore
//! let txn = state.db.begin().await?;
//! let guard = match Idempotency::begin(&txn, &actor, key, &fingerprint, now).await? {
//!     Begun::Replay(response) => return Ok(response),
//!     Begun::Proceed(guard) => guard,
//! };
//! ... the work, on &txn ...
//! let response = guard.finish(&txn, StatusCode::CREATED, &body).await?;
//! txn.commit().await?;
//! ```

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::future::{ready, Ready};
use identity::Actor;
use platform::idempotency::{self, Claim};
use platform::Code;
use sea_orm::ConnectionTrait;
use serde::Serialize;

pub const HEADER: &str = "idempotency-key";
pub const MAX_KEY_LEN: usize = 200;

/// The optional `Idempotency-Key` header, validated: 1 to 200 visible ASCII characters.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(HEADER) else {
            return ready(Ok(Self(None)));
        };
        let valid = value.to_str().ok().map(str::trim).filter(|v| {
            !v.is_empty() && v.len() <= MAX_KEY_LEN && v.bytes().all(|b| b.is_ascii_graphic())
        });
        ready(match valid {
            Some(key) => Ok(Self(Some(key.to_owned()))),
            None => Err(ApiError::validation(platform::ValidationErrors::single(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            ))),
        })
    }
}

pub enum Begun {
    Replay(HttpResponse),
    Proceed(Guard),
}

pub struct Guard {
    claimed: Option<(String, String)>,
}

pub struct Idempotency;

impl Idempotency {
    /// Claims the key (if any) for this user and request. `fingerprint` is what makes two
    /// requests "the same": the route and the parsed body.
    pub async fn begin(
        conn: &impl ConnectionTrait,
        actor: &Actor,
        key: IdempotencyKey,
        fingerprint: &impl Serialize,
        now: DateTime<Utc>,
    ) -> Result<Begun, ApiError> {
        let Some(key) = key.0 else {
            return Ok(Begun::Proceed(Guard { claimed: None }));
        };
        let canonical = serde_json::to_string(fingerprint).map_err(ApiError::internal)?;
        let hash = platform::ids::sha256_hex(&canonical);
        match idempotency::claim(conn, &actor.user_id, &key, &hash, now).await? {
            Claim::New => Ok(Begun::Proceed(Guard {
                claimed: Some((actor.user_id.clone(), key)),
            })),
            Claim::Replay { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                Ok(Begun::Replay(
                    HttpResponse::build(status)
                        .content_type("application/json")
                        .insert_header(("idempotent-replayed", "true"))
                        .body(body),
                ))
            }
            Claim::Mismatch => Err(ApiError::new(
                Code::IdempotencyKeyReused,
                "This Idempotency-Key was already used with a different request.",
            )),
        }
    }
}

impl Guard {
    /// Stores the response for the claimed key (same transaction as the work) and builds it.
    pub async fn finish(
        self,
        conn: &impl ConnectionTrait,
        status: StatusCode,
        body: &impl Serialize,
    ) -> Result<HttpResponse, ApiError> {
        let json = serde_json::to_string(body).map_err(ApiError::internal)?;
        if let Some((user_id, key)) = &self.claimed {
            idempotency::store(conn, user_id, key, status.as_u16(), &json).await?;
        }
        Ok(HttpResponse::build(status)
            .content_type("application/json")
            .body(json))
    }
}
