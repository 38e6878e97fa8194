//! Zoho Bulk Read on the export engine: a job is an object export of one page of records (ids
//! as numbers, zipped as `<job>.csv`), run by the shared scheduler; its details (also its
//! callback's body) and the ZIP's download, in Zoho's shapes with Zoho's numeric ids.

use super::read_query::{callback, translate};
use super::read_wire::{
    create_refusal, details as job_details, read_token, refusal, state as zoho_state, Refusal,
    PER_PAGE,
};
use super::wire::{caller, resolve, zoho_time};
use super::Api;
use crate::download::reader_body;
use crate::extract::json_body;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{json, Map, Value as Json};
use sluice_engine::exports::{ExportRequest, ExportWhat};
use sluice_engine::model::{
    AliasKind, Export, ExportFormat, ExportNumbers, ExportSource, Need, Object, Principal, Shape,
};
use sluice_engine::{Error, ErrorCode, Result};
use std::sync::Arc;

/// The module a query names (`{"api_name": …}`, or its name as Bigin's v1 pages write it), once
/// the caller may read the app.
fn module(
    state: &State,
    who: &Principal,
    app: &str,
    query: &Map<String, Json>,
) -> std::result::Result<Arc<Object>, Refusal> {
    let name = match query.get("module") {
        Some(Json::String(s)) => Some(s.as_str()),
        Some(m) => m.get("api_name").and_then(Json::as_str),
        None => None,
    }
    .ok_or_else(|| {
        refusal(
            "MANDATORY_NOT_FOUND",
            "Required key module is not available",
            json!({"api_name": "module"}),
        )
    })?;
    let cat = state.engine.catalog();
    let a = cat.app(app).ok_or_else(|| {
        Error::not_found(format!("no organisation {app}")).with_field("X-CRM-ORG")
    })?;
    who.authorize(a, Need::Read)?;
    a.object(name).cloned().ok_or_else(|| {
        refusal(
            "MODULE_NOT_AVAILABLE",
            &format!("the module {name} is not available"),
            json!({"api_name": name, "module": name}),
        )
    })
}

/// The export a `page_token` (from an earlier job's `result`) asks for: that job's query, at
/// the page the token names.
async fn from_token(
    state: &State,
    who: &Principal,
    app: &str,
    token: &str,
    body: &Map<String, Json>,
) -> std::result::Result<ExportRequest, Refusal> {
    let invalid = || {
        refusal(
            "INVALID_DATA",
            "the page token is not one this server gave",
            json!({"api_name": "page_token"}),
        )
    };
    let (job, page) = read_token(token).ok_or_else(invalid)?;
    let id = resolve(state, AliasKind::Export, &job.to_string(), "page_token")
        .await
        .map_err(|_| invalid())?;
    let before = state
        .engine
        .exports()
        .get(who, app, &id)
        .await
        .map_err(|_| invalid())?;
    let ExportSource::Object {
        object,
        spec,
        columns,
        shape,
        ..
    } = before.source
    else {
        return Err(invalid());
    };
    let offset = (page - 1).checked_mul(PER_PAGE).ok_or_else(invalid)?;
    let what = ExportWhat::Object {
        object,
        spec,
        fields: Some(columns),
        shape: Box::new(Shape { offset, ..*shape }),
    };
    Ok(ExportRequest::new(what, ExportFormat::Zip, callback(body)?))
}

/// `POST …/read`: 201 with the job's id, state and creator.
pub async fn create(
    state: State,
    api: Api,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let out = async {
        let (who, app) = caller(&state, &headers).await?;
        let unsupported = || {
            refusal(
                "REQUEST_BODY_NOT_SUPPORTED",
                "request body contains invalid format",
                json!({}),
            )
        };
        let body = match json_body(body) {
            Ok(Some(Json::Object(b))) => b,
            Ok(None) => {
                return Err(refusal(
                    "REQUEST_BODY_IS_EMPTY",
                    "the request body is empty",
                    json!({}),
                ))
            }
            Ok(Some(_)) => return Err(unsupported()),
            Err(e) if e.code == ErrorCode::InvalidJson => return Err(unsupported()),
            Err(e) => return Err(e.into()),
        };
        let query = body.get("query").and_then(Json::as_object).ok_or_else(|| {
            refusal(
                "MANDATORY_NOT_FOUND",
                "Required key query is not available",
                json!({"api_name": "query"}),
            )
        })?;
        let req = match query.get("page_token").and_then(Json::as_str) {
            Some(token) => from_token(&state, &who, &app, token, &body).await?,
            None => {
                let obj = module(&state, &who, &app, query)?;
                translate(&state, &obj, &body, query).await?
            }
        };
        let e = state
            .engine
            .exports()
            .create_tagged(&who, &app, req, &api.tag())
            .await
            .map_err(create_refusal)?;
        let n = numbers(&state, &e).await?;
        let details = json!({
            "id": n.export.to_string(), "operation": "read", "state": zoho_state(e.status),
            "created_by": {"id": n.user.to_string(), "name": e.created_by},
            "created_time": zoho_time(e.created_at.as_str()),
        });
        let data = json!({"status": "success", "code": "ADDED_SUCCESSFULLY",
                          "message": "Added successfully.", "details": details});
        Ok((
            StatusCode::CREATED,
            AxJson(json!({"data": [data], "info": {}})),
        )
            .into_response())
    }
    .await;
    out.unwrap_or_else(Refusal::response)
}

