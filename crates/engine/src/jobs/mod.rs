//! Asynchronous bulk-write jobs: uploads, the durable queue, workers that stream a file in chunks
//! and commit each chunk with the job's checkpoint, result files, and signed callbacks.

pub mod callback;
pub mod failpoint;
pub mod plan;
pub mod result;
pub mod run;
pub mod upload;

pub use plan::{plan_job, CallbackSpec, JobRequest, MappingSpec};
pub use run::{recover, run_job};

use crate::model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobOp {
    Insert,
    Update,
    Upsert,
    Delete,
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

/// Which front door made the job: it decides the callback's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    Native,
    Bigin,
}

/// A checked mapping: a field fed from an input column (by index) and/or a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    pub field: String,
    pub column: Option<usize>,
    pub default: Option<Json>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub url: String,
    pub method: String,
    pub status: CallbackStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
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
}

impl FileRow {
    pub fn to_json(&self) -> Json {
        json!({
            "file_id": self.id, "name": self.name, "size": self.size, "content_type": self.content_type,
            "rows": self.rows, "columns": self.header, "created_at": self.created_at, "created_by": self.created_by,
        })
    }
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
    pub dialect: Dialect,
    pub status: JobStatus,
    pub progress: Progress,
    pub checkpoint: Checkpoint,
    /// Input columns copied into the result file: the first three mapped ones.
    pub result_columns: Vec<usize>,
    pub result_headers: Vec<String>,
    pub cancel_requested: bool,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub created_by: String,
    pub created_by_id: String,
    pub error: Option<String>,
}

impl Job {
    /// The native job document.
    pub fn to_json(&self) -> Json {
        let p = &self.progress;
        let mut v = json!({
            "id": self.id,
            "status": self.status.as_str(),
            "operation": self.operation,
            "object": self.object,
            "file_id": self.file_id,
            "find_by": self.find_by,
            "ignore_empty": self.ignore_empty,
            "progress": {
                "total": p.total, "processed": p.processed, "added": p.added, "updated": p.updated,
                "skipped": p.skipped, "failed": p.failed, "deleted": p.deleted,
            },
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "created_by": self.created_by,
            "error": self.error,
            "result_url": self.status.is_final().then(|| format!("/v1/apps/{}/jobs/{}/result", self.app, self.id)),
        });
        if let Some(cb) = &self.callback {
            v["callback"] = json!({
                "url": cb.url, "method": cb.method, "status": cb.status, "attempts": cb.attempts,
                "last_error": cb.last_error, "delivered_at": cb.delivered_at,
            });
        }
        v
    }
}
