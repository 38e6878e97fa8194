//! Running a job: stream its CSV from the checkpointed offset in chunks; convert rows beside the
//! writer; apply each chunk, append its result rows and move the checkpoint in one transaction.
//! A crash at any point resumes from the last committed checkpoint: the result file is cut back to
//! the checkpointed length and the input is read again from the checkpointed offset.

use super::failpoint;
use super::plan::{PreparedRow, RowError, RowPlan};
use super::result::{self, ResultRow};
use super::{CallbackStatus, Job, JobOp, JobStatus};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Object, RecordId, Stamp, Timestamp, Value};
use crate::ops::{explain_unique, Ctx};
use crate::store::Tx;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Start-up recovery: jobs left running by a crash go back to the queue; they resume from their
/// checkpoint. Returns how many.
pub fn recover(tx: &mut dyn Tx) -> Result<usize> {
    let running = tx.jobs_by_status(JobStatus::Running.as_str(), usize::MAX)?;
    for mut job in running.iter().cloned() {
        job.status = JobStatus::Queued;
        tx.put_job(&job)?;
    }
    Ok(running.len())
}

/// A unit of job work for the writer.
pub type JobWrite = Box<dyn FnOnce(&mut Ctx<'_>) -> Result<Job> + Send>;
/// Waits for submitted job work to commit.
pub type Waiter = Box<dyn FnOnce() -> Result<Job> + Send>;

/// What the worker needs from its engine: the transactional writer and file locations.
pub trait JobHost {
    /// Runs `f` in a write transaction, blocking this (non-async) thread until it commits.
    fn write_blocking(&self, f: JobWrite) -> Result<Job>;
    /// Queues `f` for the writer and returns at once; the returned waiter blocks until it commits.
    fn submit(&self, f: JobWrite) -> Waiter;
    fn current_object(&self, job: &Job) -> Option<Arc<Object>>;
    fn input_path(&self, file_id: &str) -> PathBuf;
    fn result_path(&self, job_id: &str) -> PathBuf;
    fn chunk_rows(&self) -> usize;
    fn stopping(&self) -> bool;
}

/// Runs a claimed job until it completes, fails, is canceled, or the host stops.
pub fn run_job(host: &dyn JobHost, mut job: Job) -> Job {
    let mut retries = 0;
    loop {
        match run_from_checkpoint(host, &job) {
            Ok(done) => return done,
            // Another version of the object or checkpoint: reload and go on from the checkpoint.
            Err(e) if e.code == ErrorCode::Conflict && retries < 5 => {
                retries += 1;
                match host.write_blocking(Box::new({
                    let id = job.id.clone();
                    move |ctx| {
                        ctx.tx
                            .get_job(&id)?
                            .ok_or_else(|| Error::not_found("the job is gone"))
                    }
                })) {
                    Ok(j) => job = j,
                    Err(_) => return job,
                }
            }
            // Stopping: the job stays running and resumes at the next start. Otherwise the store
            // refused this time: back to the queue, to be taken again.
            Err(e) if e.code == ErrorCode::Unavailable => {
                if !host.stopping() {
                    requeue(host, &job);
                }
                return job;
            }
            Err(e) => return fail(host, &job, e.message),
        }
    }
}

fn requeue(host: &dyn JobHost, job: &Job) {
    let id = job.id.clone();
    let _ = host.write_blocking(Box::new(move |ctx| {
        let mut job = ctx
            .tx
            .get_job(&id)?
            .ok_or_else(|| Error::not_found("the job is gone"))?;
        if job.status == JobStatus::Running {
            job.status = JobStatus::Queued;
            ctx.tx.put_job(&job)?;
        }
        Ok(job)
    }));
}

/// Marks a job failed with `message` (its callback becomes due).
pub fn fail(host: &dyn JobHost, job: &Job, message: String) -> Job {
    let id = job.id.clone();
    host.write_blocking(Box::new(move |ctx| {
        let mut job = ctx
            .tx
            .get_job(&id)?
            .ok_or_else(|| Error::not_found("the job is gone"))?;
        job.status = JobStatus::Failed;
        job.error = Some(message);
        job.completed_at = Some(ctx.now.clone());
        if let Some(cb) = job.callback.as_mut() {
            cb.status = CallbackStatus::Pending;
        }
        ctx.tx.put_job(&job)?;
        Ok(job)
    }))
    .unwrap_or_else(|_| job.clone())
}

fn run_from_checkpoint(host: &dyn JobHost, job: &Job) -> Result<Job> {
    let obj = host.current_object(job).ok_or_else(|| {
        Error::new(
            ErrorCode::NotFound,
            format!("object {} no longer exists", job.object),
        )
    })?;
    let plan = Arc::new(RowPlan::new(job, &obj)?);
    let input = host.input_path(&job.file_id);
    let mut file = File::open(&input)
        .map_err(|e| Error::new(ErrorCode::NotFound, format!("the job's file is gone: {e}")))?;
    let base = job.checkpoint.input_offset;
    file.seek(SeekFrom::Start(base)).map_err(Error::internal)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(base == 0)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, file));
    if base == 0 {
        rdr.headers().map_err(Error::internal)?;
    }
    let mut job = job.clone();
    let mut record = csv::StringRecord::new();
    let chunk = host.chunk_rows().max(1);
    // One chunk in the writer while the next is read and converted here; chunks are applied in
    // order, and each checks it follows the committed checkpoint, so a failed one stops the next.
    let mut expected = job.checkpoint.rows_done;
    let mut pending: Option<Waiter> = None;
    loop {
        if host.stopping() {
            return Err(Error::new(ErrorCode::Unavailable, "the server is stopping"));
        }
        let mut rows = Vec::with_capacity(chunk);
        while rows.len() < chunk && rdr.read_record(&mut record).map_err(Error::internal)? {
            let cells = job
                .result_columns
                .iter()
                .map(|&c| record.get(c).unwrap_or_default().to_owned())
                .collect();
            rows.push((plan.prepare(&record), cells));
        }
        let end = base + rdr.position().byte();
        if let Some(wait) = pending.take() {
            job = wait()?;
            failpoint::hit("job.chunk.after_commit");
            if job.status != JobStatus::Running {
                return Ok(job);
            }
        }
        if rows.is_empty() {
            return finish(host, &job);
        }
        let n = rows.len() as u64;
        let (obj, plan, result_path, id) = (
            obj.clone(),
            plan.clone(),
            host.result_path(&job.id),
            job.id.clone(),
        );
        let from = expected;
        pending = Some(host.submit(Box::new(move |ctx| {
            apply_chunk(ctx, &id, from, &obj, &plan, rows, end, &result_path)
        })));
        expected += n;
    }
}

