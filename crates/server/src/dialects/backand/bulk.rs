//! Backand's `POST /1/bulk`: a bare array of commands `{"method", "url", "data", "parameters",
//! "headers"}`, run in order in one transaction, each answered `{"status", "data"}` (ours:
//! Backand documents no response shape).

use super::creds::{has_creds, headers_get, lookup, read_creds, resolve};
use super::params::json_param;
use super::Backand;
use crate::dialects::skeleton::{self, query_params, reply, Call, Vendor};
use crate::dialects::text;
use crate::extract::read_bytes;
use crate::feed::Elements;
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::de::DeserializeSeed;
use serde_json::{json, Map, Value as Json};
use sluice_engine::{Error, Result};
use std::collections::HashMap;
use std::marker::PhantomData;

/// Headers of a bulk command: a JSON object, or a JSON string holding one.
fn command_headers(v: Option<&Json>) -> Result<Option<HashMap<String, String>>> {
    let v = match v {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::String(s)) => {
            serde_json::from_str(s).map_err(|_| Error::invalid("headers is not a JSON object"))?
        }
        Some(other) => other.clone(),
    };
    let map = v
        .as_object()
        .ok_or_else(|| Error::invalid("headers must be an object"))?;
    Ok(Some(
        map.iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), text(v)))
            .collect(),
    ))
}

/// A bulk command as a call: its method, URL (absolute or not) and `parameters` (an object, or a
/// JSON string holding one).
pub(crate) fn command_call(mut cmd: Json) -> Result<Call> {
    let data = cmd.as_object_mut().and_then(|m| m.remove("data"));
    let method = cmd["method"].as_str().unwrap_or("GET").to_ascii_uppercase();
    let url_text = cmd["url"]
        .as_str()
        .ok_or_else(|| Error::invalid("each command needs a url"))?;
    let (path, query) = url::split(url_text);
    let mut params = query_params(query)?;
    if let Some(Json::Object(m)) = json_param(cmd.as_object().unwrap_or(&Map::new()), "parameters")?
    {
        params.extend(m);
    }
    Ok(Call {
        method,
        path: path.to_owned(),
        params,
        data,
    })
}

/// `POST /1/bulk`. A command with its own credentials (in `headers`, or in its URL's query
/// string) runs with them, in that app; the others run with the request's.
pub async fn bulk(
    S(state): S<State>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let setup = async {
        let bytes = read_bytes(body)?;
        let query = query_params(uri.query())?;
        let from_headers = headers_get(&headers);
        let (creds, app) = read_creds(&lookup(&from_headers, &query))?;
        let token = creds.token();
        Ok::<_, Error>((bytes, resolve(&state.engine, creds, app).await, token))
    };
    let (bytes, outer, outer_token) = match setup.await {
        Ok(v) => v,
        Err(e) => return reply(Backand::error(&e)),
    };
    let key = match skeleton::bulk_key(&headers, &outer, None, &uri, &bytes) {
        Ok(k) => k,
        Err(e) => return reply(Backand::error(&e)),
    };
    let catalog = state.engine.catalog();
    let st = state.clone();
    skeleton::bulk::<Backand>(
        &state,
        bytes,
        "bulk request: the body must be a JSON array of commands",
        move |de, feed| {
            let each = |cmd: Json| {
                let own = command_headers(cmd.get("headers"));
                let call = command_call(cmd);
                let (who, token) = match &own {
                    Ok(h) => {
                        let from_headers = |n: &str| h.as_ref().and_then(|h| h.get(n).cloned());
                        let empty = Map::new();
                        let query = call.as_ref().map_or(&empty, |c| &c.params);
                        let get = lookup(&from_headers, query);
                        if h.is_some() || has_creds(&get) {
                            match read_creds(&get) {
                                Ok((creds, app)) => {
                                    let token = creds.token();
                                    (feed.rt.block_on(resolve(&st.engine, creds, app)), token)
                                }
                                Err(e) => (Err(e), None),
                            }
                        } else {
                            (outer.clone(), outer_token.clone())
                        }
                    }
                    Err(e) => (Err(e.clone()), None),
                };
                let (kind, item) = skeleton::plan::<Backand>(&st, &catalog, who, token, call);
                feed.push(kind, item)
            };
            Elements(each, PhantomData).deserialize(de)?;
            Ok(false)
        },
        |status, data| json!({"status": status.as_u16(), "data": data}),
        key,
    )
    .await
}
