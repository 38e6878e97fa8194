//! `SqliteTx`: the store's transaction trait over one SQLite connection.

use super::prepared::Prepared;
use super::{meta, records, schema};
use crate::batches::Batch;
use crate::error::{Error, ErrorCode, Result};
use crate::jobs::{FileRow, Job};
use crate::model::{App, Catalog, Object, Record, Selection, Stamp, Value, Writes};
use crate::query::{CheckedQuery, QueryLimits, QueryResult};
use crate::store::{SchemaChange, TokenRow, Tx, UserRow};
use rusqlite::{Connection, ErrorCode as SqliteCode};
use std::sync::Arc;
use uuid::Uuid;

pub struct SqliteTx<'c> {
    conn: &'c Connection,
    prepared: Prepared<'c>,
}

impl<'c> SqliteTx<'c> {
    pub fn new(conn: &'c Connection) -> Self {
        Self {
            conn,
            prepared: Prepared::default(),
        }
    }

    pub fn conn(&self) -> &'c Connection {
        self.conn
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

    fn load_catalog(&mut self) -> Result<Catalog> {
        meta::load_catalog(self.conn)
    }

    fn put_app(&mut self, app: &App) -> Result<()> {
        meta::put_app(self.conn, app)
    }

    fn delete_app(&mut self, app: &App) -> Result<()> {
        for obj in app.objects.values() {
            schema::drop_table(self.conn, obj)?;
        }
        meta::delete_app(self.conn, app.id)
    }

    fn create_object(&mut self, obj: &Object) -> Result<()> {
        meta::put_object(self.conn, obj)?;
        schema::create_table(self.conn, obj)
    }

    fn put_object(&mut self, obj: &Object) -> Result<()> {
        meta::put_object(self.conn, obj)
    }

    fn alter_object(&mut self, obj: &Object, change: &SchemaChange) -> Result<()> {
        schema::alter_table(self.conn, obj, change)
    }

    fn drop_object(&mut self, obj: &Object) -> Result<()> {
        schema::drop_table(self.conn, obj)?;
        meta::delete_object(self.conn, obj.id)
    }

    fn insert_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        writes: &Writes,
        stamp: &Stamp,
    ) -> Result<()> {
        records::insert(self.conn, &mut self.prepared, obj, id, writes, stamp)
    }

    fn update_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        writes: &Writes,
        stamp: &Stamp,
    ) -> Result<bool> {
        records::update(self.conn, &mut self.prepared, obj, id, writes, stamp)
    }

    fn delete_record(&mut self, obj: &Object, id: &str) -> Result<bool> {
        records::delete(self.conn, obj, id)
    }

    fn get_record(&mut self, obj: &Object, id: &str) -> Result<Option<Record>> {
        records::get(self.conn, obj, id)
    }

    fn find_id(&mut self, obj: &Object, field: usize, value: &Value) -> Result<Option<String>> {
        records::find_id(self.conn, obj, field, value)
    }

    fn list_records(&mut self, obj: &Object, sel: &Selection) -> Result<Vec<Record>> {
        records::list(self.conn, obj, sel)
    }

    fn count_records(&mut self, obj: &Object, sel: &Selection) -> Result<u64> {
        records::count(self.conn, obj, sel)
    }

    fn insert_token(&mut self, token: &TokenRow, hash: &str) -> Result<()> {
        meta::insert_token(self.conn, token, hash)
    }

    fn find_token(&mut self, hash: &str) -> Result<Option<TokenRow>> {
        meta::find_token(self.conn, hash)
    }

    fn list_tokens(&mut self, app_id: Uuid) -> Result<Vec<TokenRow>> {
        meta::list_tokens(self.conn, app_id)
    }

    fn delete_token(&mut self, app_id: Uuid, id: &str) -> Result<bool> {
        meta::delete_token(self.conn, app_id, id)
    }

    fn purge_tokens(&mut self, now: i64) -> Result<()> {
        meta::purge_tokens(self.conn, now)
    }

    fn insert_user(&mut self, user: &UserRow) -> Result<()> {
        meta::insert_user(self.conn, user)
    }

    fn update_user(&mut self, user: &UserRow) -> Result<()> {
        meta::update_user(self.conn, user)
    }

    fn get_user(&mut self, app_id: Uuid, name: &str) -> Result<Option<UserRow>> {
        meta::get_user(self.conn, app_id, name)
    }

    fn list_users(&mut self, app_id: Uuid) -> Result<Vec<UserRow>> {
        meta::list_users(self.conn, app_id)
    }

    fn delete_user(&mut self, app_id: Uuid, name: &str) -> Result<bool> {
        meta::delete_user(self.conn, app_id, name)
    }

    fn query(
        &mut self,
        q: &CheckedQuery,
        params: &[serde_json::Value],
        limits: &QueryLimits,
    ) -> Result<QueryResult> {
        super::query::run(self.conn, q, params, limits)
    }

    fn put_batch(&mut self, batch: &Batch) -> Result<()> {
        meta::put_batch(self.conn, batch)
    }

    fn get_batch(&mut self, id: &str) -> Result<Option<Batch>> {
        meta::get_batch(self.conn, id)
    }

    fn list_batches(&mut self, app_id: Uuid, limit: usize) -> Result<Vec<Batch>> {
        meta::list_batches(self.conn, app_id, limit)
    }

    fn batches_by_status(&mut self, status: &str) -> Result<Vec<Batch>> {
        meta::batches_by_status(self.conn, status)
    }

    fn put_batch_ids(&mut self, batch: &str, ids: &[(u64, u32, String)]) -> Result<()> {
        meta::put_batch_ids(self.conn, batch, ids)
    }

    fn batch_ids(
        &mut self,
        batch: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, u32, String)>> {
        meta::batch_ids(self.conn, batch, from, limit)
    }

    fn delete_batch_ids(&mut self, batch: &str) -> Result<()> {
        meta::delete_batch_ids(self.conn, batch)
    }

    fn put_file(&mut self, file: &FileRow) -> Result<()> {
        meta::put_file(self.conn, file)
    }

    fn get_file(&mut self, app_id: Uuid, id: &str) -> Result<Option<FileRow>> {
        meta::get_file(self.conn, app_id, id)
    }

    fn put_job(&mut self, job: &Job) -> Result<()> {
        meta::put_job(self.conn, job)
    }

    fn get_job(&mut self, id: &str) -> Result<Option<Job>> {
        meta::get_job(self.conn, id)
    }

    fn list_jobs(&mut self, app_id: Uuid, limit: usize) -> Result<Vec<Job>> {
        meta::list_jobs(self.conn, app_id, limit)
    }

    fn jobs_by_status(&mut self, status: &str, limit: usize) -> Result<Vec<Job>> {
        meta::jobs_by_status(self.conn, status, limit)
    }

    fn jobs_with_callback(&mut self, status: &str) -> Result<Vec<Job>> {
        meta::jobs_with_callback(self.conn, status)
    }
}
