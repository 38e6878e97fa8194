//! Entry points for fuzzing (the `fuzzing` feature): each front door's decoding of untrusted input,
//! without an engine. Every function takes arbitrary bytes and must return, never panic; the
//! fuzz targets in `fuzz/` call them.

use crate::dialects::backand::{command_call, Backand};
use crate::dialects::fulcrum::Envelope;
use crate::dialects::skeleton::Vendor;
use crate::dialects::sugar::params::{list_spec as sugar_list, params_of};
use crate::dialects::sugar::{request_call, Sugar};
use crate::feed::Keyed;
use crate::native::bulk::BulkOp;
use crate::native::records::list_spec;
use crate::native::route::{parse, NativeRequest};
use crate::url;
use serde::de::DeserializeSeed;
use serde_json::Value as Json;
use sluice_engine::model::Catalog;
use std::marker::PhantomData;

/// The page size the decoders are given.
const MAX_PAGE: usize = 1000;

/// A native call: the first line is `METHOD /path?query`, the rest its JSON body.
pub fn native_request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (line, body) = text.split_once('\n').unwrap_or((&text, ""));
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let (path, query) = url::split(target);
    let body = serde_json::from_str(body).ok();
    let _ = parse(NativeRequest {
        method,
        path,
        query,
        body,
    });
    let _ = list_spec(query.unwrap_or_default());
}

/// A `/v1/bulk` body, framed as the server frames it, each entry routed.
pub fn native_bulk(data: &[u8]) {
    let mut de = serde_json::Deserializer::from_slice(data);
    let seed = Keyed {
        key: "operations",
        each: |op: BulkOp| {
            let (path, query) = url::split(&op.url);
            let method = op
                .method
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase();
            let _ = parse(NativeRequest {
                method: &method,
                path,
                query,
                body: op.body,
            });
            Ok(())
        },
        on_key: |key: &str, v: Json| key == "atomic" && v.is_boolean(),
        _t: PhantomData,
    };
    let _ = seed.deserialize(&mut de);
}

/// A Backand `/1/bulk` body: each command decoded as the shared record path decodes it.
pub fn backand(data: &[u8]) {
    let Ok(Json::Array(cmds)) = serde_json::from_slice(data) else {
        return;
    };
    for cmd in cmds {
        if let Ok(call) = command_call(cmd) {
            let _ = Backand::decode("app", call, MAX_PAGE, &Catalog::default());
        }
    }
}

/// A Sugar `/bulk` body's requests, and the bytes as a list query string.
pub fn sugar(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<Json>(data) {
        for req in body["requests"].as_array().into_iter().flatten() {
            if let Ok(call) = request_call(req) {
                let _ = Sugar::decode("app", call, MAX_PAGE, &Catalog::default());
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(params) = params_of(Some(&text), None) {
        let _ = sugar_list(&params, MAX_PAGE, true);
    }
}

/// A Zoho (Bigin, CRM) create-job body.
pub fn bigin(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<Json>(data) {
        let _ = crate::dialects::zoho::request::translate(body);
    }
}

/// A Fulcrum batch body.
pub fn fulcrum(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<Json>(data) {
        let _ = sluice_engine::ops::parse_body::<Envelope>(body, "batch");
    }
}
