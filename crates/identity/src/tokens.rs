//! Access tokens: HS256 JWTs pinned to that one algorithm, with issuer, audience and expiry
//! checked against the service clock. Refresh tokens are opaque random strings (see
//! `service::auth`).

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "linli";
pub const AUDIENCE: &str = "linli-api";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Session id: the login this token belongs to, revoked as a whole.
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessTokenError {
    #[error("invalid access token")]
    Invalid,
    #[error("expired access token")]
    Expired,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_seconds: i64,
}

impl TokenKeys {
    pub fn new(secret: &str, access_ttl_seconds: i64) -> Self {
        // Only HS256 is accepted: a token claiming `none`, RS256 or HS512 fails before its
        // signature is even considered.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked below against the service clock (which tests can move), not
        // against the library's own reading of the system time.
        validation.validate_exp = false;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            access_ttl_seconds,
        }
    }

    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp() + self.access_ttl_seconds,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<AccessClaims, AccessTokenError> {
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| AccessTokenError::Invalid)?;
        if data.claims.exp <= now.timestamp() {
            return Err(AccessTokenError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const SECRET: &str = "test-secret-test-secret-test-secret!";

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let keys = TokenKeys::new(SECRET, 900);
        let now = Utc::now();
        let token = keys.issue("user-1", "session-1", now).unwrap();
        let claims = keys.verify(&token, now).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str()),
            ("user-1", "session-1")
        );
        assert_eq!(
            keys.verify(&token, now + chrono::Duration::seconds(901)),
            Err(AccessTokenError::Expired)
        );
    }

    #[test]
    fn other_secrets_and_algorithms_are_refused() {
        let keys = TokenKeys::new(SECRET, 900);
        let now = Utc::now();
        let other = TokenKeys::new("another-secret-another-secret-another", 900);
        let forged = other.issue("user-1", "s", now).unwrap();
        assert_eq!(keys.verify(&forged, now), Err(AccessTokenError::Invalid));

        let token = keys.issue("user-1", "s", now).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            keys.verify(&format!("{none_header}.{payload}."), now),
            Err(AccessTokenError::Invalid)
        );

        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &keys.verify(&token, now).unwrap(),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(keys.verify(&hs512, now), Err(AccessTokenError::Invalid));
    }
}
