//! Batches as stored: operations over records selected by a query or by ids, typed statuses and
//! the counters that move with each chunk.

use super::lease::Lease;
use super::lifecycle::{Phase, Tracked};
use super::query::QueryView;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchStatus {
    Pending,
    Running,
    Success,
    Failed,
    Canceled,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Pending => "pending",
            BatchStatus::Running => "running",
            BatchStatus::Success => "success",
            BatchStatus::Failed => "failed",
            BatchStatus::Canceled => "canceled",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            BatchStatus::Success | BatchStatus::Failed | BatchStatus::Canceled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Delete,
    Update,
}

/// A checked operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchOp {
    pub action: Action,
    pub object: String,
    pub object_id: Uuid,
    pub query: Option<String>,
    pub ids: Option<Vec<String>>,
    /// How many ids were given, once they moved into the stored selection.
    #[serde(default)]
    pub ids_count: Option<usize>,
    pub set: Option<Json>,
}

/// One entry of a batch's stored selection: its place (operations in order, then records in order
/// within each), the operation's index, and the record's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub seq: u64,
    pub op: u32,
    pub record: String,
}

impl Selected {
    pub fn new(op: usize, index: usize, record: String) -> Selected {
        Selected {
            seq: ((op as u64) << 32) | index as u64,
            op: op as u32,
            record,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: String,
    pub app_id: Uuid,
    pub app: String,
    /// How the batch's queries see objects (`None`: as native records).
    #[serde(default)]
    pub view: Option<QueryView>,
    pub status: BatchStatus,
    /// The instance running it, while it runs.
    #[serde(default)]
    pub lease: Option<Lease>,
    pub operations: Vec<BatchOp>,
    pub objects_total: u64,
    pub objects_success: u64,
    pub objects_failed: u64,
    /// Records deleted by `on_delete: cascade` beside the batch's own.
    #[serde(default)]
    pub objects_cascaded: u64,
    /// How many selected records are done (the resume point).
    pub position: u64,
    pub cancel_requested: bool,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub created_by: String,
    pub created_by_id: String,
    pub updated_by: String,
    pub updated_by_id: String,
}

impl Batch {
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }
}

impl Tracked for Batch {
    const KIND: &'static str = "batch";

    fn phase(&self) -> Phase {
        match self.status {
            BatchStatus::Pending => Phase::Waiting,
            BatchStatus::Running => Phase::Running,
            _ => Phase::Finished,
        }
    }

    fn status_name(&self) -> &'static str {
        self.status.as_str()
    }

    fn mark_canceled(&mut self, now: &Timestamp) {
        self.status = BatchStatus::Canceled;
        self.completed_at = Some(now.clone());
        self.updated_at = now.clone();
    }

    fn request_cancel(&mut self, now: &Timestamp) {
        self.cancel_requested = true;
        self.updated_at = now.clone();
    }
}
