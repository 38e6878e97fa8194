//! Applying a chunk's rows in segments: a segment is a run of rows whose keys do not repeat, so
//! its keys are looked up together and its inserts, updates and deletes each go to the store as
//! one batch, with one outcome per row in input order. A repeated key starts a new segment, so a
//! row sees what an earlier row with the same key wrote, as if the rows ran one by one.

use super::result::RowStatus;
use super::rows::{PreparedRow, RowError, RowPlan};
use crate::core::Ctx;
use crate::error::{ErrorCode, Result};
use crate::model::{JobOp, Object, RecordId, Stamp, Value, Writes};
use crate::ops::{delete_following, explain_unique};
use crate::store::RowWrite;
use std::collections::HashSet;
use std::sync::Arc;

/// A row's outcome: its status (added, updated, skipped or deleted) and record id, or why it
/// failed.
pub type Outcome = std::result::Result<(RowStatus, String), Vec<RowError>>;

/// Applies `rows` in order; one outcome per row, and how many records deletes cascaded to.
pub fn apply_rows(
    ctx: &mut Ctx<'_>,
    obj: &Arc<Object>,
    plan: &RowPlan,
    rows: &[&PreparedRow],
    stamp: &Stamp,
) -> Result<(Vec<Outcome>, u64)> {
    // Every unique value the chunk may write is locked at once, before its lookups: the chunk then
    // waits only there, in the order every writer takes, and its later batches find them held.
    let writes: Vec<RowWrite<'_>> = rows
        .iter()
        .flat_map(|r| [&r.create, &r.update])
        .flatten()
        .map(|writes| RowWrite { id: "", writes })
        .collect();
    ctx.tx.lock_unique(obj, &writes)?;
    let mut out = Vec::with_capacity(rows.len());
    let mut cascaded = 0;
    let mut start = 0;
    while start < rows.len() {
        let mut seen = HashSet::new();
        let end = start
            + rows[start..]
                .iter()
                .take_while(|r| r.key.as_ref().is_none_or(|k| seen.insert(key_text(k))))
                .count()
                .max(1);
        out.extend(segment(
            ctx,
            obj,
            plan,
            &rows[start..end],
            stamp,
            &mut cascaded,
        )?);
        start = end;
    }
    Ok((out, cascaded))
}

/// A key as text for spotting repeats; ids compare in their canonical form.
fn key_text(k: &Value) -> String {
    match k {
        Value::Text(t) => {
            RecordId::parse(t).map_or_else(|_| t.clone(), |id| id.as_str().to_owned())
        }
        other => format!("{other:?}"),
    }
}

fn not_found(plan: &RowPlan) -> Vec<RowError> {
    let field = plan
        .key_field()
        .map_or("id", |i| plan.field_name(i))
        .to_owned();
    vec![RowError {
        code: ErrorCode::NotFound,
        message: format!("no record matches this {field}"),
        field,
    }]
}

/// What one row of a segment does once its key is looked up.
enum Step<'r> {
    Done(Outcome),
    Insert(String, &'r Writes),
    Update(String, &'r Writes),
    Delete(String),
}

/// The id a new record takes: the row's own when it is keyed by id, otherwise a fresh one.
fn new_id(row: &PreparedRow, plan: &RowPlan) -> std::result::Result<String, Vec<RowError>> {
    match (&row.key, plan.key_field()) {
        (Some(Value::Text(given)), None) => RecordId::parse(given)
            .map(|id| id.as_str().to_owned())
            .map_err(|_| {
                vec![RowError {
                    code: ErrorCode::ValidationFailed,
                    field: "id".into(),
                    message: format!("{given:?} is not a UUID"),
                }]
            }),
        _ => Ok(RecordId::new().as_str().to_owned()),
    }
}

fn step<'r>(row: &'r PreparedRow, plan: &RowPlan, existing: Option<String>) -> Step<'r> {
    static NONE: Writes = Writes(Vec::new());
    if !row.errors.is_empty() {
        return Step::Done(Err(row.errors.clone()));
    }
    let create = row.create.as_ref().unwrap_or(&NONE);
    let update = row.update.as_ref().unwrap_or(&NONE);
    match (plan.op(), existing) {
        (JobOp::Insert, Some(id)) => Step::Done(Ok((RowStatus::Skipped, id))),
        (JobOp::Update | JobOp::Delete, None) => Step::Done(Err(not_found(plan))),
        (JobOp::Update | JobOp::Upsert, Some(id)) => Step::Update(id, update),
        (JobOp::Delete, Some(id)) => Step::Delete(id),
        (JobOp::Insert, None) => match new_id(row, plan) {
            Ok(id) => Step::Insert(id, create),
            Err(e) => Step::Done(Err(e)),
        },
        (JobOp::Upsert, None) => {
            let missing = plan.missing_required(create);
            if !missing.is_empty() {
                return Step::Done(Err(missing));
            }
            match new_id(row, plan) {
                Ok(id) => Step::Insert(id, create),
                Err(e) => Step::Done(Err(e)),
            }
        }
    }
}

