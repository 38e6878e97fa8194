//! Zoho Bulk Write on the job engine: upload, create job, job details (also the callback body)
//! and the result download, in Zoho's shapes with Zoho's numeric ids.

use super::wire::{caller, error, resolve, zoho_time};
use super::Api;
use crate::download::stream_zip;
use crate::extract::json_body;
use crate::uploads::{self, Rules};
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{json, Value as Json};
use sluice_engine::jobs::result::entry_name;
use sluice_engine::jobs::{ResultLayout, ResultRow, RowStatus};
use sluice_engine::model::{AliasKind, Job, JobStatus, Principal};
use sluice_engine::{Error, ErrorCode, Result};
use std::collections::HashMap;

/// Zoho's ZIP limit (25 MB, the upload page); sluice's own upload limit applies as well.
const MAX_ZIP_BYTES: u64 = 25 << 20;

pub async fn upload(state: State, api: Api, req: Request) -> Response {
    let result = async {
        let (who, app) = caller(&state, req.headers()).await?;
        let rules = Rules {
            max: Some(MAX_ZIP_BYTES),
            zip_only: true,
            delimiter: None,
        };
        let file = uploads::receive(&state, &who, &app, req, None, rules).await?;
        let n = state
            .engine
            .aliases()
            .number(AliasKind::File, &file.id)
            .await?;
        Ok::<_, Error>((file, n))
    }
    .await;
    match result {
        Ok((file, n)) => AxJson(json!({
            "status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
            "details": {"file_id": n.to_string(), "created_time": zoho_time(file.created_at.as_str())},
        }))
        .into_response(),
        Err(e) => uploads::closing_if_unread(error(&e, api.refusals()), &e),
    }
}

pub async fn create(
    state: State,
    api: Api,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers).await?;
        let body = json_body(body)?
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
        let mut req = super::request::translate(body)?;
        req.file_id = resolve(&state, AliasKind::File, &req.file_id, "file_id").await?;
        req.numbered = true;
        state
            .engine
            .jobs()
            .create(&who, &app, req, &api.tag())
            .await
    }
    .await;
    match result {
        Ok(job) => {
            let n = job.numbers.unwrap_or(NO_NUMBERS);
            (
                StatusCode::CREATED,
                AxJson(json!({
                    "status": "success", "code": "SUCCESS", "message": "success",
                    "details": {"id": n.job.to_string(),
                                "created_by": {"id": n.user.to_string(), "name": job.created_by}},
                })),
            )
                .into_response()
        }
        Err(e) => error(&e, api.refusals()),
    }
}

/// Numbers of a job made before numbering (never by these routes): zeros.
const NO_NUMBERS: sluice_engine::model::JobNumbers = sluice_engine::model::JobNumbers {
    job: 0,
    file: 0,
    object: 0,
    app: 0,
    user: 0,
};

fn status(s: JobStatus) -> &'static str {
    match s {
        JobStatus::Queued => "ADDED",
        JobStatus::Running => "IN PROGRESS",
        JobStatus::Completed => "COMPLETED",
        JobStatus::Failed | JobStatus::Canceled => "FAILED",
    }
}

