//! The engine's async face: authenticates callers and runs ops on the store (reads on snapshots,
//! writes through the store's writer), plus logins.

use crate::auth::{
    generate_token, hash_token, verify_password, LoginThrottle, Principal, Role, TokenKind,
};
use crate::error::{Error, ErrorCode, Result};
use crate::model::Timestamp;
use crate::ops::{self, BulkItem, BulkMsg, Ctx, Op, Output};
use crate::settings::Settings;
use crate::store::sqlite::SqliteStore;
use crate::store::{Finish, Store, TokenRow, UserRow};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use uuid::Uuid;

/// How long a verified token is trusted without looking it up again.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(10);
const TOKEN_CACHE_MAX: usize = 10_000;

/// A login's outcome: fresh tokens and who they belong to.
#[derive(Debug, Clone)]
pub struct Session {
    pub app: String,
    pub token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user: UserRow,
}

pub struct Engine {
    store: Arc<SqliteStore>,
    settings: Arc<Settings>,
    throttle: LoginThrottle,
    token_cache: Mutex<HashMap<String, (TokenRow, Instant)>>,
    /// Bumped whenever the cache is cleared, so a lookup that raced a revocation is not cached.
    token_gen: std::sync::atomic::AtomicU64,
    admin_hash: Option<String>,
    pub(crate) jobs: crate::engine_jobs::JobState,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn gone() -> Error {
    Error::new(ErrorCode::Unavailable, "the store is not available")
}

impl Engine {
    /// Opens the embedded SQLite store `sluice.db` inside `data_dir`, creating both if needed.
    pub fn open(data_dir: &Path, settings: Settings) -> Result<Engine> {
        std::fs::create_dir_all(data_dir).map_err(Error::internal)?;
        let store = SqliteStore::open(&data_dir.join("sluice.db"))?;
        Ok(Engine {
            store: Arc::new(store),
            admin_hash: settings.admin_token.as_deref().map(hash_token),
            throttle: LoginThrottle::new(settings.throttle.clone()),
            settings: Arc::new(settings),
            token_cache: Mutex::new(HashMap::new()),
            token_gen: std::sync::atomic::AtomicU64::new(0),
            jobs: crate::engine_jobs::JobState::new(data_dir)?,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn catalog(&self) -> Arc<crate::model::Catalog> {
        self.store.catalog()
    }

    /// Stops job workers at their next chunk, then the writer once queued work is done.
    pub fn close(&self) {
        self.jobs.stop();
        self.store.close();
    }

    /// Runs `f` in the writer's transaction; `f` says whether its work is kept.
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ctx<'_>) -> (bool, R) + Send + 'static,
    ) -> Result<R> {
        let (send, recv) = oneshot::channel();
        let settings = self.settings.clone();
        self.store.write(Box::new(move |tx, catalog| {
            let mut ctx = Ctx {
                tx,
                catalog,
                settings: &settings,
                now: Timestamp::now(),
            };
            let (keep, r) = f(&mut ctx);
            Finish {
                keep,
                done: Box::new(move |committed| {
                    let _ = send.send(committed.map(|()| r));
                }),
            }
        }));
        recv.await.map_err(|_| gone())?
    }

    /// Runs `f` on a read snapshot.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ctx<'_>) -> R + Send + 'static,
    ) -> Result<R> {
        let (send, recv) = oneshot::channel();
        let settings = self.settings.clone();
        self.store.read(Box::new(move |tx, catalog| {
            let mut catalog = catalog.clone();
            let mut ctx = Ctx {
                tx,
                catalog: &mut catalog,
                settings: &settings,
                now: Timestamp::now(),
            };
            let _ = send.send(f(&mut ctx));
        }));
        recv.await.map_err(|_| gone())
    }

    /// Runs one op as `who`: reads on a snapshot, writes in the writer's transaction.
    pub async fn run(&self, who: &Principal, op: Op) -> Result<Output> {
        let who = who.clone();
        if op.is_read() {
            return self.read(move |ctx| ops::run(ctx, &who, op)).await?;
        }
        let clears = op.touches_tokens();
        let op = ops::precheck(&self.catalog(), op);
        let op = if op.hashes() {
            tokio::task::spawn_blocking(move || ops::prehash(op))
                .await
                .map_err(Error::internal)?
        } else {
            op
        };
        let result = self
            .write(move |ctx| {
                let r = ops::run(ctx, &who, op);
                (r.is_ok(), r)
            })
            .await?;
        if clears {
            self.clear_token_cache();
        }
        result
    }

    /// Runs a bulk request in one transaction. More items than the limit → `limit_exceeded`, nothing runs.
    pub async fn bulk(&self, items: Vec<BulkItem>, atomic: bool) -> Result<Vec<Result<Output>>> {
        let max = self.settings.max_bulk_ops;
        if items.len() > max {
            return Err(ops::too_many(max));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        if atomic {
            let _ = tx.send(BulkMsg::Atomic);
        }
        let _ = tx.send(BulkMsg::Items(items));
        let _ = tx.send(BulkMsg::End(Ok(atomic)));
        self.bulk_stream(rx).await
    }

    /// Runs a bulk request whose items are still being decoded: the writer executes each item as it
    /// arrives. An invalid end (bad JSON late in the body, too many items) undoes everything.
    pub async fn bulk_stream(
        &self,
        rx: std::sync::mpsc::Receiver<BulkMsg>,
    ) -> Result<Vec<Result<Output>>> {
        let max = self.settings.max_bulk_ops;
        let results = self.write(move |ctx| {
            let (results, keep) = ops::run_bulk(ctx, &rx, max);
            (keep, results)
        });
        let results = results.await;
        self.clear_token_cache();
        results?
    }

    fn clear_token_cache(&self) {
        self.token_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
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
        let cached = {
            let cache = self.token_cache.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .get(&hash)
                .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
                .map(|(row, _)| row.clone())
        };
        let row = match cached {
            Some(row) => row,
            None => {
                let h = hash.clone();
                let gen = self.token_gen.load(std::sync::atomic::Ordering::SeqCst);
                let row = self
                    .read(move |ctx| ctx.tx.find_token(&h))
                    .await??
                    .ok_or_else(Error::unauthorized)?;
                let mut cache = self.token_cache.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= TOKEN_CACHE_MAX {
                    cache.clear();
                }
                if self.token_gen.load(std::sync::atomic::Ordering::SeqCst) == gen {
                    cache.insert(hash, (row.clone(), Instant::now()));
                }
                row
            }
        };
        principal_of(&row)
    }

    /// Generates the bootstrap admin token on the first start of a data dir (no `admin-token` file
    /// and no `SLUICE_ADMIN_TOKEN`); returns it so it can be printed once.
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
            created_at: Timestamp::now().as_str().to_owned(),
        };
        let hash = hash_token(&token);
        self.write(move |ctx| {
            let r = ctx.tx.insert_token(&row, &hash);
            (r.is_ok(), r)
        })
        .await??;
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
            .read(move |ctx| -> Result<Option<UserRow>> {
                match ctx.catalog.app(&app_name) {
                    Some(a) => ctx.tx.get_user(a.id, &name),
                    None => Ok(None),
                }
            })
            .await??;
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
        let hash = hash_token(refresh_token);
        let invalid = || Error::new(ErrorCode::Unauthorized, "invalid or expired refresh token");
        let found = self
            .write(move |ctx| {
                let r = (|| -> Result<Option<(String, UserRow)>> {
                    let Some(row) = ctx.tx.find_token(&hash)? else {
                        return Ok(None);
                    };
                    let Some(app_id) = row.app_id else {
                        return Ok(None);
                    };
                    if row.kind != TokenKind::Refresh
                        || row.expires_at.is_some_and(|e| e < unix_now())
                    {
                        return Ok(None);
                    }
                    ctx.tx.delete_token(app_id, &row.id)?;
                    let Some(app) = ctx.catalog.app_by_id(app_id).cloned() else {
                        return Ok(None);
                    };
                    Ok(ctx
                        .tx
                        .get_user(app_id, &row.user)?
                        .map(|u| (app.name.to_string(), u)))
                })();
                (r.is_ok(), r)
            })
            .await??;
        let (app, user) = found.ok_or_else(invalid)?;
        self.issue(app, user).await
    }

