//! Read replicas (`--read-database`): streaming standbys that serve the reads a caller may have
//! served by one (records, lists, counts, queries, exports' reads). Writes, tasks, claims and
//! everything else stay on the primary.
//!
//! A read says which position of the primary's WAL it must see (the caller's last write here, 0
//! for none). It goes to a replica that is up, within `--max-replica-lag` (`replica_probe`), and
//! has replayed that position; else to the primary. The replay position is checked again on the
//! connection itself, in the same round trip that begins the snapshot and before it, so a replica
//! that restarted or fell behind since its last probe never serves a read it cannot.
//!
//! A write learns its position in its `COMMIT`'s round trip (`COMMIT; SELECT
//! pg_current_wal_insert_lsn()`), only when replicas are configured.

use super::pool::{Conn, Pool, SCHEMA};
use super::tx::{map_err, PgTx};
use super::{Inner, PgStore, Shared};
use crate::error::Result;
use crate::settings::StoreLimits;
use crate::store::{ReadJob, Snapshot, Store};
use postgres::SimpleQueryMessage;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The WAL position a replica has replayed, as a number (NULL on a server not in recovery).
pub(super) const REPLAYED: &str = "SELECT (pg_last_wal_replay_lsn() - '0/0')::int8";

/// Why a replica reachable and well is skipped.
pub(super) const LAGS: &str = "it lags more than --max-replica-lag";

/// One read replica: its connections and what the probe last found.
pub(super) struct Replica {
    /// `replica N` (its place among the flags) in logs: its URL may hold a password.
    pub name: String,
    pub config: postgres::Config,
    readers: Arc<Pool>,
    /// What its transactions need: queries run on the replica too, as the query role.
    shared: Shared,
    /// Reachable, a standby, and within the lag allowed, as of the last probe (or the last read).
    pub usable: AtomicBool,
    /// The WAL position it had replayed at the last probe.
    pub replayed: AtomicU64,
}

impl Replica {
    /// Takes the replica out of use until the probe finds it well again.
    pub fn down(&self, why: &str) {
        if self.usable.swap(false, Ordering::SeqCst) {
            tracing::warn!(replica = %self.name, reason = why, "read replica skipped");
        }
        // Connections to a server that went away would fail the first reads once it is back.
        if why != LAGS {
            self.readers.drop_idle();
            self.shared.queries.drop_idle();
        }
    }
}

pub(super) struct Replicas {
    pub list: Vec<Replica>,
    /// Where the next read starts looking, so reads spread over the replicas.
    next: AtomicUsize,
    /// The WAL position of this instance's last commit (or later).
    written: AtomicU64,
    pub max_lag: Duration,
}

impl Replicas {
    /// The replicas `limits` names, connecting as `main` does (and as the query role for queries);
    /// none when it names none. A replica that cannot be reached yet is skipped until it can.
    pub fn new(
        limits: &StoreLimits,
        query: (&str, &str),
        connect: impl Fn(&str) -> Result<postgres::Config>,
    ) -> Result<Option<Replicas>> {
        if limits.read_replicas.is_empty() {
            return Ok(None);
        }
        let mut list = Vec::new();
        for (i, url) in limits.read_replicas.iter().enumerate() {
            let config = connect(url)?;
            let mut as_query = config.clone();
            as_query.user(query.0).password(query.1.as_bytes());
            list.push(Replica {
                name: format!("replica {}", i + 1),
                readers: Pool::new(config.clone(), false, limits.readers(), "replica reads"),
                shared: Shared {
                    queries: Pool::new(as_query, false, limits.readers(), "replica queries"),
                    query_role: query.0.to_owned(),
                    limits: limits.clone(),
                },
                config,
                usable: AtomicBool::new(false),
                replayed: AtomicU64::new(0),
            });
        }
        Ok(Some(Replicas {
            list,
            next: AtomicUsize::new(0),
            written: AtomicU64::new(0),
            max_lag: limits.max_replica_lag,
        }))
    }

    pub fn position(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// A usable replica that has replayed `after`, the next in turn.
    fn pick(&self, after: u64) -> Option<&Replica> {
        let n = self.list.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| &self.list[(start + i) % n]).find(|r| {
            r.usable.load(Ordering::Acquire) && r.replayed.load(Ordering::Acquire) >= after
        })
    }

