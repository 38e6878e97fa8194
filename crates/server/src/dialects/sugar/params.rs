//! Sugar's request parameters: bracketed query keys (`filter[0][name][$starts]=A`) nested into
//! JSON, its filter language, field lists, paging and ordering.

use super::super::text;
use serde_json::{Map, Value as Json};
use sluice_engine::ops::{Filter, FilterOp, ListSpec};
use sluice_engine::{Error, Result};

/// Sugar's page size when the caller names none.
const DEFAULT_MAX_NUM: usize = 20;
/// Sugar's own field names for sluice's system fields.
fn field_name(sugar: &str) -> &str {
    match sugar {
        "date_entered" => "created_at",
        "date_modified" => "updated_at",
        "modified_user_id" => "updated_by",
        other => other,
    }
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
        // `FilterApi::filterListSetup`.
        other => {
            return Err(Error::invalid(format!(
                "Unexpected filter type {}.",
                php_type(other)
            )))
        }
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

/// PHP's `gettype` of a decoded JSON value, as Sugar's messages name types.
fn php_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "NULL",
        Json::Bool(_) => "boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Json::Number(_) => "double",
        Json::String(_) => "string",
        Json::Array(_) | Json::Object(_) => "array",
    }
}

/// PHP's `empty()`: Sugar reads most flags and options this way, so `"0"`, `""`, `false`, `null`
/// and empty arrays are "not given".
pub fn php_empty(v: Option<&Json>) -> bool {
    match v {
        None | Some(Json::Null) => true,
        Some(Json::Bool(b)) => !b,
        Some(Json::Number(n)) => n.as_f64() == Some(0.0),
        Some(Json::String(s)) => s.is_empty() || s == "0",
        Some(Json::Array(a)) => a.is_empty(),
        Some(Json::Object(m)) => m.is_empty(),
    }
}

/// A parameter that is a whole number (digits, with a sign), as a number.
fn whole(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// PHP's `(int)` cast of a parameter: the leading integer of a string, else 0.
fn php_int(v: &Json) -> i64 {
    match v {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Json::Bool(b) => i64::from(*b),
        Json::String(s) => {
            let t = s.trim_start();
            let (sign, digits) = match t.strip_prefix('-') {
                Some(rest) => (-1, rest),
                None => (1, t.strip_prefix('+').unwrap_or(t)),
            };
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            digits[..end].parse::<i64>().map_or(0, |n| sign * n)
        }
        _ => 0,
    }
}

/// Sugar list parameters sluice does not implement (favourites, ownership, view metadata, saved
/// filters, null ordering, erased fields). Refused when given rather than silently ignored, since
/// ignoring them would answer with records the client did not ask for.
pub const UNSUPPORTED_LIST: [&str; 6] = [
    "favorites",
    "my_items",
    "view",
    "filter_id",
    "nulls_last",
    "erased_fields",
];
/// Of those, the ones Sugar's single-record endpoints read.
pub const UNSUPPORTED_RECORD: [&str; 2] = ["view", "erased_fields"];

/// Refuses any of `names` that is given (not PHP-empty).
pub fn refuse_unsupported(params: &Map<String, Json>, names: &[&str]) -> Result<()> {
    match names.iter().find(|n| !php_empty(params.get(**n))) {
        Some(name) => Err(Error::invalid(format!(
            "the parameter {name} is not supported by this server"
        ))
        .with_field(*name)),
        None => Ok(()),
    }
}

/// `fields`: a comma-separated string, or an array of names or of `{"name": …}` objects
/// (`SugarApi::normalizeFields`); empty means all fields.
pub fn fields_of(params: &Map<String, Json>) -> Result<Option<Vec<String>>> {
    let Some(f) = params.get("fields").filter(|f| !php_empty(Some(f))) else {
        return Ok(None);
    };
    let names: Vec<String> = match f {
        Json::String(s) => s.split(',').map(|s| s.trim().to_owned()).collect(),
        Json::Array(_) | Json::Object(_) => {
            let items: Vec<&Json> = match f {
                Json::Array(a) => a.iter().collect(),
                Json::Object(m) => m.values().collect(),
                _ => Vec::new(),
            };
            items
                .into_iter()
                .filter_map(|item| match item {
                    Json::Object(m) => m.get("name").map(text),
                    other => Some(text(other)),
                })
                .collect()
        }
        other => {
            return Err(Error::invalid(format!(
                "Fields must be string or array, {} is given",
                php_type(other)
            ))
            .with_field("fields"))
        }
    };
    Ok(Some(names.into_iter().filter(|s| !s.is_empty()).collect()))
}

/// A list request. `search` says whether `q` (free text) applies here: lists and filters take
/// it, counts do not (Sugar's count ignores it).
pub fn list_spec(params: &Map<String, Json>, max: usize, search: bool) -> Result<(ListSpec, u64)> {
    refuse_unsupported(params, &UNSUPPORTED_LIST)?;
    // `max_num` must be a whole number (Sugar answers `invalid_parameter` to `max_num=abc`); a
    // negative one means "no limit" (here: the largest page). `offset` is read as PHP reads it.
    let limit = match params.get("max_num") {
        v if php_empty(v) => DEFAULT_MAX_NUM,
        Some(v) => match whole(v) {
            Some(n) if n < 0 => max,
            Some(0) => DEFAULT_MAX_NUM,
            Some(n) => usize::try_from(n).unwrap_or(max),
            None => {
                return Err(Error::invalid(format!(
                    "max_num must be a whole number, not {}",
                    text(v)
                ))
                .with_field("max_num"))
            }
        },
        None => DEFAULT_MAX_NUM,
    }
    .clamp(1, max);
    let offset = params.get("offset").map_or(0, php_int).max(0) as u64;
    let mut spec = ListSpec {
        limit: Some(limit),
        offset: Some(offset),
        ..Default::default()
    };
    if search && !php_empty(params.get("q")) {
        // `FilterApi::filterList`: a search takes no filter and no deleted records.
        if !php_empty(params.get("filter")) || !php_empty(params.get("deleted")) {
            return Err(
                Error::invalid("q cannot be combined with filter or deleted").with_field("q"),
            );
        }
        spec.search = params.get("q").map(text);
    }
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
    // An empty string is no filter (`FilterApi`: "Empty filter definitions are supported").
    if let Some(f) = params.get("filter").filter(|f| f.as_str() != Some("")) {
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

/// Query parameters, and for filter/count POSTs the JSON body's keys too.
pub fn params_of(query: Option<&str>, data: Option<&Json>) -> Result<Map<String, Json>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::invalid("the query string is malformed"))?;
    let mut params = nest(pairs)?;
    if let Some(Json::Object(m)) = data {
        params.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Ok(params)
}
