//! `PgTx`: one pooled connection inside a transaction. PostgreSQL aborts a whole transaction (or
//! the innermost savepoint) at the first failing statement, where SQLite undoes just the
//! statement; so statements that may fail for a caller's reasons are written not to (`ON CONFLICT
//! DO NOTHING`) or run in a savepoint of their own, and any other failure marks the transaction:
//! later statements fail at once, and the store rolls it back — or runs the work again, when it
//! failed only for losing a race (a deadlock, a serialization failure, a table that changed).

use super::pool::{lost, Conn};
use super::Shared;
use crate::error::{Error, ErrorCode, Result};
use crate::store::Tx;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::Row;

pub type Params<'a> = [&'a (dyn ToSql + Sync)];

pub struct PgTx<'c> {
    pub(super) conn: &'c mut Conn,
    pub(super) shared: &'c Shared,
    /// A write transaction (rows read for update are locked); otherwise a read-only snapshot.
    pub(super) writable: bool,
    /// Open savepoints.
    depth: usize,
    /// The failure that aborted the transaction, and the savepoint depth it happened at.
    failed: Option<(usize, Error)>,
    /// Set when the work should run again on a fresh transaction, with why (for the metric).
    retry: Option<(Error, &'static str)>,
    /// The advisory locks on unique values this transaction took.
    pub(super) locks: Held,
}

/// The advisory locks a transaction holds, so that it asks for each once.
#[derive(Default)]
pub struct Held {
    /// Whether the transaction wrote (or locked) unique values already: later locks only try.
    pub wrote_unique: bool,
    /// Objects locked whole, and objects locked shared.
    pub whole: Vec<i64>,
    pub shared: Vec<i64>,
    pub values: std::collections::HashSet<i64>,
}

/// How a transaction's work ended, for the store to act on.
pub struct Outcome {
    pub retry: Option<(Error, &'static str)>,
    pub failed: Option<Error>,
}

impl<'c> PgTx<'c> {
    pub fn new(conn: &'c mut Conn, shared: &'c Shared, writable: bool) -> Self {
        Self {
            conn,
            shared,
            writable,
            depth: 0,
            failed: None,
            retry: None,
            locks: Held::default(),
        }
    }

    /// Ends this attempt because another writer holds what it needs: every later statement fails
    /// at once, and the store runs the work again.
    pub fn lost_race(&mut self, err: Error) -> Error {
        self.retry.get_or_insert_with(|| (err.clone(), "lock_held"));
        self.failed = Some((0, err.clone()));
        err
    }

    pub fn outcome(self) -> Outcome {
        Outcome {
            retry: self.retry,
            failed: self.failed.map(|(_, e)| e),
        }
    }

    /// Runs `f` on the connection, unless the transaction already failed; a failure is recorded.
    pub fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Conn) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        if let Some((_, e)) = &self.failed {
            return Err(e.clone());
        }
        f(self.conn).map_err(|e| {
            let err = map_err(&e);
            // A value refused while encoding never reached the server: nothing is aborted.
            if e.as_db_error().is_none()
                && !e.is_closed()
                && err.code == ErrorCode::ValidationFailed
            {
                return err;
            }
            if let Some(why) = retryable(&e) {
                self.retry.get_or_insert_with(|| (err.clone(), why));
            }
            self.failed = Some((self.depth, err.clone()));
            err
        })
    }

    pub fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64> {
        self.run(|c| {
            let s = c.prepare(sql)?;
            c.client.execute(&s, params)
        })
    }

    pub fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        self.run(|c| {
            let s = c.prepare(sql)?;
            c.client.query(&s, params)
        })
    }

    pub fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        self.run(|c| {
            let s = c.prepare(sql)?;
            c.client.query_opt(&s, params)
        })
    }

    /// Streams rows in with `COPY … FROM STDIN (FORMAT binary)`: `fill` writes them. Any failure,
    /// even of a value while encoding, aborts the copy on the server, so it marks the transaction.
    pub fn copy_in(
        &mut self,
        sql: &str,
        types: &[Type],
        fill: impl FnOnce(&mut BinaryCopyInWriter<'_>) -> std::result::Result<(), postgres::Error>,
    ) -> Result<u64> {
        if let Some((_, e)) = &self.failed {
            return Err(e.clone());
        }
        let copied = (|| {
            let sink = self.conn.client.copy_in(sql)?;
            let mut w = BinaryCopyInWriter::new(sink, types);
            fill(&mut w)?;
            w.finish()
        })();
        copied.map_err(|e| {
            let err = map_err(&e);
            if let Some(why) = retryable(&e) {
                self.retry.get_or_insert_with(|| (err.clone(), why));
            }
            self.failed = Some((self.depth, err.clone()));
            err
        })
    }

    /// Runs statements without parameters (DDL, savepoints), unprepared.
    pub fn batch(&mut self, sql: &str) -> Result<()> {
        self.run(|c| c.client.batch_execute(sql))
    }

    /// ` FOR UPDATE` in a write transaction: a read-modify-write of the row is then safe against
    /// other instances.
    pub fn for_update(&self) -> &'static str {
        if self.writable {
            " FOR UPDATE"
        } else {
            ""
        }
    }

    /// Runs `f` in a savepoint of its own, so that its failure undoes only its own work.
    pub fn isolated<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.savepoint()?;
        let r = f(self);
        match &r {
            Ok(_) => self.release()?,
            Err(_) => self.rollback()?,
        }
        r
    }
}

