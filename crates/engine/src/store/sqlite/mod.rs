//! The embedded SQLite backend: one writer thread that groups concurrent write jobs into one
//! transaction (a savepoint each), and a pool of read-only connections for snapshots.

mod aliases;
mod auth;
mod catalog;
mod docs;
mod idempotency;
mod prepared;
mod query;
mod readers;
mod records;
mod relations;
mod schema;
mod select;
mod selections;
mod tasks;
mod tx;
mod uploads;
mod value;
mod writer;

pub use tx::SqliteTx;

use self::readers::Readers;
use super::local::LocalFiles;
use super::{FileStore, ReadJob, Store, WriteJob};
use crate::error::{Error, Result};
use crate::model::{Catalog, SqlSyntax};
use crate::settings::StoreLimits;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 512;

pub struct SqliteStore {
    files: Arc<LocalFiles>,
    writer: Arc<writer::Writer>,
    /// The writer thread's queue; gone once the store closes.
    queue: Mutex<Option<mpsc::Sender<WriteJob>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Arc<Readers>,
    catalog: Arc<RwLock<Arc<Catalog>>>,
}

/// Page cache per connection, in KiB: the writer's is large (bulk writes touch many index pages),
/// readers' moderate (there are up to `--max-readers` of them), the checkpointer's tiny (it copies
/// pages, it does not look them up).
const WRITER_CACHE_KIB: i64 = 64 << 10;
const READER_CACHE_KIB: i64 = 4 << 10;
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
         PRAGMA foreign_keys = OFF;",
    )
    .map_err(Error::internal)?;
    // Readers (which run queries) sort and build temporary B-trees on disk, so one query cannot
    // take memory without bound; the writer keeps them in memory.
    let temp_store = if read_only { "FILE" } else { "MEMORY" };
    conn.pragma_update(None, "temp_store", temp_store)
        .map_err(Error::internal)?;
    conn.pragma_update(None, "cache_size", -cache_kib)
        .map_err(Error::internal)?;
    if !read_only {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(Error::internal)?;
    }
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if crate::counters::enabled() {
        conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(|_| crate::counters::statement()),
        );
    }
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, migrates it and loads the catalog; uploads
    /// and results live under `files_dir`.
    pub fn open(path: &Path, files_dir: &Path, limits: &StoreLimits) -> Result<SqliteStore> {
        let files = Arc::new(LocalFiles::open(files_dir)?);
        let mut conn = open(path, false, WRITER_CACHE_KIB)?;
        // After a checkpoint resets the WAL, the file is cut back to the bound.
        conn.pragma_update(None, "journal_size_limit", limits.wal_max_bytes as i64)
            .map_err(Error::internal)?;
        schema::migrate(&mut conn)?;
        let catalog = {
            let mut tx = SqliteTx::new(&conn, &files);
            crate::store::RecordTx::load_catalog(&mut tx)?
        };
        let catalog = Arc::new(RwLock::new(Arc::new(catalog)));
        let (tx, rx) = mpsc::channel();
        let (commits, committed) = mpsc::sync_channel(1);
        let readers = Arc::new(Readers::new(path.to_owned(), limits.clone(), files.clone()));
        let checkpointer = writer::Checkpointer {
            conn: open(path, false, CHECKPOINT_CACHE_KIB)?,
            wal: PathBuf::from(format!("{}-wal", path.display())),
            wal_max_bytes: limits.wal_max_bytes,
            readers: readers.clone(),
        };
        std::thread::Builder::new()
            .name("sluice-checkpoint".into())
            .spawn(move || checkpointer.run(committed))
            .map_err(Error::internal)?;
        let writer = Arc::new(writer::Writer::new(
            conn,
            files.clone(),
            catalog.clone(),
            commits,
        ));
        // The writer runs requests' write work: the stack their input bounds are measured against.
        let handle = std::thread::Builder::new()
            .name("sluice-writer".into())
            .stack_size(crate::settings::defaults::THREAD_STACK_BYTES)
            .spawn({
                let writer = writer.clone();
                move || writer.run(rx)
            })
            .map_err(Error::internal)?;
        Ok(SqliteStore {
            files,
            writer,
            queue: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            readers,
            catalog,
        })
    }

    /// Stops the writer after the jobs already queued, and waits for it.
    fn stop_writer(&self) {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self
            .writer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = h.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.stop_writer();
    }
}

impl Store for SqliteStore {
    fn write(&self, job: WriteJob) {
        // If the writer is gone, dropping the job tells its caller the store is unavailable.
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = queue.as_ref() {
            self.writer.queue();
            crate::counters::handoff();
            let _ = tx.send(job);
        }
    }

    fn write_now(&self, job: WriteJob) -> Option<WriteJob> {
        // A closed store takes nothing more, here either.
        if self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
        {
            return Some(job);
        }
        self.writer.run_now(job)
    }

    fn read(&self, job: ReadJob) {
        self.readers.read(job, self.catalog());
    }

    fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn shared(&self) -> bool {
        false
    }

    fn reruns_writes(&self) -> bool {
        false
    }

    fn files(&self) -> Arc<dyn FileStore> {
        self.files.clone()
    }

    fn syntax(&self) -> SqlSyntax {
        SqlSyntax {
            dialect: Box::new(sqlparser::dialect::SQLiteDialect {}),
            // System tables (`_apps`…), SQLite's own (`sqlite_master`…), record tables (`o_…`).
            reserved_prefixes: &["_", "sqlite_", "o_"],
            functions: crate::model::ALLOWED_FUNCTIONS,
            table_functions: crate::model::TABLE_FUNCTIONS,
        }
    }

    fn close(&self) {
        self.stop_writer();
    }
}
