//! The PostgreSQL backend, for several instances sharing one database. Each write runs in its own
//! `READ COMMITTED` transaction on a pooled connection (rows it reads to change are locked), and
//! runs again from the start when it lost a race; reads run on `REPEATABLE READ READ ONLY`
//! snapshots. The catalog is versioned in the database: every transaction checks the version and
//! reloads a stale catalog, a change bumps it (refusing to commit over a change it did not see),
//! and a notification tells the other instances at once. Nothing depends on the session (see
//! `pool`), so the database URL may name a transaction pooler; the listener alone needs a session,
//! and may be given a direct URL of its own.

mod aliases;
mod auth;
mod batched_writes;
mod catalog;
mod files;
mod idempotency;
mod listen;
mod locks;
mod migrate;
mod pool;
mod query;
mod reach;
mod records;
mod relations;
mod replica_probe;
mod replicas;
mod schema;
mod selections;
mod single_writes;
mod tasks;
mod tx;
mod uploads;
mod value;
mod write;

use self::files::PgFiles;
use self::pool::{Conn, Pool};
use self::tx::PgTx;
use super::{FileStore, ReadJob, Snapshot, Store, WriteJob};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Catalog, SqlSyntax, PG_FUNCTIONS, PG_TABLE_FUNCTIONS};
use crate::settings::StoreLimits;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The channel catalog changes are announced on.
pub(crate) const CHANNEL: &str = "sluice_catalog";

/// What transactions need beyond their connection.
pub struct Shared {
    pub queries: Arc<Pool>,
    pub query_role: String,
    pub limits: StoreLimits,
}

struct Inner {
    writers: Arc<Pool>,
    readers: Arc<Pool>,
    /// The listener's connection (LISTEN needs a session of its own); none behind a pooler
    /// without a direct URL.
    notify: Option<Arc<Pool>>,
    shared: Shared,
    files: Arc<PgFiles>,
    /// The catalog and the version it was loaded at.
    catalog: RwLock<(i64, Arc<Catalog>)>,
    closed: AtomicBool,
    runtime: tokio::runtime::Handle,
    /// What starts a write transaction: its bounds (on lock waits, on a session that stops
    /// answering) with it, in one round trip.
    begin: String,
    /// Read replicas, when `--read-database` names any.
    replicas: Option<replicas::Replicas>,
}

pub struct PgStore {
    inner: Arc<Inner>,
}

/// `url` naming database `name` instead of its own (for tools that make databases: tests,
/// benchmarks, `sluice copy`). Several hosts (`h1:5432,h2:5433`) and the query's settings
/// (`target_session_attrs`) are kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    // The hosts start after the user and password, which may hold a `/`.
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let hosts = main[scheme_end..]
        .rfind('@')
        .map_or(scheme_end, |i| scheme_end + i + 1);
    let root = match main[hosts..].find('/') {
        Some(i) => &main[..hosts + i],
        None => main,
    };
    format!("{root}/{name}{query}")
}

/// Connection settings for every sluice connection. No startup `options` (a pooler refuses
/// them): each transaction sets its search path itself.
fn config(url: &str) -> Result<postgres::Config> {
    let mut c: postgres::Config = url
        .parse()
        .map_err(|e| Error::invalid(format!("the database URL is not valid: {e}")))?;
    c.application_name("sluice");
    c.connect_timeout(Duration::from_secs(10));
    Ok(c)
}

impl PgStore {
    /// Connects, migrates (one instance at a time) and loads the catalog. Call from a thread
    /// outside the runtime; blocking work later runs on `runtime`'s blocking threads. A session
    /// that stops answering is given up within a part of `lease` (`reach`).
    pub fn open(
        url: &str,
        limits: &StoreLimits,
        lease: Duration,
        runtime: tokio::runtime::Handle,
    ) -> Result<PgStore> {
        let reach = reach::Reach::for_lease(lease);
        let mut main = config(url)?;
        reach.client(&mut main, url);
        let pooled = limits.pooled;
        let notify = listen::pool(limits, &main)?;
        let writers = Pool::new(main.clone(), pooled, limits.writers(), "writes");
        let mut conn = writers.connect()?;
        let role = migrate::migrate(&mut conn)?;
        let mut query = main.clone();
        query.user(&role.name).password(role.password.as_bytes());
        let replicas = replicas::Replicas::new(limits, (&role.name, &role.password), config)?;
        let readers = Pool::new(main.clone(), pooled, limits.readers(), "reads");
        let inner = Arc::new(Inner {
            files: Arc::new(PgFiles {
                pool: writers.clone(),
            }),
            writers,
            readers,
            notify,
            shared: Shared {
                queries: Pool::new(query, pooled, limits.readers(), "queries"),
                query_role: role.name,
                limits: limits.clone(),
            },
            catalog: RwLock::new((-1, Arc::new(Catalog::default()))),
            closed: AtomicBool::new(false),
            runtime,
            begin: format!(
                "BEGIN; SET LOCAL lock_timeout = {}; {}",
                limits.lock_timeout.as_millis().max(1),
                reach.server()
            ),
            replicas,
        });
        conn.transact("BEGIN", |conn| inner.fresh(conn))?;
        let listener = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("sluice-catalog".into())
            .spawn(move || listen::listen(listener))
            .map_err(Error::internal)?;
        replica_probe::start(&inner, main)?;
        Ok(PgStore { inner })
    }
}

