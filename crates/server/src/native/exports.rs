//! The exports API (`/v1/apps/{app}/exports…`): create (once per `Idempotency-Key`), list, get,
//! cancel, and the file — whole, by `Range`, or a page of records at a time
//! (`?locator=…&max_records=N`, the next locator in `Sluice-Locator`, absent on the last page, as
//! Salesforce's Bulk API 2.0 answers `Sforce-Locator`).

use super::documents::export_json;
use super::records::{expand_paths, filter, sort_keys};
use crate::download::{byte_range, reader_body};
use crate::error::ApiResult;
use crate::extract::{BodyName, Caller, KeyedBody, Params};
use crate::idempotency;
use crate::State;
use axum::extract::{Path, State as S};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_engine::exports::{ExportRequest, ExportWhat, Render};
use sluice_engine::jobs::CallbackSpec;
use sluice_engine::model::{Export, ExportFormat, ListSpec};
use sluice_engine::{Error, Result};
use std::sync::Arc;

/// Records a page holds when `max_records` is not given.
pub const DEFAULT_PAGE_RECORDS: u64 = 10_000;

/// An export as clients ask for it: an object (with the list API's filters and sort) or a query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportBody {
    object: Option<String>,
    /// `{"age[gte]": 30, "status": "new"}`, or the same as a query string.
    filter: Option<Value>,
    fields: Option<Vec<String>>,
    /// `"-created_at,name"`, or a list of such keys.
    sort: Option<Value>,
    /// `"account,account.owner"`: relations whose records replace their ids.
    expand: Option<String>,
    query: Option<String>,
    #[serde(default)]
    params: Vec<Value>,
    format: Option<String>,
    callback: Option<CallbackSpec>,
}

impl BodyName for ExportBody {
    const NAME: &'static str = "export";
}

fn spec_of(filter_v: Option<Value>, sort: Option<Value>) -> Result<ListSpec> {
    let mut spec = ListSpec::default();
    match filter_v {
        None | Some(Value::Null) => {}
        Some(Value::String(q)) => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&q).map_err(|_| {
                Error::invalid("the filter is not a valid query string").with_field("filter")
            })?;
            for (k, v) in pairs {
                spec.filter.push(filter(&k, Value::String(v))?);
            }
        }
        Some(Value::Object(m)) => {
            for (k, v) in m {
                spec.filter.push(filter(&k, v)?);
            }
        }
        Some(_) => {
            return Err(Error::validation(
                "filter",
                "filter is an object of conditions (`{\"age[gte]\": 30}`) or a query string",
            ))
        }
    }
    spec.sort = match sort {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => sort_keys(&s),
        Some(Value::Array(keys)) => keys
            .iter()
            .map(|k| k.as_str().map(sort_keys))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::validation("sort", "sort keys are strings"))?
            .concat(),
        Some(_) => {
            return Err(Error::validation(
                "sort",
                "sort is a string such as \"-created_at,name\"",
            ))
        }
    };
    Ok(spec)
}

impl ExportBody {
    fn into_request(self) -> Result<ExportRequest> {
        let format = match self.format.as_deref().unwrap_or("csv") {
            "csv" => ExportFormat::Csv,
            "ndjson" => ExportFormat::Ndjson,
            "zip" => ExportFormat::Zip,
            other => {
                return Err(Error::validation(
                    "format",
                    format!("format is csv, ndjson or zip, not {other:?}"),
                ))
            }
        };
        let what = match (self.object, self.query) {
            (Some(_), None) if !self.params.is_empty() => {
                return Err(Error::invalid(
                    "params go with a query; an object export takes a filter",
                )
                .with_field("params"))
            }
            (Some(object), None) => ExportWhat::Object {
                object,
                spec: ListSpec {
                    expand: self.expand.as_deref().map(expand_paths).unwrap_or_default(),
                    ..spec_of(self.filter, self.sort)?
                },
                fields: self.fields,
                shape: Default::default(),
            },
            (None, Some(sql)) => {
                if self.filter.is_some()
                    || self.sort.is_some()
                    || self.fields.is_some()
                    || self.expand.is_some()
                {
                    return Err(Error::invalid(
                        "a query export takes its filter, order and columns from the query",
                    )
                    .with_field("query"));
                }
                ExportWhat::Query {
                    sql,
                    params: self.params,
                }
            }
            _ => {
                return Err(
                    Error::invalid("an export names either an object or a query")
                        .with_field("object"),
                )
            }
        };
        Ok(ExportRequest::new(what, format, self.callback))
    }
}

