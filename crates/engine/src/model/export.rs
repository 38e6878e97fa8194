//! Exports as stored: what they read (an object's records through the list API's filters, or a
//! read-only query), the file format, typed statuses, counters and the checkpoint each chunk
//! moves, where the finished file is kept, the callback's delivery state, and the numbers that
//! stand for its ids.

use super::filter::ListSpec;
use super::job::Callback;
use super::lease::Lease;
use super::lifecycle::{Phase, Tracked};
use super::query::QueryView;
use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Canceled,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Queued => "queued",
            ExportStatus::Running => "running",
            ExportStatus::Completed => "completed",
            ExportStatus::Failed => "failed",
            ExportStatus::Canceled => "canceled",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ExportStatus::Completed | ExportStatus::Failed | ExportStatus::Canceled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Ndjson,
    /// A ZIP holding the CSV.
    Zip,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Zip => "zip",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Zip => "application/zip",
        }
    }

    /// Whether the file is a sequence of records a page can cut between (not a ZIP).
    pub fn pageable(self) -> bool {
        self != ExportFormat::Zip
    }
}

/// How an export's CSV is written: sluice's own style is comma-delimited, LF-terminated and
/// quoted only where needed; a front door may ask for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvStyle {
    pub delimiter: u8,
    pub crlf: bool,
    pub quote_all: bool,
}

impl Default for CsvStyle {
    fn default() -> CsvStyle {
        CsvStyle {
            delimiter: b',',
            crlf: false,
            quote_all: false,
        }
    }
}

impl CsvStyle {
    pub fn is_default(&self) -> bool {
        *self == CsvStyle::default()
    }

    /// A CSV writer in this style.
    pub fn writer<W: std::io::Write>(&self, out: W) -> csv::Writer<W> {
        csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .terminator(if self.crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(if self.quote_all {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .flexible(true)
            .from_writer(out)
    }
}

/// What an export reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExportSource {
    /// An object's records, in `spec`'s order (then by id), with these columns.
    Object {
        object: String,
        object_id: Uuid,
        spec: ListSpec,
        columns: Vec<String>,
        #[serde(default)]
        shape: Box<Shape>,
    },
    /// A checked read-only query and its parameters.
    Query {
        sql: String,
        params: Vec<Json>,
        #[serde(default)]
        view: Option<QueryView>,
    },
}

/// How an object export is cut and shown, for front doors whose clients expect it so: a window of
/// the records in the export's order, header labels, ids as numbers, the ZIP entry's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shape {
    /// Records skipped (in the export's order) before the first one written.
    pub offset: u64,
    /// The most records written; whether more followed is `Export::more`.
    pub limit: Option<u64>,
    /// The header line, one label per column (default: the column names).
    pub headers: Option<Vec<String>>,
    /// Record ids (the `id` column and relation fields) written as their numeric aliases.
    pub numbered: bool,
    /// The CSV inside a ZIP is named by the export's number (`<number>.csv`).
    pub entry_by_number: bool,
}

/// The numeric aliases (see `model::alias`) of an export's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportNumbers {
    pub export: u64,
    pub user: u64,
    /// The object an object export reads.
    pub object: Option<u64>,
}

/// Where a finished export's file is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "in", content = "id", rename_all = "lowercase")]
pub enum Stored {
    /// In the result pieces under the export's id, as the chunks appended them.
    Results,
    /// As a stored file under this id (a query's output, or a ZIP).
    File(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    pub id: String,
    pub app_id: Uuid,
    pub app: String,
    pub format: ExportFormat,
    pub source: ExportSource,
    pub status: ExportStatus,
    /// The instance running it, while it runs.
    #[serde(default)]
    pub lease: Option<Lease>,
    pub rows: u64,
    pub bytes: u64,
    /// Keyset position after the last exported record (object exports): the resume point.
    pub cursor: Option<String>,
    /// Bytes of the CSV header line at the start of the file (0 for NDJSON).
    #[serde(default)]
    pub header_len: u64,
    /// Where the file is, once there is one to download.
    pub stored: Option<Stored>,
    /// The file was deleted after the retention period.
    #[serde(default)]
    pub expired: bool,
    pub cancel_requested: bool,
    pub error: Option<String>,
    pub callback: Option<Callback>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub created_by: String,
    pub created_by_id: String,
    /// How its CSV is written.
    #[serde(default, skip_serializing_if = "CsvStyle::is_default")]
    pub csv: CsvStyle,
    /// The CSV header's names in place of the columns' own (a front door's spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Vec<String>>,
    /// What the front door that made it keeps with it (opaque to the engine).
    #[serde(default, skip_serializing_if = "Json::is_null")]
    pub meta: Json,
    /// The front door that made it: callbacks render with that door's renderer (`""`: native).
    #[serde(default)]
    pub tag: String,
    /// Numbers for clients that hold ids as integers, whichever door made the export (exports
    /// made before every export was numbered have none).
    #[serde(default)]
    pub numbers: Option<ExportNumbers>,
    /// A window (`Shape::limit`) ended before the matching records did.
    #[serde(default)]
    pub more: bool,
}

impl Export {
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// A file name for the download.
    pub fn file_name(&self) -> String {
        let base = match &self.source {
            // Object names are checked names: no separators, nothing to clean.
            ExportSource::Object { object, .. } => object.as_str(),
            ExportSource::Query { .. } => "query",
        };
        format!("{base}-{}.{}", self.id, self.format.as_str())
    }

    /// Marks a queued export running under `lease`.
    pub fn claim(&mut self, lease: &Lease, now: &Timestamp) {
        self.status = ExportStatus::Running;
        self.lease = Some(lease.clone());
        self.updated_at = now.clone();
        if self.started_at.is_none() {
            self.started_at = Some(now.clone());
        }
    }

    /// Whether `owner` runs this export still: running, under its lease, not asked to cancel.
    pub fn runs_here(&self, owner: &str) -> bool {
        self.status == ExportStatus::Running
            && super::held(self.lease.as_ref(), owner)
            && !self.cancel_requested
    }

    /// The callback is due (the export finished) and not yet delivered or given up.
    pub fn callback_due(&self) -> bool {
        self.callback
            .as_ref()
            .is_some_and(|c| c.status == super::job::CallbackStatus::Pending)
    }
}

impl Tracked for Export {
    const KIND: &'static str = "export";

    fn phase(&self) -> Phase {
        match self.status {
            ExportStatus::Queued => Phase::Waiting,
            ExportStatus::Running => Phase::Running,
            _ => Phase::Finished,
        }
    }

    fn status_name(&self) -> &'static str {
        self.status.as_str()
    }

    fn mark_canceled(&mut self, now: &Timestamp) {
        self.status = ExportStatus::Canceled;
        self.lease = None;
        self.completed_at = Some(now.clone());
        self.updated_at = now.clone();
    }

    fn request_cancel(&mut self, now: &Timestamp) {
        self.cancel_requested = true;
        self.updated_at = now.clone();
    }
}
