//! Server settings: flags with `SLUICE_*` environment equivalents; every limit is named here.

use crate::duration::Span;
use clap::Args;
use sluice_engine::clock::Clock;
use sluice_engine::settings::{defaults as d, CallbackAllow};
use sluice_engine::Settings;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The server's own defaults; the engine's are in `sluice_engine::settings::defaults`.
pub mod defaults {
    pub const LISTEN: &str = "127.0.0.1:8080";
    pub const DATA_DIR: &str = "./sluice-data";
    pub const MAX_BODY_BYTES: usize = 32 << 20;
    pub const CORS_ORIGINS: &str = "*";
    pub const READ_TIMEOUT_SECS: u64 = 30;
    pub const SHUTDOWN_TIMEOUT_SECS: u64 = 10;
    pub const RATE_LIMIT: u32 = 0;
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SLUICE_LISTEN", default_value = defaults::LISTEN)]
    pub listen: SocketAddr,
    /// PEM file with the server's certificate chain (its own certificate first); with
    /// `--tls-key`, sluice serves HTTPS instead of HTTP.
    #[arg(long, env = "SLUICE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, RSA or SEC1, unencrypted).
    #[arg(long, env = "SLUICE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Directory for the embedded database, uploads and the bootstrap admin token.
    #[arg(long, env = "SLUICE_DATA_DIR", default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,
    /// Database URL; without it, an embedded SQLite file in the data dir.
    #[arg(long = "database", env = "SLUICE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The database URL is a transaction pooler (PgBouncer `pool_mode = transaction`): statements
    /// are prepared for one transaction, not kept on the connection.
    #[arg(long, env = "SLUICE_DATABASE_POOLED", default_value_t = d::DATABASE_POOLED)]
    pub database_pooled: bool,
    /// A direct PostgreSQL URL for catalog notifications (LISTEN needs a session); without it,
    /// the database URL, or no listener when that is pooled.
    #[arg(long = "notify-database", env = "SLUICE_NOTIFY_DATABASE")]
    pub notify_database_url: Option<String>,
    /// A read replica's URL (repeatable; comma-separated in the variable): reads of records,
    /// lists, counts, queries and exports go to one that has replayed the caller's writes.
    #[arg(long = "read-database", env = "SLUICE_READ_DATABASE")]
    pub read_databases: Vec<String>,
    /// How far a read replica may lag behind the primary (`500ms`, `5s`, `1m`) and still serve.
    #[arg(long, env = "SLUICE_MAX_REPLICA_LAG", default_value_t = Span(d::MAX_REPLICA_LAG))]
    pub max_replica_lag: Span,
    /// A fixed admin token (otherwise one is generated on first start).
    #[arg(long, env = "SLUICE_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Operations allowed in one synchronous bulk request.
    #[arg(long, env = "SLUICE_MAX_BULK_OPS", default_value_t = d::MAX_BULK_OPS)]
    pub max_bulk_ops: usize,
    /// Largest request body accepted, in bytes (uploads have their own limit).
    #[arg(long, env = "SLUICE_MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Largest page of records a list may return.
    #[arg(long, env = "SLUICE_MAX_PAGE_SIZE", default_value_t = d::MAX_PAGE_SIZE)]
    pub max_page_size: usize,
    /// Lifetime of access tokens issued at login, in seconds.
    #[arg(long, env = "SLUICE_ACCESS_TOKEN_TTL", default_value_t = d::ACCESS_TOKEN_TTL_SECS)]
    pub access_token_ttl: u64,
    /// Origins allowed by CORS: `*` (any, for development) or a comma-separated list.
    #[arg(long, env = "SLUICE_CORS_ORIGINS", default_value = defaults::CORS_ORIGINS)]
    pub cors_origins: String,
    /// The app dialect calls act in when neither the URL nor the token names one (a Sugar client
    /// configured with a bare base URL logs in at `/rest/{version}/oauth2/token`).
    #[arg(long, env = "SLUICE_DEFAULT_APP")]
    pub default_app: Option<String>,
    /// Records (input rows) one bulk-write job may hold.
    #[arg(long, env = "SLUICE_MAX_JOB_RECORDS", default_value_t = d::MAX_JOB_RECORDS)]
    pub max_job_records: u64,
    /// Background workers running jobs.
    #[arg(long, env = "SLUICE_JOB_WORKERS", default_value_t = d::JOB_WORKERS)]
    pub job_workers: usize,
    /// Background workers running started batches.
    #[arg(long, env = "SLUICE_BATCH_WORKERS", default_value_t = d::BATCH_WORKERS)]
    pub batch_workers: usize,
    /// Rows a job writes per transaction, with its checkpoint.
    #[arg(long, env = "SLUICE_JOB_CHUNK_ROWS", default_value_t = d::JOB_CHUNK_ROWS)]
    pub job_chunk_rows: usize,
    /// Largest upload accepted, in bytes.
    #[arg(long, env = "SLUICE_MAX_UPLOAD_BYTES", default_value_t = d::MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,
    /// Largest CSV a ZIP upload may unpack to, in bytes.
    #[arg(long, env = "SLUICE_MAX_UNZIPPED_BYTES", default_value_t = d::MAX_UNZIPPED_BYTES)]
    pub max_unzipped_bytes: u64,
    /// Largest ratio of unpacked to packed size a ZIP upload may have.
    #[arg(long, env = "SLUICE_MAX_ZIP_RATIO", default_value_t = d::MAX_ZIP_RATIO)]
    pub max_zip_ratio: u64,
    /// Columns an upload may have.
    #[arg(long, env = "SLUICE_MAX_COLUMNS", default_value_t = d::MAX_COLUMNS)]
    pub max_columns: usize,
    /// Hosts and CIDRs job callbacks may reach besides public addresses (e.g. `127.0.0.0/8`).
    #[arg(long, env = "SLUICE_CALLBACK_ALLOW", default_value = "")]
    pub callback_allow: String,
    /// Delivery attempts per callback.
    #[arg(long, env = "SLUICE_CALLBACK_ATTEMPTS", default_value_t = d::CALLBACK_ATTEMPTS)]
    pub callback_attempts: u32,
    /// Wait before a callback's second attempt, in milliseconds; doubled for each further one.
    #[arg(long, env = "SLUICE_CALLBACK_BACKOFF_MS", default_value_t = d::CALLBACK_BACKOFF_MS)]
    pub callback_backoff_ms: u64,
    /// Records one batch may change.
    #[arg(long, env = "SLUICE_MAX_BATCH_RECORDS", default_value_t = d::MAX_BATCH_RECORDS)]
    pub max_batch_records: u64,
    /// Records a batch changes per transaction.
    #[arg(long, env = "SLUICE_BATCH_CHUNK_ROWS", default_value_t = d::BATCH_CHUNK_ROWS)]
    pub batch_chunk_rows: usize,
    /// Pause between a batch's chunks, in milliseconds (room for other writers).
    #[arg(long, env = "SLUICE_BATCH_PAUSE_MS", default_value_t = d::BATCH_PAUSE_MS)]
    pub batch_pause_ms: u64,
    /// Rows a query may return.
    #[arg(long, env = "SLUICE_QUERY_MAX_ROWS", default_value_t = d::QUERY_MAX_ROWS)]
    pub query_max_rows: usize,
    /// Time a query may run, in milliseconds.
    #[arg(long, env = "SLUICE_QUERY_TIMEOUT_MS", default_value_t = d::QUERY_TIMEOUT_MS)]
    pub query_timeout_ms: u64,
    /// Comparisons one list filter may make.
    #[arg(long, env = "SLUICE_MAX_FILTER_CONDITIONS", default_value_t = d::MAX_FILTER_CONDITIONS)]
    pub max_filter_conditions: usize,
    /// Keys one list may sort by.
    #[arg(long, env = "SLUICE_MAX_SORT_TERMS", default_value_t = d::MAX_SORT_TERMS)]
    pub max_sort_terms: usize,
    /// Values `in`/`nin` filters may list in one request, all together.
    #[arg(long, env = "SLUICE_MAX_IN_VALUES", default_value_t = d::MAX_IN_VALUES)]
    pub max_in_values: usize,
    /// Time `count=true` may take before the page answers without a total, in milliseconds.
    #[arg(long, env = "SLUICE_COUNT_TIMEOUT_MS", default_value_t = d::COUNT_TIMEOUT_MS)]
    pub count_timeout_ms: u64,
    /// Queries and counts running at once (0: as many as readers); more wait, then get 503.
    #[arg(long, env = "SLUICE_MAX_EXPENSIVE", default_value_t = d::MAX_EXPENSIVE)]
    pub max_expensive: usize,
    /// Read connections open at once (0: four per core); more reads wait, then get 503.
    #[arg(long, env = "SLUICE_MAX_READERS", default_value_t = d::MAX_READERS)]
    pub max_readers: usize,
    /// Write connections on a PostgreSQL database (0: two per core).
    #[arg(long, env = "SLUICE_MAX_WRITERS", default_value_t = d::MAX_WRITERS)]
    pub max_writers: usize,
    /// How long a read waits for a free connection before it gets 503, in milliseconds.
    #[arg(long, env = "SLUICE_READ_WAIT_MS", default_value_t = d::READ_WAIT_MS)]
    pub read_wait_ms: u64,
    /// Longest a write on PostgreSQL waits for one lock before it runs again, in milliseconds.
    #[arg(long, env = "SLUICE_LOCK_TIMEOUT_MS", default_value_t = d::LOCK_TIMEOUT_MS)]
    pub lock_timeout_ms: u64,
    /// How long a write on PostgreSQL that lost a race (a deadlock, a lock wait past the timeout)
    /// runs again before it gets 503, in milliseconds.
    #[arg(long, env = "SLUICE_WRITE_RETRY_MS", default_value_t = d::WRITE_RETRY_MS)]
    pub write_retry_ms: u64,
    /// Size the write-ahead log is kept under, in bytes.
    #[arg(long, env = "SLUICE_WAL_MAX_BYTES", default_value_t = d::WAL_MAX_BYTES)]
    pub wal_max_bytes: u64,
    /// Time a client has to send a request's headers (also how long a kept-alive connection may sit
    /// idle), and between parts of its body, in seconds.
    #[arg(long, env = "SLUICE_READ_TIMEOUT", default_value_t = defaults::READ_TIMEOUT_SECS)]
    pub read_timeout: u64,
    /// Time shutdown waits for requests in flight before it closes their connections, in seconds.
    #[arg(long, env = "SLUICE_SHUTDOWN_TIMEOUT", default_value_t = defaults::SHUTDOWN_TIMEOUT_SECS)]
    pub shutdown_timeout: u64,
    /// How long an instance holds a running job, batch or callback without renewing it, in
    /// milliseconds; past it, another instance sharing the database takes the work over.
    #[arg(long, env = "SLUICE_LEASE_MS", default_value_t = d::LEASE_MS)]
    pub lease_ms: u64,
    /// How long an idempotency key and the answer kept with it last, in seconds.
    #[arg(long, env = "SLUICE_IDEMPOTENCY_TTL", default_value_t = d::IDEMPOTENCY_TTL_SECS)]
    pub idempotency_ttl: u64,
    /// Rows one export may write; past it, the export fails.
    #[arg(long, env = "SLUICE_MAX_EXPORT_ROWS", default_value_t = d::MAX_EXPORT_ROWS)]
    pub max_export_rows: u64,
    /// Exports running at once on this instance.
    #[arg(long, env = "SLUICE_EXPORT_WORKERS", default_value_t = d::EXPORT_WORKERS)]
    pub export_workers: usize,
    /// Records an object export reads and appends per step (its resume granularity).
    #[arg(long, env = "SLUICE_EXPORT_CHUNK_ROWS", default_value_t = d::EXPORT_CHUNK_ROWS)]
    pub export_chunk_rows: usize,
    /// How long export files and job results (and the uploads their jobs read) are kept once
    /// their work finished, in seconds.
    #[arg(long, env = "SLUICE_RESULT_TTL", default_value_t = d::RESULT_TTL_SECS)]
    pub result_ttl: u64,
    /// Seconds an upload that no job uses is kept (a refused or never-made job leaves one).
    #[arg(long, env = "SLUICE_UPLOAD_TTL", default_value_t = d::UPLOAD_TTL_SECS)]
    pub upload_ttl: u64,
    /// Requests per second each credential may send (bursts of twice that); 0: no limit.
    #[arg(long, env = "SLUICE_RATE_LIMIT", default_value_t = defaults::RATE_LIMIT)]
    pub rate_limit: u32,
    /// The server's public base URL (`https://sluice.example.com`), for the absolute links some
    /// vendors' answers carry; without it, the request's `Host`, or the listen address (`https://`
    /// when sluice serves TLS).
    #[arg(long, env = "SLUICE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// How log lines are written: `text` (coloured only on a terminal) or `json` (one object a line).
    #[arg(long, env = "SLUICE_LOG_FORMAT", value_enum, default_value_t = crate::logs::LogFormat::Text)]
    pub log_format: crate::logs::LogFormat,
    /// The engine's time source (tests move it forward instead of sleeping).
    #[arg(skip)]
    pub clock: Clock,
}

