//! Bulk-write jobs and their uploads as stored: typed statuses, progress, the checkpoint a chunk
//! moves, and the callback's delivery state.

use super::lease::Lease;
use super::lifecycle::{Phase, Tracked};
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobOp {
    Insert,
    Update,
    Upsert,
    Delete,
}

impl JobOp {
    pub fn as_str(self) -> &'static str {
        match self {
            JobOp::Insert => "insert",
            JobOp::Update => "update",
            JobOp::Upsert => "upsert",
            JobOp::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Canceled
        )
    }
}

/// A checked mapping: a field fed from an input column (by index) and/or a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub field: String,
    pub column: Option<usize>,
    pub default: Option<Json>,
    /// The header of the input column, when the field is fed from one.
    #[serde(default)]
    pub header: Option<String>,
    /// For a relation field: the related object's unique field (or `id`) the column's values
    /// name their record by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub total: u64,
    pub processed: u64,
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    pub deleted: u64,
    /// Records deleted by `on_delete: cascade` beside the rows' own.
    #[serde(default)]
    pub cascaded: u64,
}

/// Where a job stands: rows done, and the byte offsets in its input and result files that go with
/// them. Written in the same transaction as the rows it counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub rows_done: u64,
    pub input_offset: u64,
    pub result_offset: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallbackStatus {
    /// The job has not finished yet.
    Waiting,
    /// Finished; delivery in progress or to be resumed after a restart.
    Pending,
    Delivered,
    Failed,
}

impl CallbackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Waiting => "waiting",
            CallbackStatus::Pending => "pending",
            CallbackStatus::Delivered => "delivered",
            CallbackStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub url: String,
    pub method: String,
    pub status: CallbackStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
    /// The instance delivering it now.
    #[serde(default)]
    pub lease: Option<Lease>,
}

/// A stored upload, normalised to CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRow {
    pub id: String,
    pub app_id: Uuid,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    pub header: Vec<String>,
    pub rows: u64,
    pub created_at: Timestamp,
    pub created_by: String,
    /// Set while the upload is put together from parts, and after (what became of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assembly: Option<super::Assembly>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub app_id: Uuid,
    pub app: String,
    pub object: String,
    pub object_id: Uuid,
    pub operation: JobOp,
    pub file_id: String,
    pub file_name: String,
    pub find_by: Option<String>,
    pub mappings: Vec<Mapping>,
    pub ignore_empty: bool,
    pub callback: Option<Callback>,
    /// An opaque label from the front door that made the job; it picks the callback's renderer.
    #[serde(default, alias = "dialect")]
    pub tag: String,
    pub status: JobStatus,
    /// The instance running it, while it runs.
    #[serde(default)]
    pub lease: Option<Lease>,
    pub progress: Progress,
    pub checkpoint: Checkpoint,
    /// Input columns copied into the result file: the first three mapped ones (none when the
    /// rows are shown whole).
    pub result_columns: Vec<usize>,
    pub result_headers: Vec<String>,
    /// Results show each input row whole, read back from the upload beside the result lines
    /// rather than copied into them.
    #[serde(default)]
    pub result_rows_whole: bool,
    pub cancel_requested: bool,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub created_by: String,
    pub created_by_id: String,
    pub error: Option<String>,
    /// Numeric aliases of the ids this job shows, for front doors whose clients hold ids as
    /// integers, whichever door created the job (jobs made before every job was numbered have
    /// none).
    #[serde(default)]
    pub numbers: Option<JobNumbers>,
    /// Keys given as digits name records by their numbers, and every record the rows touch gets a
    /// number in the result file (a job created through such a front door). Unset in jobs made
    /// before this was its own flag: those had numbers only when numbered.
    #[serde(default)]
    pub numbered_records: Option<bool>,
    /// The result lines were deleted after the retention period.
    #[serde(default)]
    pub result_expired: bool,
}

/// The numeric aliases (see `model::alias`) of a numbered job's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobNumbers {
    pub job: u64,
    pub file: u64,
    pub object: u64,
    pub app: u64,
    pub user: u64,
}

impl Job {
    /// What a finished job's status alone does not say: it completed, but every row failed (its
    /// result file says why, row by row).
    pub fn warning(&self) -> Option<String> {
        let p = &self.progress;
        (self.status == JobStatus::Completed && p.processed > 0 && p.failed == p.processed).then(
            || {
                format!(
                    "every one of the job's {} rows failed; its result file says why, row by row",
                    p.processed
                )
            },
        )
    }

    /// Whether the job reads and writes records by their numbers (see `numbered_records`).
    pub fn numbers_records(&self) -> bool {
        self.numbered_records.unwrap_or(self.numbers.is_some())
    }

    /// The callback is due (the job finished) and not yet delivered or given up.
    pub fn callback_due(&self) -> bool {
        self.callback
            .as_ref()
            .is_some_and(|c| c.status == CallbackStatus::Pending)
    }
}

impl Tracked for Job {
    const KIND: &'static str = "job";

    fn phase(&self) -> Phase {
        match self.status {
            JobStatus::Queued => Phase::Waiting,
            JobStatus::Running => Phase::Running,
            _ => Phase::Finished,
        }
    }

    fn status_name(&self) -> &'static str {
        self.status.as_str()
    }

    fn mark_canceled(&mut self, now: &Timestamp) {
        self.status = JobStatus::Canceled;
        self.completed_at = Some(now.clone());
    }

    fn request_cancel(&mut self, _now: &Timestamp) {
        self.cancel_requested = true;
    }
}
