//! The read side: a bounded pool of read-only connections. A read waits its turn for a bounded
//! time (then it is answered `busy`); connections idle too long are closed, so memory returns
//! after a burst of readers.

use super::tx::{map_err, SqliteTx};
use crate::error::{Error, ErrorCode, Result};
use crate::model::Catalog;
use crate::settings::StoreLimits;
use crate::store::local::LocalFiles;
use crate::store::{ReadJob, Snapshot};
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Semaphore;

pub struct Readers {
    path: PathBuf,
    /// Open connections not in use, the most recently used last.
    idle: Mutex<Vec<(Connection, Instant)>>,
    permits: Arc<Semaphore>,
    limits: StoreLimits,
    files: Arc<LocalFiles>,
}

impl Readers {
    pub fn new(path: PathBuf, limits: StoreLimits, files: Arc<LocalFiles>) -> Readers {
        Readers {
            files,
            path,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(limits.readers())),
            limits,
        }
    }

    /// Runs `job` on a snapshot once a reader is free, or answers it `busy` after the wait.
    pub fn read(self: &Arc<Self>, job: ReadJob, catalog: Arc<Catalog>) {
        let me = self.clone();
        // A task that waits for a reader, then a blocking thread that reads.
        crate::counters::handoff();
        tokio::spawn(async move {
            let permits = me.permits.clone();
            let permit =
                match tokio::time::timeout(me.limits.read_wait, permits.acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    _ => return job(Err(me.busy())),
                };
            crate::counters::handoff();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                me.run(job, &catalog)
            });
        });
    }

    fn busy(&self) -> Error {
        Error::new(
            ErrorCode::Busy,
            format!(
                "all {} readers stayed busy for {} ms; retry shortly",
                self.limits.readers(),
                self.limits.read_wait.as_millis()
            ),
        )
    }

    fn run(&self, job: ReadJob, catalog: &Arc<Catalog>) {
        let conn = match self.take() {
            Ok(c) => c,
            Err(e) => return job(Err(e)),
        };
        // One deferred transaction gives the whole job one snapshot.
        if let Err(e) = conn.execute_batch("BEGIN") {
            return job(Err(map_err(e)));
        }
        let ok = catch_unwind(AssertUnwindSafe(|| {
            job(Ok(Snapshot {
                tx: &mut SqliteTx::new(&conn, &self.files),
                catalog,
            }))
        }))
        .is_ok();
        let _ = conn.execute_batch("COMMIT");
        if ok {
            self.idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((conn, Instant::now()));
        }
    }

    fn take(&self) -> Result<Connection> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some((conn, _)) => Ok(conn),
            None => super::open(&self.path, true, super::READER_CACHE_KIB),
        }
    }

    /// Closes the connections idle longer than the limit (their page caches go with them).
    pub fn close_idle(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|(_, since)| since.elapsed() < self.limits.reader_idle);
    }
}
