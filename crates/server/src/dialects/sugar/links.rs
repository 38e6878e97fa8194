//! Sugar's related-records routes (`RelateApi`, `clients/base/api/RelateApi.php`):
//! `<module>/<id>/link/<link>` and its `filter`, `count` and `filter/count` forms, with the module
//! filter API's arguments, as lists of the records the link reaches (`ListSpec.linked`).
//!
//! Link names (ours; Sugar's come from vardefs): a relation field of the module is a forward link
//! (the one record it points at); an object pointing at the module is a reverse link (its records
//! that point at this one), named as `dialects::links` names it.

use super::params::list_spec;
use super::Kind;
use crate::dialects::links;
use serde_json::{Map, Value as Json};
use sluice_engine::model::App;
use sluice_engine::ops::{Linked, Op, Target};
use sluice_engine::{Error, Result};

/// `RelateApi::checkRelatedSecurity`'s 404 for a link the module does not have.
fn no_relationship(link: &str) -> Error {
    Error::not_found(format!("Could not find a relationship named: {link}"))
}

/// The object `link` of `module` reaches, and how (`Linked` without the record).
fn resolve(app: &App, module: &str, link: &str) -> Option<(String, String, bool)> {
    let obj = app.object(module)?;
    if let Some(r) = obj.field(link).and_then(|(_, f)| f.relation.as_ref()) {
        return Some((r.object.clone(), link.to_owned(), true));
    }
    links::reverse(app, module)
        .into_iter()
        .find(|r| r.name == link)
        .map(|r| (r.object, r.field, false))
}

/// What a link route asks: `rest` is what follows `link/<link>` (`[]`, `filter`, `count`,
/// `filter/count`).
pub(super) struct LinkCall<'a> {
    pub app_name: &'a str,
    pub app: &'a App,
    pub module: &'a str,
    pub id: &'a str,
    pub link: &'a str,
    pub rest: &'a [&'a str],
    pub method: &'a str,
    pub params: &'a Map<String, Json>,
    pub fields: Option<Vec<String>>,
}

/// The op and rendering of a link route, or `None` when the path and method are no link route.
pub(super) fn decode(c: LinkCall<'_>, max: usize) -> Option<Result<(Op, Kind)>> {
    let count = match (c.rest, c.method) {
        ([], "GET") | (["filter"], "GET" | "POST") => false,
        (["count"], "GET") | (["filter", "count"], "GET" | "POST") => true,
        _ => return None,
    };
    Some(decode_route(c, max, count))
}

fn decode_route(c: LinkCall<'_>, max: usize, count: bool) -> Result<(Op, Kind)> {
    let (target, field, forward) =
        resolve(c.app, c.module, c.link).ok_or_else(|| no_relationship(c.link))?;
    let (mut spec, offset) = list_spec(c.params, max, !count)?;
    spec.linked = Some(Box::new(Linked {
        object: c.module.to_owned(),
        id: c.id.to_owned(),
        field,
        forward,
    }));
    let inner = if count {
        spec.count = true;
        spec.limit = Some(1);
        Kind::Count {
            module: target.clone(),
        }
    } else {
        Kind::List {
            module: target.clone(),
            fields: c.fields,
            offset,
        }
    };
    Ok((
        Op::ListRecords(Target::new(c.app_name, &target), spec),
        Kind::Link {
            parent: c.module.to_owned(),
            id: c.id.to_owned(),
            inner: Box::new(inner),
        },
    ))
}
