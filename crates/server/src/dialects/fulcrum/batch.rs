//! Fulcrum's Batch API: create (start at once or later), show, start, and the paginated list;
//! only `delete` of records, as Fulcrum's docs say, and only the first operation runs.

use super::{caller, count_param, error, query_map, view};
use crate::extract::json_body;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State as S};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use sluice_engine::batches::{BatchRequest, OpSpec};
use sluice_engine::model::{Action, Batch, BatchStatus};
use sluice_engine::{Error, ErrorCode, Result};

/// "By default, all requests are paginated to the maximum value of 20,000 items per request."
const MAX_PER_PAGE: u64 = 20_000;

fn batch_status(s: BatchStatus) -> &'static str {
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
        "status": batch_status(b.status),
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

pub async fn create(
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

/// Fulcrum's index views are paginated: `page` (from 1) and `per_page` (default and most
/// 20,000), answered with `current_page`, `total_pages`, `total_count` and `per_page` beside the
/// resources (REST API pagination). Newest first (ours).
pub async fn list(S(state): S<State>, RawQuery(raw): RawQuery, headers: HeaderMap) -> Response {
    let result = async {
        let p = query_map(raw.as_deref());
        let (who, app) = caller(&state, &headers, &p).await?;
        let page = count_param(&p, "page")?.unwrap_or(1);
        let per_page = count_param(&p, "per_page")?
            .unwrap_or(MAX_PER_PAGE)
            .min(MAX_PER_PAGE);
        let offset = (page - 1).saturating_mul(per_page);
        let (batches, total) = state
            .engine
            .batches()
            .page(&who, &app, offset, per_page as usize)
            .await?;
        Ok::<_, Error>((batches, total, page, per_page))
    }
    .await;
    match result {
        Ok((batches, total, page, per_page)) => AxJson(json!({
            "batches": batches.iter().map(batch_json).collect::<Vec<_>>(),
            "current_page": page,
            "total_pages": total.div_ceil(per_page),
            "total_count": total,
            "per_page": per_page,
        }))
        .into_response(),
        Err(e) => error(&e),
    }
}

fn strip_json(s: &str) -> &str {
    s.strip_suffix(".json").unwrap_or(s)
}

pub async fn show(
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

pub async fn start(
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