impl Config {
    /// A configuration with the defaults, listening on an ephemeral port (tests, embedding).
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls_cert: None,
            tls_key: None,
            data_dir,
            database_url: None,
            database_pooled: d::DATABASE_POOLED,
            notify_database_url: None,
            read_databases: Vec::new(),
            max_replica_lag: Span(d::MAX_REPLICA_LAG),
            admin_token: None,
            max_bulk_ops: d::MAX_BULK_OPS,
            max_body_bytes: defaults::MAX_BODY_BYTES,
            max_page_size: d::MAX_PAGE_SIZE,
            access_token_ttl: d::ACCESS_TOKEN_TTL_SECS,
            cors_origins: defaults::CORS_ORIGINS.into(),
            default_app: None,
            max_job_records: d::MAX_JOB_RECORDS,
            job_workers: d::JOB_WORKERS,
            batch_workers: d::BATCH_WORKERS,
            job_chunk_rows: d::JOB_CHUNK_ROWS,
            max_upload_bytes: d::MAX_UPLOAD_BYTES,
            max_unzipped_bytes: d::MAX_UNZIPPED_BYTES,
            max_zip_ratio: d::MAX_ZIP_RATIO,
            max_columns: d::MAX_COLUMNS,
            callback_allow: String::new(),
            callback_attempts: d::CALLBACK_ATTEMPTS,
            callback_backoff_ms: d::CALLBACK_BACKOFF_MS,
            max_batch_records: d::MAX_BATCH_RECORDS,
            batch_chunk_rows: d::BATCH_CHUNK_ROWS,
            batch_pause_ms: d::BATCH_PAUSE_MS,
            query_max_rows: d::QUERY_MAX_ROWS,
            query_timeout_ms: d::QUERY_TIMEOUT_MS,
            max_filter_conditions: d::MAX_FILTER_CONDITIONS,
            max_sort_terms: d::MAX_SORT_TERMS,
            max_in_values: d::MAX_IN_VALUES,
            count_timeout_ms: d::COUNT_TIMEOUT_MS,
            max_expensive: d::MAX_EXPENSIVE,
            max_readers: d::MAX_READERS,
            max_writers: d::MAX_WRITERS,
            read_wait_ms: d::READ_WAIT_MS,
            lock_timeout_ms: d::LOCK_TIMEOUT_MS,
            write_retry_ms: d::WRITE_RETRY_MS,
            wal_max_bytes: d::WAL_MAX_BYTES,
            read_timeout: defaults::READ_TIMEOUT_SECS,
            shutdown_timeout: defaults::SHUTDOWN_TIMEOUT_SECS,
            lease_ms: d::LEASE_MS,
            idempotency_ttl: d::IDEMPOTENCY_TTL_SECS,
            max_export_rows: d::MAX_EXPORT_ROWS,
            export_workers: d::EXPORT_WORKERS,
            export_chunk_rows: d::EXPORT_CHUNK_ROWS,
            result_ttl: d::RESULT_TTL_SECS,
            upload_ttl: d::UPLOAD_TTL_SECS,
            rate_limit: defaults::RATE_LIMIT,
            log_format: crate::logs::LogFormat::Text,
            public_url: None,
            clock: Clock::default(),
        }
    }

    /// `https` when sluice serves TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() && self.tls_key.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// The base URL of the absolute links sluice gives clients, without a trailing `/`:
    /// `--public-url` when set, else this scheme and `host` (a request's `Host` header; without
    /// one, the listen address). Every absolute URL handed out is built on this.
    pub fn public_base(&self, host: Option<&str>) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_owned();
        }
        match host {
            Some(host) => format!("{}://{host}", self.scheme()),
            None => format!("{}://{}", self.scheme(), self.listen),
        }
    }

    pub fn engine_settings(&self) -> anyhow::Result<Settings> {
        let callback_allow = CallbackAllow::parse(&self.callback_allow)
            .map_err(|e| anyhow::anyhow!("--callback-allow: {e}"))?;
        let base = Settings::default();
        Ok(Settings {
            max_bulk_ops: self.max_bulk_ops,
            max_page_size: self.max_page_size,
            default_page_size: base.default_page_size.min(self.max_page_size),
            access_token_ttl: Duration::from_secs(self.access_token_ttl),
            admin_token: self.admin_token.clone(),
            max_job_records: self.max_job_records,
            job_workers: self.job_workers,
            batch_workers: self.batch_workers,
            job_chunk_rows: self.job_chunk_rows,
            upload: sluice_engine::settings::UploadLimits {
                max_bytes: self.max_upload_bytes,
                max_unzipped_bytes: self.max_unzipped_bytes,
                max_zip_ratio: self.max_zip_ratio,
                max_columns: self.max_columns,
            },
            callback_allow,
            callback_attempts: self.callback_attempts.max(1),
            callback_backoff: Duration::from_millis(self.callback_backoff_ms),
            max_batch_records: self.max_batch_records,
            batch_chunk_rows: self.batch_chunk_rows,
            batch_pause: Duration::from_millis(self.batch_pause_ms),
            query: sluice_engine::settings::QueryLimits {
                max_rows: self.query_max_rows,
                timeout: Duration::from_millis(self.query_timeout_ms),
                ..base.query.clone()
            },
            list: sluice_engine::settings::ListLimits {
                max_filter_conditions: self.max_filter_conditions,
                max_sort_terms: self.max_sort_terms,
                max_in_values: self.max_in_values,
                count_timeout: Duration::from_millis(self.count_timeout_ms),
            },
            store: sluice_engine::settings::StoreLimits {
                max_readers: self.max_readers,
                max_writers: self.max_writers,
                read_wait: Duration::from_millis(self.read_wait_ms),
                lock_timeout: Duration::from_millis(self.lock_timeout_ms),
                write_retry: Duration::from_millis(self.write_retry_ms),
                wal_max_bytes: self.wal_max_bytes,
                pooled: self.database_pooled,
                notify_url: self.notify_database_url.clone(),
                read_replicas: crate::duration::urls(&self.read_databases),
                max_replica_lag: self.max_replica_lag.0,
                ..base.store.clone()
            },
            max_expensive: self.max_expensive,
            lease: Duration::from_millis(self.lease_ms.max(30)),
            idempotency_ttl: Duration::from_secs(self.idempotency_ttl),
            export: sluice_engine::settings::ExportLimits {
                max_rows: self.max_export_rows,
                workers: self.export_workers,
                chunk_rows: self.export_chunk_rows,
                ..base.export.clone()
            },
            result_ttl: Duration::from_secs(self.result_ttl),
            upload_ttl: Duration::from_secs(self.upload_ttl),
            clock: self.clock.clone(),
            ..base
        })
    }
}

#[cfg(test)]
mod tests;