impl Inner {
    fn cached(&self) -> (i64, Arc<Catalog>) {
        let c = self.catalog.read().unwrap_or_else(|p| p.into_inner());
        (c.0, c.1.clone())
    }

    fn publish(&self, version: i64, catalog: Arc<Catalog>) {
        let mut c = self.catalog.write().unwrap_or_else(|p| p.into_inner());
        if version > c.0 {
            *c = (version, catalog);
        }
    }

    /// The catalog as of this transaction, reloaded if another instance changed it.
    fn fresh(&self, conn: &mut Conn) -> Result<(i64, Arc<Catalog>)> {
        let version: i64 = {
            let s = conn
                .prepare("SELECT catalog_version FROM _meta")
                .map_err(|e| tx::map_err(&e))?;
            conn.client
                .query_one(&s, &[])
                .and_then(|r| r.try_get(0))
                .map_err(|e| tx::map_err(&e))?
        };
        conn.forget_statements(version);
        let (have, catalog) = self.cached();
        if have == version {
            return Ok((version, catalog));
        }
        let loaded = Arc::new(crate::store::RecordTx::load_catalog(&mut PgTx::new(
            conn,
            &self.shared,
            false,
        ))?);
        self.publish(version, loaded.clone());
        Ok((version, loaded))
    }

    fn run_read(&self, job: ReadJob, after: Option<u64>) {
        let Some(job) = replicas::route(self, job, after) else {
            return;
        };
        let begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
        let mut conn = match self.readers.get_begun(self.shared.limits.read_wait, begin) {
            Ok(c) => c,
            Err(e) => return job(Err(e)),
        };
        match self.fresh(&mut conn) {
            Ok((_, catalog)) => {
                let mut tx = PgTx::new(&mut conn, &self.shared, false);
                let _ = catch_unwind(AssertUnwindSafe(|| {
                    job(Ok(Snapshot {
                        tx: &mut tx,
                        catalog: &catalog,
                    }))
                }));
            }
            Err(e) => job(Err(e)),
        }
        let _ = conn.end("ROLLBACK");
    }
}

impl Store for PgStore {
    fn write(&self, job: WriteJob) {
        if self.inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let inner = self.inner.clone();
        crate::counters::handoff();
        self.inner
            .runtime
            .spawn_blocking(move || inner.run_write(job));
    }

    fn read(&self, job: ReadJob) {
        if self.inner.closed.load(Ordering::SeqCst) {
            return job(Err(Error::new(
                ErrorCode::Unavailable,
                "the store is not available",
            )));
        }
        let inner = self.inner.clone();
        crate::counters::handoff();
        self.inner
            .runtime
            .spawn_blocking(move || inner.run_read(job, None));
    }

    fn read_after(&self, job: ReadJob, after: u64) {
        replicas::spawn_read(self, job, after);
    }

    fn position(&self) -> Option<u64> {
        self.inner.replicas.as_ref().map(|r| r.position())
    }

    fn catalog(&self) -> Arc<Catalog> {
        self.inner.cached().1
    }

    fn syntax(&self) -> SqlSyntax {
        SqlSyntax {
            dialect: Box::new(sqlparser::dialect::PostgreSqlDialect {}),
            // System tables (`_apps`…), PostgreSQL's own (`pg_…`), record tables (`o_…`).
            reserved_prefixes: &["_", "pg_", "o_", "information_schema"],
            functions: PG_FUNCTIONS,
            table_functions: PG_TABLE_FUNCTIONS,
        }
    }

    fn files(&self) -> Arc<dyn FileStore> {
        self.inner.files.clone()
    }

    fn shared(&self) -> bool {
        true
    }

    fn reruns_writes(&self) -> bool {
        true
    }

    fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_another_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "y"),
            "postgresql://u:p@h/y?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "z"), "postgres://h/z");
        assert_eq!(
            with_database(
                "postgres://postgres@127.0.0.1:5432,127.0.0.1:5433/db?target_session_attrs=read-write",
                "x"
            ),
            "postgres://postgres@127.0.0.1:5432,127.0.0.1:5433/x?target_session_attrs=read-write"
        );
        assert_eq!(
            with_database("postgres://u:a/b@h1,h2/db", "w"),
            "postgres://u:a/b@h1,h2/w"
        );
    }
}
