//! Health and limits: what a client can ask without credentials.

use crate::State;
use axum::extract::State as S;
use axum::Json;
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The configured limits, so clients can size their requests.
pub async fn limits(S(state): S<State>) -> Json<Value> {
    let c = &state.config;
    Json(json!({
        "max_bulk_ops": c.max_bulk_ops,
        "max_body_bytes": c.max_body_bytes,
        "max_page_size": c.max_page_size,
        "max_fields": state.engine.settings().max_fields,
        "max_job_records": c.max_job_records,
        "max_upload_bytes": c.max_upload_bytes,
        "max_unzipped_bytes": c.max_unzipped_bytes,
        "max_zip_ratio": c.max_zip_ratio,
        "max_columns": c.max_columns,
        "max_batch_records": c.max_batch_records,
        "max_query_rows": c.query_max_rows,
        "query_timeout_ms": c.query_timeout_ms,
    }))
}
