//! Looking into uploads and results: `GET …/files/{id}/preview` (an upload's header and first
//! rows, for a mapping wizard) and `GET …/jobs/{id}/failures` (a job's failed rows with errors).

use crate::error::ApiResult;
use crate::extract::{Caller, Params};
use crate::State;
use axum::extract::{Path, State as S};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct PreviewQuery {
    rows: Option<usize>,
}

pub async fn preview(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
    Params(q): Params<PreviewQuery>,
) -> ApiResult<Json<Value>> {
    let n = q.rows.unwrap_or(10);
    let p = state.engine.jobs().preview(&who, &app, &id, n).await?;
    Ok(Json(json!({"columns": p.columns, "rows": p.rows})))
}

#[derive(Deserialize)]
pub struct FailuresQuery {
    limit: Option<usize>,
}

pub async fn failures(
    S(state): S<State>,
    Caller(who): Caller,
    Path((app, id)): Path<(String, String)>,
    Params(q): Params<FailuresQuery>,
) -> ApiResult<Json<Value>> {
    let limit = q.limit.unwrap_or(100);
    let (rows, total) = state.engine.jobs().failures(&who, &app, &id, limit).await?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|f| {
            let errors: Vec<Value> = f
                .result
                .errors
                .iter()
                .map(|(code, field)| json!({"code": code, "field": field}))
                .collect();
            json!({"row": f.row, "cells": f.result.cells, "errors": errors,
                   "message": f.result.messages})
        })
        .collect();
    Ok(Json(json!({"failed": total, "rows": rows})))
}
