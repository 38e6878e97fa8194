//! Numbered jobs (`JobRequest::numbered`): keys given as record numbers are read as the records
//! they stand for, and every record a chunk's rows touch gets a number, in the chunk's own
//! transaction, so the result file can show it.

use super::rows::{PreparedRow, RowPlan};
use crate::core::Ctx;
use crate::error::Result;
use crate::model::{AliasKind, Value};

/// For a job keyed by id: the rows whose key is a record number, with the id it stands for in its
/// place (`None` for a row left as it is; an unknown number stays, and finds no record).
pub fn translate_keys(
    ctx: &mut Ctx<'_>,
    plan: &RowPlan,
    rows: &[&PreparedRow],
) -> Result<Vec<Option<PreparedRow>>> {
    if plan.key_field().is_some() {
        return Ok(vec![None; rows.len()]);
    }
    let numbers: Vec<Option<u64>> = rows
        .iter()
        .map(|r| match &r.key {
            Some(Value::Text(t)) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                t.parse().ok()
            }
            _ => None,
        })
        .collect();
    let asked: Vec<u64> = numbers.iter().flatten().copied().collect();
    if asked.is_empty() {
        return Ok(vec![None; rows.len()]);
    }
    let mut ids = ctx.tx.alias_ids(AliasKind::Record, &asked)?.into_iter();
    Ok(rows
        .iter()
        .zip(numbers)
        .map(|(r, n)| {
            let id = n.and_then(|_| ids.next().flatten())?;
            let mut row = (*r).clone();
            row.key = Some(Value::Text(id));
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
