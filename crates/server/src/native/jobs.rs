//! Uploads and asynchronous bulk-write jobs: `/v1/apps/{app}/files` and `/v1/apps/{app}/jobs…`.

use super::render::json_body;
use crate::credentials::bearer;
use crate::error::{ApiError, ApiResult};
use crate::uploads;
use crate::State;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, Request, State as S};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_engine::auth::Principal;
use sluice_engine::jobs::{Dialect, JobRequest};
use sluice_engine::ops::parse_body;
use sluice_engine::{Error, ErrorCode, ResultFormat};

async fn who(state: &State, headers: &HeaderMap) -> ApiResult<Principal> {
    Ok(state.engine.authenticate(bearer(headers)?).await?)
}

#[derive(Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

pub async fn upload(
    S(state): S<State>,
    Path(app): Path<String>,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let who = who(&state, req.headers()).await?;
    let file = uploads::receive(&state, &who, &app, req, q.name, None).await?;
    Ok((StatusCode::CREATED, Json(file.to_json())))
}

pub async fn create(
    S(state): S<State>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let who = who(&state, &headers).await?;
    let body = json_body(body)?
        .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
    let req: JobRequest = parse_body(body, "job")?;
    let job = state
        .engine
        .create_job(&who, &app, req, Dialect::Native)
        .await?;
    Ok((StatusCode::CREATED, Json(job.to_json())))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

pub async fn list(
    S(state): S<State>,
    Path(app): Path<String>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = who(&state, &headers).await?;
    let limit = q
        .limit
        .unwrap_or(100)
        .clamp(1, state.engine.settings().max_page_size);
    let jobs = state.engine.list_jobs(&who, &app, limit).await?;
    Ok(Json(
        json!({"jobs": jobs.iter().map(|j| j.to_json()).collect::<Vec<_>>()}),
    ))
}

pub async fn get(
    S(state): S<State>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = who(&state, &headers).await?;
    Ok(Json(state.engine.get_job(&who, &app, &id).await?.to_json()))
}

pub async fn cancel(
    S(state): S<State>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let who = who(&state, &headers).await?;
    Ok(Json(
        state.engine.cancel_job(&who, &app, &id).await?.to_json(),
    ))
}

pub async fn result(
    S(state): S<State>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let who = who(&state, &headers).await?;
    let path = state
        .engine
        .job_result(&who, &app, &id, ResultFormat::Native)
        .await?;
    stream_zip(&path, &format!("{id}-result.zip")).await
}

/// Streams a ZIP from disk.
pub async fn stream_zip(path: &std::path::Path, name: &str) -> ApiResult<Response> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ApiError(Error::internal(e)))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or_default();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
