//! `POST /v1/apps/{app}/query` and the batches API (`/v1/apps/{app}/batches…`).

use super::documents::{batch_json, query_csv, query_json};
use super::jobs::ListQuery;
use crate::error::ApiResult;
use crate::extract::{BodyName, Caller, JsonBody, KeyedBody, Params};
use crate::idempotency;
use crate::State;
use axum::extract::{Path, State as S};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_engine::batches::{BatchRequest, Render};
use sluice_engine::model::Batch;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryBody {
    sql: String,
    #[serde(default)]
    params: Vec<Value>,
    #[serde(default)]
    format: Option<String>,
}

impl BodyName for QueryBody {
    const NAME: &'static str = "query";
}

impl BodyName for BatchRequest {
    const NAME: &'static str = "batch";
}

#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

pub async fn query(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    Params(q): Params<FormatQuery>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<QueryBody>,
) -> ApiResult<Response> {
    let csv = req.format.or(q.format).as_deref() == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    let result = state
        .engine
        .queries()
        .run(&who, &app, &req.sql, req.params, None)
        .await?;
    Ok(if csv {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            query_csv(&result),
        )
            .into_response()
    } else {
        Json(query_json(&result)).into_response()
    })
}

/// Creates a batch (201), or with `"dry_run": true` answers what it would change (200).
pub async fn create_batch(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    k: KeyedBody<BatchRequest>,
) -> ApiResult<Response> {
    let (batches, req) = (state.engine.batches(), k.body);
    if req.dry_run {
        let d = batches.dry_run(&who, &app, req, None).await?;
        let body = json!({"dry_run": true, "count": d.count, "sample_ids": d.sample_ids,
                          "limit": d.limit, "over_limit": d.over_limit});
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    let Some(key) = idempotency::key_of(&k.headers, &who, Some(&app), || k.print.clone())? else {
        let batch = batches.create(&who, &app, req, None).await?;
        return Ok((StatusCode::CREATED, Json(batch_json(&batch))).into_response());
    };
    let render: Render =
        Arc::new(|b: &Batch| idempotency::json_answer(StatusCode::CREATED, &batch_json(b)));
    let keyed = batches.create_keyed(&who, &app, req, key, render).await?;
    Ok(idempotency::respond(keyed))
}

pub async fn list_batches(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<Value>> {
    let batches = state
        .engine
        .batches()
        .list(&who, &app, q.limit(&state))
        .await?;
    Ok(Json(
        json!({"batches": batches.iter().map(batch_json).collect::<Vec<_>>()}),
    ))
}

pub async fn get_batch(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(batch_json(
        &state.engine.batches().get(&who, &app, &id).await?,
    )))
}

pub async fn start_batch(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(batch_json(
        &state.engine.batches().start(&who, &app, &id).await?,
    )))
}

pub async fn cancel_batch(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(batch_json(
        &state.engine.batches().cancel(&who, &app, &id).await?,
    )))
}
