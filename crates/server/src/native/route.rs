//! The native API's resource routes as one table: (method, path, query, body) → engine op. Both
//! the HTTP handlers and `/v1/bulk` entries go through it, so a bulk entry means exactly what the
//! single call means.

use super::records::list_spec;
use percent_encoding::percent_decode_str;
use serde_json::Value as Json;
use sluice_engine::ops::{Op, Target};
use sluice_engine::{Error, ErrorCode, Result};
use std::borrow::Cow;

/// A request in native terms, before it becomes an op.
pub struct NativeRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub body: Option<Json>,
}

fn decode(seg: &str) -> Result<Cow<'_, str>> {
    if !seg.contains('%') {
        return Ok(Cow::Borrowed(seg));
    }
    percent_decode_str(seg)
        .decode_utf8()
        .map_err(|_| Error::invalid("the path is not valid UTF-8"))
}

fn method_not_allowed(method: &str) -> Error {
    Error::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed here"),
    )
}

pub fn parse(req: NativeRequest<'_>) -> Result<Op> {
    let segs = req
        .path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(decode)
        .collect::<Result<Vec<_>>>()?;
    let segs: Vec<&str> = segs.iter().map(|s| s.as_ref()).collect();
    let m = req.method;
    // Each arm takes the body at most once, so it moves instead of being copied.
    let mut body = req.body;
    let mut body = || {
        body.take()
            .ok_or_else(|| Error::new(ErrorCode::InvalidJson, "this call needs a JSON body"))
    };
    let t = |a: &str, o: &str| Target::new(a, o);
    Ok(match (segs.as_slice(), m) {
        (["v1", "bulk"], _) => return Err(Error::invalid("bulk requests cannot be nested")),
        (["v1", "apps"], "GET") => Op::ListApps,
        (["v1", "apps"], "POST") => Op::CreateApp(body()?),
        (["v1", "apps", a], "GET") => Op::GetApp(a.to_string()),
        (["v1", "apps", a], "PATCH") => Op::PatchApp(a.to_string(), body()?),
        (["v1", "apps", a], "DELETE") => Op::DeleteApp(a.to_string()),
        (["v1", "apps", a, "objects"], "GET") => Op::ListObjects(a.to_string()),
        (["v1", "apps", a, "objects"], "POST") => Op::CreateObject(a.to_string(), body()?),
        (["v1", "apps", a, "objects", o], "GET") => Op::GetObject(t(a, o)),
        (["v1", "apps", a, "objects", o], "PATCH") => Op::PatchObject(t(a, o), body()?),
        (["v1", "apps", a, "objects", o], "DELETE") => Op::DeleteObject(t(a, o)),
        (["v1", "apps", a, "objects", o, "records"], "GET") => {
            Op::ListRecords(t(a, o), list_spec(req.query.unwrap_or(""))?)
        }
        (["v1", "apps", a, "objects", o, "records"], "POST") => {
            Op::CreateRecord(t(a, o), body()?.into())
        }
        (["v1", "apps", a, "objects", o, "records", id], "GET") => Op::GetRecord(
            t(a, o),
            id.to_string(),
            super::records::expand_of(req.query.unwrap_or(""))?,
        ),
        (["v1", "apps", a, "objects", o, "records", id], "PATCH") => {
            Op::UpdateRecord(t(a, o), id.to_string(), body()?.into())
        }
        (["v1", "apps", a, "objects", o, "records", id], "PUT") => {
            Op::ReplaceRecord(t(a, o), id.to_string(), body()?.into())
        }
        (["v1", "apps", a, "objects", o, "records", id], "DELETE") => {
            Op::DeleteRecord(t(a, o), id.to_string())
        }
        (["v1", "apps", a, "tokens"], "GET") => Op::ListTokens(a.to_string()),
        (["v1", "apps", a, "tokens"], "POST") => Op::CreateToken(a.to_string(), body()?),
        (["v1", "apps", a, "tokens", id], "DELETE") => {
            Op::DeleteToken(a.to_string(), id.to_string())
        }
        (["v1", "apps", a, "users"], "GET") => Op::ListUsers(a.to_string()),
        (["v1", "apps", a, "users"], "POST") => Op::CreateUser(a.to_string(), body()?.into()),
        (["v1", "apps", a, "users", n], "GET") => Op::GetUser(a.to_string(), n.to_string()),
        (["v1", "apps", a, "users", n], "PATCH") => {
            Op::PatchUser(a.to_string(), n.to_string(), body()?.into())
        }
        (["v1", "apps", a, "users", n], "DELETE") => Op::DeleteUser(a.to_string(), n.to_string()),
        (
            ["v1", "apps"]
            | ["v1", "apps", _]
            | ["v1", "apps", _, "objects" | "tokens" | "users"]
            | ["v1", "apps", _, "objects", _]
            | ["v1", "apps", _, "objects", _, "records"]
            | ["v1", "apps", _, "objects", _, "records", _]
            | ["v1", "apps", _, "tokens", _]
            | ["v1", "apps", _, "users", _],
            _,
        ) => return Err(method_not_allowed(m)),
        _ => return Err(Error::not_found(format!("no endpoint at {}", req.path))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(method: &str, path: &str, query: Option<&str>, body: Option<Json>) -> Result<Op> {
        parse(NativeRequest {
            method,
            path,
            query,
            body,
        })
    }

    #[test]
    fn routes_records() {
        let t = Target::new("crm", "contacts");
        assert_eq!(
            p(
                "GET",
                "/v1/apps/crm/objects/contacts/records/abc",
                None,
                None
            ),
            Ok(Op::GetRecord(t.clone(), "abc".into(), Vec::new()))
        );
        assert_eq!(
            p(
                "POST",
                "/v1/apps/crm/objects/contacts/records/",
                None,
                Some(json!({}))
            ),
            Ok(Op::CreateRecord(t, json!({}).into()))
        );
        assert_eq!(
            p("GET", "/v1/apps/crm/users/a%40b.c", None, None),
            Ok(Op::GetUser("crm".into(), "a@b.c".into()))
        );
    }

    #[test]
    fn refuses_what_is_not_a_route() {
        assert_eq!(
            p("PUT", "/v1/apps", None, None).unwrap_err().code,
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            p("GET", "/v1/nope", None, None).unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            p("POST", "/v1/apps", None, None).unwrap_err().code,
            ErrorCode::InvalidJson
        );
        assert_eq!(
            p("POST", "/v1/bulk", None, None).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }
}
