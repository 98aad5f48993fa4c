//! Ephemeral shared state: Redis (through a reconnecting `ConnectionManager`) when
//! `redis.url` is set, otherwise an in-process map. Nothing here is a source of truth: every
//! key has a TTL and losing the cache loses no data, only speed and short-lived state such as
//! rate-limit windows.
//!
//! When Redis stops answering, the first failed call marks it down ([`Outage`]): from then on
//! every call fails at once (callers fall back to the database) instead of each request
//! waiting out a timeout, and a background probe pings Redis until it answers. Writes that
//! must not be lost to the outage (a session revocation, a cache generation bump) are owed:
//! [`Cache::set_or_owe`] and [`Cache::bump_or_owe`] keep them and the probe replays them
//! before Redis is used again, so a revocation made during a partition still overwrites what
//! Redis remembered from before it.

use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis failed recently and has not answered the probe since; not asked again until it does.
    #[error("redis is down (not asked until it answers a ping again)")]
    Down,
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
    /// Redis's health as this process last saw it (always up for the in-process map).
    outage: Arc<Outage>,
}

/// The longest any call waits on Redis, reconnection included, before Redis is marked down.
const CALL_AT_MOST: Duration = Duration::from_secs(3);

fn timed_out() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer from Redis in time",
    ))
}

/// How often the probe pings a Redis that is down.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// Owed writes kept at most; beyond it the oldest are dropped (and logged). A revocation is
/// one entry, so this covers far more logouts than an outage of minutes sees.
const OWED_AT_MOST: usize = 100_000;

/// Whether Redis is down, and the writes owed to it.
#[derive(Default)]
struct Outage {
    down: AtomicBool,
    owed: Mutex<VecDeque<Owed>>,
}

/// A write that must reach Redis once it answers again.
#[derive(Debug, Clone)]
enum Owed {
    /// SET with what remains of its lifetime at replay (dropped if none remains).
    Set {
        key: String,
        value: String,
        expires_at: Instant,
    },
    Bump {
        key: String,
        ttl: Duration,
    },
}

impl Outage {
    fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    fn lock_owed(&self) -> std::sync::MutexGuard<'_, VecDeque<Owed>> {
        // Each operation on the queue is a single push or drain: a poisoned lock left it whole.
        self.owed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn owe(&self, write: Owed) {
        let mut owed = self.lock_owed();
        if owed.len() >= OWED_AT_MOST {
            owed.pop_front();
            tracing::error!("too many writes owed to Redis; the oldest is dropped");
        }
        owed.push_back(write);
    }
}

