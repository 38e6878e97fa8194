//! Backand's request parameters: paging, `sort` and `filter` (JSON, or JSON strings), `search`,
//! `exclude`, flags, and the ones sluice refuses.

use super::super::text;
use serde_json::{Map, Value as Json};
use sluice_engine::ops::{Filter, FilterOp, ListSpec};
use sluice_engine::{Error, Result};

/// Backand's page size when the caller names none.
const DEFAULT_PAGE_SIZE: usize = 20;

pub fn flag(params: &Map<String, Json>, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| matches!(text(v).as_str(), "true" | "1"))
}

/// A parameter holding JSON, given either as JSON or as a JSON string.
pub fn json_param(params: &Map<String, Json>, name: &str) -> Result<Option<Json>> {
    match params.get(name) {
        None => Ok(None),
        Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Json::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| Error::invalid(format!("{name} is not valid JSON")).with_field(name)),
        Some(other) => Ok(Some(other.clone())),
    }
}

/// Backand's filter operators → engine filters.
fn operator(op: &str) -> Option<FilterOp> {
    Some(match op {
        "equals" => FilterOp::Eq,
        "notEquals" => FilterOp::Ne,
        "greaterThan" => FilterOp::Gt,
        "greaterThanOrEqualsTo" => FilterOp::Gte,
        "lessThan" => FilterOp::Lt,
        "lessThanOrEqualsTo" => FilterOp::Lte,
        "contains" => FilterOp::Contains,
        "notContains" => FilterOp::NotContains,
        "startsWith" => FilterOp::StartsWith,
        "endsWith" => FilterOp::EndsWith,
        "empty" => FilterOp::IsNull,
        "notEmpty" => FilterOp::NotNull,
        "in" => FilterOp::In,
        _ => return None,
    })
}

/// Relation parameters Backand documents that sluice does not answer: `deep` on lists and in bulk
/// commands (one record's read takes it: `deep.rs`), `relatedObjects` (a map of related records
/// beside the list) and `level` (how deep). Refused when given rather than answered without what
/// they ask for.
const UNSUPPORTED: [&str; 3] = ["deep", "relatedObjects", "level"];

pub fn refuse_unsupported(params: &Map<String, Json>) -> Result<()> {
    let given = |v: &Json| !matches!(text(v).trim(), "" | "false" | "0");
    match UNSUPPORTED
        .iter()
        .find(|n| params.get(**n).is_some_and(given))
    {
        Some(name) => Err(Error::invalid(format!(
            "the parameter {name} is not supported by this server here (deep: on one record's GET only)"
        ))
        .with_field(*name)),
        None => Ok(()),
    }
}

/// `exclude`: `metadata`, `totalRows`, or both comma-separated (the SDK's `exclude.options`);
/// whether each part stays.
pub fn included(params: &Map<String, Json>) -> (bool, bool) {
    let ex = params.get("exclude").map(text).unwrap_or_default();
    let has = |what: &str| ex.split(',').any(|p| p.trim().eq_ignore_ascii_case(what));
    (!has("metadata"), !has("totalRows"))
}

pub fn list_spec(params: &Map<String, Json>, max: usize) -> Result<ListSpec> {
    let number = |name: &str, default: usize| -> Result<usize> {
        params.get(name).map_or(Ok(default), |v| {
            text(v).trim().parse().map_err(|_| {
                Error::invalid(format!("{name} must be a whole number")).with_field(name)
            })
        })
    };
    let size = number("pageSize", DEFAULT_PAGE_SIZE)?.clamp(1, max);
    let page = number("pageNumber", 1)?.max(1);
    let mut spec = ListSpec {
        limit: Some(size),
        offset: Some(((page - 1) * size) as u64),
        count: true,
        // "search – Free text filter search" (Backand REST API description).
        search: params.get("search").map(text),
        ..Default::default()
    };
    if let Some(sort) = json_param(params, "sort")? {
        let items = match sort {
            Json::Array(a) => a,
            one => vec![one],
        };
        for s in items {
            let field = s["fieldName"]
                .as_str()
                .ok_or_else(|| Error::invalid("each sort needs a fieldName"))?;
            let desc = s["order"]
                .as_str()
                .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
            spec.sort.push((field.to_owned(), desc));
        }
    }
    if let Some(filter) = json_param(params, "filter")? {
        let items = match filter {
            Json::Array(a) => a,
            one => vec![one],
        };
        for f in items {
            let field = f["fieldName"]
                .as_str()
                .ok_or_else(|| Error::invalid("each filter needs a fieldName"))?;
            let name = f["operator"].as_str().unwrap_or("equals");
            let op = operator(name)
                .ok_or_else(|| Error::invalid(format!("unknown filter operator {name:?}")))?;
            spec.filter.push(Filter::Cmp {
                field: field.to_owned(),
                op,
                value: f["value"].clone(),
            });
        }
    }
    Ok(spec)
}
