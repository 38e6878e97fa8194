//! Uploads assembled from parts: a front door whose clients send a job's data in several requests
//! before it is started keeps the parts, in order, with the upload they become, and what became
//! of them (a job, a refusal, an abort).

use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One part as received, normalized, and stored under its own input id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub input: String,
    pub rows: u64,
    pub size: u64,
}

/// Where an assembly stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum AssemblyState {
    /// Taking parts.
    Open,
    /// Given up by its client before it was complete.
    Aborted,
    /// Complete, but the job it was to start was refused (the message says why).
    Failed { error: String },
    /// Complete; this job reads it.
    Started { job: String },
    /// Deleted by its client once it had ended: it is no longer shown.
    Deleted,
}

impl AssemblyState {
    pub fn as_str(&self) -> &'static str {
        match self {
            AssemblyState::Open => "open",
            AssemblyState::Aborted => "aborted",
            AssemblyState::Failed { .. } => "failed",
            AssemblyState::Started { .. } => "started",
            AssemblyState::Deleted => "deleted",
        }
    }
}

/// The parts of an upload still being assembled, and what its front door keeps with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assembly {
    pub parts: Vec<Part>,
    pub state: AssemblyState,
    /// The front door's own settings for the job to come (opaque to the engine).
    #[serde(default)]
    pub meta: Json,
    pub updated_at: Timestamp,
}
