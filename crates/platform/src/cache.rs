//! Ephemeral shared state: Redis (through a reconnecting `ConnectionManager`) when
//! `redis.url` is set, otherwise an in-process map. Nothing here is a source of truth: every
//! key has a TTL and losing the cache loses no data, only speed and short-lived state such as
//! rate-limit windows.

use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// Hit and miss counters, exported on `/metrics`.
#[derive(Debug, Default)]
pub struct CacheStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub errors: AtomicU64,
}

#[derive(Clone)]
pub struct Cache {
    backend: Backend,
    prefix: Arc<str>,
    stats: Arc<CacheStats>,
}

#[derive(Clone)]
enum Backend {
    Redis(ConnectionManager),
    Memory(Arc<MemoryStore>),
}

/// A fixed-window counter after one more hit: how many hits the window has seen and how
/// long until it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    pub count: u64,
    pub resets_in: Duration,
}

// INCR and PEXPIRE in one step, so a crash between them cannot leave a counter that never
// resets.
const INCR_WINDOW_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

// INCR that also (re)sets the key's lifetime, in one step.
const BUMP_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
";

const DECR_WINDOW_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
";

const ZINCR_IF_EXISTS_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZINCRBY', KEYS[1], ARGV[1], ARGV[2])
end
return 0
";

impl Cache {
    /// An in-process cache: correct for a single server instance only.
    pub fn in_memory(prefix: &str) -> Self {
        Self {
            backend: Backend::Memory(Arc::new(MemoryStore::default())),
            prefix: prefix.into(),
            stats: Arc::default(),
        }
    }

    /// Connects to Redis; fails when it cannot be reached, so a misconfigured deployment stops
    /// at start rather than silently running without shared state.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(3))
            .set_response_timeout(Duration::from_secs(2))
            .set_number_of_retries(2);
        let manager = ConnectionManager::new_with_config(client, config).await?;
        let cache = Self {
            backend: Backend::Redis(manager),
            prefix: prefix.into(),
            stats: Arc::default(),
        };
        cache.ping().await?;
        Ok(cache)
    }

    pub fn is_redis(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn record<T>(&self, result: &Result<T, CacheError>) {
        if result.is_err() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        match &self.backend {
            Backend::Redis(conn) => {
                let mut conn = conn.clone();
                let result: Result<(), CacheError> = redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(CacheError::from);
                self.record(&result);
                result
            }
            Backend::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => conn
                .clone()
                .get::<_, Option<String>>(&key)
                .await
                .map_err(CacheError::from),
            Backend::Memory(store) => Ok(store.get(&key)),
        };
        self.record(&result);
        if let Ok(found) = &result {
            let counter = if found.is_some() {
                &self.stats.hits
            } else {
                &self.stats.misses
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => conn
                .clone()
                .pset_ex::<_, _, ()>(&key, value, ttl_millis(ttl))
                .await
                .map_err(CacheError::from),
            Backend::Memory(store) => {
                store.set(key, value.to_owned(), ttl);
                Ok(())
            }
        };
        self.record(&result);
        result
    }

    /// Sets the key only when it is absent; `true` when this call set it.
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ttl_millis(ttl))
                .query_async::<Option<String>>(&mut conn.clone())
                .await
                .map(|reply| reply.is_some())
                .map_err(CacheError::from),
            Backend::Memory(store) => Ok(store.set_if_absent(key, value.to_owned(), ttl)),
        };
        self.record(&result);
        result
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => conn
                .clone()
                .del::<_, ()>(&key)
                .await
                .map_err(CacheError::from),
            Backend::Memory(store) => {
                store.delete(&key);
                Ok(())
            }
        };
        self.record(&result);
        result
    }

    /// The top `count` members of the sorted set `key` with their scores, highest first;
    /// `None` when the set does not exist (or without Redis, which keeps no sorted sets).
    pub async fn ranking_top(
        &self,
        key: &str,
        count: usize,
    ) -> Result<Option<Vec<(String, i64)>>, CacheError> {
        let Backend::Redis(conn) = &self.backend else {
            return Ok(None);
        };
        let key = self.key(key);
        let mut conn = conn.clone();
        let result: Result<Option<Vec<(String, i64)>>, CacheError> = async {
            let exists: bool = conn.exists(&key).await?;
            if !exists {
                return Ok(None);
            }
            let stop = isize::try_from(count)
                .unwrap_or(isize::MAX)
                .saturating_sub(1);
            let members: Vec<(String, f64)> = conn.zrevrange_withscores(&key, 0, stop).await?;
            Ok(Some(
                members
                    .into_iter()
                    .filter(|(member, _)| !member.is_empty())
                    .map(|(member, score)| (member, score as i64))
                    .collect(),
            ))
        }
        .await;
        self.record(&result);
        result
    }

    /// Replaces the sorted set `key` with `members` at once (built aside, then renamed over).
    pub async fn ranking_replace(
        &self,
        key: &str,
        members: &[(String, i64)],
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let Backend::Redis(conn) = &self.backend else {
            return Ok(());
        };
        let key = self.key(key);
        let building = format!("{key}:building:{}", crate::ids::new_id());
        let mut pipe = redis::pipe();
        pipe.atomic();
        if members.is_empty() {
            // An empty board is still a board: a placeholder member (never returned) keeps the
            // set in existence so it is not rebuilt on every read.
            pipe.zadd(&building, "", -1).ignore();
        }
        for (member, score) in members {
            pipe.zadd(&building, member, *score).ignore();
        }
        pipe.rename(&building, &key)
            .ignore()
            .pexpire(&key, i64::try_from(ttl_millis(ttl)).unwrap_or(i64::MAX))
            .ignore();
        let result = pipe
            .query_async::<()>(&mut conn.clone())
            .await
            .map_err(CacheError::from);
        self.record(&result);
        result
    }

    /// Adds `by` to `member` in the sorted set `key`, only if the set exists (a missing set
    /// is rebuilt from the database on its next read, which will include this change).
    pub async fn ranking_add_if_present(
        &self,
        key: &str,
        member: &str,
        by: i64,
    ) -> Result<(), CacheError> {
        let Backend::Redis(conn) = &self.backend else {
            return Ok(());
        };
        let key = self.key(key);
        let result = redis::Script::new(ZINCR_IF_EXISTS_SCRIPT)
            .key(&key)
            .arg(by)
            .arg(member)
            .invoke_async::<()>(&mut conn.clone())
            .await
            .map_err(CacheError::from);
        self.record(&result);
        result
    }

    /// Counts one more hit in the fixed window `key` of length `window`.
    pub async fn hit_window(&self, key: &str, window: Duration) -> Result<WindowCount, CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => redis::Script::new(INCR_WINDOW_SCRIPT)
                .key(&key)
                .arg(ttl_millis(window))
                .invoke_async::<(u64, i64)>(&mut conn.clone())
                .await
                .map(|(count, ttl_ms)| WindowCount {
                    count,
                    resets_in: Duration::from_millis(ttl_ms.max(0).unsigned_abs()),
                })
                .map_err(CacheError::from),
            Backend::Memory(store) => Ok(store.hit_window(key, window)),
        };
        self.record(&result);
        result
    }
}

