//! A chunk's relation values, resolved before its rows are applied: lookups become ids and ids
//! naming no record fail their row, in one set-wise pass over the chunk.

use super::rows::{PreparedRow, RowError};
use crate::core::Ctx;
use crate::error::Result;
use crate::model::{Object, Writes};
use crate::ops::resolve_refs;

/// The chunk's rows with their relation values resolved (a failing row carries its error), or
/// nothing when the object has no relation fields (the rows stand as they are).
pub fn resolve_rows(
    ctx: &mut Ctx<'_>,
    obj: &Object,
    rows: &[&PreparedRow],
) -> Result<Vec<PreparedRow>> {
    if obj.relations().next().is_none() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PreparedRow> = rows.iter().map(|r| (*r).clone()).collect();
    let mut owners = Vec::new();
    let mut writes: Vec<&mut Writes> = Vec::new();
    for (i, row) in out.iter_mut().enumerate() {
        if !row.errors.is_empty() {
            continue;
        }
        for w in [row.create.as_mut(), row.update.as_mut()]
            .into_iter()
            .flatten()
        {
            owners.push(i);
            writes.push(w);
        }
    }
    let failed = resolve_refs(ctx, obj, &mut writes)?;
    drop(writes);
    for (k, e) in failed {
        let row = &mut out[owners[k]];
        let e = RowError::from_error(e, "");
        if !row.errors.contains(&e) {
            row.errors.push(e);
        }
    }
    Ok(out)
}
