//! Uploads and asynchronous bulk-write jobs: `/v1/apps/{app}/files` and `/v1/apps/{app}/jobs…`.

use super::documents::job_json;
use crate::download::stream_zip;
use crate::error::ApiResult;
use crate::extract::{BodyName, Caller, KeyedBody, Params};
use crate::idempotency;
use crate::uploads;
use crate::State;
use axum::extract::{Path, Request, State as S};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sluice_engine::jobs::{JobRequest, ResultLayout};
use sluice_engine::model::Job;

impl BodyName for JobRequest {
    const NAME: &'static str = "job";
}

/// Jobs made through the native API carry no tag: their callbacks get the native document.
const TAG: &str = "";

#[derive(Deserialize)]
pub struct UploadQuery {
    name: Option<String>,
}

pub async fn upload(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    Params(q): Params<UploadQuery>,
    req: Request,
) -> Response {
    match uploads::receive_native(&state, &who, &app, req, q.name).await {
        Ok(answer) => answer,
        Err(e) => {
            let answer = crate::error::ApiError(e.clone()).into_response();
            uploads::closing_if_unread(answer, &e)
        }
    }
}

pub async fn create(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    k: KeyedBody<JobRequest>,
) -> ApiResult<Response> {
    let jobs = state.engine.jobs();
    let Some(key) = idempotency::key_of(&k.headers, &who, Some(&app), || k.print.clone())? else {
        let job = jobs.create(&who, &app, k.body, TAG).await?;
        return Ok((StatusCode::CREATED, Json(job_json(&job))).into_response());
    };
    let render = |j: &Job| idempotency::json_answer(StatusCode::CREATED, &job_json(j));
    let keyed = jobs
        .create_keyed(&who, &app, k.body, TAG, key, render)
        .await?;
    Ok(idempotency::respond(keyed))
}

#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

impl ListQuery {
    pub fn limit(&self, state: &State) -> usize {
        page_limit(self.limit, state)
    }
}

/// The page size asked for, within the configured bounds.
pub fn page_limit(asked: Option<usize>, state: &State) -> usize {
    let s = state.engine.settings();
    asked
        .unwrap_or(s.default_page_size)
        .clamp(1, s.max_page_size)
}

pub async fn list(
    S(state): S<State>,
    Caller(who): Caller,
    Path(app): Path<String>,
    Params(q): Params<ListQuery>,
) -> ApiResult<Json<Value>> {
    let jobs = state
        .engine
        .jobs()
        .list(&who, &app, q.limit(&state))
        .await?;
    Ok(Json(
        json!({"jobs": jobs.iter().map(job_json).collect::<Vec<_>>()}),
    ))
}

pub async fn get(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(job_json(
        &state.engine.jobs().get(&who, &app, &id).await?,
    )))
}

pub async fn cancel(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(job_json(
        &state.engine.jobs().cancel(&who, &app, &id).await?,
    )))
}

pub async fn retry(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(job_json(
        &state.engine.jobs().retry(&who, &app, &id).await?,
    )))
}

pub async fn result(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let path = state
        .engine
        .jobs()
        .result(&who, &app, &id, ResultLayout::standard)
        .await?;
    Ok(stream_zip(&path, &format!("{id}-result.zip")).await?)
}
