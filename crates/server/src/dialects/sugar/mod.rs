//! SugarCRM: the REST API under `/rest/{version}/` (and `/apps/{app}/rest/{version}/`): login,
//! module list/filter/count/CRUD and `/bulk`, translated onto the engine (docs/DIALECTS.md,
//! "SugarCRM").

mod login;
pub(crate) mod params;
mod records;

use self::params::{fields_of, list_spec, params_of};
use self::records::{input, record};
use super::skeleton::{self, reply, Call, Vendor};
use super::{caller, text};
use crate::error::status_of;
use crate::extract::{json_body, read_bytes};
use crate::feed::Keyed;
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State as S};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use serde::de::DeserializeSeed;
use serde_json::{json, Map, Value as Json};
use sluice_engine::ops::{Body, Op, Output, Target};
use sluice_engine::{Error, ErrorCode, Result};
use std::collections::HashMap;
use std::marker::PhantomData;

pub fn router() -> Router<State> {
    Router::new()
        .route("/rest/{version}/{*rest}", any(api))
        .route("/apps/{app}/rest/{version}/{*rest}", any(api))
}

/// Sugar versions look like `v10`, `v11`, `v11_1` … `v11_24`.
fn check_version(v: &str) -> Result<()> {
    let ok = v.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .split('_')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "{v:?} is not a Sugar API version"
        )))
    }
}

/// How a request's result is rendered.
#[derive(Clone)]
pub(crate) enum Kind {
    Record {
        module: String,
        fields: Option<Vec<String>>,
    },
    List {
        module: String,
        fields: Option<Vec<String>>,
        offset: u64,
    },
    Count,
    Deleted {
        id: String,
    },
}

/// Sugar's wire format for the shared record path (`Call::path` is below the version).
pub(crate) struct Sugar;

impl Vendor for Sugar {
    type Kind = Kind;

    fn decode(app: &str, call: Call, max: usize) -> Result<(Op, Kind)> {
        let segs: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
        decode(app, &call.method, &segs, &call.params, call.data, max)
    }

    fn encode(kind: Kind, out: Output) -> Json {
        let as_record = |r, module: &str, fields: Option<&[String]>| {
            record(
                serde_json::to_value(r).unwrap_or(Json::Null),
                module,
                fields,
            )
        };
        match (kind, out) {
            (Kind::Record { module, fields }, Output::Ok(Body::Record(r)))
            | (Kind::Record { module, fields }, Output::Created(Body::Record(r))) => {
                as_record(r, &module, fields.as_deref())
            }
            (
                Kind::List {
                    module,
                    fields,
                    offset,
                },
                Output::Ok(Body::List(l)),
            ) => {
                let next = match l.next_cursor {
                    None => -1,
                    Some(_) => (offset + l.records.len() as u64) as i64,
                };
                let records: Vec<Json> = l
                    .into_records()
                    .into_iter()
                    .map(|r| as_record(r, &module, fields.as_deref()))
                    .collect();
                json!({"next_offset": next, "records": records})
            }
            (Kind::Count, Output::Ok(Body::List(l))) => json!({"record_count": l.total}),
            (Kind::Deleted { id }, _) => json!({"id": id}),
            (_, out) => out.into_json(),
        }
    }

    /// Sugar's error body: `{"error": code, "error_message": text}` (the code is sluice's).
    fn error(e: &Error) -> (StatusCode, Json) {
        (
            status_of(e.code),
            json!({"error": e.code.as_str(), "error_message": e.message}),
        )
    }
}

/// Decodes one Sugar request (below the version) into an op and how to render it.
fn decode(
    app: &str,
    method: &str,
    segs: &[&str],
    params: &Map<String, Json>,
    data: Option<Json>,
    max: usize,
) -> Result<(Op, Kind)> {
    let mut data = data;
    let mut body = || {
        data.take()
            .map(input)
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "this request needs data"))
    };
    let fields = fields_of(params);
    let t = |m: &str| Target::new(app, m);
    let rec = |m: &str| Kind::Record {
        module: m.to_owned(),
        fields: fields.clone(),
    };
    Ok(match (segs, method) {
        ([m], "GET") | ([m, "filter"], "GET" | "POST") => {
            let (spec, offset) = list_spec(params, max)?;
            (
                Op::ListRecords(t(m), spec),
                Kind::List {
                    module: m.to_string(),
                    fields: fields.clone(),
                    offset,
                },
            )
        }
        ([m, "count"], "GET" | "POST") => {
            let (mut spec, _) = list_spec(params, max)?;
            spec.count = true;
            spec.limit = Some(1);
            (Op::ListRecords(t(m), spec), Kind::Count)
        }
        ([m], "POST") => (Op::CreateRecord(t(m), body()?.into()), rec(m)),
        ([m, id], "GET") => (Op::GetRecord(t(m), id.to_string()), rec(m)),
        ([m, id], "PUT") => (
            Op::UpdateRecord(t(m), id.to_string(), body()?.into()),
            rec(m),
        ),
        ([m, id], "DELETE") => (
            Op::DeleteRecord(t(m), id.to_string()),
            Kind::Deleted { id: id.to_string() },
        ),
        (["bulk"] | ["oauth2", ..], _) => {
            return Err(Error::invalid(
                "this request cannot run inside a bulk request",
            ))
        }
        ([_] | [_, _], _) => {
            return Err(Error::new(
                ErrorCode::MethodNotAllowed,
                format!("{method} is not allowed here"),
            ))
        }
        _ => {
            return Err(Error::not_found(format!(
                "no Sugar endpoint at /{}",
                segs.join("/")
            )))
        }
    })
}

