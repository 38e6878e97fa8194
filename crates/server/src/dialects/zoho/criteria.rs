//! Zoho's Bulk Read criteria as the engine's filter: groups (`group_operator` and/or, `group`),
//! criteria (`field {api_name}`, or `api_name` as Bigin's v1 pages write it, `comparator`,
//! `value`) within Zoho's limits, and record numbers compared with id columns read as the ids
//! they stand for. The JSON's depth is bounded before anything walks it.

use super::read_wire::{refusal, Refusal};
use super::wire::{column_of, numeric};
use crate::State;
use serde_json::{json, Map, Value as Json};
use sluice_engine::model::{json_depth, AliasKind, Filter, FilterOp, Object};
use sluice_engine::settings::defaults::MAX_VALUE_DEPTH;
use std::collections::HashMap;

/// Criteria one job may hold, and values all its criteria may list (Zoho's create-bulk-read
/// page: `CRITERIA_LIMIT_EXCEEDED` at 25, `VALUE_LIMIT_EXCEEDED_IN_CRITERIA` at 200).
const ZOHO_MAX_CRITERIA: usize = 25;
const ZOHO_MAX_CRITERIA_VALUES: usize = 200;

/// What a number standing for nothing becomes: the nil UUID, which no record id is (they are
/// UUID v7), so it matches no record, as Zoho's unknown ids do.
const NO_RECORD: &str = "00000000-0000-0000-0000-000000000000";

/// The comparators of Zoho's Bulk Read criteria (its `Criteria.comparator` values).
const COMPARATORS: [&str; 14] = [
    "equal",
    "not_equal",
    "in",
    "not_in",
    "less_than",
    "less_equal",
    "greater_than",
    "greater_equal",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "between",
    "not_between",
];

/// Whether `column` holds record ids, which Zoho clients send as numbers: `id` and relation fields.
fn holds_ids(obj: &Object, column: &str) -> bool {
    column == "id" || obj.field(column).is_some_and(|(_, f)| f.relation.is_some())
}

fn invalid_criteria(message: &str, details: Json) -> Refusal {
    refusal("INVALID_CRITERIA", message, details)
}

/// Running totals while criteria are read, against Zoho's limits.
#[derive(Default)]
struct Counts {
    criteria: usize,
    values: usize,
}

/// One criterion or group as the engine's filter. The caller bounds the nesting (the JSON's
/// depth is checked before the first call), so the recursion is bounded too.
fn criterion(obj: &Object, v: &Json, n: &mut Counts) -> Result<Filter, Refusal> {
    let o = v
        .as_object()
        .ok_or_else(|| invalid_criteria("a criterion is an object", json!({})))?;
    if let Some(group) = o.get("group") {
        let op = text(o, "group_operator").map(str::to_ascii_lowercase);
        let supported = || {
            refusal(
                "GROUP_OPERATOR_NOT_SUPPORTED",
                "the group operator is not supported",
                json!({"supported": ["and", "or"]}),
            )
        };
        let items = group
            .as_array()
            .filter(|g| !g.is_empty())
            .ok_or_else(|| invalid_criteria("group is a list of criteria", json!({})))?;
        let fs = items
            .iter()
            .map(|c| criterion(obj, c, n))
            .collect::<Result<Vec<_>, _>>()?;
        return match op.as_deref() {
            Some("and") => Ok(Filter::And(fs)),
            Some("or") => Ok(Filter::Or(fs)),
            _ => Err(supported()),
        };
    }
    let api = o
        .get("field")
        .and_then(|f| f.get("api_name"))
        .and_then(Json::as_str)
        .or_else(|| text(o, "api_name"))
        .ok_or_else(|| invalid_criteria("a criterion names its field", json!({})))?;
    let comparator = text(o, "comparator").unwrap_or_default();
    let details = || json!({"api_name": api, "comparator": comparator});
    if !COMPARATORS.contains(&comparator) {
        return Err(invalid_criteria("the comparator is not valid", details()));
    }
    let field = column_of(obj, api).ok_or_else(|| {
        refusal(
            "FIELD_IN_CRITERIA_NOT_AVAILABLE",
            &format!("the field {api} in the criteria is not available"),
            json!({"api_name": api}),
        )
    })?;
    let value = o
        .get("value")
        .ok_or_else(|| invalid_criteria("a criterion has a value", details()))?;
    let list = match value {
        Json::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            Some(items.as_slice())
        }
        Json::Array(_) | Json::Object(_) => {
            return Err(invalid_criteria(
                "a value is a value or a list of values",
                details(),
            ))
        }
        _ => None,
    };
    n.criteria += 1;
    n.values += list.map_or(1, <[Json]>::len);
    if n.criteria > ZOHO_MAX_CRITERIA {
        return Err(refusal(
            "CRITERIA_LIMIT_EXCEEDED",
            "criteria limit exceeded",
            json!({"max_limit": ZOHO_MAX_CRITERIA}),
        ));
    }
    if n.values > ZOHO_MAX_CRITERIA_VALUES {
        return Err(refusal(
            "VALUE_LIMIT_EXCEEDED_IN_CRITERIA",
            "value limit exceeded in criteria",
            json!({"max_limit": ZOHO_MAX_CRITERIA_VALUES}),
        ));
    }
    let cmp = |op, value: &Json| Filter::Cmp {
        field: field.clone(),
        op,
        value: value.clone(),
    };
    let pair = || match list {
        Some([lo, hi]) => Ok((lo, hi)),
        _ => Err(refusal(
            "COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE",
            "between takes a list of two values",
            details(),
        )),
    };
    Ok(match comparator {
        "equal" if value.is_null() => cmp(FilterOp::IsNull, &json!(true)),
        "not_equal" if value.is_null() => cmp(FilterOp::NotNull, &json!(true)),
        "equal" => cmp(FilterOp::Eq, value),
        "not_equal" => cmp(FilterOp::Ne, value),
        "in" => cmp(FilterOp::In, value),
        "not_in" => cmp(FilterOp::NotIn, value),
        "less_than" => cmp(FilterOp::Lt, value),
        "less_equal" => cmp(FilterOp::Lte, value),
        "greater_than" => cmp(FilterOp::Gt, value),
        "greater_equal" => cmp(FilterOp::Gte, value),
        "contains" => cmp(FilterOp::Contains, value),
        "not_contains" => cmp(FilterOp::NotContains, value),
        "starts_with" => cmp(FilterOp::StartsWith, value),
        "ends_with" => cmp(FilterOp::EndsWith, value),
        "between" => {
            pair()?;
            cmp(FilterOp::Between, value)
        }
        // Outside the range, as SQL's NOT BETWEEN: an empty value matches neither side.
        _ => {
            let (lo, hi) = pair()?;
            Filter::Or(vec![cmp(FilterOp::Lt, lo), cmp(FilterOp::Gt, hi)])
        }
    })
}

