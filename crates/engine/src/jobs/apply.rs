//! Applying one chunk of a job in the writer's transaction: each row alone (a failing row fails
//! by itself), its result line appended at the checkpointed offset, and the checkpoint moved —
//! all committed together.

use super::result::{self, ResultRow};
use super::rows::{PreparedRow, RowError, RowPlan};
use crate::background::failpoint;
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Job, JobOp, JobStatus, Object, RecordId, Stamp, Value, Writes};
use crate::ops::explain_unique;
use std::sync::Arc;

/// One chunk: the rows converted beside the writer, and where the input ends after them.
pub struct Chunk {
    pub rows: Vec<(PreparedRow, Vec<String>)>,
    /// The input's byte offset after the chunk's last row.
    pub end: u64,
    /// Rows done before it (the committed checkpoint it must follow).
    pub from: u64,
    /// The instance applying it, which must still hold the job's lease.
    pub owner: String,
}

/// Applies `chunk` to job `id`, if the job is still running and at the chunk's start.
pub fn apply_chunk(
    ctx: &mut Ctx<'_>,
    id: &str,
    obj: &Arc<Object>,
    plan: &RowPlan,
    chunk: Chunk,
) -> Result<Job> {
    let Chunk {
        rows,
        end,
        from,
        owner,
    } = chunk;
    let mut job = ctx
        .tx
        .get_job(id)?
        .ok_or_else(|| Error::not_found("the job is gone"))?;
    let ours = job.lease.as_ref().is_some_and(|l| l.held_by(&owner));
    if job.status != JobStatus::Running || job.checkpoint.rows_done != from || !ours {
        return Err(Error::new(ErrorCode::Conflict, "the job moved on"));
    }
    if job.cancel_requested {
        job.status = JobStatus::Canceled;
        job.lease = None;
        job.completed_at = Some(ctx.now.clone());
        ctx.tx.put_job(&job)?;
        return Ok(job);
    }
    let current = ctx
        .catalog
        .app_by_id(job.app_id)
        .and_then(|a| a.object_by_id(&job.object_id.to_string()).cloned());
    if !current.is_some_and(|c| Arc::ptr_eq(&c, obj)) {
        return Err(Error::new(
            ErrorCode::Conflict,
            "the object changed while the job ran",
        ));
    }
    let stamp = Stamp {
        user: job.created_by.clone(),
        at: ctx.now.clone(),
    };
    let n = rows.len() as u64;
    let mut out = Vec::with_capacity(rows.len());
    for (row, cells) in rows {
        let (status, rid, errors) = match apply_row(ctx, obj, plan, row, &stamp) {
            Ok((status, rid)) => (status, rid, Vec::new()),
            Err(errors) => ("failed", String::new(), errors),
        };
        let p = &mut job.progress;
        match status {
            "added" => p.added += 1,
            "updated" => p.updated += 1,
            "skipped" => p.skipped += 1,
            "deleted" => p.deleted += 1,
            _ => p.failed += 1,
        }
        let messages = errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        out.push(ResultRow {
            cells,
            id: rid,
            status,
            errors: errors
                .into_iter()
                .map(|e| (e.code.as_str().to_owned(), e.field))
                .collect(),
            messages,
        });
    }
    let lines = result::render_lines(&out)?;
    let result_offset = ctx
        .tx
        .append_result(&job.id, job.checkpoint.result_offset, &lines)?;
    failpoint("job.chunk.before_commit");
    job.progress.processed += n;
    job.checkpoint.rows_done += n;
    job.checkpoint.input_offset = end;
    job.checkpoint.result_offset = result_offset;
    ctx.tx.put_job(&job)?;
    Ok(job)
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

/// The id of the record whose key matches, if any.
fn find(
    ctx: &mut Ctx<'_>,
    obj: &Arc<Object>,
    plan: &RowPlan,
    key: &Value,
) -> std::result::Result<Option<String>, Vec<RowError>> {
    let found = match (plan.key_field(), key) {
        (Some(i), k) => ctx.tx.find_id(obj, i, k),
        (None, Value::Text(id)) => match RecordId::parse(id) {
            Ok(rid) => ctx
                .tx
                .get_record(obj, rid.as_str())
                .map(|r| r.map(|r| r.id)),
            Err(_) => Ok(None),
        },
        (None, _) => Ok(None),
    };
    found.map_err(|e| vec![RowError::from_error(e, "id")])
}

/// Applies one row; returns its status and record id, or its errors (the row fails alone: each
/// write is a single statement, which the store undoes whole on failure).
fn apply_row(
    ctx: &mut Ctx<'_>,
    obj: &Arc<Object>,
    plan: &RowPlan,
    row: PreparedRow,
    stamp: &Stamp,
) -> std::result::Result<(&'static str, String), Vec<RowError>> {
    if !row.errors.is_empty() {
        return Err(row.errors);
    }
    let existing = match &row.key {
        Some(k) => find(ctx, obj, plan, k)?,
        None => None,
    };
    let insert = |ctx: &mut Ctx<'_>, w: &Writes| -> std::result::Result<String, Vec<RowError>> {
        let id = match (&row.key, plan.key_field()) {
            // Keyed by id: a new record takes the row's id.
            (Some(Value::Text(given)), None) => RecordId::parse(given).map_err(|_| {
                vec![RowError {
                    code: ErrorCode::ValidationFailed,
                    field: "id".into(),
                    message: format!("{given:?} is not a UUID"),
                }]
            })?,
            _ => RecordId::new(),
        };
        ctx.tx
            .insert_record(obj, id.as_str(), w, stamp)
            .map_err(|e| vec![RowError::from_error(explain_unique(e, obj, w), "")])?;
        Ok(id.as_str().to_owned())
    };
    let update =
        |ctx: &mut Ctx<'_>, id: &str, w: &Writes| -> std::result::Result<(), Vec<RowError>> {
            ctx.tx
                .update_record(obj, id, w, stamp)
                .map(|_| ())
                .map_err(|e| vec![RowError::from_error(explain_unique(e, obj, w), "")])
        };
    match (plan.op(), existing) {
        (JobOp::Insert, Some(id)) => Ok(("skipped", id)),
        (JobOp::Insert, None) => {
            insert(ctx, row.create.as_ref().unwrap_or(&Default::default())).map(|id| ("added", id))
        }
        (JobOp::Update | JobOp::Delete, None) => Err(not_found(plan)),
        (JobOp::Update | JobOp::Upsert, Some(id)) => {
            update(ctx, &id, row.update.as_ref().unwrap_or(&Default::default()))?;
            Ok(("updated", id))
        }
        (JobOp::Upsert, None) => {
            let w = row.create.unwrap_or_default();
            let missing = plan.missing_required(&w);
            if !missing.is_empty() {
                return Err(missing);
            }
            insert(ctx, &w).map(|id| ("added", id))
        }
        (JobOp::Delete, Some(id)) => {
            ctx.tx
                .delete_record(obj, &id)
                .map_err(|e| vec![RowError::from_error(e, "id")])?;
            Ok(("deleted", id))
        }
    }
}
