//! The writer, whose thread folds queued write jobs into one transaction (a savepoint each) and
//! which runs a small job on its caller's thread when idle, and the checkpointer, which copies
//! committed WAL frames back into the database file.

use super::readers::Readers;
use super::tx::SqliteTx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::Catalog;
use crate::store::local::LocalFiles;
use crate::store::{Tx, WriteJob};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long the writer must have been idle before a write runs on its caller's thread: writes that
/// follow each other closer than this come from concurrent writers, whose commits the writer thread
/// shares (one commit for many beats one each, even with a hand-off).
const IDLE_BEFORE_INLINE: Duration = Duration::from_micros(50);
/// How many queued write jobs the writer folds into one commit at most.
const MAX_GROUP: usize = 256;
/// Pause between a commit and the checkpoint it triggers, so one checkpoint covers many commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(1000);
/// How often idle readers are looked at when nothing commits.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(2);
/// How long a TRUNCATE checkpoint waits for readers (writers wait meanwhile).
const TRUNCATE_WAIT: Duration = Duration::from_millis(250);

/// Housekeeping beside the writer: copies committed WAL frames into the database file (a PASSIVE
/// checkpoint never blocks the writer), at most every `CHECKPOINT_EVERY` after a commit; when the
/// WAL is over its bound, a TRUNCATE checkpoint (which waits briefly for readers, holding writers
/// back) resets it; and idle readers are closed.
pub struct Checkpointer {
    pub conn: Connection,
    pub wal: PathBuf,
    pub wal_max_bytes: u64,
    pub readers: Arc<Readers>,
}

