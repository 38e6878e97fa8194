//! An ingest job as Salesforce shows it: the settings its client chose (kept with the assembled
//! upload), its state (from the assembly while it is open, from the bulk-write job after) and its
//! counters, in Salesforce's job info shape.

use super::wire::{sf_id, sf_time, DELIMITERS, JOB, USER};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use sluice_engine::model::{AssemblyState, FileRow, Job, JobOp, JobStatus};

/// What an ingest job's client chose, kept with its upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The object's name as the client gave it (Salesforce echoes it).
    pub object: String,
    /// The sluice object it names.
    pub sluice_object: String,
    pub operation: String,
    #[serde(default)]
    pub external_id_field_name: Option<String>,
    pub column_delimiter: String,
    pub line_ending: String,
    pub api_version: f64,
}

impl Meta {
    pub fn delimiter(&self) -> u8 {
        DELIMITERS
            .iter()
            .find(|(name, _)| *name == self.column_delimiter)
            .map_or(b',', |(_, c)| *c)
    }

    /// The bulk-write operation: Salesforce's `hardDelete` deletes as `delete` does (sluice has
    /// no recycle bin).
    pub fn job_op(&self) -> Option<JobOp> {
        match self.operation.as_str() {
            "insert" => Some(JobOp::Insert),
            "update" => Some(JobOp::Update),
            "upsert" => Some(JobOp::Upsert),
            "delete" | "hardDelete" => Some(JobOp::Delete),
            _ => None,
        }
    }
}

/// Numbers an ingest job shows: its own (the assembled upload's alias) and its creator's.
pub struct Ids {
    pub job: u64,
    pub user: u64,
}

/// The job info of ingest job `file` (and the job it started, once started); `counters` adds
/// what `GET` shows beyond the create answer.
pub fn info(file: &FileRow, meta: &Meta, job: Option<&Job>, ids: &Ids, counters: bool) -> Json {
    let state = match (file.assembly.as_ref().map(|a| &a.state), job) {
        (_, Some(j)) => match j.status {
            JobStatus::Queued => "UploadComplete",
            JobStatus::Running => "InProgress",
            JobStatus::Completed => "JobComplete",
            JobStatus::Failed => "Failed",
            JobStatus::Canceled => "Aborted",
        },
        (Some(AssemblyState::Aborted), None) => "Aborted",
        (Some(AssemblyState::Failed { .. }), None) => "Failed",
        _ => "Open",
    };
    let modified = file
        .assembly
        .as_ref()
        .map_or(&file.created_at, |a| &a.updated_at);
    let modified = job
        .and_then(|j| j.completed_at.as_ref().or(j.started_at.as_ref()))
        .unwrap_or(modified);
    let id = sf_id(JOB, ids.job);
    let version = format!("{:.1}", meta.api_version);
    let mut v = json!({
        "id": id,
        "operation": meta.operation,
        "object": meta.object,
        "createdById": sf_id(USER, ids.user),
        "createdDate": sf_time(file.created_at.as_str()),
        "systemModstamp": sf_time(modified.as_str()),
        "state": state,
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": meta.api_version,
        "contentUrl": format!("services/data/v{version}/jobs/ingest/{id}/batches"),
        "lineEnding": meta.line_ending,
        "columnDelimiter": meta.column_delimiter,
    });
    if let Some(ext) = &meta.external_id_field_name {
        v["externalIdFieldName"] = json!(ext);
    }
    if counters {
        let p = job.map(|j| j.progress.clone()).unwrap_or_default();
        let millis = job.map_or(0, processing_ms);
        v["jobType"] = json!("V2Ingest");
        v["numberRecordsProcessed"] = json!(p.processed);
        v["numberRecordsFailed"] = json!(p.failed + p.skipped);
        v["retries"] = json!(0);
        v["totalProcessingTime"] = json!(millis);
        v["apiActiveProcessingTime"] = json!(millis);
        v["apexProcessingTime"] = json!(0);
    }
    let error = match (file.assembly.as_ref().map(|a| &a.state), job) {
        (_, Some(j)) => j.error.clone(),
        (Some(AssemblyState::Failed { error }), None) => Some(error.clone()),
        _ => None,
    };
    if let Some(e) = error {
        v["errorMessage"] = json!(e);
    }
    v
}

/// Milliseconds the job has run.
fn processing_ms(j: &Job) -> i64 {
    let at = |t: &sluice_engine::model::Timestamp| {
        chrono::DateTime::parse_from_rfc3339(t.as_str())
            .map(|d| d.timestamp_millis())
            .ok()
    };
    match (
        j.started_at.as_ref().and_then(at),
        j.completed_at.as_ref().and_then(at),
    ) {
        (Some(s), Some(e)) => (e - s).max(0),
        _ => 0,
    }
}
