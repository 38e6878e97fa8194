//! The auth service: resolves bearer tokens to principals (with a short-lived cache that every
//! token-touching write clears, and none on a store other instances share), logs app users in,
//! refreshes sessions, and makes the bootstrap admin token.

use super::{generate_token, hash_token, verify_password, LoginThrottle};
use crate::core::{Core, Ctx};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Principal, Role, TokenKind, TokenRow, UserRow};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a verified token is trusted without looking it up again.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);
const TOKEN_CACHE_MAX: usize = 10_000;

/// An argon2 hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2x1aWNlZHVtbXlzYWx0$0N4eDbtrHe/3M0W3Nt1RwoN+fBQiEDd6ZbE7gMnfbJU";

/// A login's outcome: fresh tokens and who they belong to.
#[derive(Debug, Clone)]
pub struct Session {
    pub app: String,
    pub token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user: UserRow,
}

pub struct Auth {
    pub(super) core: Arc<Core>,
    throttle: LoginThrottle,
    cache: Mutex<HashMap<String, (TokenRow, Instant)>>,
    /// Bumped whenever the cache is cleared, so a lookup that raced a revocation is not cached.
    generation: AtomicU64,
    admin_hash: Option<String>,
}

impl Auth {
    pub fn new(core: Arc<Core>) -> Auth {
        let s = &core.settings;
        Auth {
            admin_hash: s.admin_token.as_deref().map(hash_token),
            throttle: LoginThrottle::new(s.throttle.clone(), s.clock.clone()),
            cache: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            core,
        }
    }

    /// Forgets cached token lookups (after anything that may have revoked a token).
    pub fn clear_cache(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Resolves a bearer token (or none) to a principal.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Principal> {
        let Some(token) = bearer else {
            return Ok(Principal::Anonymous);
        };
        let hash = hash_token(token);
        if self.admin_hash.as_deref() == Some(hash.as_str()) {
            return Ok(Principal::Admin {
                user: "admin".into(),
            });
        }
        let now = self.core.settings.clock.instant();
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .get(&hash)
                .filter(|(_, at)| now.duration_since(*at) < TOKEN_CACHE_TTL)
                .map(|(row, _)| row.clone())
        };
        let row = match cached {
            Some(row) => row,
            None => {
                let h = hash.clone();
                let generation = self.generation.load(Ordering::SeqCst);
                let row = self
                    .core
                    .read(move |ctx| ctx.tx.find_token(&h))
                    .await?
                    .ok_or_else(Error::unauthorized)?;
                let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= TOKEN_CACHE_MAX {
                    cache.clear();
                }
                // Another instance sharing the store could revoke the token unseen: no cache then.
                if self.generation.load(Ordering::SeqCst) == generation && !self.core.store.shared()
                {
                    cache.insert(hash, (row.clone(), now));
                }
                row
            }
        };
        principal_of(&row, self.core.settings.clock.unix())
    }

    /// Generates the bootstrap admin token on the first start of a data dir (no `admin-token` file
    /// and no fixed admin token); returns it so it can be printed once.
    pub async fn bootstrap_admin(&self, data_dir: &Path) -> Result<Option<String>> {
        let file = data_dir.join("admin-token");
        if self.admin_hash.is_some() || file.exists() {
            return Ok(None);
        }
        let token = generate_token(TokenKind::Admin)?;
        let row = TokenRow {
            id: Uuid::now_v7().to_string(),
            app_id: None,
            user: "admin".into(),
            user_id: "admin".into(),
            role: None,
            kind: TokenKind::Admin,
            expires_at: None,
            created_at: self.core.now().as_str().to_owned(),
        };
        let hash = hash_token(&token);
        self.core
            .transact(move |ctx| ctx.tx.insert_token(&row, &hash))
            .await?;
        write_secret_file(&file, &token)?;
        Ok(Some(token))
    }

