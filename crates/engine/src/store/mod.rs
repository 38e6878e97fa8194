//! The store: the seam between the engine and a database. A backend implements `Store` (how work
//! is scheduled: writes in transactions, reads on snapshots) and `Tx` (what a transaction can do,
//! grouped by capability). All SQL lives below this module; nothing here knows the services above.

pub mod local;
pub mod postgres;
pub mod rewrite;
pub mod sql;
pub mod sqlite;
pub mod tasks;

use crate::error::{Error, Result};
use crate::model::{
    AliasKind, AliasRow, Answer, App, Catalog, CheckedQuery, Field, FileRow, IdemKey, Object,
    QueryResult, Record, RecordRef, Selected, Selection, SqlSyntax, Stamp, Timestamp, TokenRow,
    UserRow, Value, Writes,
};
use crate::settings::{QueryLimits, StoreLimits};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
pub use tasks::TaskTx;
use uuid::Uuid;

/// One change to an object's fields, applied as DDL.
#[derive(Debug, Clone)]
pub enum SchemaChange {
    Add(Field),
    Rename {
        from: String,
        to: String,
    },
    Drop(Field),
    /// A non-unique index on the field (built over the existing records).
    Index(String),
    Unindex(String),
    /// A unique index on the field, built over the existing records (which must not share a value).
    Unique(String),
    NotUnique(String),
}

/// One record's writes in a batched insert or update.
pub struct RowWrite<'a> {
    pub id: &'a str,
    pub writes: &'a Writes,
}

