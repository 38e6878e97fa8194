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

pub fn fields_of(params: &Map<String, Json>) -> Option<Vec<String>> {
    params.get("fields").map(|f| {
        text(f)
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    })
}

pub fn list_spec(params: &Map<String, Json>, max: usize) -> Result<(ListSpec, u64)> {
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
