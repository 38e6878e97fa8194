//! Backand: `/1/objects/{object}[/{id}]`, `POST /1/bulk` and `POST /token`, translated onto the
//! engine (docs/DIALECTS.md, "Backand").

mod params;

use self::params::{flag, json_param, list_spec};
use super::skeleton::{self, query_params, reply, Call, Vendor};
use super::{caller, text};
use crate::error::status_of;
use crate::extract::{json_body, read_bytes};
use crate::feed::Elements;
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State as S;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json as AxJson, Router};
use base64::Engine as _;
use serde::de::DeserializeSeed;
use serde_json::{json, Map, Value as Json};
use sluice_engine::auth::Principal;
use sluice_engine::model::Catalog;
use sluice_engine::ops::{Body, Op, Output, Target};
use sluice_engine::{Engine, Error, ErrorCode, Result, Session};
use std::collections::HashMap;
use std::marker::PhantomData;

pub fn router() -> Router<State> {
    Router::new()
        .route("/1/objects/{object}", any(objects))
        .route("/1/objects/{object}/{id}", any(objects))
        .route("/1/bulk", post(bulk))
        .route("/token", post(token))
}

/// How a command's result is rendered.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    List,
    Get,
    Create { return_object: bool },
    Update { return_object: bool },
    Delete,
}

/// Credentials as a Backand client sends them, before they are checked.
enum Creds {
    None,
    Bearer(String),
    Anonymous(String),
}

impl Creds {
    /// The stored token these credentials name, which bulk entries check again as they run.
    fn token(&self) -> Option<String> {
        match self {
            Creds::Bearer(t) => Some(t.clone()),
            Creds::None | Creds::Anonymous(_) => None,
        }
    }
}

/// Reads credentials and the app from headers (an HTTP request's or a bulk command's).
fn read_creds(get: &dyn Fn(&str) -> Option<String>) -> Result<(Creds, Option<String>)> {
    let app = get("appname");
    // Some SDKs send both; `Authorization` wins.
    let Some(auth) = get("authorization") else {
        return Ok((
            get("anonymoustoken").map_or(Creds::None, Creds::Anonymous),
            app,
        ));
    };
    let (scheme, rest) = auth
        .trim()
        .split_once(' ')
        .ok_or_else(Error::unauthorized)?;
    let token = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        // Basic base64(master:user): the user token acts; without one, the master token does (ours).
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| Error::unauthorized())?;
        let text = String::from_utf8(raw).map_err(|_| Error::unauthorized())?;
        let (master, user) = text.split_once(':').unwrap_or((&text, ""));
        if user.is_empty() { master } else { user }.to_owned()
    } else {
        return Err(Error::unauthorized());
    };
    Ok((Creds::Bearer(token), app))
}

/// Checks credentials and settles the app the call acts in.
async fn resolve(
    engine: &Engine,
    creds: Creds,
    app: Option<String>,
) -> Result<(Principal, String)> {
    match creds {
        Creds::Anonymous(token) => {
            let catalog = engine.catalog();
            let found = catalog
                .apps()
                .find(|a| !a.anonymous_token.is_empty() && a.anonymous_token == token)
                .ok_or_else(Error::unauthorized)?;
            Ok((Principal::Anonymous, found.name.to_string()))
        }
        Creds::Bearer(token) => caller(engine, Some(&token), app.as_deref()).await,
        Creds::None => caller(engine, None, app.as_deref()).await,
    }
}

fn headers_get(h: &HeaderMap) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Backand's wire format for the shared record path (`Call::path` is the whole URL path).
pub(crate) struct Backand;

impl Vendor for Backand {
    type Kind = Kind;

    fn decode(app: &str, call: Call, max: usize, _catalog: &Catalog) -> Result<(Op, Kind)> {
        decode(app, &call.method, &call.path, &call.params, call.data, max)
    }

