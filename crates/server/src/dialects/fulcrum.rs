//! Fulcrum: the Query API (`/api/v2/query`) and the Batch API (`/api/v2/batch…`), with and without
//! `.json`, translated onto sluice's query and batches (docs/DIALECTS.md, "Fulcrum").

use crate::extract::json_body;
use crate::native::documents::query_csv;
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
use sluice_engine::batches::{BatchRequest, OpSpec};
use sluice_engine::model::{Action, Batch, BatchStatus, QueryView, ViewColumn};
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
    let app = headers.get("x-sluice-app").and_then(|v| v.to_str().ok());
    super::caller(&state.engine, Some(&token), app).await
}

/// How Fulcrum's tables look: Fulcrum's system columns in place of sluice's, then the fields.
fn view() -> QueryView {
    use ViewColumn as C;
    let columns = [
        ("_record_id", C::Id),
        ("_status", C::FieldOrNull("status".into())),
        ("_created_at", C::CreatedAt),
        ("_updated_at", C::UpdatedAt),
        ("_created_by", C::CreatedBy),
        ("_created_by_id", C::CreatedBy),
        ("_updated_by", C::UpdatedBy),
        ("_updated_by_id", C::UpdatedBy),
    ];
    QueryView {
        columns: columns
            .into_iter()
            .map(|(name, c)| (name.to_owned(), c))
            .collect(),
    }
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
    if let Some(Json::Object(m)) = json_body(body)? {
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
                .queries()
                .run(&who, &app, sql, Vec::new(), Some(view()))
                .await?,
        ))
    }
    .await;
    match result {
        Ok((format, r)) if format == "csv" => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            query_csv(&r),
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
pub(crate) struct Envelope {
    batch: FulcrumBatch,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FulcrumBatch {
    #[serde(default)]
    start: bool,
    operations: Vec<FulcrumOp>,
}

/// An operation as Fulcrum writes it: the object is its form (by id; a name or label works too).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FulcrumOp {
    action: Action,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    form_id: Option<String>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    set: Option<Json>,
}

/// Fulcrum's batch → the engine's: "Only the first operation will run", and "at the moment,
/// deleting records is the only supported batch operation".
fn translate(state: &State, app: &str, batch: FulcrumBatch) -> Result<BatchRequest> {
    let catalog = state.engine.catalog();
    let mut operations = Vec::new();
    if let Some(op) = batch.operations.into_iter().next() {
        if op.action != Action::Delete {
            return Err(Error::validation("action", "only delete is supported"));
        }
        if op.resource.as_deref().is_some_and(|r| r != "record") {
            return Err(Error::validation("resource", "resource must be record"));
        }
        let object = op.object.or_else(|| {
            let id = op.form_id?;
            let found = catalog
                .app(app)
                .and_then(|a| {
                    a.object_by_id(&id)
                        .or_else(|| a.object_by_name_or_label(&id))
                })
                .map(|o| o.name.to_string());
            Some(found.unwrap_or(id))
        });
        operations.push(OpSpec {
            action: op.action,
            object,
            query: op.query,
            ids: op.ids,
            set: op.set,
        });
    }
    Ok(BatchRequest {
        start: batch.start,
        dry_run: false,
        operations,
    })
}

async fn create(
    S(state): S<State>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let (who, app) = caller(&state, &headers, &query_map(raw.as_deref())).await?;
        let body = json_body(body)?
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
        let env: Envelope = sluice_engine::ops::parse_body(body, "batch")?;
        let req = translate(&state, &app, env.batch)?;
        state
            .engine
            .batches()
            .create(&who, &app, req, Some(view()))
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
        state.engine.batches().list(&who, &app, 1000).await
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
        state
            .engine
            .batches()
            .get(&who, &app, strip_json(&id))
            .await
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
        state.engine.batches().start(&who, &app, &id).await
    }
    .await;
    match result {
        Ok(b) => AxJson(json!({"batch": batch_json(&b)})).into_response(),
        Err(e) => error(&e),
    }
}
