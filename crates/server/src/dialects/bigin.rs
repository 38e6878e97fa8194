//! Zoho Bigin Bulk Write: upload, create job, job details, result download and callbacks, in
//! Bigin's shapes, translated onto the job engine (docs/DIALECTS.md, "Zoho Bigin Bulk Write").

use crate::download::stream_zip;
use crate::extract::json_body;
use crate::uploads;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State as S};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json as AxJson, Router};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sluice_engine::auth::Principal;
use sluice_engine::jobs::result::entry_name;
use sluice_engine::jobs::{CallbackSpec, JobRequest, MappingSpec, ResultLayout, ResultRow};
use sluice_engine::model::{Job, JobOp, JobStatus};
use sluice_engine::{Engine, Error, ErrorCode, Result};
use std::sync::Arc;

pub fn router() -> Router<State> {
    Router::new()
        .route(
            "/bigin/v2/upload",
            post(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/bigin/bulk/v2/write", post(create))
        .route("/bigin/bulk/v2/write/{id}", get(details))
        .route("/bigin/bulk/v2/write/{id}/result", get(result))
        .route("/bigin/{*rest}", any(unknown))
}

/// Bigin's ZIP limit (docs/DIALECTS.md); sluice's own upload limit applies as well.
const MAX_ZIP_BYTES: u64 = 25 << 20;

/// The tag of jobs made here: their callbacks carry Bigin's job-details JSON.
const TAG: &str = "bigin";

pub fn register(engine: &Engine) {
    engine
        .jobs()
        .set_callback_renderer(TAG, Arc::new(job_details));
}

/// Bigin's error body: `{"status":"error","code","message","details"}`, sluice's code in details.
fn error(e: &Error) -> Response {
    use ErrorCode as C;
    let (status, code) = match (e.code, e.field.as_deref()) {
        (C::Unauthorized, _) => (StatusCode::UNAUTHORIZED, "AUTHORIZATION_FAILED"),
        (C::Forbidden, _) => (StatusCode::FORBIDDEN, "NO_PERMISSION"),
        (C::Required, Some("find_by")) => {
            // Bigin's own words for a missing key.
            let message = "Required key find_by is not available";
            return (
                StatusCode::BAD_REQUEST,
                AxJson(
                    json!({"status": "error", "code": "MANDATORY_NOT_FOUND", "message": message,
                    "details": {"sluice_code": e.code.as_str(), "api_name": "find_by"}}),
                ),
            )
                .into_response();
        }
        (C::Required, _) => (StatusCode::BAD_REQUEST, "MANDATORY_FIELDS_NOT_MAPPED"),
        (C::UnknownField, _) => (StatusCode::BAD_REQUEST, "INVALID_FIELD"),
        (C::NotFound, Some("file_id")) => (StatusCode::BAD_REQUEST, "INVALID_FILE_ID"),
        (C::NotFound, Some("object")) => (StatusCode::BAD_REQUEST, "MODULE_NOT_AVAILABLE"),
        (C::NotFound, Some("path")) => (StatusCode::NOT_FOUND, "INVALID_URL_PATTERN"),
        (C::NotFound, _) => (StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND"),
        (C::ValidationFailed, Some("index" | "column")) => {
            (StatusCode::BAD_REQUEST, "COLUMN_INDEX_NOT_FOUND")
        }
        (C::LimitExceeded, Some("columns")) => (StatusCode::BAD_REQUEST, "HEADER_LIMIT_EXCEEDED"),
        (C::LimitExceeded | C::TooLarge, _) => (StatusCode::BAD_REQUEST, "LIMIT_EXCEEDED"),
        (C::ValidationFailed | C::InvalidFile, _) => (StatusCode::BAD_REQUEST, "INVALID_DATA"),
        (C::InvalidJson | C::InvalidRequest, _) => (StatusCode::BAD_REQUEST, "INVALID_FORMAT"),
        (C::Internal | C::Unavailable, _) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        _ => (StatusCode::BAD_REQUEST, "INVALID_DATA"),
    };
    let mut details = json!({"sluice_code": e.code.as_str()});
    if let Some(f) = &e.field {
        details["api_name"] = json!(f);
    }
    (
        status,
        AxJson(json!({"status": "error", "code": code, "message": e.message, "details": details})),
    )
        .into_response()
}

/// `Authorization: Zoho-oauthtoken <token>` (or `Bearer`); `X-CRM-ORG` names the app.
async fn caller(state: &State, headers: &HeaderMap) -> Result<(Principal, String)> {
    let token = match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) => {
            let (scheme, token) = v.trim().split_once(' ').ok_or_else(Error::unauthorized)?;
            if !scheme.eq_ignore_ascii_case("zoho-oauthtoken")
                && !scheme.eq_ignore_ascii_case("bearer")
            {
                return Err(Error::unauthorized());
            }
            Some(token.trim().to_owned())
        }
        None => None,
    };
    let org = headers.get("x-crm-org").and_then(|v| v.to_str().ok());
    super::caller(&state.engine, token.as_deref(), org).await
}

async fn upload(S(state): S<State>, req: Request) -> Response {
    let result = async {
        let (who, app) = caller(&state, req.headers()).await?;
        uploads::receive(&state, &who, &app, req, None, Some(MAX_ZIP_BYTES)).await
    }
    .await;
    match result {
        Ok(file) => AxJson(json!({
            "status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
            "details": {"file_id": file.id, "created_time": file.created_at},
        }))
        .into_response(),
        Err(e) => error(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct BiginJob {
    #[serde(default)]
    #[allow(dead_code)]
    character_encoding: Option<String>,
    operation: String,
    #[serde(default)]
    ignore_empty: bool,
    #[serde(default)]
    callback: Option<CallbackSpec>,
    resource: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    #[serde(default, rename = "type")]
    #[allow(dead_code)]
    kind: Option<String>,
    module: Module,
    file_id: String,
    #[serde(default)]
    find_by: Option<String>,
    #[serde(default)]
    field_mappings: Option<Vec<BiginMapping>>,
}

#[derive(Deserialize)]
struct Module {
    api_name: String,
}

#[derive(Deserialize)]
struct BiginMapping {
    api_name: String,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    default_value: Option<DefaultValue>,
}

#[derive(Deserialize)]
struct DefaultValue {
    value: Json,
}

/// Bigin's request → the engine's job request. With mappings, columns map only by index.
pub(crate) fn translate(req: BiginJob) -> Result<JobRequest> {
    let operation = match req.operation.as_str() {
        "insert" => JobOp::Insert,
        "update" => JobOp::Update,
        "upsert" => JobOp::Upsert,
        other => {
            return Err(Error::invalid(format!(
                "operation must be insert, update or upsert, not {other:?}"
            )))
        }
    };
    let mut resources = req.resource.into_iter();
    let res = resources.next().ok_or_else(|| {
        Error::new(ErrorCode::Required, "resource is required").with_field("resource")
    })?;
    if resources.next().is_some() {
        return Err(Error::invalid("a job takes one resource"));
    }
    Ok(JobRequest {
        operation,
        object: res.module.api_name,
        file_id: res.file_id,
        find_by: res.find_by,
        field_mappings: res.field_mappings.map(|ms| {
            ms.into_iter()
                .map(|m| MappingSpec {
                    field: m.api_name,
                    column: None,
                    index: m.index,
                    default: m.default_value.map(|d| d.value),
                })
                .collect()
        }),
        ignore_empty: req.ignore_empty,
        callback: req.callback,
    })
}

async fn create(
    S(state): S<State>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers).await?;
        let body = json_body(body)?
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
        let req: BiginJob = serde_json::from_value(body).map_err(|e| {
            // Bigin: "Required key find_by is not available" and kin.
            let msg = e.to_string();
            match msg
                .split('`')
                .nth(1)
                .filter(|_| msg.starts_with("missing field"))
            {
                Some(f) => Error::new(
                    ErrorCode::Required,
                    format!("Required key {f} is not available"),
                )
                .with_field(f),
                None => Error::invalid(format!("invalid job: {msg}")),
            }
        })?;
        state
            .engine
            .jobs()
            .create(&who, &app, translate(req)?, TAG)
            .await
    }
    .await;
    match result {
        Ok(job) => (
            StatusCode::CREATED,
            AxJson(json!({
                "status": "success", "code": "SUCCESS", "message": "success",
                "details": {"id": job.id, "created_by": {"id": job.created_by_id, "name": job.created_by}},
            })),
        )
            .into_response(),
        Err(e) => error(&e),
    }
}

fn status(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Queued => "ADDED",
        JobStatus::Running => "IN PROGRESS",
        JobStatus::Completed => "COMPLETED",
        JobStatus::Failed | JobStatus::Canceled => "FAILED",
    }
}

/// Bigin's job-details JSON (also the callback body).
pub fn job_details(job: &Job) -> Json {
    let st = status(job.status);
    let p = &job.progress;
    let mappings: Vec<Json> = job
        .mappings
        .iter()
        .map(|m| {
            let mut v = json!({"api_name": m.field});
            if let Some(i) = m.column {
                v["index"] = json!(i);
            }
            if let Some(d) = &m.default {
                v["default_value"] = json!({"value": d});
            }
            v
        })
        .collect();
    let mut v = json!({
        "status": st,
        "character_encoding": "UTF-8",
        "id": job.id,
        "operation": job.operation,
        "created_by": {"id": job.created_by_id, "name": job.created_by},
        "created_time": job.created_at,
        "resource": [{
            "status": st,
            "type": "data",
            "module": {"api_name": job.object},
            "field_mappings": mappings,
            "find_by": job.find_by,
            "file": {
                "status": st,
                "name": job.file_name,
                "added_count": p.added,
                "skipped_count": p.skipped + p.failed,
                "updated_count": p.updated,
                "total_count": p.total,
            },
        }],
    });
    if let Some(cb) = &job.callback {
        v["callback"] = json!({"url": cb.url, "method": cb.method});
    }
    if job.status == JobStatus::Completed {
        v["result"] = json!({"download_url": format!("/bigin/bulk/v2/write/{}/result", job.id)});
    }
    v
}

async fn details(S(state): S<State>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers).await?;
        state.engine.jobs().get(&who, &app, &id).await
    }
    .await;
    match result {
        Ok(job) => AxJson(job_details(&job)).into_response(),
        Err(e) => error(&e),
    }
}