impl Checkpointer {
    pub fn run(self, committed: Receiver<()>) {
        let _ = self.conn.busy_timeout(TRUNCATE_WAIT);
        loop {
            match committed.recv_timeout(HOUSEKEEPING_EVERY) {
                Ok(()) => {
                    // Over the bound, at once; otherwise after a pause that gathers commits.
                    if !self.over_bound() {
                        std::thread::sleep(CHECKPOINT_EVERY);
                    }
                    while committed.try_recv().is_ok() {}
                    self.checkpoint();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            self.readers.close_idle();
        }
    }

    fn over_bound(&self) -> bool {
        std::fs::metadata(&self.wal).is_ok_and(|m| m.len() > self.wal_max_bytes)
    }

    fn checkpoint(&self) {
        let mode = if self.over_bound() {
            "TRUNCATE"
        } else {
            "PASSIVE"
        };
        let sql = format!("PRAGMA wal_checkpoint({mode})");
        let start = Instant::now();
        if let Err(e) = self.conn.query_row(&sql, [], |_| Ok(())) {
            tracing::warn!(error = %e, mode, "checkpoint failed");
        }
        crate::metrics::checkpoint(start.elapsed());
    }
}

/// The write connection and what writing needs beside it. Write jobs queue for the writer thread,
/// which folds those waiting into one transaction; a small job may instead run at once on its
/// caller's thread when the writer is idle and nothing waits (no hand-off to another thread).
pub struct Writer {
    state: Mutex<WriterState>,
    /// Jobs queued or running (on the writer thread or a caller's): only work that finds none may
    /// run on its caller's thread, so concurrent writers still share commits on the writer thread.
    in_flight: AtomicUsize,
    /// When the last write finished, in nanoseconds since `started`: a writer that committed
    /// moments ago is busy with a stream of writes, which it commits faster together.
    last_done: AtomicU64,
    started: Instant,
    files: Arc<LocalFiles>,
    /// The catalog readers see, published after each commit that changed it.
    shared: Arc<RwLock<Arc<Catalog>>>,
    commits: SyncSender<()>,
}

struct WriterState {
    conn: Connection,
    /// The catalog as the write transactions see it.
    catalog: Arc<Catalog>,
}

impl Writer {
    pub fn new(
        conn: Connection,
        files: Arc<LocalFiles>,
        shared: Arc<RwLock<Arc<Catalog>>>,
        commits: SyncSender<()>,
    ) -> Writer {
        let catalog = shared.read().unwrap_or_else(|p| p.into_inner()).clone();
        Writer {
            state: Mutex::new(WriterState { conn, catalog }),
            in_flight: AtomicUsize::new(0),
            last_done: AtomicU64::new(0),
            started: Instant::now(),
            files,
            shared,
            commits,
        }
    }

    /// Counts a job on its way to the writer thread.
    pub fn queue(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs `job` on this thread when no other write is queued or running; gives it back
    /// otherwise (to be queued, and committed with the others).
    pub fn run_now(&self, job: WriteJob) -> Option<WriteJob> {
        let since = self.nanos() - self.last_done.load(Ordering::Relaxed);
        if since < IDLE_BEFORE_INLINE.as_nanos() as u64 {
            return Some(job);
        }
        if self
            .in_flight
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Some(job);
        }
        let given_back = match self.state.try_lock() {
            Ok(mut state) => {
                self.run_batch(&mut state, vec![job]);
                None
            }
            Err(_) => Some(job),
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        given_back
    }

    /// The writer thread: takes what waits (up to `MAX_GROUP` jobs) and runs it as one commit.
    pub fn run(&self, rx: Receiver<WriteJob>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
            let taken = jobs.len();
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            self.run_batch(&mut state, jobs);
            drop(state);
            self.in_flight.fetch_sub(taken, Ordering::SeqCst);
        }
    }

    /// Runs `jobs` in one transaction, a savepoint each (a lone job needs none: the transaction is
    /// its savepoint), then tells each how the commit went.
    fn run_batch(&self, state: &mut WriterState, jobs: Vec<WriteJob>) {
        let WriterState { conn, catalog } = state;
        if let Err(e) = begin(conn) {
            // Dropping the jobs reports `unavailable` to each caller.
            tracing::error!(error = %e, "cannot open a write transaction");
            return;
        }
        let before = catalog.clone();
        let alone = jobs.len() == 1;
        let mut kept_any = false;
        let mut dones = Vec::with_capacity(jobs.len());
        let mut tx = SqliteTx::new(conn, &self.files);
        for mut job in jobs {
            if !alone && tx.savepoint().is_err() {
                continue;
            }
            let snapshot = catalog.clone();
            match catch_unwind(AssertUnwindSafe(|| job.run(&mut tx, catalog))) {
                Ok(keep) => {
                    let kept = keep && (alone || tx.release().is_ok());
                    if !kept && !alone {
                        let _ = tx.rollback();
                    }
                    if !kept {
                        *catalog = snapshot;
                    }
                    kept_any |= kept;
                    dones.push(job);
                }
                Err(_) => {
                    tracing::error!("a write job panicked; its work is undone");
                    if !alone {
                        let _ = tx.rollback();
                    }
                    *catalog = snapshot;
                }
            }
        }
        drop(tx);
        // A lone job that keeps nothing is undone whole; what others kept is committed.
        let end = if alone && !kept_any {
            "ROLLBACK"
        } else {
            "COMMIT"
        };
        let committed = run_cached(conn, end).map_err(|e| {
            let _ = run_cached(conn, "ROLLBACK");
            super::tx::map_err(e)
        });
        if committed.is_ok() && end == "COMMIT" {
            let _ = self.commits.try_send(());
        }
        match &committed {
            Ok(()) if !Arc::ptr_eq(&before, catalog) => {
                *self.shared.write().unwrap_or_else(|p| p.into_inner()) = catalog.clone();
            }
            Ok(()) => {}
            Err(_) => *catalog = before,
        }
        for job in dones {
            job.done(committed.clone());
        }
        self.last_done.store(self.nanos(), Ordering::Relaxed);
    }

    fn nanos(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

/// Runs a statement without parameters from the connection's statement cache.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn begin(conn: &Connection) -> Result<()> {
    for attempt in 0..50 {
        match run_cached(conn, "BEGIN IMMEDIATE") {
            Ok(()) => return Ok(()),
            Err(e) if attempt == 49 => return Err(Error::internal(e)),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    Err(Error::new(ErrorCode::Unavailable, "store unavailable"))
}