/// Errors that say Redis cannot be reached (as opposed to a bad command or reply).
fn is_unreachable(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
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
            outage: Arc::default(),
        }
    }

    /// Connects to Redis; fails when it cannot be reached, so a misconfigured deployment stops
    /// at start rather than silently running without shared state.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let client = redis::Client::open(url)?;
        // The manager's reconnection attempts back off between tries; its factor multiplies
        // the delay each time (100 by default: a second, then well over a minute, during
        // which every command waits for the reconnection). Short, capped delays let a
        // reconnection give up within a few seconds; the probe below starts the next one.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(2))
            .set_number_of_retries(2)
            .set_factor(2)
            .set_max_delay(200);
        let manager = ConnectionManager::new_with_config(client, config).await?;
        let cache = Self {
            backend: Backend::Redis(manager.clone()),
            prefix: prefix.into(),
            stats: Arc::default(),
            outage: Arc::default(),
        };
        cache.ping().await?;
        tokio::spawn(probe(Arc::downgrade(&cache.outage), manager));
        Ok(cache)
    }

    /// True while Redis is marked down (calls fail at once until the probe reaches it).
    pub fn is_down(&self) -> bool {
        self.outage.is_down()
    }

    /// Writes owed to Redis, waiting for it to answer.
    pub fn owed_writes(&self) -> usize {
        self.outage.lock_owed().len()
    }

    /// Runs `op` on Redis unless it is marked down; a failure that says Redis cannot be
    /// reached marks it down.
    async fn on_redis<T, F, Fut>(&self, conn: &ConnectionManager, op: F) -> Result<T, CacheError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if self.outage.is_down() {
            return Err(CacheError::Down);
        }
        // Bounded as a whole: a command may first wait for a reconnection in progress.
        let result = tokio::time::timeout(CALL_AT_MOST, op(conn.clone()))
            .await
            .unwrap_or_else(|_| Err(timed_out()));
        if let Err(e) = &result {
            if is_unreachable(e) && !self.outage.down.swap(true, Ordering::AcqRel) {
                tracing::warn!(error = %e, "Redis cannot be reached; falling back until it answers");
            }
        }
        result.map_err(CacheError::from)
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
                let result = self
                    .on_redis(conn, |mut conn| async move {
                        redis::cmd("PING").query_async::<String>(&mut conn).await
                    })
                    .await
                    .map(|_| ());
                self.record(&result);
                result
            }
            Backend::Memory(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => {
                self.on_redis(conn, |mut conn| async move {
                    conn.get::<_, Option<String>>(&key).await
                })
                .await
            }
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
            Backend::Redis(conn) => {
                self.on_redis(conn, |mut conn| async move {
                    conn.pset_ex::<_, _, ()>(&key, value, ttl_millis(ttl)).await
                })
                .await
            }
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
            Backend::Redis(conn) => self
                .on_redis(conn, |mut conn| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(value)
                        .arg("NX")
                        .arg("PX")
                        .arg(ttl_millis(ttl))
                        .query_async::<Option<String>>(&mut conn)
                        .await
                })
                .await
                .map(|reply| reply.is_some()),
            Backend::Memory(store) => Ok(store.set_if_absent(key, value.to_owned(), ttl)),
        };
        self.record(&result);
        result
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => {
                self.on_redis(
                    conn,
                    |mut conn| async move { conn.del::<_, ()>(&key).await },
                )
                .await
            }
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
        let result = self
            .on_redis(conn, |mut conn| async move {
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
            })
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
        let result = self
            .on_redis(conn, |mut conn| async move {
                pipe.query_async::<()>(&mut conn).await
            })
            .await;
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
        let result = self
            .on_redis(conn, |mut conn| async move {
                redis::Script::new(ZINCR_IF_EXISTS_SCRIPT)
                    .key(&key)
                    .arg(by)
                    .arg(member)
                    .invoke_async::<()>(&mut conn)
                    .await
            })
            .await;
        self.record(&result);
        result
    }

    /// Counts one more hit in the fixed window `key` of length `window`.
    pub async fn hit_window(&self, key: &str, window: Duration) -> Result<WindowCount, CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => self
                .on_redis(conn, |mut conn| async move {
                    redis::Script::new(INCR_WINDOW_SCRIPT)
                        .key(&key)
                        .arg(ttl_millis(window))
                        .invoke_async::<(u64, i64)>(&mut conn)
                        .await
                })
                .await
                .map(|(count, ttl_ms)| WindowCount {
                    count,
                    resets_in: Duration::from_millis(ttl_ms.max(0).unsigned_abs()),
                }),
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
        let [a, b] = self.get_many([first, second]).await?;
        Ok((a, b))
    }

    /// `N` keys in one round trip (Redis `MGET`), in order.
    pub async fn get_many<const N: usize>(
        &self,
        keys: [&str; N],
    ) -> Result<[Option<String>; N], CacheError> {
        let keys = keys.map(|k| self.key(k));
        let result = match &self.backend {
            Backend::Redis(conn) => {
                let keys = &keys;
                self.on_redis(conn, |mut conn| async move {
                    redis::cmd("MGET")
                        .arg(&keys[..])
                        .query_async::<Vec<Option<String>>>(&mut conn)
                        .await
                })
                .await
                .and_then(|values| {
                    <[Option<String>; N]>::try_from(values).map_err(|_| {
                        CacheError::from(redis::RedisError::from((
                            redis::ErrorKind::TypeError,
                            "MGET answered another number of values",
                        )))
                    })
                })
            }
            Backend::Memory(store) => Ok(keys.map(|k| store.get(&k))),
        };
        self.record(&result);
        result
    }

    /// Adds one to the counter `key` (absent counts as 0) and gives it `ttl` from now; the
    /// new value. For generation numbers that make older cache entries unreachable.
    pub async fn bump(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        let key = self.key(key);
        let result = match &self.backend {
            Backend::Redis(conn) => {
                self.on_redis(conn, |mut conn| async move {
                    redis::Script::new(BUMP_SCRIPT)
                        .key(&key)
                        .arg(ttl_millis(ttl))
                        .invoke_async::<u64>(&mut conn)
                        .await
                })
                .await
            }
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
            Backend::Redis(conn) => {
                self.on_redis(conn, |mut conn| async move {
                    redis::Script::new(DECR_WINDOW_SCRIPT)
                        .key(&key)
                        .invoke_async::<()>(&mut conn)
                        .await
                })
                .await
            }
            Backend::Memory(store) => {
                store.unhit_window(&key);
                Ok(())
            }
        };
        self.record(&result);
        result
    }
}

impl Cache {
    /// [`Cache::set`] that, when Redis cannot take it now, is kept and replayed before Redis
    /// is used again (by this process, if it lives that long). For values that overrule what
    /// Redis may still hold from before an outage, such as a session's revocation. The error
    /// is still returned, for the caller's log.
    pub async fn set_or_owe(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), CacheError> {
        let result = self.set(key, value, ttl).await;
        if result.is_err() {
            self.outage.owe(Owed::Set {
                key: self.key(key),
                value: value.to_owned(),
                expires_at: Instant::now() + ttl,
            });
        }
        result
    }

    /// [`Cache::bump`] that, when Redis cannot take it now, is replayed before Redis is used
    /// again: for generations that invalidate entries cached before the outage.
    pub async fn bump_or_owe(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        let result = self.bump(key, ttl).await;
        if result.is_err() {
            self.outage.owe(Owed::Bump {
                key: self.key(key),
                ttl,
            });
        }
        result
    }
}