/// The record numbers a filter compares id columns with (digits, as text or as numbers).
fn numbers_in(obj: &Object, f: &Filter, out: &mut Vec<u64>) {
    match f {
        Filter::And(fs) | Filter::Or(fs) => fs.iter().for_each(|f| numbers_in(obj, f, out)),
        Filter::Cmp { field, value, .. } if holds_ids(obj, field) => {
            let one = |v: &Json| match v {
                Json::String(s) => numeric(s),
                Json::Number(n) => n.as_u64(),
                _ => None,
            };
            match value {
                Json::Array(items) => out.extend(items.iter().filter_map(one)),
                v => out.extend(one(v)),
            }
        }
        Filter::Cmp { .. } => {}
    }
}

/// Puts the ids numbers stand for in their place.
fn renumber(obj: &Object, f: &mut Filter, ids: &HashMap<u64, String>) {
    match f {
        Filter::And(fs) | Filter::Or(fs) => fs.iter_mut().for_each(|f| renumber(obj, f, ids)),
        Filter::Cmp { field, value, .. } if holds_ids(obj, field) => {
            let swap = |v: &mut Json| {
                let n = match v {
                    Json::String(s) => numeric(s),
                    Json::Number(n) => n.as_u64(),
                    _ => None,
                };
                if let Some(id) = n.and_then(|n| ids.get(&n)) {
                    *v = Json::String(id.clone());
                }
            };
            match value {
                Json::Array(items) => items.iter_mut().for_each(swap),
                v => swap(v),
            }
        }
        Filter::Cmp { .. } => {}
    }
}

/// The criteria as a filter, with record numbers read as the records they stand for.
pub async fn filter(state: &State, obj: &Object, criteria: &Json) -> Result<Vec<Filter>, Refusal> {
    if criteria.is_null() {
        return Ok(Vec::new());
    }
    // Bounded before anything walks it: a criteria tree nests no deeper than a stored value.
    if json_depth(criteria) > MAX_VALUE_DEPTH {
        return Err(invalid_criteria(
            &format!("the criteria nest more than {MAX_VALUE_DEPTH} levels deep"),
            json!({}),
        ));
    }
    let mut f = criterion(obj, criteria, &mut Counts::default())?;
    let mut asked = Vec::new();
    numbers_in(obj, &f, &mut asked);
    if !asked.is_empty() {
        asked.sort_unstable();
        asked.dedup();
        let found = state
            .engine
            .aliases()
            .ids_of(AliasKind::Record, asked.clone())
            .await?;
        let ids = asked
            .into_iter()
            .zip(found)
            .map(|(n, id)| (n, id.unwrap_or_else(|| NO_RECORD.to_owned())))
            .collect();
        renumber(obj, &mut f, &ids);
    }
    Ok(vec![f])
}

fn text<'a>(o: &'a Map<String, Json>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Json::as_str)
}