/// Zoho's job details (also the callback body): the bare job object, its ids as numbers, and once
/// completed an absolute `download_url` under `base`.
pub fn job_details(job: &Job, api: &Api, base: &str) -> Json {
    let st = status(job.status);
    let p = &job.progress;
    let n = job.numbers.unwrap_or(NO_NUMBERS);
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
            // A lookup field's `find_by`, as the create-job body gave it (Zoho's Bulk Write
            // "field_mappings" keys: api_name, index, format, find_by, default_value).
            if let Some(by) = &m.lookup {
                v["find_by"] = json!(by);
            }
            v
        })
        .collect();
    let mut v = json!({
        "status": st,
        "character_encoding": "UTF-8",
        "id": n.job.to_string(),
        "operation": job.operation,
        "ignore_empty": job.ignore_empty,
        "created_by": {"id": n.user.to_string(), "name": job.created_by},
        "created_time": zoho_time(job.created_at.as_str()),
        "resource": [{
            "status": st,
            "type": "data",
            "module": {"api_name": job.object, "id": n.object.to_string()},
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
        let url = format!("{base}{}/{}/result", api.write_path(), n.job);
        v["result"] = json!({ "download_url": url });
    }
    v
}

/// The job a path's id names (a number, or a sluice id), as the caller may see it.
async fn job_of(state: &State, headers: &HeaderMap, id: &str) -> Result<Job> {
    Ok(job_with_caller(state, headers, id).await?.2)
}

/// The job `id` names, with the caller and app it was read as.
async fn job_with_caller(
    state: &State,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Principal, String, Job)> {
    let (who, app) = caller(state, headers).await?;
    let id = resolve(state, AliasKind::Job, id, "id").await?;
    let job = state.engine.jobs().get(&who, &app, &id).await?;
    Ok((who, app, job))
}

pub async fn details(state: State, api: Api, id: String, headers: HeaderMap) -> Response {
    match job_of(&state, &headers, &id).await {
        Ok(job) => AxJson(job_details(
            &job,
            &api,
            &super::wire::base_url(&state, &headers),
        ))
        .into_response(),
        Err(e) => error(&e, api.refusals()),
    }
}

/// Zoho's row error codes for sluice's. A lookup naming no record is `INVALID_DATA`, as Zoho's
/// record APIs answer a lookup field's unknown id ("the related id given seems to be invalid").
fn row_code(code: &str) -> &'static str {
    match code {
        "required" => "MANDATORY_NOT_FOUND",
        "validation_failed" | "unknown_field" | "reference_not_found" => "INVALID_DATA",
        "unique_violation" => "DUPLICATE_DATA",
        "not_found" => "RESOURCE_NOT_FOUND",
        "limit_exceeded" => "LIMIT_EXCEEDED",
        _ => "CANNOT_PROCESS",
    }
}

/// A row's `ERRORS` cell: one group per code in first-seen order, its columns (their headers in
/// the upload, else the field's name) comma-joined, groups joined by `:` —
/// `MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email` (the download-result page).
pub fn errors_cell(errors: &[(String, String)], headers: &HashMap<String, String>) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (code, field) in errors {
        let code = row_code(code);
        let column = headers.get(field).map_or(field.as_str(), String::as_str);
        match groups.iter_mut().find(|(c, _)| *c == code) {
            Some((_, cols)) if !cols.contains(&column) => cols.push(column),
            Some(_) => {}
            None => groups.push((code, vec![column])),
        }
    }
    groups
        .iter()
        .map(|(c, cols)| format!("{c}-{}", cols.join(",")))
        .collect::<Vec<_>>()
        .join(":")
}

/// A result row in Zoho's CSV: copied columns, `STATUS`, `RECORD_ID` (the record's number),
/// `ERRORS`.
fn row(r: ResultRow, headers: &HashMap<String, String>) -> Vec<String> {
    let status = match r.status {
        Some(RowStatus::Added) => "ADDED",
        Some(RowStatus::Updated) => "UPDATED",
        Some(RowStatus::Unprocessed) => "UNPROCESSED",
        // Zoho lists a row it could not write as skipped, with its errors.
        Some(RowStatus::Skipped | RowStatus::Deleted | RowStatus::Failed) | None => "SKIPPED",
    };
    let errors = errors_cell(&r.errors, headers);
    let record = r.number.map_or(r.id, |n| n.to_string());
    let mut v = r.cells;
    v.extend([status.to_owned(), record, errors]);
    v
}

/// Zoho's result CSV, named `<Module>-<file name>`.
fn layout(job: &Job, tag: &'static str) -> ResultLayout {
    let headers: HashMap<String, String> = job
        .mappings
        .iter()
        .filter_map(|m| m.header.clone().map(|h| (m.field.clone(), h)))
        .collect();
    ResultLayout {
        tag,
        csv_name: entry_name(job),
        header: job
            .result_headers
            .iter()
            .cloned()
            .chain(["STATUS", "RECORD_ID", "ERRORS"].map(String::from))
            .collect(),
        render: Box::new(move |r| row(r, &headers)),
    }
}

pub async fn result(state: State, api: Api, id: String, headers: HeaderMap) -> Response {
    let out = async {
        let (who, app, job) = job_with_caller(&state, &headers, &id).await?;
        let tag = api.product.tag();
        let path = state
            .engine
            .jobs()
            .result(&who, &app, &job.id, |j| layout(j, tag))
            .await?;
        let name = job.numbers.map_or(job.id.clone(), |n| n.job.to_string());
        stream_zip(&path, &format!("{name}.zip")).await
    }
    .await;
    out.unwrap_or_else(|e| error(&e, api.refusals()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_grouped_per_code_by_column_header() {
        let headers: HashMap<String, String> = [("Email", "E-mail")]
            .map(|(f, h)| (f.to_owned(), h.to_owned()))
            .into_iter()
            .collect();
        let e = |c: &str, f: &str| (c.to_owned(), f.to_owned());
        let errors = [
            e("required", "Company"),
            e("unique_violation", "Email"),
            e("required", "Last_Name"),
            e("required", "Company"),
        ];
        assert_eq!(
            errors_cell(&errors, &headers),
            "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-E-mail"
        );
        assert_eq!(errors_cell(&[], &headers), "");
    }
}
