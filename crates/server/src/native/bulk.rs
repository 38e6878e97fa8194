//! `POST /v1/bulk`: many native calls in one request, in order, in one transaction; entries are
//! decoded and checked while the writer executes the ones before them (see `feed`).

use super::refs::Scope;
use super::render::{render, Reply};
use super::route::{parse, NativeRequest};
use crate::credentials::{bearer, bearer_of};
use crate::error::ApiResult;
use crate::extract::read_bytes;
use crate::feed::{self, Decode, Feed, Keyed};
use crate::idempotency;
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::{DeserializeSeed, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_engine::model::{Catalog, Principal};
use sluice_engine::ops::{precheck, BulkItem, Output};
use sluice_engine::{Engine, Error, ErrorCode, Result};
use std::cell::Cell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkOp {
    pub(crate) id: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) url: String,
    pub(crate) body: Option<Value>,
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
        let p = engine.auth().authenticate(Some(token)).await;
        self.0.insert(token.to_owned(), p.clone());
        p
    }
}

pub fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Turns decoded entries into engine items: credentials, references, early checks.
struct Planner {
    outer: Principal,
    /// The request's own bearer token, which entries without credentials of their own act with.
    outer_token: Option<String>,
    creds: Credentials,
    /// The catalog as the request starts, for checking bodies before they reach the writer.
    catalog: Arc<Catalog>,
    /// Entry ids seen so far, for references; `None` when the body holds no `${`.
    ids: Option<Arc<Mutex<HashMap<String, usize>>>>,
}

impl Planner {
    fn plan(&mut self, feed: &Feed<Option<String>>, op: BulkOp) -> (Option<String>, BulkItem) {
        let (mut who, token) = match header(&op.headers, "authorization") {
            Some(v) => match bearer_of(v) {
                Ok(token) => (
                    feed.rt
                        .block_on(self.creds.resolve(&feed.state.engine, token)),
                    Some(token.to_owned()),
                ),
                Err(e) => (Err(e), None),
            },
            None => (Ok(self.outer.clone()), self.outer_token.clone()),
        };
        if let (Some(ids), Some(id)) = (&self.ids, &op.id) {
            let mut ids = ids.lock().unwrap_or_else(|p| p.into_inner());
            // References must name one operation: a repeated id is refused for the repeat.
            if ids.contains_key(id) {
                who = Err(Error::invalid(format!(
                    "the id {id:?} is used by an earlier operation"
                )));
            } else {
                ids.insert(id.clone(), feed.len());
            }
        }
        let method = op
            .method
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase();
        let (url, body) = (op.url, op.body);
        let item = match self.ids.clone() {
            // Without references an entry is decoded and checked here, beside the writer.
            None => {
                let (path, query) = url::split(&url);
                let op = parse(NativeRequest {
                    method: &method,
                    path,
                    query,
                    body,
                })
                .map(|op| precheck(&self.catalog, op));
                BulkItem::fixed(who, op)
            }
            Some(ids) => BulkItem::new(who, move |results| {
                let ids = ids.lock().unwrap_or_else(|p| p.into_inner());
                let scope = Scope { ids: &ids, results };
                let url = scope.substitute(&url)?;
                let mut body = body.clone();
                if let Some(b) = body.as_mut() {
                    scope.substitute_json(b)?;
                }
                let (path, query) = url::split(&url);
                parse(NativeRequest {
                    method: &method,
                    path,
                    query,
                    body,
                })
            }),
        };
        (op.id, item.as_of_entry(token))
    }
}

pub async fn bulk(
    S(state): S<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let outer_token = bearer(&headers)?.map(str::to_owned);
    let outer = state
        .engine
        .auth()
        .authenticate(outer_token.as_deref())
        .await?;
    crate::read_after::take(&state, &headers, &outer)?;
    let bytes = read_bytes(body)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(ErrorCode::InvalidJson, "a JSON body is required").into());
    }
    let key = idempotency::key_of(&headers, &outer, None, || {
        idempotency::fingerprint(&method, &uri, &bytes)
    })?;
    // References are rare: without any `${` in the body, entries skip substitution entirely.
    let has_refs = std::str::from_utf8(&bytes).map_or(true, |s| s.contains("${"));
    // Only with read replicas is the caller needed after the request: where its writes are.
    let who = state.engine.reads_replicas().then(|| outer.clone());
    let planner = Planner {
        outer,
        outer_token,
        creds: Credentials::default(),
        catalog: state.engine.catalog(),
        ids: has_refs.then(Default::default),
    };
    let decode = decoder(planner);
    if let Some(key) = key {
        let render = |ids: &[Option<String>], results: Vec<Result<Output>>| {
            let r = response(ids.iter().cloned().zip(results));
            idempotency::json_answer(StatusCode::OK, &r)
        };
        let keyed = feed::run_keyed(&state, bytes, "bulk request", decode, key, render).await?;
        let mut answer = idempotency::respond(keyed);
        if let Some(who) = &who {
            crate::read_after::give(&state, who, &mut answer);
        }
        return Ok(answer);
    }
    let results = feed::run(&state, bytes, "bulk request", decode).await?;
    let mut answer = Json(response(results)).into_response();
    if let Some(who) = &who {
        crate::read_after::give(&state, who, &mut answer);
    }
    Ok(answer)
}

/// Decodes a `/v1/bulk` body into the feed, planning each entry; whether it is atomic.
fn decoder(mut planner: Planner) -> impl Decode<Option<String>> {
    move |de, feed| {
        let atomic = Cell::new(false);
        let mut signalled = false;
        let seen = Keyed {
            key: "operations",
            each: |op: BulkOp| {
                if atomic.get() && !signalled {
                    signalled = true;
                    feed.atomic();
                }
                let (label, item) = planner.plan(feed, op);
                feed.push(label, item)
            },
            on_key: |key: &str, v: Value| match key {
                "atomic" => v.as_bool().map(|a| atomic.set(a)).is_some(),
                _ => false,
            },
            _t: PhantomData,
        }
        .deserialize(de)?;
        if !seen {
            return Err(serde_json::Error::missing_field("operations"));
        }
        Ok(atomic.get())
    }
}

/// The answer: one result per entry, in order.
fn response(results: impl IntoIterator<Item = (Option<String>, Result<Output>)>) -> BulkResponse {
    let results = results
        .into_iter()
        .map(|(id, r)| {
            let (status, body) = render(r);
            BulkResult {
                id,
                status: status.as_u16(),
                body,
            }
        })
        .collect();
    BulkResponse { results }
}

#[derive(Serialize)]
pub struct BulkResponse {
    results: Vec<BulkResult>,
}

#[derive(Serialize)]
pub struct BulkResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    status: u16,
    body: Reply,
}
