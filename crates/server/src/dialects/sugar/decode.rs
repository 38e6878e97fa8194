//! Sugar calls below the version → engine ops: a module is an object of the app (unknown ones are
//! `no_method`, as Sugar has no route for them), with the list, filter, count and record routes of
//! `FilterApi` and `ModuleApi` and the parameters each reads, and `RelateApi`'s link routes.

use super::errors::no_method;
use super::links::{self, LinkCall};
use super::params::{fields_of, list_spec, params_of, refuse_unsupported, UNSUPPORTED_RECORD};
use super::records::input;
use super::Kind;
use crate::dialects::skeleton::Call;
use serde_json::{Map, Value as Json};
use sluice_engine::model::Catalog;
use sluice_engine::ops::{Op, Target};
use sluice_engine::{Error, ErrorCode, Result};

/// Request arguments that ride in a write's body but are parameters, not record keys (Sugar
/// merges body and query arguments, `RestService::getRequestArgs`; the query wins).
const WRITE_PARAMS: [&str; 3] = ["fields", "view", "erased_fields"];

/// Decodes one Sugar request (below the version) into an op and how to render it.
pub(super) fn decode(app: &str, call: Call, max: usize, catalog: &Catalog) -> Result<(Op, Kind)> {
    let segs: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
    let (method, params) = (call.method.as_str(), &call.params);
    let path = format!("/{}", segs.join("/"));
    let object = |m: &str| {
        catalog
            .app(app)
            .and_then(|a| a.object(m))
            .cloned()
            .ok_or_else(|| no_method(&path))
    };
    let mut data = call.data;
    let mut body = |m: &str| -> Result<Json> {
        let object = object(m)?;
        let data = data
            .take()
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "this request needs data"))?;
        Ok(input(data, &object))
    };
    let fields = fields_of(params)?;
    let t = |m: &str| Target::new(app, m);
    let rec = |m: &str, id: Option<&str>| -> Result<Kind> {
        refuse_unsupported(params, &UNSUPPORTED_RECORD)?;
        Ok(Kind::Record {
            module: m.to_owned(),
            id: id.map(str::to_owned),
            fields: fields.clone(),
        })
    };
    Ok(match (segs.as_slice(), method) {
        (["bulk"] | ["oauth2", ..] | ["me"] | ["ping", ..], _) => {
            return Err(Error::invalid(
                "this request cannot run inside a bulk request",
            ))
        }
        ([m], "GET") | ([m, "filter"], "GET" | "POST") => {
            object(m)?;
            let (spec, offset) = list_spec(params, max, true)?;
            (
                Op::ListRecords(t(m), spec),
                Kind::List {
                    module: m.to_string(),
                    fields,
                    offset,
                },
            )
        }
        // `FilterApi`: GET `<module>/count`, GET and POST `<module>/filter/count` (there is no
        // POST `<module>/count`).
        ([m, "count"], "GET") | ([m, "filter", "count"], "GET" | "POST") => {
            object(m)?;
            let (mut spec, _) = list_spec(params, max, false)?;
            spec.count = true;
            spec.limit = Some(1);
            (
                Op::ListRecords(t(m), spec),
                Kind::Count {
                    module: m.to_string(),
                },
            )
        }
        ([m], "POST") => {
            let kind = rec(m, None)?;
            (Op::CreateRecord(t(m), body(m)?.into()), kind)
        }
        ([m, id], "GET") => {
            object(m)?;
            (
                Op::GetRecord(t(m), id.to_string(), Vec::new()),
                rec(m, Some(id))?,
            )
        }
        ([m, id], "PUT") => {
            let kind = rec(m, Some(id))?;
            (
                Op::UpdateRecord(t(m), id.to_string(), body(m)?.into()),
                kind,
            )
        }
        ([m, id], "DELETE") => {
            object(m)?;
            (
                Op::DeleteRecord(t(m), id.to_string()),
                Kind::Deleted {
                    module: m.to_string(),
                    id: id.to_string(),
                },
            )
        }
        ([m, id, "link", l, rest @ ..], _) => {
            let a = catalog
                .app(app)
                .filter(|a| a.object(m).is_some())
                .ok_or_else(|| no_method(&path))?;
            let call = LinkCall {
                app_name: app,
                app: a,
                module: m,
                id,
                link: l,
                rest,
                method,
                params,
                fields,
            };
            links::decode(call, max).ok_or_else(|| no_method(&path))??
        }
        _ => return Err(no_method(&path)),
    })
}

/// A call below the version. Filter and count take their parameters from the body too; the
/// bodies of writes are records, less the parameters that ride in them.
pub(super) fn call_of(
    method: &str,
    path: &str,
    query: Option<&str>,
    data: Option<Json>,
) -> Result<Call> {
    let writes = matches!(method, "POST" | "PUT")
        && !matches!(
            path.trim_end_matches('/').rsplit('/').next(),
            Some("filter" | "count")
        );
    let mut data = data;
    let mut params: Map<String, Json> = params_of(query, data.as_ref().filter(|_| !writes))?;
    if writes {
        if let Some(Json::Object(m)) = data.as_mut() {
            for key in WRITE_PARAMS {
                if let Some(v) = m.remove(key) {
                    params.entry(key).or_insert(v);
                }
            }
        }
    }
    Ok(Call {
        method: method.to_owned(),
        path: path.to_owned(),
        params,
        data,
    })
}
