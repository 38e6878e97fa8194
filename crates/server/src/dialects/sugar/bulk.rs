//! Sugar's `POST /bulk`: `{"requests": [{"url", "method", "data", "headers"}]}`, each request run
//! in order in one transaction, each answered `{"contents", "headers", "status"}`.

use super::decode::call_of;
use super::errors::missing;
use super::{caller, check_version, token_of, Sugar};
use crate::dialects::skeleton::{self, reply, Call, Vendor};
use crate::dialects::text;
use crate::feed::Keyed;
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::response::Response;
use serde::de::DeserializeSeed;
use serde_json::{json, Value as Json};
use sluice_engine::{Error, ErrorCode, Result};
use std::collections::HashMap;
use std::marker::PhantomData;

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
pub(super) async fn bulk(
    state: &State,
    app: Option<&str>,
    outer_token: Option<String>,
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
    bytes: Bytes,
) -> Response {
    let outer = caller(state, outer_token.as_deref(), app).await;
    let key = match skeleton::bulk_key(headers, &outer, app, uri, &bytes) {
        Ok(k) => k,
        Err(e) => return reply(Sugar::error(&e)),
    };
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
                        feed.rt.block_on(caller(&st, Some(&token), app.as_deref())),
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
                // `BulkApi` requires its argument (`SugarApi::requireArgs`).
                feed.stop_with(missing("requests"));
                return Err(serde::de::Error::missing_field("requests"));
            }
            Ok(false)
        },
        |status, contents| json!({"contents": contents, "headers": [], "status": status.as_u16()}),
        key,
    )
    .await
}
