//! The embedded SQLite backend: one writer thread that groups concurrent write jobs into one
//! transaction (a savepoint each), and a pool of read-only connections for snapshots.

mod meta;
mod prepared;
mod query;
mod records;
mod schema;
mod tx;

pub use tx::SqliteTx;

use super::{ReadJob, Store, WriteJob};
use crate::error::{Error, ErrorCode, Result};
use crate::model::Catalog;
use rusqlite::{Connection, OpenFlags};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// How many queued write jobs the writer folds into one commit at most.
const MAX_GROUP: usize = 256;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 512;
/// Pause between a commit and the checkpoint it triggers, so one checkpoint covers many commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(1000);

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<Sender<WriteJob>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    catalog: Arc<RwLock<Arc<Catalog>>>,
}

/// Page cache per connection, in KiB: the writer's is large (bulk writes touch many index pages),
/// readers' moderate, the checkpointer's tiny (it copies pages, it does not look them up).
const WRITER_CACHE_KIB: i64 = 64 << 10;
const READER_CACHE_KIB: i64 = 16 << 10;
const CHECKPOINT_CACHE_KIB: i64 = 1 << 10;

fn open(path: &Path, read_only: bool, cache_kib: i64) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(Error::internal)?;
    // WAL lets readers work beside the writer; NORMAL sync keeps every commit across a process
    // crash (kill -9) and only risks the last commits on power loss.
    conn.execute_batch(
        "PRAGMA busy_timeout = 10000;
         PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = OFF;",
    )
    .map_err(Error::internal)?;
    conn.pragma_update(None, "cache_size", -cache_kib)
        .map_err(Error::internal)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(Error::internal)?;
    }
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrates it and loads the catalog.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let mut conn = open(path, false, WRITER_CACHE_KIB)?;
        schema::migrate(&mut conn)?;
        let catalog = {
            let mut tx = SqliteTx::new(&conn);
            crate::store::Tx::load_catalog(&mut tx)?
        };
        let catalog = Arc::new(RwLock::new(Arc::new(catalog)));
        let (tx, rx) = mpsc::channel();
        let shared = catalog.clone();
        let (commits, committed) = mpsc::sync_channel(1);
        let checkpointer = open(path, false, CHECKPOINT_CACHE_KIB)?;
        std::thread::Builder::new()
            .name("sluice-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, committed))
            .map_err(Error::internal)?;
        let handle = std::thread::Builder::new()
            .name("sluice-writer".into())
            .spawn(move || writer_loop(conn, rx, shared, commits))
            .map_err(Error::internal)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            readers: Arc::new(Mutex::new(Vec::new())),
            catalog,
        })
    }

    /// Stops the writer after the jobs already queued, and waits for it.
    pub fn close(&self) {
        drop(self.writer.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self
            .writer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = h.join();
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

impl Store for SqliteStore {
    fn write(&self, job: WriteJob) {
        // If the writer is gone, dropping the job tells its caller the store is unavailable.
        if let Some(tx) = self
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(job);
        }
    }

    fn read(&self, job: ReadJob) {
        let pool = self.readers.clone();
        let path = self.path.clone();
        let catalog = self.catalog();
        tokio::task::spawn_blocking(move || {
            let conn = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let conn = match conn {
                Some(c) => c,
                None => match open(&path, true, READER_CACHE_KIB) {
                    Ok(c) => c,
                    Err(_) => return,
                },
            };
            // One deferred transaction gives the whole job one snapshot.
            if conn.execute_batch("BEGIN").is_err() {
                return;
            }
            let ok = catch_unwind(AssertUnwindSafe(|| {
                job(&mut SqliteTx::new(&conn), &catalog)
            }))
            .is_ok();
            let _ = conn.execute_batch("COMMIT");
            if ok {
                pool.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
            }
        });
    }

    fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Copies committed WAL frames into the database file while the writer goes on (a PASSIVE
/// checkpoint never blocks it), at most every `CHECKPOINT_EVERY` after a commit.
fn checkpoint_loop(conn: Connection, committed: Receiver<()>) {
    while committed.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_EVERY);
        while committed.try_recv().is_ok() {}
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

fn writer_loop(
    conn: Connection,
    rx: Receiver<WriteJob>,
    shared: Arc<RwLock<Arc<Catalog>>>,
    commits: SyncSender<()>,
) {
    let mut catalog = shared.read().unwrap_or_else(|p| p.into_inner()).clone();
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if let Err(e) = begin(&conn) {
            // Dropping the jobs reports `unavailable` to each caller.
            tracing::error!(error = %e, "cannot open a write transaction");
            continue;
        }
        let before = catalog.clone();
        let mut dones = Vec::with_capacity(jobs.len());
        let mut tx = SqliteTx::new(&conn);
        for job in jobs {
            use crate::store::Tx;
            if tx.savepoint().is_err() {
                continue;
            }
            let snapshot = catalog.clone();
            match catch_unwind(AssertUnwindSafe(|| job(&mut tx, &mut catalog))) {
                Ok(finish) => {
                    let kept = finish.keep && tx.release().is_ok();
                    if !kept {
                        let _ = tx.rollback();
                        catalog = snapshot;
                    }
                    dones.push(finish.done);
                }
                Err(_) => {
                    tracing::error!("a write job panicked; its work is undone");
                    let _ = tx.rollback();
                    catalog = snapshot;
                }
            }
        }
        let committed = conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            Error::internal(e)
        });
        if committed.is_ok() {
            let _ = commits.try_send(());
        }
        match &committed {
            Ok(()) if !Arc::ptr_eq(&before, &catalog) => {
                *shared.write().unwrap_or_else(|p| p.into_inner()) = catalog.clone();
            }
            Ok(()) => {}
            Err(_) => catalog = before,
        }
        for done in dones {
            done(committed.clone());
        }
    }
}

fn begin(conn: &Connection) -> Result<()> {
    for attempt in 0..50 {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => return Ok(()),
            Err(e) if attempt == 49 => return Err(Error::internal(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Err(Error::new(ErrorCode::Unavailable, "store unavailable"))
}
