//! SugarCRM: the REST API under `/rest/{version}/` (and `/apps/{app}/rest/{version}/`): login,
//! module list/filter/count/CRUD and `/bulk`, translated onto the engine (dialects.md,
//! "SugarCRM"; seed 002_7b0dd87a7351d4e7.txt).

use super::{app_for, rename_keys, text};
use crate::error::status_of;
use crate::feed::{self, Feed, Keyed};
use crate::native::render::{json_body, read_bytes};
use crate::url;
use crate::State;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State as S};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json as AxJson, Router};
use serde::de::DeserializeSeed;
use serde_json::{json, Map, Value as Json};
use sluice_engine::auth::Principal;
use sluice_engine::model::Catalog;
use sluice_engine::ops::{precheck, BulkItem, Filter, FilterOp, ListSpec, Op, Output, Target};
use sluice_engine::{Engine, Error, ErrorCode, Result, Session};
use std::collections::HashMap;
use std::marker::PhantomData;

pub fn router() -> Router<State> {
    Router::new()
        .route("/rest/{version}/{*rest}", any(api))
        .route("/apps/{app}/rest/{version}/{*rest}", any(api))
}

/// Sugar's page size when the caller names none.
const DEFAULT_MAX_NUM: usize = 20;
/// Lifetime Sugar clients are told for refresh tokens (sluice's own refresh lifetime).
const REFRESH_EXPIRES_IN: u64 = 30 * 24 * 3600;
/// Record keys Sugar adds on output; ignored when clients send them back.
const READ_ONLY: [&str; 12] = [
    "id",
    "date_entered",
    "date_modified",
    "_module",
    "_acl",
    "created_by",
    "modified_user_id",
    "created_by_name",
    "modified_by_name",
    "my_favorite",
    "following",
    "deleted",
];

/// Sugar's error body: `{"error": code, "error_message": text}` (the code is sluice's).
fn error(e: &Error) -> (StatusCode, Json) {
    (
        status_of(e.code),
        json!({"error": e.code.as_str(), "error_message": e.message}),
    )
}

