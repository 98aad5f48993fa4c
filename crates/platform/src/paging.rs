//! Cursor pagination shared by every list endpoint: `?limit=` (default 20, max 100) and an
//! opaque `?cursor=` that encodes the position after the last item returned.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{de::DeserializeOwned, Serialize};

pub const DEFAULT_LIMIT: u64 = 20;
pub const MAX_LIMIT: u64 = 100;

/// Clamps a requested page size into `1..=MAX_LIMIT`.
pub fn page_limit(requested: Option<u64>) -> u64 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// Splits `limit + 1` rows fetched newest first into the page and the position to continue
/// from (the last row's key), which is `None` when there is nothing more.
pub fn split_page<T>(
    mut rows: Vec<T>,
    limit: u64,
    key_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as u64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more { rows.last().map(key_of) } else { None };
    (rows, next)
}

pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let json = serde_json::to_vec(position).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// `None` for a cursor that was not produced by [`encode_cursor`] with the same type.
pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped() {
        assert_eq!(page_limit(None), 20);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(500)), 100);
        assert_eq!(page_limit(Some(35)), 35);
    }

    #[test]
    fn pages_split_off_the_extra_row() {
        assert_eq!(
            split_page(vec![5, 4, 3], 2, |n| n.to_string()),
            (vec![5, 4], Some("4".to_owned()))
        );
        assert_eq!(
            split_page(vec![5, 4], 2, |n| n.to_string()),
            (vec![5, 4], None)
        );
        assert_eq!(
            split_page(Vec::<i32>::new(), 2, |n| n.to_string()),
            (vec![], None)
        );
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode_cursor(&("2026-01-01T00:00:00Z", "abc"));
        assert_eq!(
            decode_cursor::<(String, String)>(&c),
            Some(("2026-01-01T00:00:00Z".to_owned(), "abc".to_owned()))
        );
        assert_eq!(decode_cursor::<(String, String)>("!!not-a-cursor"), None);
    }
}