fn segment(
    ctx: &mut Ctx<'_>,
    obj: &Arc<Object>,
    plan: &RowPlan,
    rows: &[&PreparedRow],
    stamp: &Stamp,
    cascaded: &mut u64,
) -> Result<Vec<Outcome>> {
    let existing = lookup(ctx, obj, plan, rows)?;
    let steps: Vec<Step<'_>> = rows
        .iter()
        .zip(existing)
        .map(|(row, found)| step(row, plan, found))
        .collect();
    let mut out: Vec<Option<Outcome>> = vec![None; rows.len()];
    let (mut ins, mut upd, mut del) = (Vec::new(), Vec::new(), Vec::new());
    for (i, s) in steps.into_iter().enumerate() {
        match s {
            Step::Done(o) => out[i] = Some(o),
            Step::Insert(id, w) => ins.push((i, id, w)),
            Step::Update(id, w) => upd.push((i, id, w)),
            Step::Delete(id) => del.push((i, id)),
        }
    }
    let mut raced = Vec::new();
    for ((i, id, w), r) in ins
        .iter()
        .zip(ctx.tx.insert_records(obj, &batch(&ins), stamp)?)
    {
        out[*i] = Some(match r {
            Ok(()) => Ok((RowStatus::Added, id.clone())),
            // An upsert whose key another writer took after the lookup updates that record.
            Err(e) if plan.op() == JobOp::Upsert && lost_key_race(&e, plan) => {
                raced.push(*i);
                continue;
            }
            Err(e) => Err(vec![RowError::from_error(explain_unique(e, obj, w), "")]),
        });
    }
    if !raced.is_empty() {
        let again: Vec<&PreparedRow> = raced.iter().map(|&i| rows[i]).collect();
        for (i, found) in raced.into_iter().zip(lookup(ctx, obj, plan, &again)?) {
            match (found, rows[i].update.as_ref()) {
                (Some(id), Some(w)) => upd.push((i, id, w)),
                _ => out[i] = Some(Err(not_found(plan))),
            }
        }
    }
    for ((i, id, w), r) in upd
        .iter()
        .zip(ctx.tx.update_records(obj, &batch(&upd), stamp)?)
    {
        out[*i] = Some(match r {
            Ok(true) => Ok((RowStatus::Updated, id.clone())),
            Ok(false) => Err(not_found(plan)),
            Err(e) => Err(vec![RowError::from_error(explain_unique(e, obj, w), "")]),
        });
    }
    let ids: Vec<&str> = del.iter().map(|(_, id)| id.as_str()).collect();
    for ((i, id), r) in del.iter().zip(delete_following(ctx, obj, &ids, stamp)?) {
        out[*i] = Some(match r {
            Ok(d) if d.found => {
                *cascaded += d.cascaded;
                Ok((RowStatus::Deleted, id.clone()))
            }
            Ok(_) => Err(not_found(plan)),
            Err(e) => Err(vec![RowError::from_error(e, "id")]),
        });
    }
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(not_found(plan))))
        .collect())
}

fn batch<'a>(rows: &'a [(usize, String, &'a Writes)]) -> Vec<RowWrite<'a>> {
    rows.iter()
        .map(|(_, id, writes)| RowWrite { id, writes })
        .collect()
}

/// Whether an insert failed because its key (a unique field, or the id) is now taken.
fn lost_key_race(e: &crate::error::Error, plan: &RowPlan) -> bool {
    let key = plan.key_field().map_or("id", |i| plan.field_name(i));
    e.code == ErrorCode::UniqueViolation && e.field.as_deref().is_none_or(|f| f == key)
}

/// Looks up the records the rows' keys name (a row without a usable key finds none).
fn lookup(
    ctx: &mut Ctx<'_>,
    obj: &Object,
    plan: &RowPlan,
    rows: &[&PreparedRow],
) -> Result<Vec<Option<String>>> {
    let field = plan.key_field();
    let ids: Vec<Option<Value>> = rows
        .iter()
        .map(|r| match (&r.key, field) {
            (Some(k), _) if !r.errors.is_empty() || k.is_null() => None,
            (Some(Value::Text(t)), None) => RecordId::parse(t)
                .ok()
                .map(|id| Value::Text(id.as_str().to_owned())),
            (Some(_), None) => None,
            (Some(k), Some(_)) => Some(k.clone()),
            (None, _) => None,
        })
        .collect();
    let keys: Vec<&Value> = ids.iter().flatten().collect();
    let mut found = ctx.tx.find_ids(obj, field, &keys)?.into_iter();
    Ok(ids
        .iter()
        .map(|k| k.as_ref().and_then(|_| found.next().flatten()))
        .collect())
}
