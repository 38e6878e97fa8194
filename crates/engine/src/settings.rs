//! Engine settings: every limit is a named value here, with its default.

use crate::auth::ThrottleSettings;
use crate::jobs::callback::Policy;
use crate::jobs::upload::UploadLimits;
use crate::query::QueryLimits;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Operations in one synchronous bulk request.
    pub max_bulk_ops: usize,
    /// Records per list page when the caller names no limit.
    pub default_page_size: usize,
    /// Largest page a caller may ask for.
    pub max_page_size: usize,
    /// Fields per object.
    pub max_fields: usize,
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
    /// Rows a job writes per transaction (with its checkpoint).
    pub job_chunk_rows: usize,
    pub upload: UploadLimits,
    /// Where job callbacks may go beyond public addresses.
    pub callback_policy: Policy,
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_bulk_ops: 1000,
            default_page_size: 100,
            max_page_size: 1000,
            max_fields: 500,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            throttle: ThrottleSettings::default(),
            admin_token: None,
            max_job_records: 25_000,
            job_workers: 2,
            job_chunk_rows: 2_000,
            upload: UploadLimits {
                max_bytes: 256 << 20,
                max_unzipped_bytes: 2 << 30,
                max_zip_ratio: 200,
                max_columns: 200,
            },
            callback_policy: Policy::default(),
            callback_attempts: 5,
            callback_backoff: Duration::from_secs(1),
            callback_timeout: Duration::from_secs(10),
            max_batch_records: 10_000,
            batch_chunk_rows: 2_000,
            batch_pause: Duration::ZERO,
            query: QueryLimits::default(),
        }
    }
}
