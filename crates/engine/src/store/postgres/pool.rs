//! A bounded pool of PostgreSQL connections used from blocking threads only (the synchronous
//! client drives its own runtime, which must never run on an async worker): at most `max` open,
//! opened on demand, closed after idling; a caller waits a bounded time for one, then is told the
//! store is busy. Every statement runs inside a transaction `Conn::begin` opens, which also sets
//! the search path: nothing relies on the session, so a transaction-pooling proxy may hand each
//! transaction a different server connection.

use crate::error::{Error, ErrorCode, Result};
use postgres::error::SqlState;
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The schema sluice's tables live in (every transaction's search path).
pub const SCHEMA: &str = "sluice";
/// How long an unused connection stays open.
const IDLE: Duration = Duration::from_secs(10);
/// Statements one connection keeps prepared at most.
const MAX_STATEMENTS: usize = 512;

/// Failures that say the connection is gone: closed, broken, or ended by its server's shutdown.
pub fn lost(e: &postgres::Error) -> bool {
    if let Some(code) = e.code() {
        return [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN].contains(code)
            || code.code().starts_with("08");
    }
    e.is_closed()
        || std::error::Error::source(e)
            .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
}

/// One connection and the statements prepared on it.
pub struct Conn {
    pub client: Client,
    statements: HashMap<String, Statement>,
    /// The catalog version its statements were prepared under.
    pub catalog_version: i64,
    /// Behind a transaction pooler: the next transaction may run on another server connection,
    /// so statements are closed before each transaction ends, not kept for the next.
    pooled: bool,
}

