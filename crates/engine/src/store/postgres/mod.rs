//! The PostgreSQL backend, for several instances sharing one database. Each write runs in its own
//! `READ COMMITTED` transaction on a pooled connection (rows it reads to change are locked), and
//! runs again from the start when it lost a race; reads run on `REPEATABLE READ READ ONLY`
//! snapshots. The catalog is versioned in the database: every transaction checks the version and
//! reloads a stale catalog, a change bumps it (refusing to commit over a change it did not see),
//! and a notification tells the other instances at once.

mod aliases;
mod auth;
mod batched_writes;
mod catalog;
mod files;
mod idempotency;
mod listen;
mod migrate;
mod pool;
mod query;
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

/// How often a write that lost a race runs again before its caller is told the store is busy.
const MAX_ATTEMPTS: u32 = 8;
/// How long a write waits for a connection.
const WRITE_WAIT: Duration = Duration::from_secs(30);
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
    shared: Shared,
    files: Arc<PgFiles>,
    /// The catalog and the version it was loaded at.
    catalog: RwLock<(i64, Arc<Catalog>)>,
    closed: AtomicBool,
    runtime: tokio::runtime::Handle,
    /// Read replicas, when `--read-database` names any.
    replicas: Option<replicas::Replicas>,
}

pub struct PgStore {
    inner: Arc<Inner>,
}

/// `url` naming database `name` instead of its own (for tools that make databases: tests,
/// benchmarks, `sluice copy`).
pub fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let root = match main[scheme_end..].find('/') {
        Some(i) => &main[..scheme_end + i],
        None => main,
    };
    format!("{root}/{name}{query}")
}

/// Connection settings for every sluice connection: its schema first on the search path.
fn config(url: &str) -> Result<postgres::Config> {
    let mut c: postgres::Config = url
        .parse()
        .map_err(|e| Error::invalid(format!("the database URL is not valid: {e}")))?;
    c.application_name("sluice");
    c.options(&format!("-c search_path={}", migrate::SCHEMA));
    c.connect_timeout(Duration::from_secs(10));
    Ok(c)
}

impl PgStore {
    /// Connects, migrates (one instance at a time) and loads the catalog. Call from a thread
    /// outside the runtime; blocking work later runs on `runtime`'s blocking threads.
    pub fn open(
        url: &str,
        limits: &StoreLimits,
        runtime: tokio::runtime::Handle,
    ) -> Result<PgStore> {
        let main = config(url)?;
        let writers = Pool::new(main.clone(), limits.writers(), "writes");
        let mut conn = writers.connect()?;
        let role = migrate::migrate(&mut conn)?;
        let mut query = main.clone();
        query.user(&role.name).password(role.password.as_bytes());
        let replicas = replicas::Replicas::new(limits, (&role.name, &role.password), config)?;
        let readers = Pool::new(main.clone(), limits.readers(), "reads");
        let inner = Arc::new(Inner {
            files: Arc::new(PgFiles {
                pool: writers.clone(),
            }),
            writers,
            readers,
            shared: Shared {
                queries: Pool::new(query, limits.readers(), "queries"),
                query_role: role.name,
                limits: limits.clone(),
            },
            catalog: RwLock::new((-1, Arc::new(Catalog::default()))),
            closed: AtomicBool::new(false),
            runtime,
            replicas,
        });
        conn.client
            .batch_execute("BEGIN")
            .map_err(|e| tx::map_err(&e))?;
        let loaded = inner.fresh(&mut conn);
        let _ = conn.client.batch_execute("ROLLBACK");
        loaded?;
        let listener = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("sluice-catalog".into())
            .spawn(move || listen::listen(listener))
            .map_err(Error::internal)?;
        replica_probe::start(&inner, main)?;
        Ok(PgStore { inner })
    }
}

/// How one run of write work ended.
enum Attempt {
    Retry(Error),
    Done(Result<()>),
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

    fn run_write(&self, mut job: WriteJob) {
        let mut conn = match self.writers.get(WRITE_WAIT) {
            Ok(c) => c,
            Err(e) => return job.done(Err(e)),
        };
        for attempt in 1.. {
            match self.attempt(&mut conn, &mut job) {
                Attempt::Retry(e) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "running a write again");
                    // Back off a little, differently for each contender.
                    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 20;
                    std::thread::sleep(Duration::from_millis(5 * u64::from(attempt) + jitter));
                }
                Attempt::Retry(e) => return job.done(Err(e)),
                Attempt::Done(r) => return job.done(r),
            }
        }
    }

    fn attempt(&self, conn: &mut Conn, job: &mut WriteJob) -> Attempt {
        let db = |e: postgres::Error| tx::map_err(&e);
        if let Err(e) = conn.client.batch_execute("BEGIN") {
            return Attempt::Done(Err(db(e)));
        }
        let rollback = |conn: &mut Conn| {
            let _ = conn.client.batch_execute("ROLLBACK");
        };
        let (version, mut catalog) = match self.fresh(conn) {
            Ok(c) => c,
            Err(e) => {
                rollback(conn);
                return Attempt::Done(Err(e));
            }
        };
        let before = catalog.clone();
        let mut tx = PgTx::new(conn, &self.shared, true);
        let keep = catch_unwind(AssertUnwindSafe(|| job.run(&mut tx, &mut catalog)));
        let outcome = tx.outcome();
        let keep = keep.unwrap_or_else(|_| {
            tracing::error!("a write job panicked; its work is undone");
            false
        });
        if let Some(e) = outcome.retry {
            rollback(conn);
            return Attempt::Retry(e);
        }
        if !keep {
            rollback(conn);
            return Attempt::Done(Ok(()));
        }
        if let Some(e) = outcome.failed {
            rollback(conn);
            return Attempt::Done(Err(e));
        }
        let changed = !Arc::ptr_eq(&before, &catalog);
        if changed {
            let bumped = conn
                .client
                .execute(
                    "UPDATE _meta SET catalog_version = catalog_version + 1 WHERE catalog_version = $1",
                    &[&version],
                )
                .and_then(|n| conn.client.batch_execute(&format!("NOTIFY {CHANNEL}")).map(|_| n));
            match bumped {
                Ok(1) => {}
                Ok(_) => {
                    rollback(conn);
                    return Attempt::Retry(Error::new(
                        ErrorCode::Busy,
                        "the schema changed meanwhile; retry",
                    ));
                }
                Err(e) => {
                    rollback(conn);
                    return Attempt::Done(Err(db(e)));
                }
            }
        }
        match replicas::commit(&mut conn.client, self.replicas.as_ref()) {
            Ok(()) => {
                if changed {
                    self.publish(version + 1, catalog);
                }
                Attempt::Done(Ok(()))
            }
            Err(e) => {
                rollback(conn);
                let err = db(e);
                if err.code == ErrorCode::Busy {
                    Attempt::Retry(err)
                } else {
                    Attempt::Done(Err(err))
                }
            }
        }
    }

    fn run_read(&self, job: ReadJob, after: Option<u64>) {
        let Some(job) = replicas::route(self, job, after) else {
            return;
        };
        let mut conn = match self.readers.get(self.shared.limits.read_wait) {
            Ok(c) => c,
            Err(e) => return job(Err(e)),
        };
        if let Err(e) = conn
            .client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        {
            return job(Err(tx::map_err(&e)));
        }
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
        let _ = conn.client.batch_execute("ROLLBACK");
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
    }
}
