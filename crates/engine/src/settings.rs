//! Engine settings: every limit is a named value here, with its one default (`defaults`), which
//! the server's flags and the README's table take from here.

use crate::clock::Clock;
use ipnet::IpNet;
use std::net::IpAddr;
use std::time::Duration;

/// The default of every setting. Flags use these, so a default is written once.
pub mod defaults;

/// Bounds the store keeps: how many snapshots are read at once, how long a read waits for its
/// turn (then `busy`), when idle readers close, and how large its write-ahead log may grow.
#[derive(Debug, Clone)]
pub struct StoreLimits {
    pub max_readers: usize,
    /// Write connections on a server database (the embedded store has one writer).
    pub max_writers: usize,
    pub read_wait: Duration,
    /// Longest a write statement waits for one lock (`--lock-timeout-ms`).
    pub lock_timeout: Duration,
    /// How long a write that lost a race is run again (`--write-retry-ms`).
    pub write_retry: Duration,
    pub reader_idle: Duration,
    pub wal_max_bytes: u64,
    /// The database URL reaches PostgreSQL through a transaction-pooling proxy (PgBouncer's
    /// `pool_mode = transaction`): statements are prepared for one transaction only.
    pub pooled: bool,
    /// A direct URL for the one connection that needs a session of its own (the listener for
    /// catalog notifications); `None`: the database URL.
    pub notify_url: Option<String>,
    /// Read replicas of a server database (standbys), for reads that may be served by one.
    pub read_replicas: Vec<String>,
    /// A replica further behind than this is skipped.
    pub max_replica_lag: Duration,
}

impl StoreLimits {
    /// `--max-readers`, with 0 meaning four per core.
    pub fn readers(&self) -> usize {
        match self.max_readers {
            0 => std::thread::available_parallelism()
                .map_or(4, |n| n.get() * 4)
                .clamp(4, 32),
            n => n,
        }
    }

    /// `--max-writers`, with 0 meaning two per core.
    pub fn writers(&self) -> usize {
        match self.max_writers {
            0 => std::thread::available_parallelism()
                .map_or(4, |n| n.get() * 2)
                .clamp(4, 16),
            n => n,
        }
    }
}

/// Failed logins allowed, then a lockout that doubles with each further failure.
#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    pub free_failures: u32,
    pub base_lockout: Duration,
    pub max_lockout: Duration,
}

/// Upload limits.
#[derive(Debug, Clone)]
pub struct UploadLimits {
    pub max_bytes: u64,
    pub max_unzipped_bytes: u64,
    pub max_zip_ratio: u64,
    pub max_columns: usize,
}

/// Bounds on one query's work.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    pub max_rows: usize,
    pub timeout: Duration,
    /// Longest SQL text accepted.
    pub max_sql_len: usize,
    /// Most bytes of values one answer may hold.
    pub max_result_bytes: usize,
    /// Deepest parenthesis nesting.
    pub max_nesting: usize,
    /// SELECTs joined by `UNION`, `INTERSECT` or `EXCEPT`.
    pub max_compound_terms: usize,
    /// Terms on any path into an expression (`query::bounds::Shape::expression_terms`).
    pub max_expression_terms: usize,
    /// Tables, subqueries and CTEs one query names.
    pub max_tables: usize,
    /// Columns one SELECT lists.
    pub max_result_columns: usize,
}

impl QueryLimits {
    /// The SQL parser's own recursion limit for queries within these bounds: a level of nesting
    /// costs it up to three calls (a subquery inside an expression), a prefix chain such as
    /// `NOT NOT …` one call per operator (which `max_expression_terms` bounds as well).
    pub fn parser_depth(&self) -> usize {
        (self.max_nesting + 1) * 4
    }
}

/// Where callbacks may go besides public addresses: CIDRs, single addresses and host names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallbackAllow {
    pub nets: Vec<IpNet>,
    pub hosts: Vec<String>,
}

impl CallbackAllow {
    /// Parses `127.0.0.0/8,10.1.0.0/16,hooks.internal`.
    pub fn parse(spec: &str) -> Result<CallbackAllow, String> {
        let mut allow = CallbackAllow::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                allow.nets.push(net);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                allow.nets.push(IpNet::from(ip));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                allow.hosts.push(item.to_ascii_lowercase());
            } else {
                return Err(format!("{item:?} is not a CIDR, an address or a host name"));
            }
        }
        Ok(allow)
    }
}