    fn encode(kind: Kind, out: Output) -> Json {
        match (kind, out) {
            (Kind::List, Output::Ok(Body::List(l))) => {
                json!({"totalRows": l.total, "data": l.into_records()})
            }
            (
                Kind::Create {
                    return_object: false,
                },
                Output::Created(Body::Record(r)),
            ) => json!({"__metadata": {"id": r.record.id}}),
            (
                Kind::Update {
                    return_object: false,
                },
                _,
            )
            | (Kind::Delete, _) => json!({}),
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
) -> Result<(Op, Kind)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    // Each arm takes the data at most once, so it moves instead of being copied.
    let mut data = data;
    let mut data = || {
        data.take()
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "this command needs data"))
    };
    let return_object = flag(params, "returnObject");
    let t = |o: &str| Target::new(app, o);
    Ok(match (segs.as_slice(), method) {
        (["1", "objects", o], "GET") => {
            (Op::ListRecords(t(o), list_spec(params, max)?), Kind::List)
        }
        (["1", "objects", o], "POST") => (
            Op::CreateRecord(t(o), data()?.into()),
            Kind::Create { return_object },
        ),
        (["1", "objects", o, id], "GET") => (Op::GetRecord(t(o), id.to_string()), Kind::Get),
        // Backand's PUT changes the fields it is given.
        (["1", "objects", o, id], "PUT") => (
            Op::UpdateRecord(t(o), id.to_string(), data()?.into()),
            Kind::Update { return_object },
        ),
        (["1", "objects", o, id], "DELETE") => {
            (Op::DeleteRecord(t(o), id.to_string()), Kind::Delete)
        }
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
        let (creds, app) = read_creds(&headers_get(&headers))?;
        let (who, app) = resolve(&state.engine, creds, app).await?;
        let call = Call {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            params: query_params(uri.query())?,
            data: json_body(body)?,
        };
        Ok(skeleton::single::<Backand>(&state, &who, &app, call).await)
    }
    .await;
    reply(result.unwrap_or_else(|e| Backand::error(&e)))
}

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

/// `POST /1/bulk`: a bare array of commands, run in order in one transaction; each answers
/// `{"status", "data"}` (ours: Backand documents no response shape). A command with `headers`
/// runs with those credentials, in that app.
async fn bulk(
    S(state): S<State>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Response {
    let setup = async {
        let bytes = read_bytes(body)?;
        let (creds, app) = read_creds(&headers_get(&headers))?;
        let token = creds.token();
        Ok::<_, Error>((bytes, resolve(&state.engine, creds, app).await, token))
    };
    let (bytes, outer, outer_token) = match setup.await {
        Ok(v) => v,
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
                let (who, token) = match command_headers(cmd.get("headers")) {
                    Ok(Some(h)) => match read_creds(&|n: &str| h.get(n).cloned()) {
                        Ok((creds, app)) => {
                            let token = creds.token();
                            (feed.rt.block_on(resolve(&st.engine, creds, app)), token)
                        }
                        Err(e) => (Err(e), None),
                    },
                    Ok(None) => (outer.clone(), outer_token.clone()),
                    Err(e) => (Err(e), None),
                };
                let call = command_call(cmd);
                let (kind, item) = skeleton::plan::<Backand>(&st, &catalog, who, token, call);
                feed.push(kind, item)
            };
            Elements(each, PhantomData).deserialize(de)?;
            Ok(false)
        },
        |status, data| json!({"status": status.as_u16(), "data": data}),
    )
    .await
}

/// `POST /token`: Backand's password sign-in (form-encoded), or a renewal with `refreshToken`.
async fn token(S(state): S<State>, body: Bytes) -> Response {
    // Field names are matched ignoring case: the Angular SDK sends `appname`, the vanilla one `appName`.
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| {
        form.iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let session = if !get("refreshToken").is_empty() {
        state.engine.auth().refresh(get("refreshToken")).await
    } else if get("grant_type") != "password" {
        Err(Error::invalid("grant_type must be password"))
    } else {
        state
            .engine
            .auth()
            .login(get("appName"), get("username"), get("password"))
            .await
    };
    match session {
        Ok(s) => AxJson(session_json(&s)).into_response(),
        Err(e) => {
            let status = if e.code == ErrorCode::TooManyAttempts {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::BAD_REQUEST
            };
            (
                status,
                AxJson(json!({"error": "invalid_grant", "error_description": e.message})),
            )
                .into_response()
        }
    }
}

fn session_json(s: &Session) -> Json {
    let u = &s.user;
    json!({
        "access_token": s.token,
        "token_type": "bearer",
        "expires_in": s.expires_in,
        "appName": s.app,
        "username": u.name,
        "role": u.role,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "fullName": format!("{} {}", u.first_name, u.last_name).trim(),
        "regId": u.id,
        "userId": u.id,
        "refresh_token": s.refresh_token,
    })
}
