//! The one default of every limit and setting the engine has.

pub const MAX_BULK_OPS: usize = 1000;
pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 1000;
pub const MAX_FIELDS: usize = 500;
/// Levels of `on_delete: cascade` one delete follows (each level is one query per relation
/// field pointing at it), so a chain of records cannot make a delete run without bound.
pub const MAX_CASCADE_DEPTH: usize = 16;
/// Levels `expand` follows (`account.owner` is two).
pub const MAX_EXPAND_DEPTH: usize = 2;
pub const ACCESS_TOKEN_TTL_SECS: u64 = 3600;
pub const REFRESH_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;
pub const LOGIN_FREE_FAILURES: u32 = 5;
pub const LOGIN_BASE_LOCKOUT_SECS: u64 = 1;
pub const LOGIN_MAX_LOCKOUT_SECS: u64 = 300;
/// A job's memory does not grow with its rows (it works a chunk at a time, and its upload is
/// on disk): this only catches a mistaken file. Vendors' own caps (Zoho's 25,000) stay in
/// their dialects.
pub const MAX_JOB_RECORDS: u64 = 100_000_000;
pub const JOB_WORKERS: usize = 2;
pub const BATCH_WORKERS: usize = 2;
/// 0: by store — 2,000 on the embedded store, whose one writer serves every other write in
/// between, and 4,000 on a shared database, where a chunk holds only its own connection and
/// each transaction's round trips are what costs.
pub const JOB_CHUNK_ROWS: usize = 0;
pub const JOB_CHUNK_ROWS_EMBEDDED: usize = 2_000;
pub const JOB_CHUNK_ROWS_SHARED: usize = 4_000;
pub const MAX_UPLOAD_BYTES: u64 = 256 << 20;
pub const MAX_UNZIPPED_BYTES: u64 = 2 << 30;
pub const MAX_ZIP_RATIO: u64 = 200;
pub const MAX_COLUMNS: usize = 200;
pub const CALLBACK_ATTEMPTS: u32 = 5;
pub const CALLBACK_BACKOFF_MS: u64 = 1000;
pub const CALLBACK_TIMEOUT_SECS: u64 = 10;
pub const MAX_BATCH_RECORDS: u64 = 10_000;
pub const BATCH_CHUNK_ROWS: usize = 2_000;
pub const BATCH_PAUSE_MS: u64 = 0;
pub const QUERY_MAX_ROWS: usize = 10_000;
pub const QUERY_TIMEOUT_MS: u64 = 5_000;
pub const QUERY_MAX_SQL_LEN: usize = 100_000;
pub const QUERY_MAX_RESULT_BYTES: usize = 16 << 20;
/// The query's shape, bounded before it is parsed (`query::bounds`): each bound keeps every
/// recursive walk of its tree within `THREAD_STACK_BYTES`, and what reaches the database
/// within what its planner finishes quickly.
pub const QUERY_MAX_NESTING: usize = 32;
pub const QUERY_MAX_COMPOUND_TERMS: usize = 64;
pub const QUERY_MAX_EXPRESSION_TERMS: usize = 1_000;
pub const QUERY_MAX_TABLES: usize = 32;
pub const QUERY_MAX_RESULT_COLUMNS: usize = 1_000;
/// The stack of every thread that handles requests or walks their input (the runtime's
/// workers and blocking threads, the store's threads): the query bounds above are measured
/// against it (`query::bounds` tests run on threads of this size).
pub const THREAD_STACK_BYTES: usize = 8 << 20;
/// Deepest nesting of a JSON value kept in a record or a stored document (a json field's
/// value or default, a filter value, a query parameter): well under serde_json's own limit of
/// 128, which every document that holds such a value must still read back within.
pub const MAX_VALUE_DEPTH: usize = 32;
/// Deepest nesting of a request body after `${ref}` substitution: what serde_json's parser
/// allows a body as it arrives.
pub const MAX_BODY_DEPTH: usize = 128;
pub const MAX_FILTER_CONDITIONS: usize = 100;
pub const MAX_SORT_TERMS: usize = 16;
pub const MAX_IN_VALUES: usize = 1000;
pub const COUNT_TIMEOUT_MS: u64 = 1000;
/// 0: four per core (at least 4, at most 32).
pub const MAX_READERS: usize = 0;
pub const MAX_WRITERS: usize = 0;
pub const READ_WAIT_MS: u64 = 2_000;
/// Longest one write statement waits for one lock on a shared database (`lock_timeout`): past
/// it, the write's attempt ends and runs again, so no write waits on a cycle or a stuck holder
/// for long.
pub const LOCK_TIMEOUT_MS: u64 = 2_000;
/// How long a write that keeps losing races (deadlocks, serialization failures, lock waits past
/// `LOCK_TIMEOUT_MS`) is run again, with a growing, jittered pause, before it answers `busy`.
pub const WRITE_RETRY_MS: u64 = 10_000;
pub const READER_IDLE_SECS: u64 = 10;
pub const DATABASE_POOLED: bool = false;
pub const WAL_MAX_BYTES: u64 = 64 << 20;
/// How far behind the primary a read replica may be and still serve reads: a few seconds,
/// which a healthy streaming standby stays well within, and what a caller who did not write
/// may see stale.
pub const MAX_REPLICA_LAG: std::time::Duration = std::time::Duration::from_secs(5);
pub const MAX_EXPENSIVE: usize = 0;
pub const EXPENSIVE_WAIT_MS: u64 = 2_000;
pub const LEASE_MS: u64 = 30_000;
/// A database session that stops answering is given up within the lease divided by this, at
/// both ends (PostgreSQL ends a write transaction left idle; unacknowledged data and unanswered
/// keepalive probes close the connection), so its locks are gone before its work is taken over.
pub const UNREACHABLE_LEASE_DIVISOR: u32 = 2;
/// Keepalive probes unanswered before a database connection counts as dead.
pub const KEEPALIVE_PROBES: u32 = 3;
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
pub const MAX_EXPORT_ROWS: u64 = 10_000_000;
pub const EXPORT_WORKERS: usize = 2;
pub const EXPORT_CHUNK_ROWS: usize = 5_000;
pub const EXPORT_TIMEOUT_SECS: u64 = 3600;
pub const RESULT_TTL_SECS: u64 = 7 * 24 * 3600;
pub const UPLOAD_TTL_SECS: u64 = 3600;
