//! Fulcrum: the Query API (`/api/v2/query`) and the Batch API (`/api/v2/batch…`), with and without
//! `.json`, translated onto sluice's query and batches (dialects.md, "Fulcrum"; seed
//! 003_d1034f443ee84995.txt).

use super::app_for;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State as S};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json as AxJson, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use sluice_engine::auth::Principal;
use sluice_engine::batches::{Action, Batch, BatchDialect, BatchRequest, BatchStatus};
use sluice_engine::query::Flavor;
use sluice_engine::{Error, ErrorCode, Result};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub fn router() -> Router<State> {
    Router::new()
        .route("/api/v2/query", any(query))
        .route("/api/v2/query.json", any(query))
        .route("/api/v2/batch", post(create).get(list))
        .route("/api/v2/batch.json", post(create).get(list))
        .route("/api/v2/batch/{id}", get(show))
        .route("/api/v2/batch/{id}/{action}", post(start))
}

/// Fulcrum's error body: `{"errors": ["…"]}`, with 400, 401, 404 or 422.
fn error(e: &Error) -> Response {
    use ErrorCode as C;
    let status = match e.code {
        C::Unauthorized | C::Forbidden => StatusCode::UNAUTHORIZED,
        C::NotFound => StatusCode::NOT_FOUND,
        C::InvalidJson | C::InvalidRequest | C::Timeout => StatusCode::BAD_REQUEST,
        C::Internal | C::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (
        status,
        AxJson(json!({"errors": [format!("{} ({})", e.message, e.code.as_str())]})),
    )
        .into_response()
}

/// `X-ApiToken` (or a `token` query parameter); an admin token names the app with `X-Sluice-App`.
async fn caller(
    state: &State,
    headers: &HeaderMap,
    query: &Map<String, Json>,
) -> Result<(Principal, String)> {
    let token = headers
        .get("x-apitoken")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.get("token").and_then(Json::as_str).map(str::to_owned));
    let token = token.ok_or_else(Error::unauthorized)?;
    let who = state.engine.authenticate(Some(&token)).await?;
    let app = app_for(
        &state.engine,
        &who,
        headers.get("x-sluice-app").and_then(|v| v.to_str().ok()),
    )?;
    Ok((who, app))
}

fn query_map(raw: Option<&str>) -> Map<String, Json> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    pairs
        .into_iter()
        .map(|(k, v)| (k, Json::String(v)))
        .collect()
}

/// The JSON body's keys over the query string's (the Python client POSTs `{"q","format"}`).
fn params(
    raw: Option<&str>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Map<String, Json>> {
    let mut p = query_map(raw);
    if let Some(Json::Object(m)) = crate::native::render::json_body(body)? {
        p.extend(m);
    }
    Ok(p)
}

async fn query(
    S(state): S<State>,
    method: Method,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::GET && method != Method::POST {
        return error(&Error::new(ErrorCode::MethodNotAllowed, "use GET or POST"));
    }
    let started = Instant::now();
    let result = async {
        let p = params(raw.as_deref(), body)?;
        let (who, app) = caller(&state, &headers, &p).await?;
        let sql = p
            .get("q")
            .and_then(Json::as_str)
            .ok_or_else(|| Error::new(ErrorCode::Required, "q is required").with_field("q"))?;
        // CSV is Fulcrum's default format.
        let format = p
            .get("format")
            .and_then(Json::as_str)
            .unwrap_or("csv")
            .to_owned();
        if format != "csv" && format != "json" {
            return Err(Error::invalid(format!(
                "format must be json or csv, not {format:?}"
            )));
        }
        Ok((
            format,
            state
                .engine
                .query(&who, &app, sql, Vec::new(), Flavor::Fulcrum)
                .await?,
        ))
    }
    .await;
    match result {
        Ok((format, r)) if format == "csv" => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            r.to_csv(),
        )
            .into_response(),
        Ok((_, r)) => {
            let fields: Vec<Json> = r
                .columns
                .iter()
                .zip(&r.types)
                .map(|(n, t)| json!({"name": n, "type": t}))
                .collect();
            let rows: Vec<Json> = r
                .rows
                .into_iter()
                .map(|row| Json::Object(r.columns.iter().cloned().zip(row).collect()))
                .collect();
            let date = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            AxJson(json!({"fields": fields, "rows": rows, "time": started.elapsed().as_secs_f64(), "date": date})).into_response()
        }
        Err(e) => error(&e),
    }
}

fn status(s: BatchStatus) -> &'static str {
    match s {
        BatchStatus::Pending => "pending",
        BatchStatus::Running => "running",
        BatchStatus::Success => "success",
        BatchStatus::Failed | BatchStatus::Canceled => "failed",
    }
}

fn batch_json(b: &Batch) -> Json {
    json!({
        "id": b.id,
        "status": status(b.status),
        "objects_total": b.objects_total,
        "objects_success": b.objects_success,
        "created_at": b.created_at,
        "updated_at": b.updated_at,
        "created_by": b.created_by,
        "created_by_id": b.created_by_id,
        "updated_by": b.updated_by,
        "updated_by_id": b.updated_by_id,
        "started_at": b.started_at,
        "completed_at": b.completed_at,
    })
}

#[derive(Deserialize)]
struct Envelope {
    batch: BatchRequest,
}

async fn create(
    S(state): S<State>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers, &query_map(raw.as_deref())).await?;
        let body = crate::native::render::json_body(body)?
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
        let env: Envelope = sluice_engine::ops::parse_body(body, "batch")?;
        // "At the moment, deleting records is the only supported batch operation."
        if let Some(op) = env.batch.operations.first() {
            if op.action != Action::Delete {
                return Err(Error::validation("action", "only delete is supported"));
            }
            if op.resource.as_deref().is_some_and(|r| r != "record") {
                return Err(Error::validation("resource", "resource must be record"));
            }
        }
        state
            .engine
            .create_batch(&who, &app, env.batch, BatchDialect::Fulcrum)
            .await
    }
    .await;
    match result {
        Ok(b) => AxJson(json!({"batch": batch_json(&b)})).into_response(),
        Err(e) => error(&e),
    }
}

async fn list(S(state): S<State>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers, &query_map(raw.as_deref())).await?;
        state.engine.list_batches(&who, &app, 1000).await
    }
    .await;
    match result {
        Ok(bs) => AxJson(json!({"batches": bs.iter().map(batch_json).collect::<Vec<_>>(), "total_count": bs.len()})).into_response(),
        Err(e) => error(&e),
    }
}

fn strip_json(s: &str) -> &str {
    s.strip_suffix(".json").unwrap_or(s)
}

async fn show(
    S(state): S<State>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers, &query_map(raw.as_deref())).await?;
        state.engine.get_batch(&who, &app, strip_json(&id)).await
    }
    .await;
    match result {
        Ok(b) => AxJson(json!({"batch": batch_json(&b)})).into_response(),
        Err(e) => error(&e),
    }
}

async fn start(
    S(state): S<State>,
    Path((id, action)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if strip_json(&action) != "start" {
        // Fulcrum has no way to stop a batch; anything but start is not an endpoint.
        return error(&Error::not_found("no such batch action"));
    }
    let result = async {
        let (who, app) = caller(&state, &headers, &query_map(raw.as_deref())).await?;
        state.engine.start_batch(&who, &app, &id).await
    }
    .await;
    match result {
        Ok(b) => AxJson(json!({"batch": batch_json(&b)})).into_response(),
        Err(e) => error(&e),
    }
}
