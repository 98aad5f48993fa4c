//! Encryption at rest of care records' phone and ID numbers: XChaCha20-Poly1305 with a
//! random 192-bit nonce per value, under a 256-bit key from configuration
//! (`care.encryption_key`, base64). A stored value is `v1:` + base64(nonce ‖ ciphertext):
//! the version names the key scheme, so a later key rotation can tell old values apart.
//! A value sealed under one key cannot be opened, or forged, under another.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const PREFIX: &str = "v1:";
const NONCE: usize = 24;

/// Seals and opens values under one key. `Debug` never shows the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the care encryption key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a sealed value could not be opened (wrong key or damaged)")]
    Unreadable,
}

impl Sealer {
    /// From the base64 text of a 32-byte key.
    pub fn from_base64(key: &str) -> Result<Self, SealError> {
        let bytes = STANDARD.decode(key.trim()).map_err(|_| SealError::BadKey)?;
        if bytes.len() != 32 {
            return Err(SealError::BadKey);
        }
        Ok(Self {
            cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SealError::BadKey)?,
        })
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let body = stored.strip_prefix(PREFIX).ok_or(SealError::Unreadable)?;
        let bytes = STANDARD.decode(body).map_err(|_| SealError::Unreadable)?;
        if bytes.len() <= NONCE {
            return Err(SealError::Unreadable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| SealError::Unreadable)?;
        String::from_utf8(plain).map_err(|_| SealError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_only_and_never_shows_the_plain_text() {
        let sealer = Sealer::from_base64(&key(7)).unwrap();
        let sealed = sealer.seal("13800001111");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("13800001111"));
        assert_eq!(sealer.open(&sealed).unwrap(), "13800001111");
        // Two seals of one value differ (random nonce).
        assert_ne!(sealer.seal("13800001111"), sealed);
        let other = Sealer::from_base64(&key(8)).unwrap();
        assert_eq!(other.open(&sealed), Err(SealError::Unreadable));
        // A flipped byte is refused, not decrypted to garbage.
        let mut damaged = sealed.clone().into_bytes();
        let last = damaged.len() - 2;
        damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            sealer.open(std::str::from_utf8(&damaged).unwrap()),
            Err(SealError::Unreadable)
        );
        assert_eq!(sealer.open("13800001111"), Err(SealError::Unreadable));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert_eq!(Sealer::from_base64("short").unwrap_err(), SealError::BadKey);
        assert_eq!(
            Sealer::from_base64(&STANDARD.encode([1u8; 16])).unwrap_err(),
            SealError::BadKey
        );
        assert!(format!("{:?}", Sealer::from_base64(&key(1)).unwrap()).contains(".."));
    }
}