    /// Runs `job` on a replica that has replayed `after`; gives it back for the primary when
    /// none can (none usable, none far enough, one that failed before the snapshot began).
    pub fn read(&self, inner: &Inner, job: ReadJob, after: u64) -> Option<ReadJob> {
        let Some(r) = self.pick(after) else {
            return Some(job);
        };
        // A replica whose connections are all taken sends the read to the primary, not waiting.
        let mut conn = match r.readers.get(Duration::ZERO) {
            Ok(c) => c,
            Err(e) => {
                if e.code == crate::error::ErrorCode::Unavailable {
                    r.down("it cannot be reached");
                }
                return Some(job);
            }
        };
        match begin(&mut conn) {
            Ok(Some(replayed)) if replayed >= after => {
                r.replayed.fetch_max(replayed, Ordering::AcqRel);
            }
            Ok(replayed) => {
                let _ = conn.client.batch_execute("ROLLBACK");
                if replayed.is_none() {
                    r.down("it is not a standby (promoted?)");
                }
                return Some(job);
            }
            Err(e) => {
                if conn.client.is_closed() {
                    r.down("its connection broke");
                }
                tracing::debug!(replica = %r.name, error = %e, "a replica read fell back to the primary");
                return Some(job);
            }
        }
        let catalog = match inner.fresh(&mut conn) {
            Ok((_, catalog)) => catalog,
            Err(_) => {
                let _ = conn.client.batch_execute("ROLLBACK");
                return Some(job);
            }
        };
        crate::metrics::read_served(true);
        let mut tx = PgTx::new(&mut conn, &r.shared, false);
        let _ = catch_unwind(AssertUnwindSafe(|| {
            job(Ok(Snapshot {
                tx: &mut tx,
                catalog: &catalog,
            }))
        }));
        if conn.client.is_closed() {
            r.down("its connection broke");
        } else {
            let _ = conn.client.batch_execute("ROLLBACK");
        }
        None
    }
}

/// Queues `job` for a replica that has replayed `after` (or the primary, if none has): as a
/// plain read when the store has no replicas or is closed.
pub(super) fn spawn_read(store: &PgStore, job: ReadJob, after: u64) {
    let inner = &store.inner;
    if inner.replicas.is_none() || inner.closed.load(Ordering::SeqCst) {
        return store.read(job);
    }
    let run = inner.clone();
    crate::counters::handoff();
    inner
        .runtime
        .spawn_blocking(move || run.run_read(job, Some(after)));
}

/// Before a read on the primary: runs `job` on a replica when it may go to one (`after` is set) and one can serve it; gives it
/// back for the primary otherwise.
pub(super) fn route(inner: &Inner, job: ReadJob, after: Option<u64>) -> Option<ReadJob> {
    let (Some(replicas), Some(after)) = (&inner.replicas, after) else {
        return Some(job);
    };
    let job = replicas.read(inner, job, after)?;
    crate::metrics::read_served(false);
    Some(job)
}

/// Reads how far the replica has replayed, then begins the read's transaction — one round trip.
/// The position is read in a transaction of its own, ended before the read's begins, so the
/// read's snapshot (taken at its first statement) sees at least that position.
fn begin(conn: &mut Conn) -> Result<Option<u64>> {
    let sql = format!(
        "{REPLAYED}; COMMIT; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
         SET LOCAL search_path = {SCHEMA}"
    );
    let answer = conn.client.simple_query(&sql).map_err(|e| map_err(&e))?;
    Ok(first_number(&answer))
}

/// The first column of the first row, as a number.
pub(super) fn first_number(answer: &[SimpleQueryMessage]) -> Option<u64> {
    answer.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0).and_then(|v| v.parse().ok()),
        _ => None,
    })
}

/// Commits the transaction on `client`; with replicas, learns the commit's WAL position in the
/// same round trip.
pub(super) fn commit(
    conn: &mut Conn,
    replicas: Option<&Replicas>,
) -> std::result::Result<(), postgres::Error> {
    let Some(replicas) = replicas else {
        return conn.end("COMMIT");
    };
    let answer = conn.end_query("COMMIT; SELECT (pg_current_wal_insert_lsn() - '0/0')::int8")?;
    if let Some(at) = first_number(&answer) {
        replicas.written.fetch_max(at, Ordering::AcqRel);
    }
    Ok(())
}