pub async fn create(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    k: KeyedBody<ExportBody>,
) -> ApiResult<Response> {
    let req = k.body.into_request()?;
    let exports = state.engine.exports();
    let Some(key) = idempotency::key_of(&k.headers, &who, Some(&app), || k.print.clone())? else {
        let e = exports.create(&who, &app, req).await?;
        return Ok((StatusCode::CREATED, Json(export_json(&e))).into_response());
    };
    let render: Render =
        Arc::new(|e: &Export| idempotency::json_answer(StatusCode::CREATED, &export_json(e)));
    Ok(idempotency::respond(
        exports.create_keyed(&who, &app, req, key, render).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<usize>,
    offset: Option<u64>,
}

pub async fn list(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<Value>> {
    let limit = super::jobs::page_limit(q.limit, &state);
    let (exports, total) = state
        .engine
        .exports()
        .page(&who, &app, q.offset.unwrap_or(0), limit)
        .await?;
    Ok(Json(json!({
        "exports": exports.iter().map(export_json).collect::<Vec<_>>(),
        "total": total,
    })))
}

pub async fn get(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(export_json(
        &state.engine.exports().get(&who, &app, &id).await?,
    )))
}

pub async fn cancel(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(export_json(
        &state.engine.exports().cancel(&who, &app, &id).await?,
    )))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultQuery {
    locator: Option<String>,
    max_records: Option<u64>,
}

fn value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The export's file: whole (200), one byte range (206), or a page of records (200).
pub async fn result(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
    Params(q): Params<ResultQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let d = Arc::new(state.engine.exports().download(&who, &app, &id).await?);
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, value(d.content_type()));
    h.insert(header::ETAG, value(&d.etag()));
    if q.locator.is_some() || q.max_records.is_some() {
        let (d2, max) = (d.clone(), q.max_records.unwrap_or(DEFAULT_PAGE_RECORDS));
        let page = tokio::task::spawn_blocking(move || d2.page(q.locator.as_deref(), max))
            .await
            .map_err(Error::internal)??;
        if let Some(next) = &page.next {
            h.insert("sluice-locator", value(next));
        }
        h.insert("sluice-number-of-records", value(&page.records.to_string()));
        let len = page.prefix.len() as u64 + page.len;
        h.insert(header::CONTENT_LENGTH, value(&len.to_string()));
        let (from, n) = (page.from, page.len);
        let body = reader_body(page.prefix, move || d.open(from, n));
        return Ok((StatusCode::OK, h, body).into_response());
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CONTENT_DISPOSITION,
        value(&format!("attachment; filename=\"{}\"", d.file_name())),
    );
    // A range is served only while the file is the one the client started (`If-Range`).
    let same = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().ok() == Some(d.etag().as_str()));
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let total = d.total;
    let asked = match byte_range(range.filter(|_| same), total) {
        Ok(r) => r,
        Err(e) => {
            let mut refused = crate::error::ApiError(e).into_response();
            let all = value(&format!("bytes */{total}"));
            refused.headers_mut().insert(header::CONTENT_RANGE, all);
            return Ok(refused);
        }
    };
    let (status, from, len) = match asked {
        Some((first, last)) => {
            h.insert(
                header::CONTENT_RANGE,
                value(&format!("bytes {first}-{last}/{total}")),
            );
            (StatusCode::PARTIAL_CONTENT, first, last - first + 1)
        }
        None => (StatusCode::OK, 0, total),
    };
    h.insert(header::CONTENT_LENGTH, value(&len.to_string()));
    let body = reader_body(Vec::new(), move || d.open(from, len));
    Ok((status, h, body).into_response())
}