    async fn issue(&self, app: String, user: UserRow) -> Result<Session> {
        let token = generate_token(TokenKind::Access)?;
        let refresh_token = generate_token(TokenKind::Refresh)?;
        let now = unix_now();
        let access_ttl = self.settings.access_token_ttl.as_secs();
        let row = |kind, ttl: u64| TokenRow {
            id: Uuid::now_v7().to_string(),
            app_id: Some(user.app_id),
            user: user.name.clone(),
            user_id: user.id.clone(),
            role: Some(user.role),
            kind,
            expires_at: Some(now + ttl as i64),
            created_at: Timestamp::now().as_str().to_owned(),
        };
        let rows = [
            (row(TokenKind::Access, access_ttl), hash_token(&token)),
            (
                row(
                    TokenKind::Refresh,
                    self.settings.refresh_token_ttl.as_secs(),
                ),
                hash_token(&refresh_token),
            ),
        ];
        self.write(move |ctx| {
            let r = (|| {
                ctx.tx.purge_tokens(now)?;
                for (row, hash) in &rows {
                    ctx.tx.insert_token(row, hash)?;
                }
                Ok(())
            })();
            (r.is_ok(), r)
        })
        .await??;
        Ok(Session {
            app,
            token,
            refresh_token,
            expires_in: access_ttl,
            user,
        })
    }
}

/// An argon2 hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2x1aWNlZHVtbXlzYWx0$0N4eDbtrHe/3M0W3Nt1RwoN+fBQiEDd6ZbE7gMnfbJU";

fn principal_of(row: &TokenRow) -> Result<Principal> {
    if row.kind == TokenKind::Refresh || row.expires_at.is_some_and(|e| e < unix_now()) {
        return Err(Error::unauthorized());
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