    /// Checks an app user's password and issues an access and a refresh token. Failures say nothing
    /// of which part was wrong, and repeated ones are locked out for a growing time.
    pub async fn login(&self, app: &str, username: &str, password: &str) -> Result<Session> {
        let key = format!("{app}\u{0}{username}");
        let _turn = self.throttle.turn(&key).await;
        self.throttle.check(&key)?;
        let (app_name, name) = (app.to_owned(), username.to_owned());
        let user = self
            .core
            .read(move |ctx| match ctx.catalog.app(&app_name) {
                Some(a) => ctx.tx.get_user(a.id, &name),
                None => Ok(None),
            })
            .await?;
        let password = password.to_owned();
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || match hash {
            Some(h) => verify_password(&password, &h),
            // Same work for unknown users, so timing does not reveal which names exist.
            None => {
                verify_password(&password, DUMMY_HASH);
                false
            }
        })
        .await
        .map_err(Error::internal)?;
        match user {
            Some(user) if ok => {
                self.throttle.succeeded(&key);
                self.issue(app.to_owned(), user).await
            }
            _ => {
                self.throttle.failed(&key);
                Err(Error::new(ErrorCode::Unauthorized, "invalid credentials"))
            }
        }
    }

    /// Exchanges a refresh token for a new pair; the old refresh token is spent.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        self.refresh_with(refresh_token, true).await
    }

    /// A new access token for `refresh_token`, which stays valid until it expires: for OAuth
    /// front doors whose clients keep one refresh token for good (Zoho Accounts does not rotate
    /// them).
    pub async fn refresh_keeping(&self, refresh_token: &str) -> Result<Session> {
        self.refresh_with(refresh_token, false).await
    }

    async fn refresh_with(&self, refresh_token: &str, rotate: bool) -> Result<Session> {
        let hash = hash_token(refresh_token);
        let now = self.core.settings.clock.unix();
        let found = self
            .core
            .transact(move |ctx| {
                let Some(row) = ctx.tx.find_token(&hash)? else {
                    return Ok(None);
                };
                let Some(app_id) = row.app_id else {
                    return Ok(None);
                };
                if row.kind != TokenKind::Refresh || row.expires_at.is_some_and(|e| e < now) {
                    return Ok(None);
                }
                if rotate {
                    ctx.tx.delete_token(app_id, &row.id)?;
                }
                let Some(app) = ctx.catalog.app_by_id(app_id).cloned() else {
                    return Ok(None);
                };
                Ok(ctx
                    .tx
                    .get_user(app_id, &row.user)?
                    .map(|u| (app.name.to_string(), u)))
            })
            .await?;
        let (app, user) = found.ok_or_else(|| {
            Error::new(ErrorCode::Unauthorized, "invalid or expired refresh token")
        })?;
        let kept = (!rotate).then(|| refresh_token.to_owned());
        self.issue_keeping(app, user, kept).await
    }

    /// Revokes a login's token (an access or a refresh token), as signing out does; API keys and
    /// admin tokens are left alone. Says whether a token was revoked.
    pub async fn revoke(&self, token: &str) -> Result<bool> {
        let hash = hash_token(token);
        let revoked = self
            .core
            .transact(move |ctx| match ctx.tx.find_token(&hash)? {
                Some(TokenRow {
                    kind: TokenKind::Access | TokenKind::Refresh,
                    app_id: Some(app_id),
                    id,
                    ..
                }) => ctx.tx.delete_token(app_id, &id),
                _ => Ok(false),
            })
            .await?;
        self.clear_cache();
        Ok(revoked)
    }

    pub(super) async fn issue(&self, app: String, user: UserRow) -> Result<Session> {
        self.issue_keeping(app, user, None).await
    }

    /// A new access token, with a new refresh token unless `kept` is the one still valid.
    async fn issue_keeping(
        &self,
        app: String,
        user: UserRow,
        kept: Option<String>,
    ) -> Result<Session> {
        let token = generate_token(TokenKind::Access)?;
        let fresh = kept.is_none();
        let refresh_token = match kept {
            Some(r) => r,
            None => generate_token(TokenKind::Refresh)?,
        };
        let s = &self.core.settings;
        let now = s.clock.unix();
        let created_at = self.core.now().as_str().to_owned();
        let access_ttl = s.access_token_ttl.as_secs();
        let row = |kind, ttl: u64| TokenRow {
            id: Uuid::now_v7().to_string(),
            app_id: Some(user.app_id),
            user: user.name.clone(),
            user_id: user.id.clone(),
            role: Some(user.role),
            kind,
            expires_at: Some(now + ttl as i64),
            created_at: created_at.clone(),
        };
        let mut rows = vec![(row(TokenKind::Access, access_ttl), hash_token(&token))];
        if fresh {
            rows.push((
                row(TokenKind::Refresh, s.refresh_token_ttl.as_secs()),
                hash_token(&refresh_token),
            ));
        }
        self.core
            .transact(move |ctx| {
                ctx.tx.purge_tokens(now)?;
                for (row, hash) in &rows {
                    ctx.tx.insert_token(row, hash)?;
                }
                Ok(())
            })
            .await?;
        Ok(Session {
            app,
            token,
            refresh_token,
            expires_in: access_ttl,
            user,
        })
    }
}

/// Resolves a bearer token inside a transaction, as of that transaction's state: a token revoked or
/// a user demoted earlier in the same transaction is seen at once (bulk entries use this).
pub fn resolve_in(ctx: &mut Ctx<'_>, token: &str) -> Result<Principal> {
    let hash = hash_token(token);
    if ctx.settings.admin_token.as_deref().map(hash_token) == Some(hash.clone()) {
        return Ok(Principal::Admin {
            user: "admin".into(),
        });
    }
    let row = ctx.tx.find_token(&hash)?.ok_or_else(Error::unauthorized)?;
    principal_of(&row, ctx.settings.clock.unix())
}

/// What a stored token grants at `now` (unix seconds).
fn principal_of(row: &TokenRow, now: i64) -> Result<Principal> {
    if row.kind == TokenKind::Refresh {
        return Err(Error::unauthorized());
    }
    if row.expires_at.is_some_and(|e| e < now) {
        return Err(Error::token_expired());
    }
    match (row.kind, row.app_id) {
        (TokenKind::Admin, _) => Ok(Principal::Admin {
            user: row.user.clone(),
        }),
        (_, Some(app_id)) => Ok(Principal::Member {
            app_id,
            user: row.user.clone(),
            user_id: row.user_id.clone(),
            role: row.role.unwrap_or(Role::Reader),
        }),
        (_, None) => Err(Error::unauthorized()),
    }
}

fn write_secret_file(path: &Path, secret: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(Error::internal)?;
    writeln!(f, "{secret}").map_err(Error::internal)
}