/// Marks the job completed (and its callback due) once every row is done.
fn finish(host: &dyn JobHost, job: &Job) -> Result<Job> {
    let (id, expected) = (job.id.clone(), job.checkpoint.rows_done);
    host.write_blocking(Box::new(move |ctx| {
        let mut job = ctx
            .tx
            .get_job(&id)?
            .ok_or_else(|| Error::not_found("the job is gone"))?;
        if job.checkpoint.rows_done != expected {
            return Err(Error::new(ErrorCode::Conflict, "the job moved on"));
        }
        job.status = if job.cancel_requested {
            JobStatus::Canceled
        } else {
            JobStatus::Completed
        };
        job.completed_at = Some(ctx.now.clone());
        if let Some(cb) = job
            .callback
            .as_mut()
            .filter(|_| job.status == JobStatus::Completed)
        {
            cb.status = CallbackStatus::Pending;
        }
        ctx.tx.put_job(&job)?;
        Ok(job)
    }))
}

#[allow(clippy::too_many_arguments)]
fn apply_chunk(
    ctx: &mut Ctx<'_>,
    id: &str,
    expected: u64,
    obj: &Arc<Object>,
    plan: &RowPlan,
    rows: Vec<(PreparedRow, Vec<String>)>,
    end: u64,
    result_path: &Path,
) -> Result<Job> {
    let mut job = ctx
        .tx
        .get_job(id)?
        .ok_or_else(|| Error::not_found("the job is gone"))?;
    if job.status != JobStatus::Running || job.checkpoint.rows_done != expected {
        return Err(Error::new(ErrorCode::Conflict, "the job moved on"));
    }
    if job.cancel_requested {
        job.status = JobStatus::Canceled;
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
    let result_offset = result::append(result_path, job.checkpoint.result_offset, &out)?;
    failpoint::hit("job.chunk.before_commit");
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
/// write is a single statement, undone by SQLite on failure).
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
    let insert = |ctx: &mut Ctx<'_>,
                  w: &crate::model::Writes|
     -> std::result::Result<String, Vec<RowError>> {
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
    let update = |ctx: &mut Ctx<'_>,
                  id: &str,
                  w: &crate::model::Writes|
     -> std::result::Result<(), Vec<RowError>> {
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

/// The time a job started, for the claim.
pub fn started(job: &mut Job, now: &Timestamp) {
    job.status = JobStatus::Running;
    if job.started_at.is_none() {
        job.started_at = Some(now.clone());
    }
}
