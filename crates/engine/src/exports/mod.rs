//! Export jobs: an object's records (through the list API's filters) or a read-only query's rows,
//! written to a CSV, NDJSON or ZIP file in chunks as they are read, never held whole; run by the
//! task scheduler like bulk-write jobs, resumed after a crash (object exports from their
//! last chunk), downloaded whole, by byte range, or in pages of records.

mod chunk;
mod download;
mod encode;
mod numbered;
mod query;
mod queue;
mod request;
mod run;
mod service;
mod worker;

pub use download::{Download, Page};
pub use request::{ExportRequest, ExportWhat};
pub use service::{Exports, Render};

use crate::core::Core;
use crate::jobs::callback::Callbacks;
use crate::query::Queries;
use std::path::PathBuf;
use std::sync::Arc;

/// What export workers share.
pub(crate) struct Runner {
    core: Arc<Core>,
    queries: Queries,
    callbacks: Arc<Callbacks>,
    /// Where query exports write and ZIPs are packed before the file store keeps them.
    scratch: PathBuf,
}

/// A new name for export `id`'s finished file in the file store: each run keeps its own, so a run
/// that lost the export to another instance (cut off from the database meanwhile) never writes
/// over the file the export ended with; its own is deleted once its end is refused.
fn file_id(id: &str) -> String {
    format!("{id}-{}", uuid::Uuid::new_v4().simple())
}