/// Apps, objects (as tables) and their records.
pub trait RecordTx {
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
    /// The records `sel` selects, in order, each handed to `row` in place (nothing is held).
    fn scan_records(
        &mut self,
        obj: &Object,
        sel: &Selection,
        row: &mut dyn FnMut(&RecordRef<'_>) -> Result<()>,
    ) -> Result<()> {
        for r in self.list_records(obj, sel)? {
            r.with_ref(|r| row(r))?;
        }
        Ok(())
    }
    /// Writes records as they are, system fields included (copying a store).
    fn put_records(&mut self, obj: &Object, records: &[Record]) -> Result<()>;

    /// For each key, the id of the record whose field `field` (`None`: the id itself) holds it.
    /// Batched forms like this one answer per row and leave the other rows' work in place; a
    /// backend whose round trips are costly does each in a few statements.
    fn find_ids(
        &mut self,
        obj: &Object,
        field: Option<usize>,
        keys: &[&Value],
    ) -> Result<Vec<Option<String>>> {
        keys.iter()
            .map(|k| match (field, k) {
                (Some(f), k) => self.find_id(obj, f, k),
                (None, Value::Text(id)) => Ok(self.get_record(obj, id)?.map(|r| r.id)),
                (None, _) => Ok(None),
            })
            .collect()
    }
    fn insert_records(
        &mut self,
        obj: &Arc<Object>,
        rows: &[RowWrite<'_>],
        stamp: &Stamp,
    ) -> Result<Vec<Result<()>>> {
        Ok(rows
            .iter()
            .map(|r| self.insert_record(obj, r.id, r.writes, stamp))
            .collect())
    }
    /// `Ok(false)` for a row whose record is gone.
    fn update_records(
        &mut self,
        obj: &Arc<Object>,
        rows: &[RowWrite<'_>],
        stamp: &Stamp,
    ) -> Result<Vec<Result<bool>>> {
        Ok(rows
            .iter()
            .map(|r| self.update_record(obj, r.id, r.writes, stamp))
            .collect())
    }
    /// `find_ids` for records a write is about to point at: a backend with concurrent writers
    /// keeps the ones found from being deleted until this transaction ends.
    fn find_ids_to_point_at(
        &mut self,
        obj: &Object,
        field: Option<usize>,
        keys: &[&Value],
    ) -> Result<Vec<Option<String>>> {
        self.find_ids(obj, field, keys)
    }
    /// Takes, before a run of writes, what makes writers of the same unique values queue in one
    /// order instead of deadlocking (PostgreSQL: advisory locks); one writer has nothing to do.
    fn lock_unique(&mut self, _obj: &Object, _rows: &[RowWrite<'_>]) -> Result<()> {
        Ok(())
    }
    /// Locks records a delete that follows relations is about to plan for, so that no other
    /// transaction points at them meanwhile (a backend with one writer has nothing to do).
    fn lock_for_delete(&mut self, _obj: &Object, _ids: &[&str]) -> Result<()> {
        Ok(())
    }
    /// The records of `obj` whose relation field `field` holds one of `targets`:
    /// (target, record id). A backend with concurrent writers locks them for the delete that asks.
    fn referencing(
        &mut self,
        obj: &Object,
        field: usize,
        targets: &[&str],
    ) -> Result<Vec<(String, String)>>;
    fn delete_records(&mut self, obj: &Object, ids: &[&str]) -> Result<Vec<Result<bool>>> {
        Ok(ids.iter().map(|id| self.delete_record(obj, id)).collect())
    }
    /// Counts the selection's records; `None` when that takes longer than `within`.
    fn count_records(
        &mut self,
        obj: &Object,
        sel: &Selection,
        within: Duration,
    ) -> Result<Option<u64>>;
}

/// Tokens and app users.
pub trait AuthTx {
    fn insert_token(&mut self, token: &TokenRow, hash: &str) -> Result<()>;
    fn find_token(&mut self, hash: &str) -> Result<Option<TokenRow>>;
    fn list_tokens(&mut self, app_id: Uuid) -> Result<Vec<TokenRow>>;
    /// Every app token (not login sessions) with its hash (copying a store).
    fn key_tokens(&mut self) -> Result<Vec<(TokenRow, String)>>;
    fn delete_token(&mut self, app_id: Uuid, id: &str) -> Result<bool>;
    /// Removes login tokens that expired before `now` (unix seconds).
    fn purge_tokens(&mut self, now: i64) -> Result<()>;

    fn insert_user(&mut self, user: &UserRow) -> Result<()>;
    /// Also revokes the user's login tokens: a changed role or password takes effect at once.
    fn update_user(&mut self, user: &UserRow) -> Result<()>;
    fn get_user(&mut self, app_id: Uuid, name: &str) -> Result<Option<UserRow>>;
    fn list_users(&mut self, app_id: Uuid) -> Result<Vec<UserRow>>;
    fn delete_user(&mut self, app_id: Uuid, name: &str) -> Result<bool>;
}

/// Uploaded files, and the result lines jobs write.
pub trait FileTx {
    fn put_file(&mut self, file: &FileRow) -> Result<()>;
    fn get_file(&mut self, app_id: Uuid, id: &str) -> Result<Option<FileRow>>;
    /// Writes `bytes` at `offset` of job `job_id`'s result lines (dropping anything after it: the
    /// work of a chunk that never committed), with the transaction's other work; returns the end.
    fn append_result(&mut self, job_id: &str, offset: u64, bytes: &[u8]) -> Result<u64>;
    /// Uploads created before `before`.
    fn files_before(&mut self, before: &Timestamp) -> Result<Vec<FileRow>>;
    /// Whether a job whose result is still kept reads upload `file_id`.
    fn file_needed(&mut self, file_id: &str) -> Result<bool>;
    fn delete_file_row(&mut self, id: &str) -> Result<()>;
}

/// Where uploads and job results live: on local disk for the embedded store, in the database for a
/// server backend (so every instance reaches them).
pub trait FileStore: Send + Sync {
    /// Keeps the normalised upload at `local` as upload `id` (the local file is moved or removed).
    fn put_input(&self, id: &str, local: &Path) -> Result<()>;
    /// Reads upload `id` from byte `offset` on.
    fn open_input(&self, id: &str, offset: u64) -> Result<Box<dyn Read + Send>>;
    /// Reads the first `len` bytes of job `job_id`'s result lines.
    fn open_result(&self, job_id: &str, len: u64) -> Result<Box<dyn Read + Send>>;
    /// Reads `len` bytes of `id`'s result lines from byte `from` on.
    fn open_result_at(&self, id: &str, from: u64, len: u64) -> Result<Box<dyn Read + Send>>;
    /// Deletes `id`'s result lines (nothing to delete is not an error).
    fn delete_result(&self, id: &str) -> Result<()>;
    /// Deletes upload `id` (nothing to delete is not an error).
    fn delete_input(&self, id: &str) -> Result<()>;
    /// Keeps upload `from` as upload `to` instead, without copying it.
    fn rename_input(&self, from: &str, to: &str) -> Result<()>;
}

/// The selections of started batches.
pub trait SelectionTx {
    fn put_batch_ids(&mut self, batch: &str, ids: &[Selected]) -> Result<()>;
    /// The selection from `from` (a seq) on, at most `limit` entries.
    fn batch_ids(&mut self, batch: &str, from: u64, limit: usize) -> Result<Vec<Selected>>;
    fn delete_batch_ids(&mut self, batch: &str) -> Result<()>;
}

/// Checked read-only queries, with the store's own second line of defence.
pub trait QueryTx {
    fn query(
        &mut self,
        q: &CheckedQuery,
        params: &[serde_json::Value],
        limits: &QueryLimits,
    ) -> Result<QueryResult>;
    /// Runs a checked query, handing each row to `row` as it is read (nothing is held whole, and
    /// `limits.max_rows` and `max_result_bytes` are the caller's to keep); its column names.
    fn query_each(
        &mut self,
        q: &CheckedQuery,
        params: &[serde_json::Value],
        limits: &QueryLimits,
        row: &mut dyn FnMut(Vec<serde_json::Value>) -> Result<()>,
    ) -> Result<Vec<String>>;
    /// The query's column names, without running it.
    fn query_columns(&mut self, q: &CheckedQuery, limits: &QueryLimits) -> Result<Vec<String>>;
}

/// Numeric aliases of ids (`model::alias`).
pub trait AliasTx {
    /// The numbers of `ids` of `kind`, in order: `None` where there is none yet, unless
    /// `allocate`, which gives each id without one the next number (a write).
    fn alias_numbers(
        &mut self,
        kind: AliasKind,
        ids: &[&str],
        allocate: bool,
    ) -> Result<Vec<Option<u64>>>;
    /// The ids of `kind` that `numbers` stand for, in order (`None` for a number of no such id).
    fn alias_ids(&mut self, kind: AliasKind, numbers: &[u64]) -> Result<Vec<Option<String>>>;
    /// At most `limit` aliases whose key is over `after`, in key order (copying an instance).
    fn alias_page(&mut self, after: i64, limit: usize) -> Result<Vec<AliasRow>>;
    /// Stores aliases with the keys they had (copying), so numbers handed out later follow them.
    fn put_aliases(&mut self, rows: &[AliasRow]) -> Result<()>;
}

/// Idempotency keys and the answers kept with them (`model::idempotency`). Times are Unix ms.
pub trait IdemTx {
    /// Claims `key` for this transaction: true when it is new (or its kept answer expired), and
    /// the key is then held until the transaction ends (another claiming it waits); false when an
    /// answer is kept for it.
    fn claim_key(&mut self, key: &IdemKey, expires_ms: i64, now_ms: i64) -> Result<bool>;
    /// The fingerprint and answer kept for a key, if any and not expired.
    fn kept_answer(
        &mut self,
        scope: &str,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<(String, Answer)>>;
    /// Keeps the answer of a claimed key.
    fn keep_answer(&mut self, key: &IdemKey, answer: &Answer) -> Result<()>;
    /// Drops keys expired before `now_ms`; how many.
    fn purge_keys(&mut self, now_ms: i64) -> Result<u64>;
}

/// One transaction (or read snapshot) of a store. Writes inside it are undone with the savepoint
/// they ran in, or with the whole transaction.
pub trait Tx:
    RecordTx + AuthTx + FileTx + TaskTx + SelectionTx + QueryTx + AliasTx + IdemTx
{
    /// Opens a nested savepoint.
    fn savepoint(&mut self) -> Result<()>;
    /// Keeps the work of the innermost savepoint.
    fn release(&mut self) -> Result<()>;
    /// Undoes the work of the innermost savepoint and closes it.
    fn rollback(&mut self) -> Result<()>;
}

/// A unit of write work. The embedded store runs it inside a savepoint of a transaction it shares
/// with other work; a server backend runs it in its own transaction, and again (from the start, on
/// a fresh transaction) when that transaction lost a race with another (a deadlock, a
/// serialization failure). Either way it gets a working copy of the catalog, published only if the
/// transaction commits.
pub trait WriteWork: Send {
    /// Does the work; returns whether to keep it.
    fn run(&mut self, tx: &mut dyn Tx, catalog: &mut Arc<Catalog>) -> bool;
    /// Told once how the transaction of the last run ended.
    fn done(self: Box<Self>, committed: Result<()>);
}

pub type WriteJob = Box<dyn WriteWork>;
/// A read snapshot: a transaction and the catalog it goes with.
pub struct Snapshot<'a> {
    pub tx: &'a mut dyn Tx,
    pub catalog: &'a Arc<Catalog>,
}

/// A unit of read work, run on a read snapshot (or told why there is none: the store is busy).
pub type ReadJob = Box<dyn FnOnce(Result<Snapshot<'_>>) + Send>;

/// A storage backend. SQLite serialises writes through one connection and groups concurrent jobs
/// into one commit; a server backend runs each job in its own transaction.
pub trait Store: Send + Sync {
    /// Queues write work; dropping `job` unrun tells its caller the store is unavailable.
    fn write(&self, job: WriteJob);
    /// Runs small write work on the caller's thread when that is cheaper than queueing it (the
    /// store's writer is idle); gives it back to be queued otherwise.
    fn write_now(&self, job: WriteJob) -> Option<WriteJob> {
        Some(job)
    }
    /// Queues read work on a snapshot.
    fn read(&self, job: ReadJob);
    /// Queues read work that a read replica may serve, once it has replayed the store's log up to
    /// `after` (a `position`; 0: any replica in bounds will do). A store without replicas reads
    /// as `read` does.
    fn read_after(&self, job: ReadJob, _after: u64) {
        self.read(job)
    }
    /// The log position of this instance's last commit, or later: a read `after` it sees every
    /// write this instance committed before asking. `None` on a store without read replicas.
    fn position(&self) -> Option<u64> {
        None
    }
    /// The catalog as of the last commit.
    fn catalog(&self) -> Arc<Catalog>;
    /// The SQL grammar queries are checked in.
    fn syntax(&self) -> SqlSyntax;
    /// Where uploads and results live.
    fn files(&self) -> Arc<dyn FileStore>;
    /// Whether other server instances may use the same database (then nothing read from it may be
    /// cached across transactions, and background work is held by leases).
    fn shared(&self) -> bool;
    /// Whether write work may run more than once (a transaction that lost a race runs again), so
    /// it must keep what it consumes; otherwise it runs exactly once and may take it.
    fn reruns_writes(&self) -> bool;
    /// Stops taking work once what is queued is done.
    fn close(&self);
}

/// Opens the store a database URL names: `postgres://…` (or `postgresql://…`), `sqlite:PATH`, or
/// `None` for the embedded SQLite database in `data_dir`. `lease` bounds how long a shared
/// database's session may go unanswered.
pub fn open(
    url: Option<&str>,
    data_dir: &Path,
    limits: &StoreLimits,
    lease: Duration,
) -> Result<Arc<dyn Store>> {
    let path = match url {
        None => data_dir.join("sluice.db"),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| Error::internal("the PostgreSQL store needs a tokio runtime"))?;
            // The synchronous client may not run on an async worker thread: open it on its own.
            let store = std::thread::scope(|s| {
                s.spawn(|| postgres::PgStore::open(url, limits, lease, runtime))
                    .join()
                    .map_err(|_| Error::internal("opening the database panicked"))
            })??;
            return Ok(Arc::new(store));
        }
        Some(url) => match url.strip_prefix("sqlite:") {
            Some(path) => Path::new(path.trim_start_matches("//")).to_owned(),
            None => {
                return Err(Error::invalid(format!(
                    "database {url:?} is not supported: use postgres://…, sqlite:PATH or none"
                )))
            }
        },
    };
    Ok(Arc::new(sqlite::SqliteStore::open(
        &path, data_dir, limits,
    )?))
}
