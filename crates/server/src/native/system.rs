//! Health, readiness, limits and who the caller is: what a client asks before its real work.

use crate::error::ApiResult;
use crate::extract::Caller;
use crate::State;
use axum::extract::State as S;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use sluice_engine::model::Principal;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers and background work runs; 503 with the reason otherwise.
pub async fn readyz(S(state): S<State>) -> (StatusCode, Json<Value>) {
    match state.engine.ready().await {
        Ok(()) if !state.stopping.is_cancelled() => {
            (StatusCode::OK, Json(json!({"status": "ready"})))
        }
        Ok(()) => not_ready("the server is stopping"),
        Err(e) => not_ready(&e.message),
    }
}

fn not_ready(reason: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "reason": reason})),
    )
}

/// `GET /v1/me`: what the presented credentials are (a dashboard or CLI shows it after sign-in).
pub async fn me(S(state): S<State>, Caller(who): Caller) -> ApiResult<Json<Value>> {
    Ok(Json(match &who {
        Principal::Admin { user } => json!({"kind": "admin", "user": user}),
        Principal::Member {
            app_id, user, role, ..
        } => {
            let app = state
                .engine
                .catalog()
                .app_by_id(*app_id)
                .map(|a| a.name.to_string());
            json!({"kind": "app", "user": user, "app": app, "role": role.as_str()})
        }
        Principal::Anonymous => json!({"kind": "anonymous", "user": "anonymous"}),
    }))
}

/// The configured limits, so clients can size their requests.
pub async fn limits(S(state): S<State>) -> Json<Value> {
    let c = &state.config;
    let q = &state.engine.settings().query;
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
        // The shape a query may have (each refusal names its limit).
        "query_max_sql_len": q.max_sql_len,
        "query_max_nesting": q.max_nesting,
        "query_max_compound_terms": q.max_compound_terms,
        "query_max_expression_terms": q.max_expression_terms,
        "query_max_tables": q.max_tables,
        "query_max_result_columns": q.max_result_columns,
        "max_value_depth": sluice_engine::settings::defaults::MAX_VALUE_DEPTH,
    }))
}
