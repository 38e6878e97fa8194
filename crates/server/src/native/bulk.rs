//! `POST /v1/bulk`: many native calls in one request, in order, in one transaction.

use super::refs::Scope;
use super::render::{json_body, render};
use super::route::{parse, NativeRequest};
use crate::credentials::{bearer, bearer_of};
use crate::error::{ApiError, ApiResult};
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sluice_engine::auth::Principal;
use sluice_engine::ops::BulkItem;
use sluice_engine::{Engine, Error, ErrorCode, Result};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    #[serde(default)]
    atomic: bool,
    operations: Vec<BulkOp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkOp {
    id: Option<String>,
    method: Option<String>,
    url: String,
    body: Option<Value>,
    #[serde(default)]
    headers: HashMap<String, String>,
}

/// Authenticates each distinct credential once per request.
#[derive(Default)]
pub struct Credentials(HashMap<String, Result<Principal>>);

impl Credentials {
    pub async fn resolve(&mut self, engine: &Engine, token: &str) -> Result<Principal> {
        if let Some(p) = self.0.get(token) {
            return p.clone();
        }
        let p = engine.authenticate(Some(token)).await;
        self.0.insert(token.to_owned(), p.clone());
        p
    }
}

fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub async fn bulk(
    S(state): S<State>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let outer = state.engine.authenticate(bearer(&headers)?).await?;
    let body = json_body(body)?
        .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "a JSON body is required"))?;
    let req: BulkBody = serde_json::from_value(body)
        .map_err(|e| ApiError(Error::invalid(format!("invalid bulk request: {e}"))))?;
    let max = state.engine.settings().max_bulk_ops;
    if req.operations.len() > max {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "a bulk request holds at most {max} operations; this one has {}",
                req.operations.len()
            ),
        )
        .into());
    }
    let ids: Arc<HashMap<String, usize>> = Arc::new(
        req.operations
            .iter()
            .enumerate()
            .filter_map(|(i, op)| op.id.clone().map(|id| (id, i)))
            .collect(),
    );
    let mut creds = Credentials::default();
    let mut items = Vec::with_capacity(req.operations.len());
    let mut labels = Vec::with_capacity(req.operations.len());
    for op in req.operations {
        let who = match header(&op.headers, "authorization") {
            Some(v) => match bearer_of(v) {
                Ok(token) => creds.resolve(&state.engine, token).await,
                Err(e) => Err(e),
            },
            None => Ok(outer.clone()),
        };
        labels.push(op.id);
        let ids = ids.clone();
        let method = op
            .method
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase();
        let (url, body) = (op.url, op.body);
        items.push(BulkItem::new(who, move |results| {
            let scope = Scope { ids: &ids, results };
            let url = scope.substitute(&url)?;
            let body = body.map(|b| scope.substitute_json(b)).transpose()?;
            let (path, query) = url::split(&url);
            parse(NativeRequest {
                method: &method,
                path,
                query,
                body,
            })
        }));
    }
    let results = state.engine.bulk(items, req.atomic).await?;
    let rendered: Vec<Value> = labels
        .into_iter()
        .zip(&results)
        .map(|(id, r)| {
            let (status, body) = render(r);
            let mut m = Map::new();
            if let Some(id) = id {
                m.insert("id".into(), json!(id));
            }
            m.insert("status".into(), json!(status.as_u16()));
            m.insert("body".into(), body);
            Value::Object(m)
        })
        .collect();
    Ok(Json(json!({ "results": rendered })))
}