/// The numbers an export shows: those it was made with, or (made before every export was
/// numbered) given now.
async fn numbers(state: &State, e: &Export) -> Result<ExportNumbers> {
    if let Some(n) = e.numbers {
        return Ok(n);
    }
    let aliases = state.engine.aliases();
    let object = match &e.source {
        ExportSource::Object { object_id, .. } => Some(
            aliases
                .number(AliasKind::Object, &object_id.to_string())
                .await?,
        ),
        ExportSource::Query { .. } => None,
    };
    Ok(ExportNumbers {
        export: aliases.number(AliasKind::Export, &e.id).await?,
        user: aliases.number(AliasKind::User, &e.created_by_id).await?,
        object,
    })
}

/// The export a path's id names (a number, or a sluice id), as the caller may see it.
async fn export_of(
    state: &State,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Principal, String, Export)> {
    let (who, app) = caller(state, headers).await?;
    let id = resolve(state, AliasKind::Export, id, "job_id").await?;
    let e = state
        .engine
        .exports()
        .get(&who, &app, &id)
        .await
        .map_err(|e| match e.code {
            ErrorCode::NotFound => e.with_field("job_id"),
            _ => e,
        })?;
    Ok((who, app, e))
}

/// `GET …/read/{id}`: `{"data": [the job's details]}`.
pub async fn details(state: State, api: Api, id: String, headers: HeaderMap) -> Response {
    let out = async {
        let (_, _, e) = export_of(&state, &headers, &id).await?;
        let n = numbers(&state, &e).await?;
        Ok::<_, Error>(AxJson(json!({"data": [job_details(&e, &api, &n)]})).into_response())
    }
    .await;
    out.unwrap_or_else(|e| Refusal::from(e).response())
}

/// A finished job's callback body: its details, and its id as `job_id` too.
pub fn callback_body(e: &Export, api: &Api) -> Json {
    let n = e.numbers.unwrap_or(ExportNumbers {
        export: 0,
        user: 0,
        object: None,
    });
    let mut v = job_details(e, api, &n);
    v["job_id"] = json!(n.export.to_string());
    v
}

/// `GET …/read/{id}/result`: the ZIP, named `<job>.zip`. A job whose file is not there (not
/// completed, expired, or an export made elsewhere as another format) is Zoho's 400
/// `RESOURCE_NOT_FOUND`, as its specification lists for this call.
pub async fn result(state: State, _api: Api, id: String, headers: HeaderMap) -> Response {
    let out = async {
        let (who, app, e) = export_of(&state, &headers, &id).await?;
        let n = numbers(&state, &e).await?;
        let gone = |why: &str| {
            refusal(
                "RESOURCE_NOT_FOUND",
                why,
                json!({"resource": "result", "job_id": n.export.to_string()}),
            )
        };
        if e.format != ExportFormat::Zip {
            return Err(gone(
                "the job's file is not a ZIP; download it from the native API",
            ));
        }
        let d = match state.engine.exports().download(&who, &app, &e.id).await {
            Ok(d) => Arc::new(d),
            Err(err) if matches!(err.code, ErrorCode::NotReady | ErrorCode::Expired) => {
                return Err(gone(&err.message))
            }
            Err(err) => return Err(err.into()),
        };
        let total = d.total;
        let value = |s: String| HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static(""));
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/zip"),
        );
        h.insert(header::CONTENT_LENGTH, value(total.to_string()));
        h.insert(
            header::CONTENT_DISPOSITION,
            value(format!("attachment; filename=\"{}.zip\"", n.export)),
        );
        let body = reader_body(Vec::new(), move || d.open(0, total));
        Ok::<_, Refusal>((StatusCode::OK, h, body).into_response())
    }
    .await;
    out.unwrap_or_else(Refusal::response)
}
