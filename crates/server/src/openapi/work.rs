//! Schemas of the background work: uploads, bulk-write jobs, queries and batches (document-only
//! types, as in `schemas`).

#![allow(dead_code)]

use super::schemas::ErrorBody;
use serde_json::Value;
use utoipa::ToSchema;

/// A stored upload, checked and ready for jobs.
#[derive(ToSchema)]
pub struct FileInfo {
    pub file_id: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// Data rows (the header excluded).
    pub rows: u64,
    pub columns: Vec<String>,
    pub created_at: String,
    pub created_by: String,
}

#[derive(ToSchema)]
pub struct Preview {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(ToSchema)]
pub struct RowError {
    /// The error's code (`required`, `validation_failed`, `unique_violation`…).
    pub code: String,
    pub field: String,
}

#[derive(ToSchema)]
pub struct FailedRow {
    /// The row's position in the input, from 1.
    pub row: u64,
    /// The row's first mapped cells, as in the result file.
    pub cells: Vec<String>,
    pub errors: Vec<RowError>,
    pub message: String,
}

#[derive(ToSchema)]
pub struct FailureList {
    /// How many rows failed in all.
    pub failed: u64,
    pub rows: Vec<FailedRow>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum JobOperation {
    Insert,
    Update,
    Upsert,
    Delete,
}

#[derive(ToSchema)]
pub struct FieldMapping {
    pub field: String,
    /// The input column by header name…
    pub column: Option<String>,
    /// …or by position (from 0).
    pub index: Option<u64>,
    /// A value for rows whose cell is empty, or for a field no column feeds.
    pub default: Option<Value>,
    /// For a relation field: the related object's unique field (or `id`) the column's values name
    /// their record by.
    pub lookup: Option<String>,
}

#[derive(ToSchema)]
pub struct CallbackInput {
    pub url: String,
    pub method: Option<String>,
}

#[derive(ToSchema)]
pub struct JobInput {
    pub operation: JobOperation,
    pub object: String,
    pub file_id: String,
    /// `id` or a unique field: required for update, upsert and delete.
    pub find_by: Option<String>,
    pub field_mappings: Option<Vec<FieldMapping>>,
    /// Empty cells leave fields as they are instead of clearing them.
    pub ignore_empty: Option<bool>,
    pub callback: Option<CallbackInput>,
}

#[derive(ToSchema)]
pub struct Progress {
    pub total: u64,
    pub processed: u64,
    pub added: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    pub deleted: u64,
    /// Records deleted by `on_delete: cascade` beside the rows' own.
    pub cascaded: u64,
}

#[derive(ToSchema)]
pub struct CallbackState {
    pub url: String,
    pub method: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(ToSchema)]
pub struct Job {
    pub id: String,
    /// `queued`, `running`, `completed`, `failed` or `canceled`.
    pub status: String,
    pub operation: JobOperation,
    pub object: String,
    pub file_id: String,
    pub find_by: Option<String>,
    pub ignore_empty: bool,
    pub progress: Progress,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub created_by: String,
    pub error: Option<String>,
    /// Where the result file is, once the job ended.
    pub result_url: Option<String>,
    pub callback: Option<CallbackState>,
    /// What the status alone does not say: a completed job whose every row failed.
    pub warning: Option<String>,
}

#[derive(ToSchema)]
pub struct JobList {
    pub jobs: Vec<Job>,
}

#[derive(ToSchema)]
pub struct QueryInput {
    /// One read-only SELECT (WITH allowed) over the app's objects, by name or label.
    pub sql: String,
    /// Values for `?` (SQLite) or `$1`… (PostgreSQL) placeholders.
    pub params: Option<Vec<Value>>,
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

#[derive(ToSchema)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum BatchAction {
    Delete,
    Update,
}

#[derive(ToSchema)]
pub struct BatchOperationInput {
    pub action: BatchAction,
    pub object: Option<String>,
    /// A query selecting `id`s…
    pub query: Option<String>,
    /// …or the ids themselves.
    pub ids: Option<Vec<String>>,
    /// The fields an update writes.
    pub set: Option<Value>,
}

#[derive(ToSchema)]
pub struct BatchInput {
    /// Start at once (otherwise `POST …/start`).
    pub start: Option<bool>,
    /// Resolve the selection and answer how many records it holds (200 `DryRun`); make nothing.
    pub dry_run: Option<bool>,
    pub operations: Vec<BatchOperationInput>,
}

#[derive(ToSchema)]
pub struct BatchOperation {
    pub action: BatchAction,
    pub object: String,
    pub form_id: String,
    pub query: Option<String>,
    pub ids: Option<Vec<String>>,
    pub ids_count: Option<u64>,
    pub set: Option<Value>,
}

#[derive(ToSchema)]
pub struct Batch {
    pub id: String,
    /// `pending`, `running`, `success`, `failed` or `canceled`.
    pub status: String,
    pub objects_total: u64,
    pub objects_success: u64,
    pub objects_failed: u64,
    /// Records deleted by `on_delete: cascade` beside the batch's own.
    pub cascaded: u64,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub created_by: String,
    pub created_by_id: String,
    pub updated_by: String,
    pub updated_by_id: String,
    pub error: Option<String>,
    pub operations: Vec<BatchOperation>,
}

/// What a batch would change.
#[derive(ToSchema)]
pub struct DryRun {
    pub dry_run: bool,
    /// Records it would delete or update: exact, however far past the limit.
    pub count: u64,
    /// Some of their ids (at most 20).
    pub sample_ids: Vec<String>,
    /// The record limit of a batch, and whether the selection is over it.
    pub limit: u64,
    pub over_limit: bool,
}

#[derive(ToSchema)]
pub struct BatchList {
    pub batches: Vec<Batch>,
}

/// A failed call's answer: the error document, by reference to `ErrorBody` (not inlined) so that
/// every operation and status shares one schema and generated clients one error model.
#[derive(utoipa::ToResponse)]
#[response(description = "An error: its code, message, and the field or row it concerns")]
pub struct Failure(ErrorBody);

/// Every failure a call can answer: the error document under its status.
#[derive(utoipa::IntoResponses)]
pub enum Failures {
    /// Malformed request: bad JSON, a bad parameter, a bad reference.
    #[response(status = 400)]
    BadRequest(#[ref_response] Failure),
    /// Missing or bad credentials.
    #[response(status = 401)]
    Unauthorized(#[ref_response] Failure),
    /// The credentials' role may not do this.
    #[response(status = 403)]
    Forbidden(#[ref_response] Failure),
    /// No such app, object, record or job (or not visible to these credentials).
    #[response(status = 404)]
    NotFound(#[ref_response] Failure),
    /// The method is not allowed here.
    #[response(status = 405)]
    MethodNotAllowed(#[ref_response] Failure),
    /// A unique value or a name is taken, or the thing changed meanwhile.
    #[response(status = 409)]
    Conflict(#[ref_response] Failure),
    /// Over a named limit (body size, operations, records).
    #[response(status = 413)]
    TooLarge(#[ref_response] Failure),
    /// Well-formed but invalid: a field, a type, a required value, a query that timed out.
    #[response(status = 422)]
    Invalid(#[ref_response] Failure),
    /// Too many attempts or requests; retry after `Retry-After`.
    #[response(status = 429)]
    TooMany(#[ref_response] Failure),
    /// Busy or unavailable; retry after `Retry-After`.
    #[response(status = 503)]
    Unavailable(#[ref_response] Failure),
    /// The disk is full.
    #[response(status = 507)]
    InsufficientStorage(#[ref_response] Failure),
}
