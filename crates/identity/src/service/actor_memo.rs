//! Actors this process has already read from Redis, kept in its own memory, so that an
//! authenticated request costs one Redis round trip (session state, actor generation and
//! cache epoch in one `MGET`) instead of two.
//!
//! An entry is found only under the key it was read with: the user, their actor generation
//! and the cache's epoch, all three read from Redis on every request. A role change bumps
//! the generation (every instance misses at once, as before); a Redis that lost its data
//! (a restart without persistence, a flush) has no epoch until one is written afresh, a
//! random one, so entries memoised before can never be found again even though the
//! generations counted back from nothing. Entries also lapse after [`KEPT`], far below
//! the generations' own lifetime, so that a generation's expiry cannot revive one.

use crate::Actor;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a memoised actor is served; well below the actor generation's lifetime.
pub const KEPT: Duration = Duration::from_secs(60);
/// Entries at most (a few hundred bytes each); a full memo drops what has lapsed, then all.
const CAPACITY: usize = 50_000;

#[derive(Default)]
pub struct ActorMemo {
    entries: Mutex<HashMap<String, (Actor, Instant)>>,
}

impl ActorMemo {
    pub fn get(&self, key: &str) -> Option<Actor> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, kept_at)| kept_at.elapsed() < KEPT)
            .map(|(actor, _)| actor.clone())
    }

    pub fn put(&self, key: String, actor: Actor) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, (_, kept_at)| kept_at.elapsed() < KEPT);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (actor, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(user: &str) -> Actor {
        Actor {
            user_id: user.to_owned(),
            session_id: String::new(),
            is_resident: true,
            community_id: None,
            bindings: Vec::new(),
        }
    }

    #[test]
    fn an_actor_is_found_only_under_the_key_it_was_kept_with() {
        let memo = ActorMemo::default();
        memo.put("u1:3:e1".to_owned(), actor("u1"));
        assert_eq!(
            memo.get("u1:3:e1").map(|a| a.user_id),
            Some("u1".to_owned())
        );
        assert!(memo.get("u1:4:e1").is_none(), "another generation");
        assert!(memo.get("u1:3:e2").is_none(), "another epoch");
    }

    #[test]
    fn a_full_memo_makes_room() {
        let memo = ActorMemo::default();
        for i in 0..CAPACITY + 10 {
            memo.put(format!("u{i}:0:e"), actor("u"));
        }
        let kept = memo.entries.lock().unwrap().len();
        assert!(kept <= CAPACITY, "{kept}");
        assert!(memo.get(&format!("u{}:0:e", CAPACITY + 9)).is_some());
    }
}
