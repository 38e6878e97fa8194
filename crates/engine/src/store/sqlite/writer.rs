//! The writer thread, which folds queued write jobs into one transaction (a savepoint each), and
//! the checkpointer, which copies committed WAL frames back into the database file.

use super::readers::Readers;
use super::tx::SqliteTx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::Catalog;
use crate::store::local::LocalFiles;
use crate::store::{Tx, WriteJob};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, RwLock};
use std::time::Duration;

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
        let start = std::time::Instant::now();
        if let Err(e) = self.conn.query_row(&sql, [], |_| Ok(())) {
            tracing::warn!(error = %e, mode, "checkpoint failed");
        }
        crate::metrics::checkpoint(start.elapsed());
    }
}

pub fn writer_loop(
    conn: Connection,
    files: &LocalFiles,
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
        let mut tx = SqliteTx::new(&conn, files);
        for mut job in jobs {
            if tx.savepoint().is_err() {
                continue;
            }
            let snapshot = catalog.clone();
            match catch_unwind(AssertUnwindSafe(|| job.run(&mut tx, &mut catalog))) {
                Ok(keep) => {
                    let kept = keep && tx.release().is_ok();
                    if !kept {
                        let _ = tx.rollback();
                        catalog = snapshot;
                    }
                    dones.push(job);
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
            super::tx::map_err(e)
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
        for job in dones {
            job.done(committed.clone());
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
