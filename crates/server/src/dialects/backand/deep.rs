//! `deep=true` on one record's read (`GET /1/objects/{object}/{id}?deep=true`, Backand's REST API
//! description: "deep – When set to true, the response will contain the related objects"): the
//! record, and each collection (an object whose relation field points at it) as an array of its
//! records under the collection's name, as Backand's docs show `"items": [{…}, …]`. The record's
//! own relation fields keep the related record's id (ours: Backand's deep also nests the "one"
//! side; a relation value here stays an id so a record reads the same with and without `deep`).

use super::{meta, Backand, Kind};
use crate::dialects::links;
use crate::dialects::skeleton::{Call, Vendor};
use crate::State;
use axum::http::StatusCode;
use serde_json::Value as Json;
use sluice_engine::model::Principal;
use sluice_engine::ops::{Body, Linked, ListSpec, Op, Output, Target};
use sluice_engine::Error;
use std::sync::Arc;

/// The path's parts after `/1/objects/`: `[object, id]` for one record.
fn record_of(path: &str) -> Option<(&str, &str)> {
    match path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .collect::<Vec<_>>()[..]
    {
        ["1", "objects", o, id] => Some((o, id)),
        _ => None,
    }
}

/// Whether a call is one record's read with `deep` set (lists and bulk commands refuse it).
pub fn asked(call: &Call) -> bool {
    call.method == "GET"
        && record_of(&call.path).is_some()
        && super::params::flag(&call.params, "deep")
}

/// The record with its collections. The record and each collection are read one after the other
/// (not one snapshot); each collection holds at most `max_page_size` records, oldest first.
pub async fn get(state: &State, who: &Principal, app: &str, mut call: Call) -> (StatusCode, Json) {
    call.params.remove("deep");
    let Some((object, id)) = record_of(&call.path).map(|(o, i)| (o.to_owned(), i.to_owned()))
    else {
        return Backand::error(&Error::not_found("not a record's URL"));
    };
    let max = state.engine.settings().max_page_size;
    let catalog = state.engine.catalog();
    let (op, kind) = match Backand::decode(app, call, max, &catalog) {
        Ok(decoded) => decoded,
        Err(e) => return Backand::error(&e),
    };
    let with_metadata = matches!(&kind, Kind::Get { metadata: Some(_) });
    let mut record = match state.engine.run(who, op).await {
        Ok(out) => Backand::encode(kind, out),
        Err(e) => return Backand::error(&e),
    };
    let Some(a) = catalog.app(app) else {
        return Backand::error(&Error::not_found("the app is gone"));
    };
    for c in links::reverse(a, &object) {
        if record.get(&c.name).is_some() {
            continue; // a field of the same name wins
        }
        let spec = ListSpec {
            limit: Some(max),
            sort: vec![("created_at".into(), false)],
            linked: Some(Box::new(Linked {
                object: object.clone(),
                id: id.clone(),
                field: c.field.clone(),
                forward: false,
            })),
            ..Default::default()
        };
        let op = Op::ListRecords(Target::new(app, &c.object), spec);
        let items = match state.engine.run(who, op).await {
            Ok(Output::Ok(Body::List(l))) => {
                let collections = with_metadata.then(|| Arc::new(links::reverse(a, &c.object)));
                l.into_records()
                    .into_iter()
                    .map(|r| meta::record(r, collections.as_deref().map(Vec::as_slice)))
                    .collect()
            }
            Ok(_) => return Backand::error(&Error::internal("a list answered no list")),
            Err(e) => return Backand::error(&e),
        };
        if let Some(m) = record.as_object_mut() {
            m.insert(c.name, Json::Array(items));
        }
    }
    (StatusCode::OK, record)
}
