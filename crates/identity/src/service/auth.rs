//! Logins, token rotation, logout and request authentication.
//!
//! A login opens an `auth_session`; it hands out a short-lived access JWT and a single-use
//! refresh token. Each refresh marks the presented token used and issues a new pair in the
//! same session. Presenting a used refresh token again means it leaked (or a client raced
//! itself): the whole session is revoked. Revocation is written to the database and to the
//! cache, which every API instance consults, so a logout takes effect everywhere at once.
//! An access token is accepted only for the user its session belongs to, and never for a
//! disabled staff account (checked on every request and every refresh).

use crate::entity::{auth_session, refresh_token, staff_account};
use crate::password::{burn_verification_time, verify_password};
use crate::service::actor_memo::ActorMemo;
use crate::service::users::{find_or_create_resident, find_resident_by_openid};
use crate::tokens::{AccessTokenError, TokenKeys};
use crate::{Actor, Binding, IdentityError, OrgKind, OrgRef, Role};
use chrono::{DateTime, Duration, Utc};
use platform::ids::{new_id, random_token, sha256_hex};
use platform::{Cache, Clock};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter,
    Set, Statement, TransactionTrait,
};
use wechat::WechatClient;

/// How long an instance may trust a cached "session active" answer. Revocations are written
/// through to the cache, so this only bounds staleness when the cache was lost.
const ACTIVE_SESSION_CACHE: std::time::Duration = std::time::Duration::from_secs(60);
const REFRESH_TOKEN_BYTES: usize = 32;
/// How long a cached actor (roles, scopes, community) may be served. Changes do not wait
/// for it: they bump the user's generation (see [`AuthService::forget_actor`]).
const ACTOR_CACHE: std::time::Duration = std::time::Duration::from_secs(600);
/// A generation outlives every actor cached under an older one by far, so that its expiry
/// (counting restarts at 1) can never bring an old entry back.
const ACTOR_GENERATION_TTL: std::time::Duration = std::time::Duration::from_secs(86_400);
/// A random value that lives as long as the cache's data: when Redis loses everything,
/// the next request writes a new one and nothing memoised before is found again.
const CACHE_EPOCH_KEY: &str = "cache:epoch";
const CACHE_EPOCH_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

#[derive(Debug, Clone)]
pub struct LoginResult {
    pub tokens: TokenPair,
    pub user_id: String,
    pub roles: Vec<Role>,
}

#[derive(Clone)]
pub struct AuthService {
    db: DatabaseConnection,
    /// Where `authenticate` reads sessions and actors (see [`AuthService::reading_from`]).
    reads: DatabaseConnection,
    /// Where logins and token rotations are written in one statement on PostgreSQL (see
    /// [`AuthService::writing_sessions_to`]).
    session_writes: DatabaseConnection,
    cache: Cache,
    wechat: WechatClient,
    keys: TokenKeys,
    clock: Clock,
    refresh_ttl: Duration,
    /// Actors read from Redis, kept in this process (see [`super::actor_memo`]).
    memo: std::sync::Arc<ActorMemo>,
}

fn session_cache_key(session_id: &str) -> String {
    format!("auth:session:{session_id}")
}

/// The user's actor generation: bumped after every change to their roles, scopes, community
/// or status, which makes every actor cached before it unreachable on every instance.
fn actor_generation_key(user_id: &str) -> String {
    format!("auth:actor-generation:{user_id}")
}

fn actor_cache_key(user_id: &str, generation: &str) -> String {
    format!("auth:actor:v1:{user_id}:{generation}")
}

impl AuthService {
    pub fn new(
        db: DatabaseConnection,
        cache: Cache,
        wechat: WechatClient,
        keys: TokenKeys,
        clock: Clock,
        refresh_ttl_days: i64,
    ) -> Self {
        Self {
            reads: db.clone(),
            session_writes: db.clone(),
            db,
            cache,
            wechat,
            keys,
            clock,
            refresh_ttl: Duration::days(refresh_ttl_days),
            memo: std::sync::Arc::default(),
        }
    }

    /// Authenticates through `reads` (the SQLite reader pool), so that checking a token
    /// never waits for the writer.
    pub fn reading_from(mut self, reads: DatabaseConnection) -> Self {
        self.reads = reads;
        self
    }

