//! SugarCRM: the REST API under `/rest/{version}/` (and `/apps/{app}/rest/{version}/`): login and
//! logout, `me`, `ping`, module list/filter/count/CRUD and `/bulk`, translated onto the engine
//! (docs/DIALECTS.md, "SugarCRM").

mod account;
mod bulk;
mod decode;
mod errors;
mod links;
mod login;
pub(crate) mod params;
mod records;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use self::bulk::request_call;
use self::errors::{link_error, list_error, need_login, record_error};
use self::records::record;
use super::app_for;
use super::skeleton::{self, reply, Call, Vendor};
use crate::extract::{json_body, read_bytes};
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State as S};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use serde_json::{json, Value as Json};
use sluice_engine::model::{Catalog, Principal};
use sluice_engine::ops::{Body, Op, Output};
use sluice_engine::{Error, Result};
use std::collections::HashMap;

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
        Err(errors::no_method(&format!("/{v}")))
    }
}

/// How a request's result is rendered.
#[derive(Clone)]
pub(crate) enum Kind {
    Record {
        module: String,
        /// The record named in the path (none for a create).
        id: Option<String>,
        fields: Option<Vec<String>>,
    },
    List {
        module: String,
        fields: Option<Vec<String>>,
        offset: u64,
    },
    Count {
        module: String,
    },
    Deleted {
        module: String,
        id: String,
    },
    /// A link route: the records reached from record `id` of module `parent`, as `inner`.
    Link {
        parent: String,
        id: String,
        inner: Box<Kind>,
    },
}

/// Sugar's wire format for the shared record path (`Call::path` is below the version).
pub(crate) struct Sugar;

impl Vendor for Sugar {
    type Kind = Kind;

    fn decode(app: &str, call: Call, max: usize, catalog: &Catalog) -> Result<(Op, Kind)> {
        decode::decode(app, call, max, catalog)
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
            (Kind::Link { inner, .. }, out) => Self::encode(*inner, out),
            (Kind::Record { module, fields, .. }, Output::Ok(Body::Record(r)))
            | (Kind::Record { module, fields, .. }, Output::Created(Body::Record(r))) => {
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
            (Kind::Count { .. }, Output::Ok(Body::List(l))) => json!({"record_count": l.total}),
            (Kind::Deleted { id, .. }, _) => json!({"id": id}),
            (_, out) => out.into_json(),
        }
    }

    fn error(e: &Error) -> (StatusCode, Json) {
        errors::error(e)
    }

    fn error_in(kind: &Kind, e: &Error) -> (StatusCode, Json) {
        match kind {
            Kind::Record {
                module,
                id: Some(id),
                ..
            }
            | Kind::Deleted { module, id } => record_error(e, module, id),
            Kind::List { module, .. } | Kind::Count { module } => list_error(e, module),
            Kind::Link { parent, id, inner } => link_error(e, parent, id, inner),
            Kind::Record { .. } => errors::error(e),
        }
    }
}

/// The token a Sugar client sends: `OAuth-Token` (also `Authorization: Bearer`).
fn token_of(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>> {
    if let Some(t) = get("oauth-token") {
        return Ok(Some(t));
    }
    match get("authorization") {
        Some(a) => crate::credentials::bearer_of(&a).map(|t| Some(t.to_owned())),
        None => Ok(None),
    }
}

/// Checks a call's token: every Sugar route but the login needs one
/// (`RestService::authenticateUser` → `needLogin()`).
async fn who_of(state: &State, token: Option<&str>) -> Result<Principal> {
    let token = token.ok_or_else(need_login)?;
    state.engine.auth().authenticate(Some(token)).await
}

/// The app a call acts in: the one the base URL names, else an app token's own app, else (for an
/// admin token) the server's default app.
fn app_of(state: &State, who: &Principal, named: Option<&str>) -> Result<String> {
    let default = state.config.default_app.as_deref();
    let named = named.or(default.filter(|_| who.app_id().is_none()));
    app_for(&state.engine, who, named)
}

/// A call's principal and app.
async fn caller(
    state: &State,
    token: Option<&str>,
    named: Option<&str>,
) -> Result<(Principal, String)> {
    let who = who_of(state, token).await?;
    let app = app_of(state, &who, named)?;
    Ok((who, app))
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
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let token = token_of(&get)?;
        if segs == ["bulk"] && method == Method::POST {
            let bytes = read_bytes(body)?;
            return Ok(bulk::bulk(&state, app, token, &headers, &uri, bytes).await);
        }
        let data = json_body(body)?;
        if segs == ["oauth2", "token"] && method == Method::POST {
            let app = app.or(state.config.default_app.as_deref());
            return Ok(login::token(&state.engine, app, data).await);
        }
        let who = who_of(&state, token.as_deref()).await?;
        match (segs.as_slice(), method.as_str()) {
            (["oauth2", "logout"], "POST") => {
                let token = token.unwrap_or_default();
                return account::logout(&state.engine, &token, data).await;
            }
            (["me"], "GET") => return account::me(&state.engine, &who).await,
            // `PingApi`: needs a login, answers the JSON string "pong".
            (["ping"], "GET") => return Ok(reply((StatusCode::OK, json!("pong")))),
            // Other methods and sub-paths of these are no routes (inside `/bulk` they are refused).
            (["bulk" | "oauth2" | "me" | "ping", ..], _) => {
                return Err(errors::no_method(&format!("/{}", segs.join("/"))))
            }
            _ => {}
        }
        let app = app_of(&state, &who, app)?;
        let call = decode::call_of(method.as_str(), rest, uri.query(), data)?;
        Ok(reply(
            skeleton::single::<Sugar>(&state, &who, &app, call).await,
        ))
    }
    .await;
    result.unwrap_or_else(|e| reply(Sugar::error(&e)))
}