/// While the cache lives: when Redis is marked down, pings it every [`PROBE_EVERY`]; once it
/// answers, replays the owed writes in order and only then marks it up, so no request reads
/// what an owed write overrules.
async fn probe(outage: Weak<Outage>, conn: ConnectionManager) {
    loop {
        tokio::time::sleep(PROBE_EVERY).await;
        let Some(outage) = outage.upgrade() else {
            return;
        };
        if !outage.is_down() {
            continue;
        }
        let mut conn = conn.clone();
        let ping = redis::cmd("PING");
        let answer = tokio::time::timeout(CALL_AT_MOST, ping.query_async::<String>(&mut conn));
        if !matches!(answer.await, Ok(Ok(_))) {
            continue;
        }
        match replay(&outage, &mut conn).await {
            Ok(replayed) => {
                outage.down.store(false, Ordering::Release);
                tracing::warn!(replayed, "Redis answers again; owed writes replayed");
            }
            Err(e) => tracing::warn!(error = %e, "Redis answered a ping but not the owed writes"),
        }
    }
}

/// Sends the owed writes oldest first; one that fails goes back to the front of the queue
/// with those after it.
async fn replay(outage: &Outage, conn: &mut ConnectionManager) -> redis::RedisResult<usize> {
    let pending: Vec<Owed> = outage.lock_owed().drain(..).collect();
    let mut replayed = 0;
    for (n, write) in pending.iter().enumerate() {
        let sent = match write {
            Owed::Set {
                key,
                value,
                expires_at,
            } => {
                let left = expires_at.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Ok(())
                } else {
                    conn.pset_ex::<_, _, ()>(key, value, ttl_millis(left)).await
                }
            }
            Owed::Bump { key, ttl } => redis::Script::new(BUMP_SCRIPT)
                .key(key)
                .arg(ttl_millis(*ttl))
                .invoke_async::<u64>(conn)
                .await
                .map(|_| ()),
        };
        if let Err(e) = sent {
            let mut owed = outage.lock_owed();
            for unsent in pending[n..].iter().rev() {
                owed.push_front(unsent.clone());
            }
            return Err(e);
        }
        replayed += 1;
    }
    Ok(replayed)
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

    /// Redis of this test's own, when the suite runs against Redis (the README command
    /// without it has no `redis-server` to start).
    async fn own_redis() -> Option<crate::testing::RedisServer> {
        crate::testing::redis_url()?;
        Some(
            crate::testing::RedisServer::start()
                .await
                .expect("redis-server starts (it is on the PATH wherever Redis is)"),
        )
    }

    async fn until_up(cache: &Cache) {
        for _ in 0..100 {
            if !cache.is_down() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the cache did not come back up within 10 s of Redis answering");
    }

    #[tokio::test]
    async fn a_partitioned_redis_is_skipped_and_gets_owed_writes_before_it_is_used_again() {
        let Some(redis) = own_redis().await else {
            return;
        };
        let cache = Cache::redis(&redis.url, "t:").await.unwrap();
        let long = Duration::from_secs(60);
        cache.set("session", "active:u1", long).await.unwrap();
        cache.set("generation", "4", long).await.unwrap();

        redis.pause().unwrap();
        assert!(cache.set_or_owe("session", "revoked", long).await.is_err());
        assert!(cache.is_down(), "a timed-out call marks Redis down");
        // Down: nothing waits on Redis any more.
        assert!(matches!(cache.get("session").await, Err(CacheError::Down)));
        assert!(matches!(
            cache.bump_or_owe("generation", long).await,
            Err(CacheError::Down)
        ));
        assert!(cache.ping().await.is_err());
        assert_eq!(cache.owed_writes(), 2);

        redis.resume().unwrap();
        until_up(&cache).await;
        assert_eq!(cache.owed_writes(), 0);
        // What Redis remembered from before the partition is overruled by what was owed.
        assert_eq!(
            cache.get("session").await.unwrap().as_deref(),
            Some("revoked")
        );
        assert_eq!(cache.get("generation").await.unwrap().as_deref(), Some("5"));
        // A plain write during the outage is not owed: it was best effort.
        assert_eq!(cache.get("plain").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_redis_that_restarts_empty_is_used_again_with_the_owed_writes() {
        let Some(mut redis) = own_redis().await else {
            return;
        };
        let cache = Cache::redis(&redis.url, "t:").await.unwrap();
        let long = Duration::from_secs(60);
        redis.kill();
        assert!(cache.set_or_owe("session", "revoked", long).await.is_err());
        assert!(cache.is_down());
        assert!(cache.set("plain", "x", long).await.is_err());
        // Long enough for the connection's own reconnection attempts to give up.
        tokio::time::sleep(Duration::from_secs(5)).await;
        redis.restart().await.unwrap();
        until_up(&cache).await;
        assert_eq!(
            cache.get("session").await.unwrap().as_deref(),
            Some("revoked")
        );
        assert_eq!(cache.get("plain").await.unwrap(), None);
        cache.set("plain", "y", long).await.unwrap();
        assert_eq!(cache.get("plain").await.unwrap().as_deref(), Some("y"));
    }
}