impl Conn {
    /// Runs `f` in a transaction of its own, committed when it succeeds, else rolled back.
    pub fn transact<T>(
        &mut self,
        begin: &str,
        f: impl FnOnce(&mut Conn) -> Result<T>,
    ) -> Result<T> {
        self.begin(begin).map_err(|e| map_err(&e))?;
        match f(self) {
            Ok(v) => self.end("COMMIT").map(|()| v).map_err(|e| map_err(&e)),
            Err(e) => {
                let _ = self.end("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Failures that say only that this transaction lost a race with another, and which race.
fn retryable(e: &postgres::Error) -> Option<&'static str> {
    let c = e.code()?;
    Some(if *c == SqlState::T_R_SERIALIZATION_FAILURE {
        "serialization"
    } else if *c == SqlState::T_R_DEADLOCK_DETECTED {
        "deadlock"
    } else if *c == SqlState::LOCK_NOT_AVAILABLE {
        // A lock wait reached `lock_timeout`: what it waited on may be waiting on this.
        "lock_timeout"
    } else if [SqlState::UNDEFINED_COLUMN, SqlState::UNDEFINED_TABLE].contains(c) {
        // The catalog this work was planned on changed under it.
        "schema"
    } else {
        return None;
    })
}

/// The column a unique violation is about, from PostgreSQL's detail:
/// `Key (app_id, name)=(…, …) already exists.` names the last key column.
fn unique_field(db: &postgres::error::DbError) -> String {
    db.detail()
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")=").map(|(cols, _)| cols))
        .and_then(|cols| cols.rsplit(',').next())
        .map(|c| c.trim().trim_matches('"').to_owned())
        .unwrap_or_default()
}

/// Maps PostgreSQL failures to domain errors; detail is logged, not returned.
pub fn map_err(e: &postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            let field = unique_field(db);
            return Error::new(
                ErrorCode::UniqueViolation,
                format!("a record with this {field} already exists"),
            )
            .with_field(field);
        }
        if [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::UNDEFINED_COLUMN,
            SqlState::UNDEFINED_TABLE,
            SqlState::LOCK_NOT_AVAILABLE,
        ]
        .contains(code)
        {
            return Error::new(ErrorCode::Busy, "the database is busy; retry");
        }
        if *code == SqlState::QUERY_CANCELED {
            return Error::new(ErrorCode::Timeout, "the statement ran out of time");
        }
        if *code == SqlState::DISK_FULL {
            return Error::io(std::io::ErrorKind::StorageFull.into());
        }
        if [
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::ADMIN_SHUTDOWN,
            // The session sat in a transaction past `reach`'s bound (its link was down).
            SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            // A server that became a standby (a failover the other way) takes no writes.
            SqlState::READ_ONLY_SQL_TRANSACTION,
        ]
        .contains(code)
        {
            return Error::new(ErrorCode::Unavailable, "the database is unavailable; retry");
        }
        tracing::error!(code = code.code(), error = %db, "database error");
        return Error::internal(format!("database error {}", code.code()));
    }
    if lost(e) {
        return Error::new(
            ErrorCode::Unavailable,
            "the database connection was lost; retry",
        );
    }
    if let Some(src) = std::error::Error::source(e) {
        let msg = src.to_string();
        if msg.contains("is not a valid") || msg.contains("may not contain") {
            return Error::new(ErrorCode::ValidationFailed, msg);
        }
    }
    Error::internal(e)
}

impl Tx for PgTx<'_> {
    fn savepoint(&mut self) -> Result<()> {
        self.batch("SAVEPOINT sp")?;
        self.depth += 1;
        Ok(())
    }

    fn release(&mut self) -> Result<()> {
        self.batch("RELEASE sp")?;
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }

    fn rollback(&mut self) -> Result<()> {
        // A failure inside this savepoint is undone with it.
        if self
            .failed
            .as_ref()
            .is_some_and(|(d, _)| *d >= self.depth && self.depth > 0)
        {
            self.failed = None;
        }
        self.batch("ROLLBACK TO sp; RELEASE sp")?;
        self.depth = self.depth.saturating_sub(1);
        Ok(())
    }
}