    /// Writes the one-statement login and refresh through `pool`: on PostgreSQL,
    /// `platform::db::connect_session_writes`, whose commits do not wait for the disk.
    pub fn writing_sessions_to(mut self, pool: DatabaseConnection) -> Self {
        self.session_writes = pool;
        self
    }

    pub fn wechat(&self) -> &WechatClient {
        &self.wechat
    }

    /// `wx.login()` code → resident account (created on first login) → tokens.
    pub async fn wechat_login(&self, code: &str) -> Result<LoginResult, IdentityError> {
        // The WeChat call happens before any transaction is opened.
        let session = self.wechat.code_to_session(code).await?;
        let now = self.clock.now();
        if let Some(login) = self
            .start_session_where(USER_BY_OPENID, &session.openid, "wechat", now)
            .await?
        {
            return Ok(login);
        }
        // On PostgreSQL a first login: the resident and the session in one statement.
        if let Some(login) = self
            .create_resident_with_session(&session.openid, session.unionid.clone(), now)
            .await?
        {
            return Ok(login);
        }
        // Almost every login is of a resident who exists: look them up where reads go (on
        // SQLite a reader, not the one writer, which the session's transaction needs next).
        let user = match find_resident_by_openid(&self.reads, &session.openid).await? {
            Some(user) => user,
            None => {
                find_or_create_resident(&self.db, &session.openid, session.unionid, now).await?
            }
        };
        self.start_session(&user.id, "wechat", now).await
    }

    pub async fn staff_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<LoginResult, IdentityError> {
        let account = staff_account::Entity::find()
            .filter(staff_account::Column::Username.eq(username))
            .one(&self.db)
            .await?;
        let password = password.to_owned();
        let Some(account) = account.filter(|a| a.disabled_at.is_none()) else {
            run_blocking(move || burn_verification_time(&password)).await?;
            return Err(IdentityError::InvalidCredentials);
        };
        let hash = account.password_hash.clone();
        if !run_blocking(move || verify_password(&password, &hash)).await? {
            return Err(IdentityError::InvalidCredentials);
        }
        self.start_session(&account.user_id, "staff", self.clock.now())
            .await
    }