impl Conn {
    /// The statement for `sql`, prepared once per connection.
    pub fn prepare(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        if self.statements.len() >= MAX_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Drops the prepared statements (the tables they read may have changed shape).
    pub fn forget_statements(&mut self, version: i64) {
        if self.catalog_version != version {
            self.statements.clear();
            self.catalog_version = version;
        }
    }

    /// Whether it goes through a transaction pooler.
    pub fn pooled(&self) -> bool {
        self.pooled
    }

    /// Opens a transaction with `begin` (`BEGIN` and its modes), the search path set for it in
    /// the same round trip.
    pub fn begin(&mut self, begin: &str) -> std::result::Result<(), postgres::Error> {
        self.client
            .batch_execute(&format!("{begin}; SET LOCAL search_path = {SCHEMA}"))
    }

    /// Ends the transaction with `end` (`COMMIT` or `ROLLBACK`). Behind a pooler its statements
    /// are closed first, while the transaction still holds its server connection: left open, one
    /// would be missing on the connection the next transaction gets, or its name would clash
    /// with another client's there.
    pub fn end(&mut self, end: &str) -> std::result::Result<(), postgres::Error> {
        self.close_for_pooler();
        self.client.batch_execute(end)
    }

    /// `end`, for an end that answers rows (the commit's WAL position).
    pub fn end_query(
        &mut self,
        end: &str,
    ) -> std::result::Result<Vec<postgres::SimpleQueryMessage>, postgres::Error> {
        self.close_for_pooler();
        self.client.simple_query(end)
    }

    fn close_for_pooler(&mut self) {
        if self.pooled {
            self.statements.clear();
            self.client.clear_type_cache();
        }
    }
}

struct State {
    idle: Vec<(Conn, Instant)>,
    open: usize,
}

pub struct Pool {
    config: postgres::Config,
    /// Its connections go through a transaction pooler.
    pooled: bool,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
    /// What the connections are for, in errors.
    purpose: &'static str,
}

impl Pool {
    pub fn new(
        config: postgres::Config,
        pooled: bool,
        max: usize,
        purpose: &'static str,
    ) -> Arc<Pool> {
        Arc::new(Pool {
            config,
            pooled,
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            purpose,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a connection outside the pool's count (start-up work, a listener).
    pub fn connect(&self) -> Result<Conn> {
        let client = self.config.connect(NoTls).map_err(|e| {
            tracing::error!(error = %e, purpose = self.purpose, "cannot connect to PostgreSQL");
            Error::new(
                ErrorCode::Unavailable,
                "the database cannot be reached; retry shortly",
            )
        })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
            catalog_version: -1,
            pooled: self.pooled,
        })
    }

    /// A connection, waiting up to `wait` for one to be free.
    pub fn get(self: &Arc<Self>, wait: Duration) -> Result<Pooled> {
        let deadline = Instant::now() + wait;
        let mut stale = Vec::new();
        let mut state = self.lock();
        loop {
            while state
                .idle
                .first()
                .is_some_and(|(_, at)| at.elapsed() > IDLE)
            {
                stale.push(state.idle.remove(0).0);
                state.open -= 1;
            }
            if let Some((conn, _)) = state.idle.pop() {
                drop(state);
                return Ok(self.pooled(conn));
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(self.pooled(conn)),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(
                    ErrorCode::Busy,
                    format!(
                        "every database connection for {} stayed taken for {} ms; retry shortly",
                        self.purpose,
                        wait.as_millis()
                    ),
                ));
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// A connection on which `first` ran (a transaction begun with `Conn::begin`; `""` only
    /// checks the connection). A
    /// connection found lost there (its server stopped or was replaced by a promoted standby)
    /// had done nothing yet: it is closed with every idle one, opened before the loss too, and
    /// the statement runs on a fresh connection, which the URL's `target_session_attrs` sends to
    /// whichever server takes writes now.
    pub fn get_begun(self: &Arc<Self>, wait: Duration, first: &str) -> Result<Pooled> {
        let mut tries = 0;
        loop {
            let mut conn = self.get(wait)?;
            let begun = match first {
                "" => conn.client.batch_execute(""),
                begin => conn.begin(begin),
            };
            match begun {
                Ok(()) => return Ok(conn),
                Err(e) if lost(&e) && tries <= self.max => {
                    tries += 1;
                    tracing::warn!(error = %e, purpose = self.purpose, "a database connection was lost; opening another");
                    conn.discard();
                    self.drop_idle();
                }
                Err(e) => {
                    tracing::error!(error = %e, purpose = self.purpose, "cannot begin on PostgreSQL");
                    return Err(Error::new(
                        ErrorCode::Unavailable,
                        "the database cannot be reached; retry shortly",
                    ));
                }
            }
        }
    }

    /// Closes connections that sat unused longer than the idle time.
    pub fn close_idle(&self) {
        let mut state = self.lock();
        let before = state.idle.len();
        let stale: Vec<Conn> = {
            let (old, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut state.idle)
                .into_iter()
                .partition(|(_, at)| at.elapsed() > IDLE);
            state.idle = keep;
            old.into_iter().map(|(c, _)| c).collect()
        };
        state.open -= before - state.idle.len();
        drop(state);
        drop(stale);
    }

    /// Closes every idle connection: their server went away, and each would fail on first use.
    pub fn drop_idle(&self) {
        let mut state = self.lock();
        let idle = std::mem::take(&mut state.idle);
        state.open -= idle.len();
        drop(state);
        drop(idle);
        self.freed.notify_all();
    }

    fn pooled(self: &Arc<Self>, conn: Conn) -> Pooled {
        Pooled {
            pool: self.clone(),
            conn: Some(conn),
        }
    }

    fn put_back(&self, conn: Conn) {
        let mut state = self.lock();
        if conn.client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push((conn, Instant::now()));
        }
        drop(state);
        self.freed.notify_one();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // A client shuts its own runtime down when dropped, which may not happen on an async
        // worker thread: idle connections close on a thread of their own.
        let idle = std::mem::take(&mut self.lock().idle);
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("sluice-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

/// A connection taken from a pool; it goes back when dropped (or is closed, if it broke).
pub struct Pooled {
    pool: Arc<Pool>,
    conn: Option<Conn>,
}

impl Deref for Pooled {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Pooled {
    /// Closes the connection instead of putting it back: it was lost, or its client keeps
    /// something the next user must not get.
    pub fn discard(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn);
            self.pool.lock().open -= 1;
            self.pool.freed.notify_one();
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put_back(conn);
        }
    }
}
