//! The path every record dialect shares: a vendor call (a single HTTP request or one entry of a
//! bulk body) is decoded into an engine op, run (alone, or fed to the writer with the rest of the
//! bulk body), and its result encoded back. A vendor supplies only its wire format (`Vendor`).

use crate::feed::{self, Feed};
use crate::State;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::{Map, Value as Json};
use sluice_engine::model::{Catalog, IdemKey, Principal};
use sluice_engine::ops::{precheck, BulkItem, Op, Output};
use sluice_engine::{Error, Result};

/// One vendor call, as its wire format names it.
pub struct Call {
    pub method: String,
    /// The vendor path (each vendor says from where).
    pub path: String,
    /// Query-string (and, where the vendor allows, body) parameters.
    pub params: Map<String, Json>,
    pub data: Option<Json>,
}

/// A vendor's record API: how calls become ops, and how results and errors look.
pub trait Vendor: 'static {
    /// How a call's result is rendered (a list, a record, a deletion…).
    type Kind: Clone + Send + 'static;

    /// `catalog` is a snapshot to read objects from (their fields shape what a vendor keeps of a
    /// body and shows of a record); the op is checked again when it runs.
    fn decode(
        app: &str,
        call: Call,
        max_page: usize,
        catalog: &Catalog,
    ) -> Result<(Op, Self::Kind)>;
    fn encode(kind: Self::Kind, out: Output) -> Json;
    fn error(e: &Error) -> (StatusCode, Json);

    /// The error of a call decoded as `kind` (a vendor may name the record or module in it).
    fn error_in(kind: &Self::Kind, e: &Error) -> (StatusCode, Json) {
        let _ = kind;
        Self::error(e)
    }
}

pub fn reply((status, body): (StatusCode, Json)) -> Response {
    (status, AxJson(body)).into_response()
}

/// A result in the vendor's shape: 200 and the encoded output, or the vendor's error.
pub fn answer<V: Vendor>(kind: V::Kind, result: Result<Output>) -> (StatusCode, Json) {
    match result {
        Ok(out) => (StatusCode::OK, V::encode(kind, out)),
        Err(e) => V::error_in(&kind, &e),
    }
}

/// A single call: decode, run as `who` in `app`, encode.
pub async fn single<V: Vendor>(
    state: &State,
    who: &Principal,
    app: &str,
    call: Call,
) -> (StatusCode, Json) {
    let max = state.engine.settings().max_page_size;
    match V::decode(app, call, max, &state.engine.catalog()) {
        Ok((op, kind)) => answer::<V>(kind, state.engine.run(who, op).await),
        Err(e) => V::error(&e),
    }
}

/// One bulk entry: its caller (its own credentials, or the bulk request's) and its call, decoded
/// and checked here, beside the writer; the caller's `token` is checked again as the entry runs.
/// An entry refused here answers its error in its slot.
pub fn plan<V: Vendor>(
    state: &State,
    catalog: &Catalog,
    caller: Result<(Principal, String)>,
    token: Option<String>,
    call: Result<Call>,
) -> (Option<V::Kind>, BulkItem) {
    let max = state.engine.settings().max_page_size;
    let planned = caller.and_then(|(who, app)| {
        let (op, kind) = V::decode(&app, call?, max, catalog)?;
        Ok((who, precheck(catalog, op), kind))
    });
    match planned {
        Ok((who, op, kind)) => (
            Some(kind),
            BulkItem::fixed(Ok(who), Ok(op)).as_of_entry(token),
        ),
        Err(e) => (None, BulkItem::failed(e)),
    }
}

/// Every result as `entry(status, body)` in a JSON array, in order.
fn entries<V: Vendor>(
    results: impl IntoIterator<Item = (Option<V::Kind>, Result<Output>)>,
    entry: fn(StatusCode, Json) -> Json,
) -> Json {
    Json::Array(
        results
            .into_iter()
            .map(|(kind, r)| {
                let (status, body) = match kind {
                    Some(kind) => answer::<V>(kind, r),
                    None => V::error(
                        &r.err()
                            .unwrap_or_else(|| Error::internal("a bulk entry without result")),
                    ),
                };
                entry(status, body)
            })
            .collect(),
    )
}

/// Runs a bulk body: `decode` frames it and feeds each entry (see `plan`); every result becomes
/// `entry(status, body)` in a JSON array, in order. With an idempotency `key`, once: a repeat
/// replays the first answer.
pub async fn bulk<V: Vendor>(
    state: &State,
    bytes: Bytes,
    what: &'static str,
    decode: impl FnOnce(
            &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
            &mut Feed<Option<V::Kind>>,
        ) -> serde_json::Result<bool>
        + Send
        + 'static,
    entry: fn(StatusCode, Json) -> Json,
    key: Option<IdemKey>,
) -> Response {
    let Some(key) = key else {
        return match feed::run(state, bytes, what, decode).await {
            Ok(results) => AxJson(entries::<V>(results, entry)).into_response(),
            Err(e) => reply(V::error(&e)),
        };
    };
    let render = move |kinds: &[Option<V::Kind>], results: Vec<Result<Output>>| {
        let all = kinds.iter().cloned().zip(results);
        crate::idempotency::json_answer(StatusCode::OK, &entries::<V>(all, entry))
    };
    match feed::run_keyed(state, bytes, what, decode, key, render).await {
        Ok(keyed) => crate::idempotency::respond(keyed),
        Err(e) => reply(V::error(&e)),
    }
}

/// The idempotency key of a dialect's bulk request (`POST`, `uri`, `bytes`), when its outer
/// caller resolved (one that did not gets the dialect's own refusal, unkeyed).
pub fn bulk_key<T>(
    headers: &axum::http::HeaderMap,
    outer: &Result<(Principal, T)>,
    app: Option<&str>,
    uri: &axum::http::Uri,
    bytes: &[u8],
) -> Result<Option<IdemKey>> {
    match outer {
        Ok((who, _)) => crate::idempotency::key_of(headers, who, app, || {
            crate::idempotency::fingerprint(&axum::http::Method::POST, uri, bytes)
        }),
        Err(_) => Ok(None),
    }
}

/// Query-string parameters as JSON strings.
pub fn query_params(query: Option<&str>) -> Result<Map<String, Json>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::invalid("the query string is malformed"))?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k, Json::String(v)))
        .collect())
}
