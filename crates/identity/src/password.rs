//! Staff passwords: Argon2id with the crate's recommended parameters, stored as PHC strings.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 128;

pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// False for a wrong password or an unreadable hash.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the same time as a real verification, so a login for an unknown username takes as
/// long as one with a wrong password and does not reveal which usernames exist.
pub fn burn_verification_time(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("linli-dummy-password").ok()) {
        let _ = verify_password(password, hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_right_password() {
        let hash = hash_password("linli-demo").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("linli-demo", &hash));
        assert!(!verify_password("linli-dem0", &hash));
        assert!(!verify_password("linli-demo", "not a hash"));
    }
}