/// Bounds on one list request, under the store's own limits (expression depth, bound variables),
/// so an oversized request is refused by name instead of failing inside the store.
#[derive(Debug, Clone)]
pub struct ListLimits {
    /// Comparisons in one filter (`--max-filter-conditions`).
    pub max_filter_conditions: usize,
    /// Sort keys (`--max-sort-terms`).
    pub max_sort_terms: usize,
    /// Values listed by `in`/`nin`/`$in`/`$not_in`, all filters together (`--max-in-values`).
    pub max_in_values: usize,
    /// Time `count=true` may take before the page answers without a total (`--count-timeout-ms`).
    pub count_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Operations in one synchronous bulk request.
    pub max_bulk_ops: usize,
    /// Records per list page when the caller names no limit.
    pub default_page_size: usize,
    /// Largest page a caller may ask for.
    pub max_page_size: usize,
    pub list: ListLimits,
    /// Fields per object.
    pub max_fields: usize,
    /// Levels of cascading deletes one delete follows.
    pub max_cascade_depth: usize,
    /// Lifetime of access tokens issued at login.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens issued at login.
    pub refresh_token_ttl: Duration,
    pub throttle: ThrottleSettings,
    /// A fixed admin token (`SLUICE_ADMIN_TOKEN`); never stored.
    pub admin_token: Option<String>,
    /// Records (input rows) in one bulk-write job.
    pub max_job_records: u64,
    /// Background workers running jobs.
    pub job_workers: usize,
    /// Background workers running started batches (the others wait, `running`, for a turn).
    pub batch_workers: usize,
    /// Rows a job writes per transaction (with its checkpoint); 0: by store (`job_chunk`).
    pub job_chunk_rows: usize,
    pub upload: UploadLimits,
    /// Where job callbacks may go beyond public addresses.
    pub callback_allow: CallbackAllow,
    /// Delivery attempts per callback.
    pub callback_attempts: u32,
    /// Wait before the second attempt; it doubles for each further one.
    pub callback_backoff: Duration,
    pub callback_timeout: Duration,
    /// Records one batch may change.
    pub max_batch_records: u64,
    /// Records a batch changes per transaction.
    pub batch_chunk_rows: usize,
    /// Pause between a batch's chunks, leaving room for other writes.
    pub batch_pause: Duration,
    pub query: QueryLimits,
    pub store: StoreLimits,
    /// Expensive calls (queries, counts) running at once; 0: as many as readers.
    pub max_expensive: usize,
    /// How long an expensive call waits for its turn before it is answered `busy`.
    pub expensive_wait: Duration,
    /// How long an instance holds background work without renewing it (it renews every third of
    /// that); past it, another instance takes the work over.
    pub lease: Duration,
    /// How long an idempotency key and its kept answer last.
    pub idempotency_ttl: Duration,
    pub export: ExportLimits,
    /// How long export files, job result files and uploads no job needs are kept after their work
    /// finished; the sweeper deletes them after that.
    pub result_ttl: Duration,
    /// How long an upload no job uses is kept (a job uses its upload while its result is kept).
    pub upload_ttl: Duration,
    /// The time source (tests move it forward instead of sleeping).
    pub clock: Clock,
}

/// Bounds of exports.
#[derive(Debug, Clone)]
pub struct ExportLimits {
    /// Rows one export may write; past it, the export fails.
    pub max_rows: u64,
    /// Exports running at once on an instance; the others wait queued.
    pub workers: usize,
    /// Records an object export reads and appends per step (its resume granularity).
    pub chunk_rows: usize,
    /// How long a query export's query may run.
    pub timeout: Duration,
}

