//! The `Idempotency-Key` header of every POST that moves points or time credits or books a
//! resource. Same key + same body from the same user → the first (successful) response again,
//! nothing posted twice; same key + different body → 422 `idempotency_key_reused`.
//!
//! The key is claimed, and the answer stored, by the unit of work the request runs in
//! (`crate::unit_of_work`); this module only reads the header.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};

pub const HEADER: &str = "idempotency-key";
pub const MAX_KEY_LEN: usize = 200;

/// The optional `Idempotency-Key` header, validated: 1 to 200 visible ASCII characters.
#[derive(Debug, Clone)]
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