impl Cache {
    /// Two keys in one round trip (Redis `MGET`).
    pub async fn get_pair(
        &self,
        first: &str,
        second: &str,
    ) -> Result<(Option<String>, Option<String>), CacheError> {
        let keys = [self.key(first), self.key(second)];
        let result = match &self.backend {
            Backend::Redis(conn) => redis::cmd("MGET")
                .arg(&keys[..])
                .query_async::<(Option<String>, Option<String>)>(&mut conn.clone())
                .await
                .map_err(CacheError::from),
            Backend::Memory(store) => Ok((store.get(&keys[0]), store.get(&keys[1]))),
        };
        self.record(&result);
        result
    }

    /// Adds one to the counter `key` (absent counts as 0) and gives it `ttl` from now; the
    /// new value. For generation numbers that make older cache entries unreachable.
    pub async fn bump(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => redis::Script::new(BUMP_SCRIPT)
                .key(&key)
                .arg(ttl_millis(ttl))
                .invoke_async::<u64>(&mut conn.clone())
                .await
                .map_err(CacheError::from),
            Backend::Memory(store) => Ok(store.bump(key, ttl)),
        };
        self.record(&result);
        result
    }

    /// Takes one hit back from the window `key` (never below zero, never reviving an expired
    /// window): for limits that count an attempt before it is made and refund it when the
    /// attempt turns out not to count, such as a code check that succeeds.
    pub async fn unhit_window(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => redis::Script::new(DECR_WINDOW_SCRIPT)
                .key(&key)
                .invoke_async::<()>(&mut conn.clone())
                .await
                .map_err(CacheError::from),
            Backend::Memory(store) => {
                store.unhit_window(&key);
                Ok(())
            }
        };
        self.record(&result);
        result
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The in-process backend: a map with per-entry deadlines, swept now and then on write.
#[derive(Default)]
struct MemoryStore {
    entries: Mutex<HashMap<String, MemoryEntry>>,
    writes: AtomicU64,
}

struct MemoryEntry {
    value: String,
    expires_at: Instant,
}

