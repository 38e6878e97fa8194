//! `POST /v1/bulk`: many native calls in one request, in order, in one transaction. The body is
//! decoded on a blocking thread and each entry goes to the writer as soon as it is decoded, so
//! decoding overlaps execution.

use super::refs::Scope;
use super::render::{read_bytes, render, Reply};
use super::route::{parse, NativeRequest};
use crate::credentials::{bearer, bearer_of};
use crate::error::ApiResult;
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::HeaderMap;
use axum::Json;
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_engine::auth::Principal;
use sluice_engine::model::Catalog;
use sluice_engine::ops::{precheck, too_many, BulkItem, BulkMsg};
use sluice_engine::{Engine, Error, ErrorCode, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

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

pub fn header<'a>(headers: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Items per message to the writer.
const BATCH: usize = 50;

/// Turns decoded entries into engine items and sends them on.
struct Sink {
    state: State,
    rt: tokio::runtime::Handle,
    tx: Sender<BulkMsg>,
    outer: Principal,
    /// The catalog as the request starts, for checking bodies before they reach the writer.
    catalog: Arc<Catalog>,
    creds: Credentials,
    /// Entry ids seen so far, for references; `None` when the body holds no `${`.
    ids: Option<Arc<Mutex<HashMap<String, usize>>>>,
    labels: Vec<Option<String>>,
    /// Items decoded but not yet sent.
    pending: Vec<BulkItem>,
    atomic: bool,
    max: usize,
    /// Why decoding stopped early, when it was not the JSON's fault.
    stop: Option<Error>,
}

impl Sink {
    fn push(&mut self, op: BulkOp) -> std::result::Result<(), ()> {
        if self.labels.len() == self.max {
            self.stop = Some(too_many(self.max));
            return Err(());
        }
        let who = match header(&op.headers, "authorization") {
            Some(v) => match bearer_of(v) {
                Ok(token) => self
                    .rt
                    .block_on(self.creds.resolve(&self.state.engine, token)),
                Err(e) => Err(e),
            },
            None => Ok(self.outer.clone()),
        };
        if let (Some(ids), Some(id)) = (&self.ids, &op.id) {
            ids.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id.clone(), self.labels.len());
        }
        self.labels.push(op.id);
        let method = op
            .method
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase();
        let (mut url, mut body) = (op.url, op.body);
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
                BulkItem::new(who, move |_| op)
            }
            Some(ids) => BulkItem::new(who, move |results| {
                let ids = ids.lock().unwrap_or_else(|p| p.into_inner());
                let scope = Scope { ids: &ids, results };
                url = scope.substitute(&url)?;
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
        self.pending.push(item);
        if self.pending.len() == BATCH {
            return self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) -> std::result::Result<(), ()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.pending);
        self.tx.send(BulkMsg::Items(items)).map_err(|_| ())
    }
}

struct Top<'a>(&'a mut Sink);

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with \"operations\" and optionally \"atomic\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let mut seen_ops = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "atomic" => {
                    self.0.atomic = map.next_value()?;
                    if self.0.atomic {
                        let _ = self.0.flush();
                        let _ = self.0.tx.send(BulkMsg::Atomic);
                    }
                }
                "operations" => {
                    map.next_value_seed(Ops(&mut *self.0))?;
                    seen_ops = true;
                }
                other => return Err(A::Error::unknown_field(other, &["atomic", "operations"])),
            }
        }
        if !seen_ops {
            return Err(A::Error::missing_field("operations"));
        }
        Ok(())
    }
}

struct Ops<'a>(&'a mut Sink);

impl<'de> DeserializeSeed<'de> for Ops<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Ops<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of operations")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while let Some(op) = seq.next_element::<BulkOp>()? {
            if self.0.push(op).is_err() {
                return Err(A::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Decodes the body and feeds the writer; returns the entries' ids, in order.
fn produce(mut sink: Sink, bytes: &[u8]) -> Vec<Option<String>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let decoded = Top(&mut sink).deserialize(&mut de).and_then(|()| de.end());
    let end = match (decoded, sink.stop.take()) {
        (_, Some(stop)) => Err(stop),
        (Ok(()), None) => Ok(sink.atomic),
        (Err(e), None) => Err(match e.classify() {
            serde_json::error::Category::Data => {
                Error::invalid(format!("invalid bulk request: {e}"))
            }
            _ => Error::new(
                ErrorCode::InvalidJson,
                format!("the body is not valid JSON: {e}"),
            ),
        }),
    };
    let _ = sink.flush();
    let _ = sink.tx.send(BulkMsg::End(end));
    sink.labels
}

pub async fn bulk(
    S(state): S<State>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> ApiResult<Json<BulkResponse>> {
    let outer = state.engine.authenticate(bearer(&headers)?).await?;
    let bytes = read_bytes(body)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(ErrorCode::InvalidJson, "a JSON body is required").into());
    }
    // References are rare: without any `${` in the body, entries skip substitution entirely.
    let has_refs = std::str::from_utf8(&bytes).map_or(true, |s| s.contains("${"));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = Sink {
        state: state.clone(),
        rt: tokio::runtime::Handle::current(),
        tx,
        outer,
        catalog: state.engine.catalog(),
        creds: Credentials::default(),
        ids: has_refs.then(Default::default),
        labels: Vec::new(),
        pending: Vec::new(),
        atomic: false,
        max: state.engine.settings().max_bulk_ops,
        stop: None,
    };
    let producer = tokio::task::spawn_blocking(move || produce(sink, &bytes));
    let results = state.engine.bulk_stream(rx).await;
    let labels = producer.await.map_err(Error::internal)?;
    let results = labels
        .into_iter()
        .zip(results?)
        .map(|(id, r)| {
            let (status, body) = render(r);
            BulkResult {
                id,
                status: status.as_u16(),
                body,
            }
        })
        .collect();
    Ok(Json(BulkResponse { results }))
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