/// Bigin's row error codes for sluice's.
fn row_code(code: &str) -> &'static str {
    match code {
        "required" => "MANDATORY_NOT_FOUND",
        "validation_failed" | "unknown_field" => "INVALID_DATA",
        "unique_violation" => "DUPLICATE_DATA",
        "not_found" => "RESOURCE_NOT_FOUND",
        "limit_exceeded" => "LIMIT_EXCEEDED",
        _ => "CANNOT_PROCESS",
    }
}

/// A result row in Bigin's CSV: copied columns, `STATUS`, `RECORD_ID`, `ERRORS` (`CODE-field:…`).
fn row(r: ResultRow) -> Vec<String> {
    let status = match r.status {
        "added" => "ADDED",
        "updated" => "UPDATED",
        "unprocessed" => "UNPROCESSED",
        // Bigin lists a row it could not write as skipped, with its errors.
        _ => "SKIPPED",
    };
    let errors: Vec<String> = r
        .errors
        .iter()
        .map(|(c, f)| format!("{}-{f}", row_code(c)))
        .collect();
    let mut v = r.cells;
    v.extend([status.to_owned(), r.id, errors.join(":")]);
    v
}

/// Bigin's result CSV, named `<Module>-<file name>`: the copied columns, then `STATUS`,
/// `RECORD_ID`, `ERRORS`.
fn layout(job: &Job) -> ResultLayout {
    ResultLayout {
        tag: TAG,
        csv_name: entry_name(job),
        header: job
            .result_headers
            .iter()
            .cloned()
            .chain(["STATUS", "RECORD_ID", "ERRORS"].map(String::from))
            .collect(),
        render: Box::new(row),
    }
}

async fn result(S(state): S<State>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers).await?;
        let path = state.engine.jobs().result(&who, &app, &id, layout).await?;
        stream_zip(&path, &format!("{id}.zip")).await
    }
    .await;
    result.unwrap_or_else(|e| error(&e))
}

async fn unknown() -> Response {
    error(&Error::not_found("no Bigin API at this URL").with_field("path"))
}
