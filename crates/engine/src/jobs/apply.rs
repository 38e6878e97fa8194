//! Applying one chunk of a job in one write transaction: its rows (a failing row fails by itself),
//! their result lines appended at the checkpointed offset, and the checkpoint moved — all
//! committed together.

use super::numbers;
use super::refs::resolve_rows;
use super::result::{self, ResultRow, RowStatus};
use super::rows::{PreparedRow, RowPlan};
use super::segment::apply_rows;
use crate::background::{failpoint, Holds};
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{held, Job, JobStatus, Object, Stamp};
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
    /// Its breakpoints (tests hold a chunk's transaction open at one).
    pub holds: Holds,
}

/// Applies `chunk` to job `id`, if the job is still running here and at the chunk's start.
pub fn apply_chunk(
    ctx: &mut Ctx<'_>,
    id: &str,
    obj: &Arc<Object>,
    plan: &RowPlan,
    chunk: &Chunk,
) -> Result<Job> {
    let mut job = ctx
        .tx
        .get_job(id)?
        .ok_or_else(|| Error::not_found("the job is gone"))?;
    let ours = held(job.lease.as_ref(), &chunk.owner);
    if job.status != JobStatus::Running || job.checkpoint.rows_done != chunk.from || !ours {
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
    let n = chunk.rows.len() as u64;
    let numbered = job.numbers_records();
    let translated = match numbered {
        true => numbers::translate_keys(
            ctx,
            plan,
            &chunk.rows.iter().map(|(r, _)| r).collect::<Vec<_>>(),
        )?,
        false => Vec::new(),
    };
    let rows: Vec<&PreparedRow> = chunk
        .rows
        .iter()
        .enumerate()
        .map(|(i, (r, _))| translated.get(i).and_then(Option::as_ref).unwrap_or(r))
        .collect();
    let resolved = resolve_rows(ctx, obj, &rows)?;
    let rows: Vec<&PreparedRow> = match resolved.is_empty() {
        true => rows,
        false => resolved.iter().collect(),
    };
    let (outcomes, cascaded) = apply_rows(ctx, obj, plan, &rows, &stamp)?;
    job.progress.cascaded += cascaded;
    let record_numbers = match numbered {
        true => {
            let ids: Vec<&str> = outcomes
                .iter()
                .map(|o| o.as_ref().map_or("", |(_, id)| id.as_str()))
                .collect();
            numbers::number_records(ctx, &ids)?
        }
        false => vec![None; outcomes.len()],
    };
    let mut out = Vec::with_capacity(rows.len());
    for (((_, cells), outcome), number) in chunk.rows.iter().zip(outcomes).zip(record_numbers) {
        let (status, rid, errors) = match outcome {
            Ok((status, rid)) => (status, rid, Vec::new()),
            Err(errors) => (RowStatus::Failed, String::new(), errors),
        };
        let p = &mut job.progress;
        match status {
            RowStatus::Added => p.added += 1,
            RowStatus::Updated => p.updated += 1,
            RowStatus::Skipped => p.skipped += 1,
            RowStatus::Deleted => p.deleted += 1,
            RowStatus::Failed | RowStatus::Unprocessed => p.failed += 1,
        }
        let messages = errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        out.push(ResultRow {
            cells: cells.clone(),
            number,
            id: rid,
            status: Some(status),
            errors: errors
                .into_iter()
                .map(|e| (e.code.as_str().to_owned(), e.field))
                .collect(),
            messages,
            // Not stored: rows are numbered as the result file is read back, in input order.
            row: 0,
        });
    }
    let lines = result::render_lines(&out)?;
    let result_offset = ctx
        .tx
        .append_result(&job.id, job.checkpoint.result_offset, &lines)?;
    failpoint("job.chunk.before_commit");
    chunk.holds.hold("job.chunk.before_commit");
    job.progress.processed += n;
    job.checkpoint.rows_done += n;
    job.checkpoint.input_offset = chunk.end;
    job.checkpoint.result_offset = result_offset;
    ctx.tx.put_job(&job)?;
    Ok(job)
}
