//! The document's export operations and their schemas.

#![allow(dead_code)]

use super::bodies::Binary;
use super::paths_work::PAGE;
use super::work::{Failure, Failures};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Ndjson,
    /// A ZIP holding the CSV.
    Zip,
}

/// An export of an object's records (`object`, with the list API's filters) or of a read-only
/// query's rows (`query`, without the query API's row cap): one of the two.
#[derive(ToSchema)]
pub struct ExportInput {
    pub object: Option<String>,
    /// Conditions as the list API writes them, `{"age[gte]": 30, "status": "new"}`, or the same
    /// as a query string.
    pub filter: Option<Value>,
    /// The columns, in order (default: `id`, every field, then the other system fields).
    pub fields: Option<Vec<String>>,
    /// `"-created_at,name"` (the id breaks ties).
    pub sort: Option<String>,
    /// Relations whose records replace their ids (`"account,account.owner"`).
    pub expand: Option<String>,
    pub query: Option<String>,
    /// Values of the query's `$1`, `$2`… placeholders.
    pub params: Option<Vec<Value>>,
    /// `csv` when absent.
    pub format: Option<ExportFormat>,
    /// POSTed the export's document once it completed or failed (signed like job callbacks).
    pub callback: Option<super::work::CallbackInput>,
}

#[derive(ToSchema)]
pub struct Export {
    pub id: String,
    /// `queued`, `running`, `completed`, `failed` or `canceled`.
    pub status: String,
    pub format: String,
    pub object: Option<String>,
    pub fields: Option<Vec<String>>,
    pub query: Option<String>,
    pub params: Option<Vec<Value>>,
    /// Rows written so far (all of them once completed).
    pub rows: u64,
    /// Bytes written so far; the file's size once completed.
    pub bytes: u64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub created_by: String,
    pub created_by_id: String,
    pub error: Option<String>,
    /// The file was deleted after the retention period (`--result-ttl`).
    pub expired: bool,
    /// Where to download the file, once completed.
    pub result_url: Option<String>,
    pub callback: Option<Value>,
}

#[derive(ToSchema)]
pub struct ExportList {
    pub exports: Vec<Export>,
    pub total: u64,
}

/// Answers a result download can give besides the file.
#[derive(utoipa::IntoResponses)]
pub enum ResultFailures {
    /// Not completed (yet).
    #[response(status = 409)]
    NotReady(#[ref_response] Failure),
    /// The file was deleted after the retention period.
    #[response(status = 410)]
    Expired(#[ref_response] Failure),
    /// The range lies outside the file (`Content-Range: bytes */<size>`).
    #[response(status = 416)]
    Range(#[ref_response] Failure),
}

#[utoipa::path(get, path = "/v1/apps/{app}/exports", tag = "exports",
    params(("app" = String, Path), ("limit" = Option<u64>, Query, description = PAGE),
        ("offset" = Option<u64>, Query, description = "How many of the newest to skip (0)")),
    responses((status = 200, description = "The newest exports first", body = ExportList), Failures))]
pub(super) fn list_exports() {}

#[utoipa::path(post, path = "/v1/apps/{app}/exports", tag = "exports",
    params(("app" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Once per key: a repeat with the same body replays the first answer (`Idempotent-Replayed: true`); another body 422 `idempotency_mismatch`; while the first runs 409 `idempotency_in_flight`")), request_body = ExportInput,
    responses((status = 201, description = "Queued (readers may export)", body = Export), Failures))]
pub(super) fn create_export() {}

#[utoipa::path(get, path = "/v1/apps/{app}/exports/{id}", tag = "exports",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Export), Failures))]
pub(super) fn get_export() {}

#[utoipa::path(post, path = "/v1/apps/{app}/exports/{id}/cancel", tag = "exports",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Canceled, or asked to stop at its next chunk",
        body = Export), Failures))]
pub(super) fn cancel_export() {}

#[utoipa::path(get, path = "/v1/apps/{app}/exports/{id}/result", tag = "exports",
    params(("app" = String, Path), ("id" = String, Path),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=<first>-<last>`"),
        ("If-Range" = Option<String>, Header, description = "The ETag of the file a range continues"),
        ("locator" = Option<String>, Query, description = "Where a page starts: the \
            `Sluice-Locator` of the page before"),
        ("max_records" = Option<u64>, Query, description = "Records a page holds (10,000); \
            with it or `locator`, the answer is a page, and `Sluice-Locator` names the next one \
            (absent on the last); CSV pages each start with the header")),
    responses(
        (status = 200, description = "The file, or a page of it", content(
            (inline(Binary) = "text/csv"), (inline(Binary) = "application/x-ndjson"),
            (inline(Binary) = "application/zip"))),
        (status = 206, description = "The byte range asked for", body = inline(Binary),
            content_type = "application/octet-stream"),
        ResultFailures, Failures))]
pub(super) fn export_result() {}

#[utoipa::path(get, path = "/v1/apps/{app}/exports/{id}/events", tag = "exports",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Server-Sent Events: `progress` with the export \
        whenever it changed (at most every 250 ms), then `done`",
        content_type = "text/event-stream", body = String), Failures))]
pub(super) fn export_events() {}
