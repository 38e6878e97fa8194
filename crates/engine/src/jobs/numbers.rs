//! Numbered jobs (`JobRequest::numbered`): keys and `id` lookups given as record numbers are read
//! as the records they stand for, and every record a chunk's rows touch gets a number, in the chunk's own
//! transaction, so the result file can show it.

use super::rows::{PreparedRow, RowPlan};
use crate::core::Ctx;
use crate::error::Result;
use crate::model::{AliasKind, Value};
use std::collections::HashMap;

/// A record number written as text: digits only.
fn number_in(t: &str) -> Option<u64> {
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

/// The number an `id` lookup of a relation cell holds (Zoho's `find_by: "id"` on a lookup field).
fn lookup_number(v: &Value) -> Option<u64> {
    match v {
        Value::Lookup(l) if l.field == "id" => l.key.as_str().and_then(number_in),
        _ => None,
    }
}

/// The values a row writes.
fn writes(r: &PreparedRow) -> impl Iterator<Item = &Value> {
    [r.create.as_ref(), r.update.as_ref()]
        .into_iter()
        .flatten()
        .flat_map(|w| w.0.iter().map(|(_, v)| v))
}

/// For a numbered job: the rows whose key (in a job keyed by id) or whose `id` lookups are record
/// numbers, with the ids they stand for in their place (`None` for a row left as it is; an unknown
/// number stays, and finds no record).
pub fn translate_keys(
    ctx: &mut Ctx<'_>,
    plan: &RowPlan,
    rows: &[&PreparedRow],
) -> Result<Vec<Option<PreparedRow>>> {
    let by_id = plan.key_field().is_none();
    let key_number = |r: &PreparedRow| match &r.key {
        Some(Value::Text(t)) if by_id => number_in(t),
        _ => None,
    };
    let mut asked: Vec<u64> = Vec::new();
    for r in rows {
        asked.extend(key_number(r));
        asked.extend(writes(r).filter_map(lookup_number));
    }
    if asked.is_empty() {
        return Ok(vec![None; rows.len()]);
    }
    asked.sort_unstable();
    asked.dedup();
    let found = ctx.tx.alias_ids(AliasKind::Record, &asked)?;
    let ids: HashMap<u64, String> = asked
        .iter()
        .zip(found)
        .filter_map(|(n, id)| Some((*n, id?)))
        .collect();
    let id_of = |n: Option<u64>| n.and_then(|n| ids.get(&n)).cloned();
    Ok(rows
        .iter()
        .map(|r| {
            let key = id_of(key_number(r));
            let looked = writes(r)
                .into_iter()
                .any(|v| id_of(lookup_number(v)).is_some());
            if key.is_none() && !looked {
                return None;
            }
            let mut row = (*r).clone();
            if let Some(id) = key {
                row.key = Some(Value::Text(id));
            }
            for w in [row.create.as_mut(), row.update.as_mut()]
                .into_iter()
                .flatten()
            {
                for (_, v) in w.0.iter_mut() {
                    if let Some(id) = id_of(lookup_number(v)) {
                        *v = Value::Text(id);
                    }
                }
            }
            Some(row)
        })
        .collect())
}

/// The numbers of the records `ids` name (allocated as needed; `None` for an empty id).
pub fn number_records(ctx: &mut Ctx<'_>, ids: &[&str]) -> Result<Vec<Option<u64>>> {
    let named: Vec<&str> = ids.iter().copied().filter(|id| !id.is_empty()).collect();
    let mut numbers = ctx
        .tx
        .alias_numbers(AliasKind::Record, &named, true)?
        .into_iter();
    Ok(ids
        .iter()
        .map(|id| match id.is_empty() {
            true => None,
            false => numbers.next().flatten(),
        })
        .collect())
}