impl Settings {
    /// Rows a job writes per transaction on a store that is `shared` or not (`--job-chunk-rows`,
    /// with 0 meaning by store).
    pub fn job_chunk(&self, shared: bool) -> usize {
        match (self.job_chunk_rows, shared) {
            (0, false) => defaults::JOB_CHUNK_ROWS_EMBEDDED,
            (0, true) => defaults::JOB_CHUNK_ROWS_SHARED,
            (n, _) => n,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        use defaults::*;
        Self {
            max_bulk_ops: MAX_BULK_OPS,
            default_page_size: DEFAULT_PAGE_SIZE,
            max_page_size: MAX_PAGE_SIZE,
            list: ListLimits {
                max_filter_conditions: MAX_FILTER_CONDITIONS,
                max_sort_terms: MAX_SORT_TERMS,
                max_in_values: MAX_IN_VALUES,
                count_timeout: Duration::from_millis(COUNT_TIMEOUT_MS),
            },
            max_fields: MAX_FIELDS,
            max_cascade_depth: MAX_CASCADE_DEPTH,
            access_token_ttl: Duration::from_secs(ACCESS_TOKEN_TTL_SECS),
            refresh_token_ttl: Duration::from_secs(REFRESH_TOKEN_TTL_SECS),
            throttle: ThrottleSettings {
                free_failures: LOGIN_FREE_FAILURES,
                base_lockout: Duration::from_secs(LOGIN_BASE_LOCKOUT_SECS),
                max_lockout: Duration::from_secs(LOGIN_MAX_LOCKOUT_SECS),
            },
            admin_token: None,
            max_job_records: MAX_JOB_RECORDS,
            job_workers: JOB_WORKERS,
            batch_workers: BATCH_WORKERS,
            job_chunk_rows: JOB_CHUNK_ROWS,
            upload: UploadLimits {
                max_bytes: MAX_UPLOAD_BYTES,
                max_unzipped_bytes: MAX_UNZIPPED_BYTES,
                max_zip_ratio: MAX_ZIP_RATIO,
                max_columns: MAX_COLUMNS,
            },
            callback_allow: CallbackAllow::default(),
            callback_attempts: CALLBACK_ATTEMPTS,
            callback_backoff: Duration::from_millis(CALLBACK_BACKOFF_MS),
            callback_timeout: Duration::from_secs(CALLBACK_TIMEOUT_SECS),
            max_batch_records: MAX_BATCH_RECORDS,
            batch_chunk_rows: BATCH_CHUNK_ROWS,
            batch_pause: Duration::from_millis(BATCH_PAUSE_MS),
            query: QueryLimits {
                max_rows: QUERY_MAX_ROWS,
                timeout: Duration::from_millis(QUERY_TIMEOUT_MS),
                max_sql_len: QUERY_MAX_SQL_LEN,
                max_result_bytes: QUERY_MAX_RESULT_BYTES,
                max_nesting: QUERY_MAX_NESTING,
                max_compound_terms: QUERY_MAX_COMPOUND_TERMS,
                max_expression_terms: QUERY_MAX_EXPRESSION_TERMS,
                max_tables: QUERY_MAX_TABLES,
                max_result_columns: QUERY_MAX_RESULT_COLUMNS,
            },
            store: StoreLimits {
                max_readers: MAX_READERS,
                max_writers: MAX_WRITERS,
                read_wait: Duration::from_millis(READ_WAIT_MS),
                lock_timeout: Duration::from_millis(LOCK_TIMEOUT_MS),
                write_retry: Duration::from_millis(WRITE_RETRY_MS),
                reader_idle: Duration::from_secs(READER_IDLE_SECS),
                wal_max_bytes: WAL_MAX_BYTES,
                pooled: DATABASE_POOLED,
                notify_url: None,
                read_replicas: Vec::new(),
                max_replica_lag: MAX_REPLICA_LAG,
            },
            max_expensive: MAX_EXPENSIVE,
            expensive_wait: Duration::from_millis(EXPENSIVE_WAIT_MS),
            lease: Duration::from_millis(LEASE_MS),
            idempotency_ttl: Duration::from_secs(IDEMPOTENCY_TTL_SECS),
            export: ExportLimits {
                max_rows: MAX_EXPORT_ROWS,
                workers: EXPORT_WORKERS,
                chunk_rows: EXPORT_CHUNK_ROWS,
                timeout: Duration::from_secs(EXPORT_TIMEOUT_SECS),
            },
            result_ttl: Duration::from_secs(RESULT_TTL_SECS),
            upload_ttl: Duration::from_secs(UPLOAD_TTL_SECS),
            clock: Clock::default(),
        }
    }
}
