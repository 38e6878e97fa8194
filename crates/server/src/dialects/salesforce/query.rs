//! Query jobs: SOQL translated (`soql`) to a read-only query that the engine's guard checks, run
//! as an export whose CSV is written as Salesforce writes its results (every field quoted, the
//! job's delimiter and line ending, the query's own column names); results are read a page at a
//! time with `Sforce-Locator` (the literal `null` on the last page) and `Sforce-NumberOfRecords`.

use super::wire::{
    caller, error, fault, job_number, json_body, not_found, sf_id, sf_time, version, CsvFormat,
    StateBody, JOB, USER,
};
use super::{soql, State};
use crate::download::reader_body;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as S};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use sluice_engine::exports::{ExportRequest, ExportWhat};
use sluice_engine::model::{AliasKind, CsvStyle, Export, ExportFormat, ExportStatus, Principal};
use sluice_engine::{Error, ErrorCode, Result};
use std::sync::Arc;

/// Records per results page when the client names no `maxRecords`.
const DEFAULT_MAX_RECORDS: u64 = 100_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    operation: Option<String>,
    query: Option<String>,
    column_delimiter: Option<String>,
    line_ending: Option<String>,
    content_type: Option<String>,
}

/// What a query job's client chose, kept with its export.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    salesforce: String,
    operation: String,
    object: String,
    column_delimiter: String,
    line_ending: String,
    api_version: f64,
}

/// The `salesforce` mark on exports made here.
const MARK: &str = "query";

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidRequest, message)
}

pub async fn create(
    S(state): S<State>,
    Path(v): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(api_version) = version(&v) else {
        return not_found();
    };
    let made = async {
        let (who, app) = caller(&state, &headers).await?;
        let body: CreateBody = json_body(&body)?;
        let operation = body.operation.unwrap_or_else(|| "query".into());
        if operation != "query" && operation != "queryAll" {
            return Err(invalid(format!("InvalidJob : Invalid operation: {operation}")).into());
        }
        let format = CsvFormat::parse(body.content_type, body.column_delimiter, body.line_ending)?;
        let text = body.query.unwrap_or_default();
        let catalog = state.engine.catalog();
        let a = catalog
            .app(&app)
            .ok_or_else(|| Error::not_found("no such app"))?;
        let now = chrono::DateTime::<chrono::Utc>::from(state.engine.settings().clock.now());
        let t = soql::translate(&text, a, state.engine.syntax(), now).map_err(Refused::Soql)?;
        let meta = Meta {
            salesforce: MARK.into(),
            operation,
            object: t.object.clone(),
            column_delimiter: format.column_delimiter,
            line_ending: format.line_ending.clone(),
            api_version,
        };
        let mut req = ExportRequest::new(
            ExportWhat::Query {
                sql: t.sql,
                params: t.params,
            },
            ExportFormat::Csv,
            None,
        );
        req.csv = CsvStyle {
            delimiter: format.delimiter,
            crlf: format.line_ending == "CRLF",
            quote_all: true,
        };
        req.header = Some(t.headers);
        req.meta = serde_json::to_value(&meta).map_err(Error::internal)?;
        let e = state.engine.exports().create(&who, &app, req).await?;
        Ok::<_, Refused>(info(&state, &e, &who, false).await?)
    }
    .await;
    match made {
        Ok(v) => AxJson(v).into_response(),
        Err(Refused::Sluice(e)) => error(&e),
        Err(Refused::Soql(e)) => fault(StatusCode::BAD_REQUEST, e.code, &e.message),
    }
}

/// Why a query job was refused: as any call is, or by the SOQL translator in Salesforce's terms.
enum Refused {
    Sluice(Error),
    Soql(soql::SoqlError),
}

impl From<Error> for Refused {
    fn from(e: Error) -> Refused {
        Refused::Sluice(e)
    }
}

/// Query job info (with `GET`'s counters when `counters`).
async fn info(state: &State, e: &Export, who: &Principal, counters: bool) -> Result<Json> {
    let meta: Meta = serde_json::from_value(e.meta.clone())
        .map_err(|_| Error::not_found("The requested resource does not exist"))?;
    let aliases = state.engine.aliases();
    let n = aliases.number(AliasKind::Export, &e.id).await?;
    let user = aliases.number(AliasKind::User, who.user_id()).await?;
    let st = match e.status {
        ExportStatus::Queued => "UploadComplete",
        ExportStatus::Running => "InProgress",
        ExportStatus::Completed => "JobComplete",
        ExportStatus::Failed => "Failed",
        ExportStatus::Canceled => "Aborted",
    };
    let mut v = json!({
        "id": sf_id(JOB, n), "operation": meta.operation, "object": meta.object,
        "createdById": sf_id(USER, user), "createdDate": sf_time(e.created_at.as_str()),
        "systemModstamp": sf_time(e.updated_at.as_str()), "state": st,
        "concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": meta.api_version,
        "lineEnding": meta.line_ending, "columnDelimiter": meta.column_delimiter,
    });
    if counters {
        v["jobType"] = json!("V2Query");
        v["numberRecordsProcessed"] = json!(e.rows);
        v["retries"] = json!(0);
        v["totalProcessingTime"] = json!(0);
    }
    if let Some(err) = &e.error {
        v["errorMessage"] = json!(err);
    }
    Ok(v)
}

