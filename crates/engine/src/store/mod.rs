//! The store: a small transaction trait the engine runs against, and its backends. All SQL lives here.

pub mod sqlite;

use crate::auth::Role;
use crate::batches::Batch;
use crate::error::Result;
use crate::jobs::{FileRow, Job};
use crate::model::{App, Catalog, Field, Object, Record, Selection, Stamp, Value, Writes};
use crate::query::{CheckedQuery, QueryLimits, QueryResult};
use std::sync::Arc;
use uuid::Uuid;

/// A stored token: what it grants; the secret itself is only kept as a digest.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    /// `None` for admin tokens.
    pub app_id: Option<Uuid>,
    pub user: String,
    pub user_id: String,
    pub role: Option<Role>,
    pub kind: crate::auth::TokenKind,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<i64>,
    pub created_at: String,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub app_id: Uuid,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub created_at: String,
    pub updated_at: String,
}

/// One change to an object's fields, applied as DDL.
#[derive(Debug, Clone)]
pub enum SchemaChange {
    Add(Field),
    Rename { from: String, to: String },
    Drop(Field),
}

/// One transaction (or read snapshot) of a store. Writes inside it are undone with the savepoint
/// they ran in, or with the whole transaction.
pub trait Tx {
    /// Opens a nested savepoint.
    fn savepoint(&mut self) -> Result<()>;
    /// Keeps the work of the innermost savepoint.
    fn release(&mut self) -> Result<()>;
    /// Undoes the work of the innermost savepoint and closes it.
    fn rollback(&mut self) -> Result<()>;

    fn load_catalog(&mut self) -> Result<Catalog>;
    fn put_app(&mut self, app: &App) -> Result<()>;
    fn delete_app(&mut self, app: &App) -> Result<()>;
    fn create_object(&mut self, obj: &Object) -> Result<()>;
    fn put_object(&mut self, obj: &Object) -> Result<()>;
    fn alter_object(&mut self, obj: &Object, change: &SchemaChange) -> Result<()>;
    fn drop_object(&mut self, obj: &Object) -> Result<()>;

    fn insert_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        writes: &Writes,
        stamp: &Stamp,
    ) -> Result<()>;
    /// Returns false when no record has this id.
    fn update_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        writes: &Writes,
        stamp: &Stamp,
    ) -> Result<bool>;
    fn delete_record(&mut self, obj: &Object, id: &str) -> Result<bool>;
    fn get_record(&mut self, obj: &Object, id: &str) -> Result<Option<Record>>;
    /// The id of the record whose (unique) field `field` holds `value`.
    fn find_id(&mut self, obj: &Object, field: usize, value: &Value) -> Result<Option<String>>;
    fn list_records(&mut self, obj: &Object, sel: &Selection) -> Result<Vec<Record>>;
    fn count_records(&mut self, obj: &Object, sel: &Selection) -> Result<u64>;

    fn insert_token(&mut self, token: &TokenRow, hash: &str) -> Result<()>;
    fn find_token(&mut self, hash: &str) -> Result<Option<TokenRow>>;
    fn list_tokens(&mut self, app_id: Uuid) -> Result<Vec<TokenRow>>;
    fn delete_token(&mut self, app_id: Uuid, id: &str) -> Result<bool>;
    /// Removes expired login tokens.
    fn purge_tokens(&mut self, now: i64) -> Result<()>;

    fn insert_user(&mut self, user: &UserRow) -> Result<()>;
    fn update_user(&mut self, user: &UserRow) -> Result<()>;
    fn get_user(&mut self, app_id: Uuid, name: &str) -> Result<Option<UserRow>>;
    fn list_users(&mut self, app_id: Uuid) -> Result<Vec<UserRow>>;
    fn delete_user(&mut self, app_id: Uuid, name: &str) -> Result<bool>;

    /// Runs a checked read-only query (see `query`).
    fn query(
        &mut self,
        q: &CheckedQuery,
        params: &[serde_json::Value],
        limits: &QueryLimits,
    ) -> Result<QueryResult>;

    fn put_batch(&mut self, batch: &Batch) -> Result<()>;
    fn get_batch(&mut self, id: &str) -> Result<Option<Batch>>;
    /// An app's batches, newest first.
    fn list_batches(&mut self, app_id: Uuid, limit: usize) -> Result<Vec<Batch>>;
    fn batches_by_status(&mut self, status: &str) -> Result<Vec<Batch>>;
    /// Stores a batch's resolved selection: `(seq, operation index, record id)`.
    fn put_batch_ids(&mut self, batch: &str, ids: &[(u64, u32, String)]) -> Result<()>;
    /// The selection from `from` (a seq) on, at most `limit` entries.
    fn batch_ids(
        &mut self,
        batch: &str,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, u32, String)>>;
    fn delete_batch_ids(&mut self, batch: &str) -> Result<()>;

    fn put_file(&mut self, file: &FileRow) -> Result<()>;
    fn get_file(&mut self, app_id: Uuid, id: &str) -> Result<Option<FileRow>>;
    fn put_job(&mut self, job: &Job) -> Result<()>;
    fn get_job(&mut self, id: &str) -> Result<Option<Job>>;
    /// An app's jobs, newest first.
    fn list_jobs(&mut self, app_id: Uuid, limit: usize) -> Result<Vec<Job>>;
    /// Jobs in a status, oldest first (the queue order).
    fn jobs_by_status(&mut self, status: &str, limit: usize) -> Result<Vec<Job>>;
    /// Jobs whose callback is in a status (`pending` ones are resumed at start-up).
    fn jobs_with_callback(&mut self, status: &str) -> Result<Vec<Job>>;
}

/// What a write job tells the store when it is done: keep its work or undo it, and how to report
/// the transaction's outcome once it commits (or fails to).
pub struct Finish {
    pub keep: bool,
    pub done: Box<dyn FnOnce(Result<()>) + Send>,
}

/// A unit of write work; it runs inside a savepoint of a store transaction, with a working copy of
/// the catalog that is published only if the transaction commits.
pub type WriteJob = Box<dyn FnOnce(&mut dyn Tx, &mut Arc<Catalog>) -> Finish + Send>;
/// A unit of read work, run on a read snapshot.
pub type ReadJob = Box<dyn FnOnce(&mut dyn Tx, &Arc<Catalog>) + Send>;

/// A storage backend. SQLite serialises writes through one connection and groups concurrent jobs
/// into one commit; a server backend (PostgreSQL) runs each job in its own transaction.
pub trait Store: Send + Sync {
    fn write(&self, job: WriteJob);
    fn read(&self, job: ReadJob);
    fn catalog(&self) -> Arc<Catalog>;
}