/// A call below the version. Filter and count take their parameters from the body too; the
/// bodies of writes are records.
fn call_of(method: &str, path: &str, query: Option<&str>, data: Option<Json>) -> Result<Call> {
    let writes = matches!(method, "POST" | "PUT")
        && !matches!(
            path.trim_end_matches('/').rsplit('/').next(),
            Some("filter" | "count")
        );
    let params = params_of(query, data.as_ref().filter(|_| !writes))?;
    Ok(Call {
        method: method.to_owned(),
        path: path.to_owned(),
        params,
        data,
    })
}

fn token_of(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>> {
    if let Some(t) = get("oauth-token") {
        return Ok(Some(t));
    }
    match get("authorization") {
        Some(a) => crate::credentials::bearer_of(&a).map(|t| Some(t.to_owned())),
        None => Ok(None),
    }
}

async fn api(
    S(state): S<State>,
    Path(path): Path<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        check_version(path.get("version").map(String::as_str).unwrap_or_default())?;
        let rest = path.get("rest").map(String::as_str).unwrap_or_default();
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let app = path.get("app").map(String::as_str);
        if segs == ["bulk"] && method == Method::POST {
            let get = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            return Ok(bulk(&state, app, token_of(&get)?, read_bytes(body)?).await);
        }
        let data = json_body(body)?;
        if segs == ["oauth2", "token"] && method == Method::POST {
            return Ok(login::token(&state.engine, app, data).await);
        }
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (who, app) = caller(&state.engine, token_of(&get)?.as_deref(), app).await?;
        let call = call_of(method.as_str(), rest, uri.query(), data)?;
        Ok(reply(
            skeleton::single::<Sugar>(&state, &who, &app, call).await,
        ))
    }
    .await;
    result.unwrap_or_else(|e| reply(Sugar::error(&e)))
}

/// A bulk request's `headers`: an object, or an array of `"Name: value"` strings.
fn request_headers(v: Option<&Json>) -> HashMap<String, String> {
    match v {
        Some(Json::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), text(v)))
            .collect(),
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|h| {
                h.as_str()?
                    .split_once(':')
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            })
            .collect(),
        _ => HashMap::new(),
    }
}

/// One bulk request as a call: `url` starts with the version (also accepted with a leading
/// `/rest`); `data` is a JSON-encoded string, or an object.
pub(crate) fn request_call(req: &Json) -> Result<Call> {
    let method = req["method"].as_str().unwrap_or("GET").to_ascii_uppercase();
    let url_text = req["url"]
        .as_str()
        .ok_or_else(|| Error::invalid("each request needs a url"))?;
    let (path, query) = url::split(url_text);
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.first() == Some(&"rest") {
        segs.remove(0);
    }
    check_version(segs.first().copied().unwrap_or_default())?;
    let data = match req.get("data") {
        Some(Json::String(s)) if s.trim().is_empty() => None,
        Some(Json::String(s)) => Some(
            serde_json::from_str(s)
                .map_err(|_| Error::new(ErrorCode::InvalidJson, "data is not a JSON string"))?,
        ),
        Some(Json::Null) | None => None,
        Some(other) => Some(other.clone()),
    };
    call_of(&method, &segs[1..].join("/"), query, data)
}

/// `POST …/bulk`: requests run in order in one transaction; a failing one does not stop the rest.
/// A request with its own credentials runs as that user.
async fn bulk(
    state: &State,
    app: Option<&str>,
    outer_token: Option<String>,
    bytes: Bytes,
) -> Response {
    let outer = caller(&state.engine, outer_token.as_deref(), app).await;
    let catalog = state.engine.catalog();
    let (st, app) = (state.clone(), app.map(str::to_owned));
    skeleton::bulk::<Sugar>(
        state,
        bytes,
        "bulk request: the body must be {\"requests\": [...]}",
        move |de, feed| {
            let each = |req: Json| {
                let headers = request_headers(req.get("headers"));
                let (who, token) = match token_of(&|n: &str| headers.get(n).cloned()) {
                    Ok(Some(token)) => (
                        feed.rt
                            .block_on(caller(&st.engine, Some(&token), app.as_deref())),
                        Some(token),
                    ),
                    Ok(None) => (outer.clone(), outer_token.clone()),
                    Err(e) => (Err(e), None),
                };
                let call = request_call(&req);
                let (kind, item) = skeleton::plan::<Sugar>(&st, &catalog, who, token, call);
                feed.push(kind, item)
            };
            // Other keys are ignored, as Sugar does.
            let seen = Keyed {
                key: "requests",
                each,
                on_key: |_: &str, _: Json| true,
                _t: PhantomData,
            }
            .deserialize(de)?;
            if !seen {
                return Err(serde::de::Error::missing_field("requests"));
            }
            Ok(false)
        },
        |status, contents| json!({"contents": contents, "headers": [], "status": status.as_u16()}),
    )
    .await
}
