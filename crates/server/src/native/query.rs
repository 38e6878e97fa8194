//! `POST /v1/apps/{app}/query` and the batches API (`/v1/apps/{app}/batches…`).

use super::render::json_body;
use crate::credentials::bearer;
use crate::error::ApiResult;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State as S};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_engine::batches::{BatchDialect, BatchRequest};
use sluice_engine::ops::parse_body;
use sluice_engine::query::Flavor;
use sluice_engine::{Error, ErrorCode};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    sql: String,
    #[serde(default)]
    params: Vec<Value>,
    #[serde(default)]
    format: Option<String>,
}

#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

pub async fn query(
    S(state): S<State>,
    Path(app): Path<String>,
    Query(q): Query<FormatQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let who = state.engine.authenticate(bearer(&headers)?).await?;
    let body = json_body(body)?
        .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
    let req: QueryBody = parse_body(body, "query")?;
    let csv = req.format.or(q.format).as_deref() == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    let result = state
        .engine
        .query(&who, &app, &req.sql, req.params, Flavor::Native)
        .await?;
    Ok(if csv {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            result.to_csv(),
        )
            .into_response()
    } else {
        Json(result.to_json()).into_response()
    })
}

pub async fn create_batch(
    S(state): S<State>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let who = state.engine.authenticate(bearer(&headers)?).await?;
    let body = json_body(body)?
        .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
    let req: BatchRequest = parse_body(body, "batch")?;
    let batch = state
        .engine
        .create_batch(&who, &app, req, BatchDialect::Native)
        .await?;
    Ok((StatusCode::CREATED, Json(batch.to_json())))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

pub async fn list_batches(
    S(state): S<State>,
    Path(app): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = state.engine.authenticate(bearer(&headers)?).await?;
    let limit = q
        .limit
        .unwrap_or(100)
        .clamp(1, state.engine.settings().max_page_size);
    let batches = state.engine.list_batches(&who, &app, limit).await?;
    Ok(Json(
        json!({"batches": batches.iter().map(|b| b.to_json()).collect::<Vec<_>>()}),
    ))
}

pub async fn get_batch(
    S(state): S<State>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = state.engine.authenticate(bearer(&headers)?).await?;
    Ok(Json(
        state.engine.get_batch(&who, &app, &id).await?.to_json(),
    ))
}

pub async fn start_batch(
    S(state): S<State>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = state.engine.authenticate(bearer(&headers)?).await?;
    Ok(Json(
        state.engine.start_batch(&who, &app, &id).await?.to_json(),
    ))
}

pub async fn cancel_batch(
    S(state): S<State>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = state.engine.authenticate(bearer(&headers)?).await?;
    Ok(Json(
        state.engine.cancel_batch(&who, &app, &id).await?.to_json(),
    ))
}