fn reply((status, body): (StatusCode, Json)) -> Response {
    (status, AxJson(body)).into_response()
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

/// Sugar's own field names for sluice's system fields.
fn field_name(sugar: &str) -> &str {
    match sugar {
        "date_entered" => "created_at",
        "date_modified" => "updated_at",
        "modified_user_id" => "updated_by",
        other => other,
    }
}

/// ISO 8601 with an offset, as Sugar writes dates: `2014-04-22T03:56:24+00:00`.
fn sugar_date(v: &Json) -> Json {
    match v.as_str() {
        Some(s) if s.len() >= 19 => Json::String(format!("{}+00:00", &s[..19])),
        _ => v.clone(),
    }
}

/// A sluice record as a Sugar record: Sugar's system fields and `_module`, optionally only `fields`.
fn record(mut v: Json, module: &str, fields: Option<&[String]>) -> Json {
    rename_keys(
        &mut v,
        &[
            ("created_at", "date_entered"),
            ("updated_at", "date_modified"),
            ("updated_by", "modified_user_id"),
        ],
    );
    if let Some(m) = v.as_object_mut() {
        for k in ["date_entered", "date_modified"] {
            if let Some(d) = m.get(k) {
                let d = sugar_date(d);
                m.insert(k.into(), d);
            }
        }
        if let Some(keep) = fields {
            // Sugar always returns id and date_modified.
            m.retain(|k, _| k == "id" || k == "date_modified" || keep.iter().any(|f| f == k));
        }
        m.insert("_module".into(), json!(module));
    }
    v
}

/// How a request's result is rendered.
#[derive(Clone)]
enum Kind {
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

fn encode(kind: Kind, result: Result<Output>) -> (StatusCode, Json) {
    let out = match result {
        Ok(out) => out.into_json(),
        Err(e) => return error(&e),
    };
    let body = match kind {
        Kind::Record { module, fields } => record(out, &module, fields.as_deref()),
        Kind::List {
            module,
            fields,
            offset,
        } => {
            let records: Vec<Json> = match out["records"].clone() {
                Json::Array(rs) => rs
                    .into_iter()
                    .map(|r| record(r, &module, fields.as_deref()))
                    .collect(),
                _ => Vec::new(),
            };
            let next = if out["next_cursor"].is_null() {
                -1
            } else {
                (offset + records.len() as u64) as i64
            };
            json!({"next_offset": next, "records": records})
        }
        Kind::Count => json!({"record_count": out["total"]}),
        Kind::Deleted { id } => json!({"id": id}),
    };
    (StatusCode::OK, body)
}

/// Deepest bracket nesting a query key may have (`filter[0][$or][1][name][$in][]` is 6).
const MAX_BRACKETS: usize = 12;

/// Builds nested JSON from bracketed query keys: `filter[0][name][$starts]=A`.
fn nest(pairs: Vec<(String, String)>) -> Result<Map<String, Json>> {
    let mut root = Json::Object(Map::new());
    for (key, value) in pairs {
        let mut parts = vec![key.split('[').next().unwrap_or_default().to_owned()];
        parts.extend(
            key.split('[')
                .skip(1)
                .map(|p| p.trim_end_matches(']').to_owned()),
        );
        if parts.len() > MAX_BRACKETS + 1 {
            return Err(Error::invalid(format!(
                "the parameter {:.40} is nested too deeply",
                key
            )));
        }
        let mut node = &mut root;
        for (i, p) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let Json::Object(m) = node else { break };
            // `[]` appends: the next index.
            let p = if p.is_empty() {
                m.len().to_string()
            } else {
                p.clone()
            };
            node = m.entry(p).or_insert_with(|| {
                if last {
                    Json::Null
                } else {
                    Json::Object(Map::new())
                }
            });
            if last {
                *node = Json::String(value.clone());
            }
        }
    }
    Ok(match arrays(root) {
        Json::Object(m) => m,
        _ => Map::new(),
    })
}

/// Objects whose keys are all indexes become arrays, in index order.
fn arrays(v: Json) -> Json {
    match v {
        Json::Object(m) if !m.is_empty() && m.keys().all(|k| k.parse::<usize>().is_ok()) => {
            let mut items: Vec<(usize, Json)> = m
                .into_iter()
                .map(|(k, v)| (k.parse().unwrap_or(0), arrays(v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            Json::Array(items.into_iter().map(|(_, v)| v).collect())
        }
        Json::Object(m) => Json::Object(m.into_iter().map(|(k, v)| (k, arrays(v))).collect()),
        other => other,
    }
}

fn operator(op: &str) -> Option<FilterOp> {
    Some(match op {
        "$equals" => FilterOp::Eq,
        "$not_equals" => FilterOp::Ne,
        "$starts" => FilterOp::StartsWith,
        "$ends" => FilterOp::EndsWith,
        "$contains" => FilterOp::Contains,
        "$not_contains" => FilterOp::NotContains,
        "$empty" => FilterOp::IsNull,
        "$not_empty" => FilterOp::NotNull,
        "$dateBetween" => FilterOp::Between,
        "$in" => FilterOp::In,
        "$not_in" => FilterOp::NotIn,
        "$is_null" => FilterOp::IsNull,
        "$not_null" => FilterOp::NotNull,
        "$lt" => FilterOp::Lt,
        "$lte" => FilterOp::Lte,
        "$gt" => FilterOp::Gt,
        "$gte" => FilterOp::Gte,
        "$between" => FilterOp::Between,
        _ => return None,
    })
}

/// Sugar's filter definition (an array of conditions, all of which must hold) → engine filters.
fn filters(def: &Json, depth: usize) -> Result<Vec<Filter>> {
    if depth > 8 {
        return Err(Error::invalid("the filter is nested too deeply"));
    }
    let items = match def {
        Json::Array(a) => a.as_slice(),
        Json::Object(_) => std::slice::from_ref(def),
        Json::Null => &[],
        _ => return Err(Error::invalid("filter must be an array of conditions")),
    };
    let mut out = Vec::new();
    for item in items {
        let obj = item
            .as_object()
            .ok_or_else(|| Error::invalid("each filter condition must be an object"))?;
        for (key, v) in obj {
            match key.as_str() {
                "$and" => out.push(Filter::And(filters(v, depth + 1)?)),
                "$or" => out.push(Filter::Or(filters(v, depth + 1)?)),
                field => {
                    let field = field_name(field).to_owned();
                    match v.as_object() {
                        // `{"age": {"$gte": 30}}`; several operators on one field all apply.
                        Some(ops) => {
                            for (op, value) in ops {
                                let op = operator(op).ok_or_else(|| {
                                    Error::invalid(format!("unknown filter operator {op:?}"))
                                })?;
                                out.push(Filter::Cmp {
                                    field: field.clone(),
                                    op,
                                    value: value.clone(),
                                });
                            }
                        }
                        // A bare value means `$equals`.
                        None => out.push(Filter::Cmp {
                            field,
                            op: FilterOp::Eq,
                            value: v.clone(),
                        }),
                    }
                }
            }
        }
    }
    Ok(out)
}

fn fields_of(params: &Map<String, Json>) -> Option<Vec<String>> {
    params.get("fields").map(|f| {
        text(f)
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

fn list_spec(params: &Map<String, Json>, max: usize) -> Result<(ListSpec, u64)> {
    let number = |name: &str| -> Result<Option<u64>> {
        params.get(name).map_or(Ok(None), |v| {
            text(v)
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid(format!("{name} must be a whole number")))
        })
    };
    let limit = number("max_num")?
        .map_or(DEFAULT_MAX_NUM, |n| n as usize)
        .clamp(1, max);
    let offset = number("offset")?.unwrap_or(0);
    let mut spec = ListSpec {
        limit: Some(limit),
        offset: Some(offset),
        ..Default::default()
    };
    if let Some(order) = params.get("order_by") {
        for part in text(order).split(',').filter(|p| !p.trim().is_empty()) {
            let (f, dir) = part.split_once(':').unwrap_or((part, "asc"));
            spec.sort.push((
                field_name(f.trim()).to_owned(),
                dir.trim().eq_ignore_ascii_case("desc"),
            ));
        }
    }
    if spec.sort.is_empty() {
        // Sugar's default order: most recently modified first.
        spec.sort.push(("updated_at".into(), true));
    }
    if let Some(f) = params.get("filter") {
        // GET filters come bracketed (`filter[0][name]=x`) or as one JSON string.
        let parsed;
        let f = match f {
            Json::String(s) if s.trim_start().starts_with(['[', '{']) => {
                parsed = serde_json::from_str(s)
                    .map_err(|_| Error::invalid("filter is not valid JSON"))?;
                &parsed
            }
            other => other,
        };
        spec.filter = filters(f, 0)?;
    }
    Ok((spec, offset))
}

/// A record body without the keys Sugar adds on output.
fn input(mut data: Json) -> Json {
    if let Some(m) = data.as_object_mut() {
        m.retain(|k, _| !READ_ONLY.contains(&k.as_str()));
    }
    data
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

/// Query parameters, and for filter/count POSTs the JSON body's keys too.
fn params_of(query: Option<&str>, data: Option<&Json>) -> Result<Map<String, Json>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::invalid("the query string is malformed"))?;
    let mut params = nest(pairs)?;
    if let Some(Json::Object(m)) = data {
        params.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(params)
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

async fn caller(
    engine: &Engine,
    token: Option<String>,
    app: Option<&str>,
) -> Result<(Principal, String)> {
    let who = engine.authenticate(token.as_deref()).await?;
    let app = app_for(engine, &who, app).map_err(|e| {
        if who == Principal::Anonymous {
            Error::unauthorized()
        } else {
            e
        }
    })?;
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
            return Ok(login(&state.engine, app, data).await);
        }
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (who, app) = caller(&state.engine, token_of(&get)?, app).await?;
        // Filter and count take their parameters from the body too; writes' bodies are records.
        let writes = matches!(method, Method::POST | Method::PUT)
            && !matches!(segs.last(), Some(&"filter" | &"count"));
        let params = params_of(uri.query(), data.as_ref().filter(|_| !writes))?;
        let (op, kind) = decode(
            &app,
            method.as_str(),
            &segs,
            &params,
            data,
            state.engine.settings().max_page_size,
        )?;
        Ok(reply(encode(kind, state.engine.run(&who, op).await)))
    }
    .await;
    result.unwrap_or_else(|e| reply(error(&e)))
}

/// `oauth2/token`: password and refresh grants, answered in Sugar's token shape.
async fn login(engine: &Engine, app: Option<&str>, data: Option<Json>) -> Response {
    let data = data.unwrap_or(Json::Null);
    let get = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
    let session: Result<Session> = match get("grant_type").as_str() {
        "password" => match app {
            Some(app) => engine.login(app, &get("username"), &get("password")).await,
            None => Err(Error::new(
                ErrorCode::Unauthorized,
                "log in under /apps/{app}/rest/{version}/ to name the app",
            )),
        },
        "refresh_token" => engine.refresh(&get("refresh_token")).await,
        other => Err(Error::invalid(format!("unsupported grant_type {other:?}"))),
    };
    match session {
        Ok(s) => AxJson(json!({
            "access_token": s.token,
            "expires_in": s.expires_in,
            "token_type": "bearer",
            "scope": null,
            "refresh_token": s.refresh_token,
            "refresh_expires_in": REFRESH_EXPIRES_IN,
            "download_token": s.token,
        }))
        .into_response(),
        Err(e) if e.code == ErrorCode::InvalidRequest => reply(error(&e)),
        Err(e) => {
            let status = if e.code == ErrorCode::TooManyAttempts {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            (
                status,
                AxJson(json!({"error": "need_login", "error_message": e.message})),
            )
                .into_response()
        }
    }
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

/// Plans one bulk request: its credentials (or the bulk call's), its op, and how to render it.
fn plan(
    feed: &Feed<Option<Kind>>,
    outer: &Result<(Principal, String)>,
    app: Option<&str>,
    catalog: &Catalog,
    req: Json,
) -> (Option<Kind>, BulkItem) {
    let planned = (|| {
        let headers = request_headers(req.get("headers"));
        let (who, app) = match token_of(&|n: &str| headers.get(n).cloned())? {
            Some(token) => feed
                .rt
                .block_on(caller(&feed.state.engine, Some(token), app))?,
            None => outer.clone()?,
        };
        let method = req["method"].as_str().unwrap_or("GET").to_ascii_uppercase();
        let url_text = req["url"]
            .as_str()
            .ok_or_else(|| Error::invalid("each request needs a url"))?;
        let (path, query) = url::split(url_text);
        // "/v10/Accounts", also accepted with a leading "/rest".
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
        let writes = matches!(method.as_str(), "POST" | "PUT")
            && !matches!(segs.last(), Some(&"filter" | &"count"));
        let params = params_of(query, data.as_ref().filter(|_| !writes))?;
        let max = feed.state.engine.settings().max_page_size;
        let (op, kind) = decode(&app, &method, &segs[1..], &params, data, max)?;
        Ok::<_, Error>((who, precheck(catalog, op), kind))
    })();
    match planned {
        Ok((who, op, kind)) => (Some(kind), BulkItem::new(Ok(who), move |_| Ok(op))),
        Err(e) => (None, BulkItem::failed(e)),
    }
}

/// `POST …/bulk`: requests run in order in one transaction; a failing one does not stop the rest.
async fn bulk(
    state: &State,
    app: Option<&str>,
    outer_token: Option<String>,
    bytes: Bytes,
) -> Response {
    let result = async {
        let outer = caller(&state.engine, outer_token, app).await;
        let catalog = state.engine.catalog();
        let app = app.map(str::to_owned);
        feed::run(
            state,
            bytes,
            "bulk request: the body must be {\"requests\": [...]}",
            move |de, feed| {
                let each = |req: Json| {
                    let (kind, item) = plan(feed, &outer, app.as_deref(), &catalog, req);
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
        )
        .await
    }
    .await;
    match result {
        Ok(results) => AxJson(Json::Array(
            results
                .into_iter()
                .map(|(kind, r)| {
                    let (status, contents) = match kind {
                        Some(kind) => encode(kind, r),
                        None => error(
                            &r.err()
                                .unwrap_or_else(|| Error::internal("bulk request without result")),
                        ),
                    };
                    json!({"contents": contents, "headers": [], "status": status.as_u16()})
                })
                .collect(),
        ))
        .into_response(),
        Err(e) => reply(error(&e)),
    }
}
