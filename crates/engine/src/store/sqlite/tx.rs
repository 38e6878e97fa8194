//! `SqliteTx`: one SQLite connection inside a transaction (or a read snapshot), with the statements
//! it prepared for the record hot path. Each capability's trait is implemented beside its SQL.

use super::prepared::Prepared;
use crate::error::{Error, ErrorCode, Result};
use crate::store::local::LocalFiles;
use crate::store::Tx;
use rusqlite::{Connection, ErrorCode as SqliteCode};

pub struct SqliteTx<'c> {
    pub(super) conn: &'c Connection,
    pub(super) prepared: Prepared<'c>,
    pub(super) files: &'c LocalFiles,
}

impl<'c> SqliteTx<'c> {
    pub fn new(conn: &'c Connection, files: &'c LocalFiles) -> Self {
        Self {
            conn,
            prepared: Prepared::default(),
            files,
        }
    }

    fn exec_cached(&self, sql: &str) -> Result<()> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(map_err)
    }
}

/// Maps SQLite failures to domain errors: unique violations name their column; the rest is internal.
pub fn map_err(e: rusqlite::Error) -> Error {
    if let rusqlite::Error::SqliteFailure(f, Some(msg)) = &e {
        if f.code == SqliteCode::ConstraintViolation && msg.starts_with("UNIQUE constraint failed")
        {
            let field = msg.rsplit('.').next().unwrap_or("").trim().to_owned();
            return Error::new(
                ErrorCode::UniqueViolation,
                format!("a record with this {field} already exists"),
            )
            .with_field(field);
        }
        if f.code == SqliteCode::DatabaseBusy || f.code == SqliteCode::DatabaseLocked {
            return Error::new(ErrorCode::Unavailable, "the store is busy; retry");
        }
        if f.code == SqliteCode::OperationInterrupted {
            return Error::new(ErrorCode::Timeout, "the statement ran out of time");
        }
    }
    if let rusqlite::Error::SqliteFailure(f, _) = &e {
        if f.code == SqliteCode::DiskFull {
            return Error::io(std::io::ErrorKind::StorageFull.into());
        }
    }
    Error::internal(e)
}

impl Tx for SqliteTx<'_> {
    fn savepoint(&mut self) -> Result<()> {
        self.exec_cached("SAVEPOINT sp")
    }

    fn release(&mut self) -> Result<()> {
        self.exec_cached("RELEASE sp")
    }

    fn rollback(&mut self) -> Result<()> {
        self.exec_cached("ROLLBACK TO sp")?;
        self.exec_cached("RELEASE sp")
    }
}
