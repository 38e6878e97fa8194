//! Batches: records selected by a read-only query or by ids, then deleted or updated as one tracked
//! unit with live counters. The selection is resolved when the batch starts and stored with it, so
//! a restart resumes a running batch where it stood and finishes it.

use crate::error::{Error, ErrorCode, Result};
use crate::model::{Object, Timestamp, WriteMode, Writes};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Delete,
    Update,
}

/// One operation as clients send it (native: `object`; Fulcrum: `form_id`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpSpec {
    pub action: Action,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub form_id: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    #[serde(default)]
    pub set: Option<Json>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    #[serde(default)]
    pub start: bool,
    pub operations: Vec<OpSpec>,
}

/// A checked operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchOp {
    pub action: Action,
    pub object: String,
    pub object_id: Uuid,
    pub query: Option<String>,
    pub ids: Option<Vec<String>>,
    /// How many ids were given, once they moved into the stored selection (at start).
    #[serde(default)]
    pub ids_count: Option<usize>,
    pub set: Option<Json>,
}

impl BatchOp {
    fn to_json(&self) -> Json {
        let mut v =
            json!({"action": self.action, "object": self.object, "form_id": self.object_id});
        if let Some(q) = &self.query {
            v["query"] = json!(q);
        }
        if let Some(ids) = &self.ids {
            v["ids"] = json!(ids);
        }
        if let Some(n) = self.ids_count {
            v["ids_count"] = json!(n);
        }
        if let Some(s) = &self.set {
            v["set"] = s.clone();
        }
        v
    }
}

/// Which front door made the batch (Fulcrum's rules differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BatchDialect {
    #[default]
    Native,
    Fulcrum,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: String,
    pub app_id: Uuid,
    pub app: String,
    pub dialect: BatchDialect,
    pub status: BatchStatus,
    pub operations: Vec<BatchOp>,
    pub objects_total: u64,
    pub objects_success: u64,
    pub objects_failed: u64,
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
    pub fn to_json(&self) -> Json {
        json!({
            "id": self.id,
            "status": self.status.as_str(),
            "objects_total": self.objects_total,
            "objects_success": self.objects_success,
            "objects_failed": self.objects_failed,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "created_by": self.created_by,
            "created_by_id": self.created_by_id,
            "updated_by": self.updated_by,
            "updated_by_id": self.updated_by_id,
            "error": self.error,
            "operations": self.operations.iter().map(BatchOp::to_json).collect::<Vec<_>>(),
        })
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self.status,
            BatchStatus::Success | BatchStatus::Failed | BatchStatus::Canceled
        )
    }
}

/// Checks one operation against its object (pure; the query is checked by the caller).
pub fn check_op(spec: OpSpec, obj: &Object, max_records: u64) -> Result<BatchOp> {
    match (&spec.query, &spec.ids) {
        (Some(_), Some(_)) => {
            return Err(
                Error::invalid("an operation takes query or ids, not both").with_field("ids")
            )
        }
        (None, None) => {
            return Err(
                Error::new(ErrorCode::Required, "an operation needs query or ids")
                    .with_field("query"),
            )
        }
        (None, Some(ids)) if ids.len() as u64 > max_records => {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!(
                    "a batch changes at most {max_records} records; {} ids were given",
                    ids.len()
                ),
            )
            .with_field("ids"))
        }
        _ => {}
    }
    match (spec.action, &spec.set) {
        (Action::Update, None) => {
            return Err(Error::new(ErrorCode::Required, "update needs set").with_field("set"))
        }
        (Action::Delete, Some(_)) => {
            return Err(Error::invalid("delete takes no set").with_field("set"))
        }
        (Action::Update, Some(set)) => {
            let w = Writes::from_body(obj, set, WriteMode::Merge)?;
            if w.0.is_empty() {
                return Err(Error::validation("set", "set changes no field"));
            }
        }
        (Action::Delete, None) => {}
    }
    Ok(BatchOp {
        action: spec.action,
        object: obj.name.to_string(),
        object_id: obj.id,
        query: spec.query,
        ids: spec.ids,
        ids_count: None,
        set: spec.set,
    })
}

pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}