    async fn start_session(
        &self,
        user_id: &str,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginResult, IdentityError> {
        if let Some(login) = self
            .start_session_where(USER_BY_ID, user_id, method, now)
            .await?
        {
            return Ok(login);
        }
        let session_id = new_id();
        let refresh = random_token(REFRESH_TOKEN_BYTES);
        let txn = self.db.begin().await?;
        // Written without reading back (on SQLite an insert that returns its row costs a
        // second statement): nothing here needs more than the ids it chose.
        auth_session::Entity::insert(auth_session::ActiveModel {
            id: Set(session_id.clone()),
            user_id: Set(user_id.to_owned()),
            method: Set(method.to_owned()),
            created_at: Set(now),
            expires_at: Set(now + self.refresh_ttl),
            revoked_at: Set(None),
            revoke_reason: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        self.insert_refresh_token(&txn, &session_id, &refresh, now)
            .await?;
        txn.commit().await?;
        // Read where reads go once committed: on SQLite the one writer, which every write of
        // the instance queues for, carries only the writes.
        let actor = load_actor(&self.reads, user_id, &session_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        self.started(actor, refresh, now).await
    }

    /// [`Self::start_session`] on PostgreSQL: the session, its refresh token and the actor
    /// in one statement (data-modifying CTEs), one round trip where the transaction takes
    /// five. For the user `condition` picks (binding `$1` to `value`), only if it exists and
    /// is not a disabled staff account: `None` otherwise, and on SQLite, and the caller takes
    /// the general path (which creates a first-time resident, or says why not).
    async fn start_session_where(
        &self,
        condition: &str,
        value: &str,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LoginResult>, IdentityError> {
        let chosen = format!(
            "SELECT u.id FROM users u LEFT JOIN staff_accounts s ON s.user_id = u.id \
             WHERE {condition} AND s.disabled_at IS NULL"
        );
        let actor = format!("SELECT {ACTOR_COLUMNS} FROM started JOIN users u ON u.id = started.user_id {ACTOR_JOINS}");
        self.session_for_chosen(&chosen, &actor, value.into(), Vec::new(), method, now)
            .await
    }

    /// A first WeChat login on PostgreSQL: the resident, the session and its refresh token
    /// in one statement, where looking the openid up, inserting the user and starting the
    /// session took a round trip each and a transaction of its own. `None` when the openid
    /// has a user already (another login of theirs won the race, or a disabled staff
    /// account), and on SQLite: the caller takes the general path.
    async fn create_resident_with_session(
        &self,
        openid: &str,
        unionid: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<LoginResult>, IdentityError> {
        const CREATED: &str = "INSERT INTO users (id, openid, unionid, created_at, updated_at) \
            VALUES ($8, $1, $9, $4, $4) ON CONFLICT (openid) DO NOTHING RETURNING id, openid";
        // The main query does not see the CTE's new user row: the actor of a resident who has
        // just been created (no staff account, no roles, no community yet) is built from it.
        const NEW_RESIDENT: &str = "SELECT chosen.id AS user_id, chosen.openid, \
            CAST(NULL AS TEXT) AS community_id, CAST(0 AS BIGINT) AS disabled, \
            CAST(NULL AS TEXT) AS role, CAST(NULL AS TEXT) AS org_id, \
            CAST(NULL AS TEXT) AS merchant_id, CAST(NULL AS TEXT) AS org_kind, \
            CAST(NULL AS TEXT) AS org_path \
            FROM started JOIN chosen ON chosen.id = started.user_id";
        self.session_for_chosen(
            CREATED,
            NEW_RESIDENT,
            openid.into(),
            vec![new_id().into(), unionid.into()],
            "wechat",
            now,
        )
        .await
    }

    /// One statement: the session and refresh token of the user the CTE `chosen` (SQL
    /// yielding `id`, `$1` bound to `value`, its own values from `$8`) names, and the rows
    /// `actor` (SQL over `started`) answers for [`actor_from_rows`]; `None` when `chosen`
    /// names nobody, and on SQLite.
    async fn session_for_chosen(
        &self,
        chosen: &str,
        actor: &str,
        value: sea_orm::Value,
        more: Vec<sea_orm::Value>,
        method: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LoginResult>, IdentityError> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(None);
        }
        let sql = format!(
            "WITH chosen AS ({chosen}), \
            started AS ( \
                INSERT INTO auth_sessions (id, user_id, method, created_at, expires_at) \
                SELECT $2, id, $3, $4, $5 FROM chosen RETURNING id, user_id), \
            token AS ( \
                INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at) \
                SELECT $6, id, $7, $4, $5 FROM started) \
            {actor}"
        );
        let session_id = new_id();
        let refresh = random_token(REFRESH_TOKEN_BYTES);
        let mut values = vec![
            value,
            session_id.clone().into(),
            method.into(),
            now.into(),
            (now + self.refresh_ttl).into(),
            new_id().into(),
            sha256_hex(&refresh).into(),
        ];
        values.extend(more);
        let rows = self
            .session_writes
            .query_all(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                &sql,
                values,
            ))
            .await?;
        match actor_from_rows(&rows, &session_id)? {
            Some(actor) => self.started(actor, refresh, now).await.map(Some),
            None => Ok(None),
        }
    }

    /// The answer to a login whose session has just started: the session marked live in
    /// the cache first, so that the first request with its token (sent at once) does not
    /// ask the database.
    async fn started(
        &self,
        actor: Actor,
        refresh: String,
        now: DateTime<Utc>,
    ) -> Result<LoginResult, IdentityError> {
        self.mark_session_live(&actor.session_id, &actor.user_id)
            .await;
        self.login_result(actor, refresh, now)
    }

    async fn insert_refresh_token(
        &self,
        conn: &impl ConnectionTrait,
        session_id: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(), IdentityError> {
        refresh_token::Entity::insert(refresh_token::ActiveModel {
            id: Set(new_id()),
            session_id: Set(session_id.to_owned()),
            token_hash: Set(sha256_hex(token)),
            created_at: Set(now),
            expires_at: Set(now + self.refresh_ttl),
            used_at: Set(None),
        })
        .exec_without_returning(conn)
        .await?;
        Ok(())
    }

    fn login_result(
        &self,
        actor: Actor,
        refresh: String,
        now: DateTime<Utc>,
    ) -> Result<LoginResult, IdentityError> {
        let access_token = self
            .keys
            .issue(&actor.user_id, &actor.session_id, now)
            .map_err(|e| IdentityError::Internal(format!("signing access token: {e}")))?;
        Ok(LoginResult {
            tokens: TokenPair {
                access_token,
                refresh_token: refresh,
                expires_in: self.keys.access_ttl_seconds,
            },
            roles: actor.roles(),
            user_id: actor.user_id,
        })
    }

    /// Rotates a refresh token: the presented one stops working, a new pair is returned.
    ///
    /// The usual case (on SQLite) is three statements in one transaction, the token claimed
    /// (only if unused, unexpired and of a live session), the next token and the session's
    /// new expiry, then the actor read after the commit. Only a token that cannot be claimed
    /// is looked at more closely, to say why.
    pub async fn refresh(&self, presented: &str) -> Result<LoginResult, IdentityError> {
        let now = self.clock.now();
        if self.db.get_database_backend() == DatabaseBackend::Postgres {
            return self.refresh_in_one_statement(presented, now).await;
        }
        let txn = self.db.begin().await?;
        // Compare-and-set: of two concurrent refreshes with one token, exactly one claims it;
        // the other is treated as reuse.
        let Some(session_id) = claim_refresh_token(&txn, presented, now).await? else {
            drop(txn);
            return Err(self.refusal(presented, now).await?);
        };
        let fresh = random_token(REFRESH_TOKEN_BYTES);
        self.insert_refresh_token(&txn, &session_id, &fresh, now)
            .await?;
        auth_session::Entity::update_many()
            .col_expr(
                auth_session::Column::ExpiresAt,
                Expr::value(now + self.refresh_ttl),
            )
            .filter(auth_session::Column::Id.eq(session_id.clone()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        // As at a login: the actor is read off the writer, once the rotation is committed.
        let actor = load_session_actor(&self.reads, &session_id)
            .await?
            .ok_or(IdentityError::RefreshTokenInvalid)?;
        self.login_result(actor, fresh, now)
    }

    /// [`Self::refresh`] on PostgreSQL: the claim, the new token, the session's new expiry
    /// and the actor in one statement (data-modifying CTEs, atomic as any one statement),
    /// one round trip where the transaction takes six. The claim's row lock still lets
    /// exactly one of two concurrent refreshes with one token through.
    async fn refresh_in_one_statement(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<LoginResult, IdentityError> {
        static ROTATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "WITH claimed AS ({CLAIM}), \
                fresh AS ( \
                    INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at) \
                    SELECT $3, session_id, $4, $2, $5 FROM claimed), \
                extended AS ( \
                    UPDATE auth_sessions SET expires_at = $5 \
                    WHERE id IN (SELECT session_id FROM claimed)) \
                SELECT claimed.session_id, {ACTOR_COLUMNS} FROM claimed \
                JOIN auth_sessions a ON a.id = claimed.session_id \
                JOIN users u ON u.id = a.user_id {ACTOR_JOINS}"
            )
        });
        let fresh = random_token(REFRESH_TOKEN_BYTES);
        let rows = self
            .session_writes
            .query_all(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                ROTATE.as_str(),
                [
                    sha256_hex(presented).into(),
                    now.into(),
                    new_id().into(),
                    sha256_hex(&fresh).into(),
                    (now + self.refresh_ttl).into(),
                ],
            ))
            .await?;
        let Some(first) = rows.first() else {
            return Err(self.refusal(presented, now).await?);
        };
        let session_id: String = first.try_get("", "session_id")?;
        let actor =
            actor_from_rows(&rows, &session_id)?.ok_or(IdentityError::RefreshTokenInvalid)?;
        self.login_result(actor, fresh, now)
    }

    /// Why a presented refresh token could not be claimed. A used one means it leaked (or
    /// a client raced itself): its whole session ends.
    async fn refusal(
        &self,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<IdentityError, IdentityError> {
        // What was committed is enough to say why (on SQLite read off the one writer): a
        // claim that failed saw no more than that.
        let Some(stored) = presented_refresh_token(&self.reads, presented).await? else {
            return Ok(IdentityError::RefreshTokenInvalid);
        };
        if stored.session_revoked || (stored.used_at.is_none() && stored.expires_at <= now) {
            return Ok(IdentityError::RefreshTokenInvalid);
        }
        // Used, or claimed a moment ago by a concurrent refresh with the same token.
        self.revoke_session(&stored.session_id, "refresh_token_reuse")
            .await?;
        Ok(IdentityError::RefreshTokenReused)
    }

    /// Ends the actor's session: its access and refresh tokens stop working at once.
    pub async fn logout(&self, actor: &Actor) -> Result<(), IdentityError> {
        self.revoke_session(&actor.session_id, "logout").await
    }

    async fn revoke_session(&self, session_id: &str, reason: &str) -> Result<(), IdentityError> {
        auth_session::Entity::update_many()
            .col_expr(
                auth_session::Column::RevokedAt,
                Expr::value(self.clock.now()),
            )
            .col_expr(auth_session::Column::RevokeReason, Expr::value(reason))
            .filter(auth_session::Column::Id.eq(session_id))
            .filter(auth_session::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        // Written after the commit; the database stays the authority if the cache is down,
        // and the revocation is owed to Redis: it overwrites the `active:` entry Redis may
        // still hold when it answers again.
        let ttl = std::time::Duration::from_secs(self.keys.access_ttl_seconds.unsigned_abs() + 60);
        if let Err(e) = self
            .cache
            .set_or_owe(&session_cache_key(session_id), "revoked", ttl)
            .await
        {
            tracing::warn!(error = %e, "session revocation owed to the cache until it answers");
        }
        tracing::info!(session_id, reason, "session revoked");
        Ok(())
    }

    /// Bearer token → the actor, or why not. The token's session must be live and belong to
    /// the user the token names: a token is worth only the login it came from.
    pub async fn authenticate(&self, bearer: &str) -> Result<Actor, IdentityError> {
        let claims = self
            .keys
            .verify(bearer, self.clock.now())
            .map_err(|e| match e {
                AccessTokenError::Expired => IdentityError::TokenExpired,
                AccessTokenError::Invalid => IdentityError::TokenInvalid,
            })?;
        // The session's state, the user's actor generation and the cache's epoch in one
        // cache round trip.
        let cached = self
            .cache
            .get_many([
                &session_cache_key(&claims.sid),
                &actor_generation_key(&claims.sub),
                CACHE_EPOCH_KEY,
            ])
            .await;
        let (session_state, generation, epoch) = match cached {
            Ok([session, generation, epoch]) => (
                Some(session),
                Some(generation.unwrap_or_else(|| "0".to_owned())),
                epoch,
            ),
            Err(e) => {
                // The outage itself is logged once, by the cache.
                tracing::debug!(error = %e, "cache unavailable; checking the session in the database");
                (None, None, None)
            }
        };
        if self.live_session_owner(&claims.sid, session_state).await? != claims.sub {
            tracing::warn!(
                session_id = claims.sid,
                "access token names another user than its session"
            );
            return Err(IdentityError::TokenInvalid);
        }
        if generation.is_some() && epoch.is_none() {
            self.start_epoch().await;
        }
        self.actor(&claims.sub, &claims.sid, generation, epoch)
            .await
    }

    /// Redis has no epoch: it is new, or lost its data. A fresh random one makes every
    /// actor memoised under the old one unreachable (only if absent: another instance may
    /// have written one a moment ago, and that one stands).
    async fn start_epoch(&self) {
        let epoch = random_token(8);
        if let Err(e) = self
            .cache
            .set_if_absent(CACHE_EPOCH_KEY, &epoch, CACHE_EPOCH_TTL)
            .await
        {
            tracing::debug!(error = %e, "could not start a cache epoch");
        }
    }

    /// The user's actor from the cache under their current `generation`, or loaded from the
    /// database and cached there. Without a generation (the cache is down) nothing is cached:
    /// an entry written then could outlive a change nobody could bump.
    async fn actor(
        &self,
        user_id: &str,
        session_id: &str,
        generation: Option<String>,
        epoch: Option<String>,
    ) -> Result<Actor, IdentityError> {
        let key = generation.map(|g| actor_cache_key(user_id, &g));
        // Memoised only with Redis (the in-process cache is as near) and under an epoch.
        let memo_key = match (&key, epoch) {
            (Some(key), Some(epoch)) if self.cache.is_redis() => Some(format!("{key}:{epoch}")),
            _ => None,
        };
        let with_session = |mut actor: Actor| {
            actor.session_id = session_id.to_owned();
            actor
        };
        if let Some(memo_key) = &memo_key {
            if let Some(actor) = self.memo.get(memo_key) {
                return Ok(with_session(actor));
            }
        }
        if let Some(key) = &key {
            if let Ok(Some(json)) = self.cache.get(key).await {
                if let Ok(actor) = serde_json::from_str::<Actor>(&json) {
                    if let Some(memo_key) = memo_key {
                        self.memo.put(memo_key, actor.clone());
                    }
                    return Ok(with_session(actor));
                }
            }
        }
        let actor = load_actor(&self.reads, user_id, session_id)
            .await?
            .ok_or(IdentityError::TokenInvalid)?;
        if let (Some(key), Ok(json)) = (key, serde_json::to_string(&actor)) {
            if let Err(e) = self.cache.set(&key, &json, ACTOR_CACHE).await {
                tracing::debug!(error = %e, "could not cache the actor");
            } else if let Some(memo_key) = memo_key {
                self.memo.put(memo_key, actor.clone());
            }
        }
        Ok(actor)
    }

    /// Call after committing any change to a user's roles, scopes, community or status: the
    /// next request of theirs, on any instance, loads them afresh.
    pub async fn forget_actor(&self, user_id: &str) {
        let key = actor_generation_key(user_id);
        if let Err(e) = self.cache.bump_or_owe(&key, ACTOR_GENERATION_TTL).await {
            tracing::warn!(error = %e, user_id, "actor invalidation owed to the cache until it answers");
        }
    }

    /// The user a live session belongs to. The cache holds `active:<user id>` or `revoked`;
    /// `cached` is what it said (`None`: the cache could not be asked).
    async fn live_session_owner(
        &self,
        session_id: &str,
        cached: Option<Option<String>>,
    ) -> Result<String, IdentityError> {
        match cached.flatten() {
            Some(state) if state == "revoked" => return Err(IdentityError::TokenRevoked),
            Some(state) => {
                if let Some(owner) = state.strip_prefix("active:") {
                    return Ok(owner.to_owned());
                }
            }
            None => {}
        }
        let session = auth_session::Entity::find_by_id(session_id.to_owned())
            .one(&self.reads)
            .await?
            .ok_or(IdentityError::TokenInvalid)?;
        if session.revoked_at.is_some() {
            return Err(IdentityError::TokenRevoked);
        }
        self.mark_session_live(session_id, &session.user_id).await;
        Ok(session.user_id)
    }

    /// Tells the cache that `session_id` is live and whose it is, so that requests with its
    /// tokens need not ask the database; only if absent: a revocation written meanwhile by
    /// another instance must win.
    async fn mark_session_live(&self, session_id: &str, user_id: &str) {
        if let Err(e) = self
            .cache
            .set_if_absent(
                &session_cache_key(session_id),
                &format!("active:{user_id}"),
                ACTIVE_SESSION_CACHE,
            )
            .await
        {
            tracing::debug!(error = %e, "could not cache the session state");
        }
    }

    /// Disables a staff account in the actor's scope and ends every session it has, at once
    /// on every instance. Audited.
    pub async fn disable_staff(&self, actor: &Actor, user_id: &str) -> Result<(), IdentityError> {
        let now = self.clock.now();
        let txn = self.db.begin().await?;
        crate::service::staff::set_disabled(&txn, actor, user_id, true, now).await?;
        let sessions = auth_session::Entity::find()
            .filter(auth_session::Column::UserId.eq(user_id))
            .filter(auth_session::Column::RevokedAt.is_null())
            .all(&txn)
            .await?;
        txn.commit().await?;
        self.forget_actor(user_id).await;
        for session in sessions {
            self.revoke_session(&session.id, "staff_disabled").await?;
        }
        Ok(())
    }

    /// Re-enables a disabled staff account in the actor's scope. Audited.
    pub async fn enable_staff(&self, actor: &Actor, user_id: &str) -> Result<(), IdentityError> {
        let txn = self.db.begin().await?;
        crate::service::staff::set_disabled(&txn, actor, user_id, false, self.clock.now()).await?;
        txn.commit().await?;
        self.forget_actor(user_id).await;
        Ok(())
    }
}

/// Marks a presented refresh token used if it is unused, unexpired and of a live session;
/// its session's id, or `None` when it cannot be claimed (see `AuthService::refusal`).
/// Claims a presented refresh token: only if unused, unexpired and of a live session.
/// The session is looked up by key (`EXISTS`, correlated): written as `session_id IN
/// (SELECT id FROM auth_sessions WHERE revoked_at IS NULL)`, SQLite builds the list of every
/// live session before its first comparison, a scan of the table at each refresh (46,391
/// sessions and 20–27 ms a refresh at the end of a simulated year).
const CLAIM: &str = "UPDATE refresh_tokens SET used_at = $2 \
    WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
    AND EXISTS (SELECT 1 FROM auth_sessions s \
        WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL) \
    RETURNING session_id";

async fn claim_refresh_token(
    conn: &impl ConnectionTrait,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, IdentityError> {
    let row = conn
        .query_one(Statement::from_sql_and_values(
            conn.get_database_backend(),
            CLAIM,
            [sha256_hex(presented).into(), now.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get("", "session_id")).transpose()?)
}

/// A presented refresh token with its session, read in one round trip.
struct PresentedToken {
    used_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    session_id: String,
    session_revoked: bool,
}

async fn presented_refresh_token(
    conn: &impl ConnectionTrait,
    presented: &str,
) -> Result<Option<PresentedToken>, IdentityError> {
    const PRESENTED: &str = "SELECT t.used_at, t.expires_at, s.id AS session_id, \
            CAST(CASE WHEN s.revoked_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS revoked \
        FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id \
        WHERE t.token_hash = $1";
    let row = conn
        .query_one(Statement::from_sql_and_values(
            conn.get_database_backend(),
            PRESENTED,
            [sha256_hex(presented).into()],
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(PresentedToken {
        used_at: row.try_get("", "used_at")?,
        expires_at: row.try_get("", "expires_at")?,
        session_id: row.try_get("", "session_id")?,
        session_revoked: row.try_get::<i64>("", "revoked")? != 0,
    }))
}

/// Loads a user's roles and scopes. `None` when the user does not exist.
///
/// One query (the user, a disabled staff account, every binding with its org): it runs on
/// every login, refresh and actor-cache miss.
pub async fn load_actor(
    conn: &impl ConnectionTrait,
    user_id: &str,
    session_id: &str,
) -> Result<Option<Actor>, IdentityError> {
    actor_where(conn, "u.id = $1", user_id, session_id).await
}

/// The actor of the user a session belongs to (one query, as [`load_actor`]).
pub async fn load_session_actor(
    conn: &impl ConnectionTrait,
    session_id: &str,
) -> Result<Option<Actor>, IdentityError> {
    const OF_SESSION: &str = "u.id = (SELECT user_id FROM auth_sessions WHERE id = $1)";
    actor_where(conn, OF_SESSION, session_id, session_id).await
}

/// The users [`AuthService::start_session_where`] starts sessions for, by `$1`.
const USER_BY_ID: &str = "u.id = $1";
const USER_BY_OPENID: &str = "u.openid = $1";

/// What an actor is read from: a user with their staff account, role bindings and the
/// bindings' orgs, one row per binding, the user's table named `u`.
const ACTOR_COLUMNS: &str = "u.id AS user_id, u.openid, u.community_id, \
    CAST(CASE WHEN s.disabled_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS disabled, \
    b.role, b.org_id, b.merchant_id, o.kind AS org_kind, o.path AS org_path";
const ACTOR_JOINS: &str = "LEFT JOIN staff_accounts s ON s.user_id = u.id \
    LEFT JOIN role_bindings b ON b.user_id = u.id \
    LEFT JOIN orgs o ON o.id = b.org_id";

/// The actor of the one user `condition` (binding `$1` to `value`) picks.
async fn actor_where(
    conn: &impl ConnectionTrait,
    condition: &str,
    value: &str,
    session_id: &str,
) -> Result<Option<Actor>, IdentityError> {
    let sql = format!("SELECT {ACTOR_COLUMNS} FROM users u {ACTOR_JOINS} WHERE {condition}");
    let rows = conn
        .query_all(Statement::from_sql_and_values(
            conn.get_database_backend(),
            &sql,
            [value.into()],
        ))
        .await?;
    actor_from_rows(&rows, session_id)
}

/// The actor in rows of [`ACTOR_COLUMNS`] (none: no such user).
fn actor_from_rows(
    rows: &[sea_orm::QueryResult],
    session_id: &str,
) -> Result<Option<Actor>, IdentityError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    // A disabled staff member's tokens stop at once, even one minted before the disable.
    if first.try_get::<i64>("", "disabled")? != 0 {
        return Err(IdentityError::AccountDisabled);
    }
    let user_id: String = first.try_get("", "user_id")?;
    let openid: Option<String> = first.try_get("", "openid")?;
    let community_id: Option<String> = first.try_get("", "community_id")?;
    let mut bindings = Vec::new();
    for row in rows {
        let role: Option<String> = row.try_get("", "role")?;
        let merchant_id: Option<String> = row.try_get("", "merchant_id")?;
        let org_id: Option<String> = row.try_get("", "org_id")?;
        let org_kind: Option<String> = row.try_get("", "org_kind")?;
        let org_path: Option<String> = row.try_get("", "org_path")?;
        let binding = match (role.as_deref().and_then(Role::parse), merchant_id, org_id) {
            (Some(Role::MerchantStaff), Some(merchant_id), _) => {
                Some(Binding::Merchant { merchant_id })
            }
            (Some(role), _, Some(id)) if role.is_org_staff() => {
                match (org_kind.as_deref().and_then(OrgKind::parse), org_path) {
                    (Some(kind), Some(path)) => Some(Binding::Org {
                        role,
                        org: OrgRef { id, kind, path },
                    }),
                    _ => None,
                }
            }
            _ => None,
        };
        bindings.extend(binding);
    }
    Ok(Some(Actor {
        user_id,
        session_id: session_id.to_owned(),
        is_resident: openid.is_some(),
        community_id,
        bindings,
    }))
}

/// Runs CPU-heavy work (password hashing) off the async workers.
pub(crate) async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, IdentityError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| IdentityError::Internal(format!("blocking task failed: {e}")))
}

#[cfg(test)]
mod plan_tests {
    use super::CLAIM;
    use sea_orm::Database;
    use sea_orm_migration::{MigrationTrait, MigratorTrait};

    struct IdentityTables;

    impl MigratorTrait for IdentityTables {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            let mut all = platform::migration::migrations();
            all.extend(crate::migration::migrations());
            all
        }
    }

    /// SQLite's plan, whatever backend the suite runs on: it is SQLite's planner that read
    /// every session for each refresh when the claim asked `IN (SELECT …)`.
    #[tokio::test]
    async fn a_refresh_claim_finds_its_token_and_session_by_key_without_a_scan() {
        let url = platform::db::create_fresh_database(None, "linli_t")
            .await
            .unwrap();
        let db = Database::connect(&url).await.unwrap();
        IdentityTables::up(&db, None).await.unwrap();
        let steps = platform::testing::sqlite_plan(&db, CLAIM, Vec::new()).await;
        assert!(
            steps.iter().any(|s| s.contains("SEARCH refresh_tokens")),
            "{steps:?}"
        );
        assert!(
            steps
                .iter()
                .all(|s| !s.starts_with("SCAN") && !s.contains("LIST SUBQUERY")),
            "the claim reads more than its own rows: {steps:?}"
        );
        db.close().await.unwrap();
        platform::db::drop_fresh_database(None, &url).await.unwrap();
    }
}
