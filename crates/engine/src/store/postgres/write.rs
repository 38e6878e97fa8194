//! Running write work on PostgreSQL: one transaction per run, begun with the store's bounds,
//! committed or rolled back as the work says, and run again (with a growing random pause) when it
//! lost a race with another writer.

use super::pool::Conn;
use super::tx::{self, PgTx};
use super::{replicas, Inner, CHANNEL};
use crate::error::{Error, ErrorCode, Result};
use crate::store::WriteJob;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many runs a write that lost a race gets, however long they take (a deadlock costs 1 s).
const MIN_ATTEMPTS: u32 = 8;
/// The longest pause between two runs of a write that lost a race.
const MAX_BACKOFF: Duration = Duration::from_millis(200);
/// How long a write waits for a connection.
const WRITE_WAIT: Duration = Duration::from_secs(30);

/// How one run of write work ended.
enum Attempt {
    /// It lost a race (the reason names which, for the metric): run it again.
    Retry(Error, &'static str),
    Done(Result<()>),
}

impl Inner {
    pub(super) fn run_write(&self, mut job: WriteJob) {
        let mut conn = match self.writers.get_begun(WRITE_WAIT, &self.begin) {
            Ok(c) => c,
            Err(e) => return job.done(Err(e)),
        };
        // Runs again a few times, then while within the bound, pausing a random time under a
        // ceiling that doubles each run, so contenders that collided spread apart.
        let until = Instant::now() + self.shared.limits.write_retry;
        for attempt in 0u32.. {
            if attempt > 0 {
                if let Err(e) = conn.begin(&self.begin) {
                    return job.done(Err(tx::map_err(&e)));
                }
            }
            match self.attempt(&mut conn, &mut job) {
                Attempt::Retry(e, why) if attempt + 1 < MIN_ATTEMPTS || Instant::now() < until => {
                    tracing::debug!(attempt, error = %e, why, "running a write again");
                    crate::metrics::write_retry(why);
                    let ceiling =
                        (Duration::from_millis(5) * 2u32.pow(attempt.min(6))).min(MAX_BACKOFF);
                    let r = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0;
                    std::thread::sleep(ceiling.mul_f64(r));
                }
                Attempt::Retry(e, _) => return job.done(Err(e)),
                Attempt::Done(r) => return job.done(r),
            }
        }
    }

    /// Runs `job` once in the transaction begun on `conn`, and commits or rolls it back.
    fn attempt(&self, conn: &mut Conn, job: &mut WriteJob) -> Attempt {
        let db = |e: postgres::Error| tx::map_err(&e);
        let rollback = |conn: &mut Conn| {
            let _ = conn.end("ROLLBACK");
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
        if let Some((e, why)) = outcome.retry {
            rollback(conn);
            return Attempt::Retry(e, why);
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
                    return Attempt::Retry(
                        Error::new(ErrorCode::Busy, "the schema changed meanwhile; retry"),
                        "schema",
                    );
                }
                Err(e) => {
                    rollback(conn);
                    return Attempt::Done(Err(db(e)));
                }
            }
        }
        match replicas::commit(conn, self.replicas.as_ref()) {
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
                    Attempt::Retry(err, "commit")
                } else {
                    Attempt::Done(Err(err))
                }
            }
        }
    }
}
