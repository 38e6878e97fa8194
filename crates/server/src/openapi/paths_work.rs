//! The document's operations for bulk requests, uploads, jobs, queries, batches and their event
//! streams.

#![allow(dead_code)]

use super::bodies::{Binary, UploadForm};
use super::schemas::{BulkRequest, BulkResults};
use super::work::*;

/// The page size parameter of the lists of work.
pub(super) const PAGE: &str = "How many (the server's default page size when absent; at most \
    `max_page_size` of `/v1/limits`)";

#[utoipa::path(post, path = "/v1/bulk", tag = "bulk", request_body = BulkRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Once per key: a repeat with the same body replays the first answer (`Idempotent-Replayed: true`); another body 422 `idempotency_mismatch`; while the first runs 409 `idempotency_in_flight`")),
    responses((status = 200, description = "One result per operation, in order", body = BulkResults),
        Failures))]
pub(super) fn bulk() {}

#[utoipa::path(post, path = "/v1/apps/{app}/files", tag = "jobs",
    params(("app" = String, Path), ("name" = Option<String>, Query, description = "The file's name"),
        ("Idempotency-Key" = Option<String>, Header, description = "Once per key: a repeat with the same body replays the first answer (`Idempotent-Replayed: true`); another body 422 `idempotency_mismatch`; while the first runs 409 `idempotency_in_flight`")),
    request_body(description = "A ZIP holding one CSV, a CSV, NDJSON, or multipart field `file`",
        content((inline(Binary) = "application/zip"), (inline(Binary) = "text/csv"),
            (inline(Binary) = "application/x-ndjson"), (UploadForm = "multipart/form-data"))),
    responses((status = 201, description = "Stored and checked", body = FileInfo), Failures))]
pub(super) fn upload() {}

#[utoipa::path(get, path = "/v1/apps/{app}/files/{id}/preview", tag = "jobs",
    params(("app" = String, Path), ("id" = String, Path),
        ("rows" = Option<u64>, Query, description = "How many rows (10; at most 1,000)")),
    responses((status = 200, description = "The header and first rows, as CSV cells", body = Preview),
        Failures))]
pub(super) fn preview() {}

#[utoipa::path(get, path = "/v1/apps/{app}/jobs/{id}/failures", tag = "jobs",
    params(("app" = String, Path), ("id" = String, Path),
        ("limit" = Option<u64>, Query, description = "How many rows (100; at most 1,000)")),
    responses((status = 200, description = "The failed rows in input order, with their errors",
        body = FailureList), Failures))]
pub(super) fn failures() {}

#[utoipa::path(get, path = "/v1/apps/{app}/jobs", tag = "jobs",
    params(("app" = String, Path), ("limit" = Option<u64>, Query, description = PAGE)),
    responses((status = 200, description = "The newest jobs first", body = JobList), Failures))]
pub(super) fn list_jobs() {}

#[utoipa::path(post, path = "/v1/apps/{app}/jobs", tag = "jobs",
    params(("app" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Once per key: a repeat with the same body replays the first answer (`Idempotent-Replayed: true`); another body 422 `idempotency_mismatch`; while the first runs 409 `idempotency_in_flight`")), request_body = JobInput,
    responses((status = 201, description = "Queued", body = Job), Failures))]
pub(super) fn create_job() {}

#[utoipa::path(get, path = "/v1/apps/{app}/jobs/{id}", tag = "jobs",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Job), Failures))]
pub(super) fn get_job() {}

#[utoipa::path(post, path = "/v1/apps/{app}/jobs/{id}/cancel", tag = "jobs",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Canceled, or asked to stop at its next chunk", body = Job),
        Failures))]
pub(super) fn cancel_job() {}

#[utoipa::path(post, path = "/v1/apps/{app}/jobs/{id}/retry", tag = "jobs",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "A failed job queued again from its checkpoint", body = Job),
        Failures))]
pub(super) fn retry_job() {}

#[utoipa::path(get, path = "/v1/apps/{app}/jobs/{id}/result", tag = "jobs",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "A ZIP holding the result CSV, a row per input row",
        content_type = "application/zip", body = inline(Binary)), Failures))]
pub(super) fn job_result() {}

#[utoipa::path(get, path = "/v1/apps/{app}/jobs/{id}/events", tag = "jobs",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Server-Sent Events: `progress` with the job whenever it \
        changed (at most every 250 ms), then `done` with the final job",
        content_type = "text/event-stream", body = String), Failures))]
pub(super) fn job_events() {}

#[utoipa::path(post, path = "/v1/apps/{app}/query", tag = "query",
    params(("app" = String, Path), ("format" = Option<String>, Query, description = "`csv` for CSV")),
    request_body = QueryInput,
    responses((status = 200, description = "Columns and rows (or CSV)", content(
        (QueryResult = "application/json"), (String = "text/csv"))), Failures))]
pub(super) fn query() {}

#[utoipa::path(get, path = "/v1/apps/{app}/batches", tag = "batches",
    params(("app" = String, Path), ("limit" = Option<u64>, Query, description = PAGE)),
    responses((status = 200, description = "The newest batches first", body = BatchList), Failures))]
pub(super) fn list_batches() {}

#[utoipa::path(post, path = "/v1/apps/{app}/batches", tag = "batches",
    params(("app" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Once per key: a repeat with the same body replays the first answer (`Idempotent-Replayed: true`); another body 422 `idempotency_mismatch`; while the first runs 409 `idempotency_in_flight`")), request_body = BatchInput,
    responses((status = 201, description = "Created (and started with `start: true`)", body = Batch),
        (status = 200, description = "With `dry_run: true`: what it would change", body = DryRun),
        Failures))]
pub(super) fn create_batch() {}

#[utoipa::path(get, path = "/v1/apps/{app}/batches/{id}", tag = "batches",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Batch), Failures))]
pub(super) fn get_batch() {}

#[utoipa::path(post, path = "/v1/apps/{app}/batches/{id}/start", tag = "batches",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Its selection resolved and running", body = Batch), Failures))]
pub(super) fn start_batch() {}

#[utoipa::path(post, path = "/v1/apps/{app}/batches/{id}/cancel", tag = "batches",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Batch), Failures))]
pub(super) fn cancel_batch() {}

#[utoipa::path(get, path = "/v1/apps/{app}/batches/{id}/events", tag = "batches",
    params(("app" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Server-Sent Events: `progress`, then `done`",
        content_type = "text/event-stream", body = String), Failures))]
pub(super) fn batch_events() {}
