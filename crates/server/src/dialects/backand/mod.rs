//! Backand: `/1/objects/{object}[/{id}]`, `POST /1/bulk`, `POST /token`, `POST /1/user/signup`
//! and `GET /1/user/signout`, translated onto the engine (docs/DIALECTS.md, "Backand").

mod account;
mod bulk;
mod creds;
mod deep;
mod meta;
mod params;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use self::bulk::command_call;
use self::creds::{headers_get, lookup, read_creds, resolve};
use self::params::{flag, included, list_spec, refuse_unsupported};
use super::links::{self, Reverse};
use super::skeleton::{self, query_params, reply, Call, Vendor};
use crate::error::status_of;
use crate::extract::json_body;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Map, Value as Json};
use sluice_engine::model::Catalog;
use sluice_engine::ops::{Body, Op, Output, Target};
use sluice_engine::{Error, ErrorCode, Result};
use std::sync::Arc;

pub fn router() -> Router<State> {
    Router::new()
        .route("/1/objects/{object}", any(objects))
        .route("/1/objects/{object}/{id}", any(objects))
        .route("/1/bulk", post(bulk::bulk))
        .route("/1/user/signup", post(account::signup))
        .route("/1/user/signout", get(account::signout))
        .route("/token", post(account::token))
}

/// How a command's result is rendered; `metadata` says whether records carry `__metadata`.
#[derive(Clone)]
pub(crate) enum Kind {
    List { metadata: Meta, total: bool },
    Get { metadata: Meta },
    Create { return_object: bool, metadata: Meta },
    Update { return_object: bool, metadata: Meta },
    Delete { id: String },
}

/// Whether records carry `__metadata`, and the collections (objects pointing at the record's
/// object) its `fields` lists.
pub(crate) type Meta = Option<Arc<Vec<Reverse>>>;

/// Backand's wire format for the shared record path (`Call::path` is the whole URL path).
pub(crate) struct Backand;

impl Vendor for Backand {
    type Kind = Kind;

    fn decode(app: &str, call: Call, max: usize, catalog: &Catalog) -> Result<(Op, Kind)> {
        decode(
            app,
            &call.method,
            &call.path,
            &call.params,
            call.data,
            max,
            catalog,
        )
    }

    fn encode(kind: Kind, out: Output) -> Json {
        match (kind, out) {
            (Kind::List { metadata, total }, Output::Ok(Body::List(l))) => {
                let count = l.total;
                let data: Vec<Json> = l
                    .into_records()
                    .into_iter()
                    .map(|r| meta::record(r, metadata.as_deref().map(Vec::as_slice)))
                    .collect();
                let mut page = json!({"data": data});
                if total {
                    page["totalRows"] = json!(count);
                }
                page
            }
            (
                Kind::Create {
                    return_object: false,
                    ..
                },
                Output::Created(Body::Record(r)),
            ) => json!({"__metadata": {"id": r.record.id}}),
            (
                Kind::Update {
                    return_object: false,
                    ..
                },
                _,
            ) => json!({}),
            // The SDK's `remove` sample answers `{"__metadata":{"id":"77"}}`.
            (Kind::Delete { id }, _) => json!({"__metadata": {"id": id}}),
            (
                Kind::Get { metadata }
                | Kind::Create { metadata, .. }
                | Kind::Update { metadata, .. },
                Output::Ok(Body::Record(r)) | Output::Created(Body::Record(r)),
            ) => meta::record(r, metadata.as_deref().map(Vec::as_slice)),
            (_, out) => out.into_json(),
        }
    }

    /// Backand's error body: `{"Message": text, "code": sluice code}`. A 401 says "invalid or
    /// expired token": the SDK's interceptor looks for exactly that text to refresh its token.
    fn error(e: &Error) -> (StatusCode, Json) {
        let message = if e.code == ErrorCode::Unauthorized {
            "invalid or expired token"
        } else {
            e.message.as_str()
        };
        (
            status_of(e.code),
            json!({"Message": message, "code": e.code.as_str()}),
        )
    }
}

/// Decodes one Backand call (an HTTP request or a bulk command) into an op and how to render it.
fn decode(
    app: &str,
    method: &str,
    path: &str,
    params: &Map<String, Json>,
    data: Option<Json>,
    max: usize,
    catalog: &Catalog,
) -> Result<(Op, Kind)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    refuse_unsupported(params)?;
    let collections = |o: &str| {
        let all = catalog.app(app).map(|a| links::reverse(a, o));
        Arc::new(all.unwrap_or_default())
    };
    // Each arm takes the data at most once, so it moves instead of being copied.
    let mut data = data;
    let mut data = || {
        data.take()
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "this command needs data"))
    };
    let return_object = flag(params, "returnObject");
    let (with_metadata, total) = included(params);
    let object = segs.get(2).copied().unwrap_or_default();
    let metadata = with_metadata.then(|| collections(object));
    let t = |o: &str| Target::new(app, o);
    Ok(match (segs.as_slice(), method) {
        (["1", "objects", o], "GET") => (
            Op::ListRecords(t(o), list_spec(params, max)?),
            Kind::List { metadata, total },
        ),
        (["1", "objects", o], "POST") => (
            Op::CreateRecord(t(o), data()?.into()),
            Kind::Create {
                return_object,
                metadata,
            },
        ),
        (["1", "objects", o, id], "GET") => (
            Op::GetRecord(t(o), id.to_string(), Vec::new()),
            Kind::Get { metadata },
        ),
        // Backand's PUT changes the fields it is given.
        (["1", "objects", o, id], "PUT") => (
            Op::UpdateRecord(t(o), id.to_string(), data()?.into()),
            Kind::Update {
                return_object,
                metadata,
            },
        ),
        (["1", "objects", o, id], "DELETE") => (
            Op::DeleteRecord(t(o), id.to_string()),
            Kind::Delete { id: id.to_string() },
        ),
        (["1", "objects", ..], _) => {
            return Err(Error::new(
                ErrorCode::MethodNotAllowed,
                format!("{method} is not allowed here"),
            ))
        }
        _ => {
            return Err(Error::not_found(format!(
                "{path} is not a Backand objects URL"
            )))
        }
    })
}

async fn objects(
    S(state): S<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let params = query_params(uri.query())?;
        let from_headers = headers_get(&headers);
        let (creds, app) = read_creds(&lookup(&from_headers, &params))?;
        let (who, app) = resolve(&state.engine, creds, app).await?;
        let call = Call {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            params,
            data: json_body(body)?,
        };
        if deep::asked(&call) {
            return Ok(deep::get(&state, &who, &app, call).await);
        }
        Ok(skeleton::single::<Backand>(&state, &who, &app, call).await)
    }
    .await;
    reply(result.unwrap_or_else(|e| Backand::error(&e)))
}