/// Finds query job `id` for the caller (a discarded one is gone).
async fn find(state: &State, headers: &HeaderMap, id: &str) -> Result<(Principal, String, Export)> {
    let (who, app) = caller(state, headers).await?;
    let gone = || Error::not_found("The requested resource does not exist");
    let n = job_number(id).ok_or_else(gone)?;
    let eid = state
        .engine
        .aliases()
        .id_of(AliasKind::Export, n)
        .await?
        .ok_or_else(gone)?;
    let e = state
        .engine
        .exports()
        .get(&who, &app, &eid)
        .await
        .map_err(|_| gone())?;
    let ours = e.meta.get("salesforce").and_then(Json::as_str) == Some(MARK);
    if !ours || (e.expired && e.is_final()) {
        return Err(gone());
    }
    Ok((who, app, e))
}

pub async fn show(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let shown = async {
        let (who, _, e) = find(&state, &headers, &id).await?;
        info(&state, &e, &who, true).await
    }
    .await;
    shown.map_or_else(|e| error(&e), |v| AxJson(v).into_response())
}

/// `PATCH {"state":"Aborted"}`.
pub async fn set_state(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let changed = async {
        let asked: StateBody = json_body(&body)?;
        if asked.state != "Aborted" {
            return Err(invalid(format!(
                "InvalidJob : Invalid state: {}",
                asked.state
            )));
        }
        let (who, app, e) = find(&state, &headers, &id).await?;
        let e = state.engine.exports().cancel(&who, &app, &e.id).await?;
        info(&state, &e, &who, false).await
    }
    .await;
    changed.map_or_else(|e| error(&e), |v| AxJson(v).into_response())
}

/// `DELETE`: an ended query job and its results go. Answers 204.
pub async fn delete(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let deleted = async {
        let (who, app, e) = find(&state, &headers, &id).await?;
        state.engine.exports().discard(&who, &app, &e.id).await
    }
    .await;
    match deleted {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsQuery {
    locator: Option<String>,
    max_records: Option<u64>,
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `GET …/results?locator=…&maxRecords=N`: one page of the results CSV.
pub async fn results(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    Query(q): Query<ResultsQuery>,
    headers: HeaderMap,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let sent = async {
        let (who, app, e) = find(&state, &headers, &id).await?;
        let d = Arc::new(state.engine.exports().download(&who, &app, &e.id).await?);
        let locator = q.locator.filter(|l| !l.is_empty() && l != "null");
        let max = q.max_records.unwrap_or(DEFAULT_MAX_RECORDS);
        let d2 = d.clone();
        let page = tokio::task::spawn_blocking(move || d2.page(locator.as_deref(), max))
            .await
            .map_err(Error::internal)??;
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
        h.insert(
            "sforce-locator",
            value(page.next.as_deref().unwrap_or("null")),
        );
        h.insert("sforce-numberofrecords", value(&page.records.to_string()));
        let len = page.prefix.len() as u64 + page.len;
        h.insert(header::CONTENT_LENGTH, value(&len.to_string()));
        let (from, n) = (page.from, page.len);
        let body = reader_body(page.prefix, move || d.open(from, n));
        Ok::<_, Error>((StatusCode::OK, h, body).into_response())
    }
    .await;
    sent.unwrap_or_else(|e| error(&e))
}

/// `GET …/jobs/query`: the query jobs made here, newest first, in one page.
pub async fn list(S(state): S<State>, Path(v): Path<String>, headers: HeaderMap) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let listed = async {
        let (who, app) = caller(&state, &headers).await?;
        let (exports, _) = state.engine.exports().page(&who, &app, 0, 1000).await?;
        let mut records = Vec::new();
        for e in exports
            .iter()
            .filter(|e| e.meta.get("salesforce").and_then(Json::as_str) == Some(MARK) && !e.expired)
        {
            records.push(info(&state, e, &who, false).await?);
        }
        Ok::<_, Error>(json!({"done": true, "records": records, "nextRecordsUrl": null}))
    }
    .await;
    listed.map_or_else(|e| error(&e), |v| AxJson(v).into_response())
}