const SWEEP_EVERY_WRITES: u64 = 1024;

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MemoryEntry>> {
        // A panic while holding this lock cannot leave the map inconsistent (each operation is
        // a single insert/remove), so a poisoned lock is safe to keep using.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn after_write(&self, entries: &mut HashMap<String, MemoryEntry>) {
        if self
            .writes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY_WRITES)
        {
            let now = Instant::now();
            entries.retain(|_, e| e.expires_at > now);
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        let entries = self.lock();
        entries
            .get(key)
            .filter(|e| e.expires_at > Instant::now())
            .map(|e| e.value.clone())
    }

    fn set(&self, key: String, value: String, ttl: Duration) {
        let mut entries = self.lock();
        entries.insert(
            key,
            MemoryEntry {
                value,
                expires_at: Instant::now() + ttl,
            },
        );
        self.after_write(&mut entries);
    }

    fn bump(&self, key: String, ttl: Duration) -> u64 {
        let mut entries = self.lock();
        let now = Instant::now();
        let next = entries
            .get(&key)
            .filter(|e| e.expires_at > now)
            .and_then(|e| e.value.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        entries.insert(
            key,
            MemoryEntry {
                value: next.to_string(),
                expires_at: now + ttl,
            },
        );
        self.after_write(&mut entries);
        next
    }

    fn set_if_absent(&self, key: String, value: String, ttl: Duration) -> bool {
        let mut entries = self.lock();
        let now = Instant::now();
        if entries.get(&key).is_some_and(|e| e.expires_at > now) {
            return false;
        }
        entries.insert(
            key,
            MemoryEntry {
                value,
                expires_at: now + ttl,
            },
        );
        self.after_write(&mut entries);
        true
    }

    fn delete(&self, key: &str) {
        self.lock().remove(key);
    }

    fn unhit_window(&self, key: &str) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key) {
            if entry.expires_at > Instant::now() {
                let count = entry.value.parse::<u64>().unwrap_or(0);
                entry.value = count.saturating_sub(1).to_string();
            }
        }
    }

    fn hit_window(&self, key: String, window: Duration) -> WindowCount {
        let mut entries = self.lock();
        let now = Instant::now();
        let entry = entries.entry(key).or_insert_with(|| MemoryEntry {
            value: "0".to_owned(),
            expires_at: now + window,
        });
        if entry.expires_at <= now {
            entry.value = "0".to_owned();
            entry.expires_at = now + window;
        }
        let count = entry.value.parse::<u64>().unwrap_or(0) + 1;
        entry.value = count.to_string();
        let resets_in = entry.expires_at.saturating_duration_since(now);
        self.after_write(&mut entries);
        WindowCount { count, resets_in }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_entries_expire() {
        let cache = Cache::in_memory("t:");
        cache
            .set("k", "v", Duration::from_millis(30))
            .await
            .unwrap();
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(cache.get("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn set_if_absent_keeps_the_first_value() {
        let cache = Cache::in_memory("t:");
        assert!(cache
            .set_if_absent("k", "first", Duration::from_secs(5))
            .await
            .unwrap());
        assert!(!cache
            .set_if_absent("k", "second", Duration::from_secs(5))
            .await
            .unwrap());
        assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("first"));
        cache.delete("k").await.unwrap();
        assert!(cache
            .set_if_absent("k", "third", Duration::from_secs(5))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn windows_count_and_reset() {
        let cache = Cache::in_memory("t:");
        let window = Duration::from_millis(40);
        assert_eq!(cache.hit_window("w", window).await.unwrap().count, 1);
        let second = cache.hit_window("w", window).await.unwrap();
        assert_eq!(second.count, 2);
        assert!(second.resets_in <= window);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.hit_window("w", window).await.unwrap().count, 1);
    }

    /// The in-process cache, or Redis when the suite runs against it (keys under a prefix of
    /// their own).
    async fn either() -> Cache {
        let prefix = format!("t-{}:", uuid::Uuid::now_v7().simple());
        match crate::testing::redis_url() {
            Some(url) => Cache::redis(&url, &prefix).await.unwrap(),
            None => Cache::in_memory(&prefix),
        }
    }

    #[tokio::test]
    async fn a_pair_comes_back_in_one_call_and_a_bump_counts_from_one() {
        let cache = either().await;
        assert_eq!(cache.get_pair("a", "b").await.unwrap(), (None, None));
        cache.set("b", "2", Duration::from_secs(5)).await.unwrap();
        assert_eq!(
            cache.get_pair("a", "b").await.unwrap(),
            (None, Some("2".to_owned()))
        );
        let ttl = Duration::from_secs(5);
        assert_eq!(cache.bump("g", ttl).await.unwrap(), 1);
        assert_eq!(cache.bump("g", ttl).await.unwrap(), 2);
        assert_eq!(cache.get("g").await.unwrap().as_deref(), Some("2"));
        // A bumped key lives for its TTL, then counting starts again.
        cache
            .bump("short", Duration::from_millis(30))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get("short").await.unwrap(), None);
        assert_eq!(cache.bump("short", ttl).await.unwrap(), 1);
    }
}
