//! Fulcrum: the Query API (`/api/v2/query`) and the Batch API (`/api/v2/batch…`), with and without
//! `.json`, translated onto sluice's query and batches (docs/DIALECTS.md, "Fulcrum").

mod batch;
mod query;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use self::batch::Envelope;
use crate::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json as AxJson, Router};
use serde_json::{json, Map, Value as Json};
use sluice_engine::model::{Principal, QueryView, ViewColumn};
use sluice_engine::{Error, ErrorCode, Result};

pub fn router() -> Router<State> {
    Router::new()
        .route("/api/v2/query", any(query::query))
        .route("/api/v2/query.json", any(query::query))
        .route("/api/v2/batch", post(batch::create).get(batch::list))
        .route("/api/v2/batch.json", post(batch::create).get(batch::list))
        .route("/api/v2/batch/{id}", get(batch::show))
        .route("/api/v2/batch/{id}/{action}", post(batch::start))
}

/// The status Fulcrum would answer: 401 for missing or bad tokens and for roles that may not act,
/// 404, 400 for malformed requests and refused SQL, 422 for other broken rules, 500.
fn status(e: &Error) -> StatusCode {
    use ErrorCode as C;
    match e.code {
        C::Unauthorized | C::Forbidden => StatusCode::UNAUTHORIZED,
        C::NotFound => StatusCode::NOT_FOUND,
        C::InvalidJson | C::InvalidRequest | C::Timeout => StatusCode::BAD_REQUEST,
        C::Internal | C::Unavailable => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Fulcrum's REST error body (`BadRequestResponse`: `{"error", "status"}`; `UnauthorizedResponse`:
/// `{"error": "Unauthorized"}` alone), with sluice's code in `code`.
fn error(e: &Error) -> Response {
    let status = status(e);
    let body = if status == StatusCode::UNAUTHORIZED {
        json!({"error": "Unauthorized"})
    } else {
        json!({"error": e.message, "status": status.as_u16(), "code": e.code.as_str()})
    };
    (status, AxJson(body)).into_response()
}

/// The Query API's error body: `{"error": "<message>"}` (query-intro), with sluice's code.
fn query_error(e: &Error) -> Response {
    let status = status(e);
    let body = if status == StatusCode::UNAUTHORIZED {
        json!({"error": "Unauthorized"})
    } else {
        json!({"error": e.message, "code": e.code.as_str()})
    };
    (status, AxJson(body)).into_response()
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
/// `_latitude`/`_longitude` are the object's `latitude`/`longitude` fields where it has them.
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
        ("_latitude", C::FieldOrNull("latitude".into())),
        ("_longitude", C::FieldOrNull("longitude".into())),
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

/// A whole-number parameter (`page`, `per_page`), at least 1.
fn count_param(p: &Map<String, Json>, name: &str) -> Result<Option<u64>> {
    let Some(v) = p.get(name) else {
        return Ok(None);
    };
    let n = match v {
        Json::Number(n) => n.as_u64(),
        other => super::text(other).trim().parse::<u64>().ok(),
    };
    match n {
        Some(n) if n >= 1 => Ok(Some(n)),
        _ => Err(
            Error::invalid(format!("{name} must be a whole number of at least 1")).with_field(name),
        ),
    }
}
