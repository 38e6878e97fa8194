//! The job queue's transitions, each one transaction: claim the oldest queued job, requeue, fail,
//! finish, and start-up recovery of jobs a crash left running.

use crate::core::{Core, Pending};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{CallbackStatus, Job, JobStatus};
use crate::store::Tx;

fn reload(tx: &mut dyn Tx, id: &str) -> Result<Job> {
    tx.get_job(id)?
        .ok_or_else(|| Error::not_found("the job is gone"))
}

/// Jobs left running by a crash go back to the queue; they resume from their checkpoint.
pub async fn recover(core: &Core) -> Result<usize> {
    core.transact(|ctx| {
        let running = ctx.tx.jobs_by_status(JobStatus::Running, usize::MAX)?;
        for mut job in running.iter().cloned() {
            job.status = JobStatus::Queued;
            ctx.tx.put_job(&job)?;
        }
        Ok(running.len())
    })
    .await
}

/// Takes the oldest queued job and marks it running.
pub async fn claim(core: &Core) -> Result<Option<Job>> {
    core.transact(|ctx| {
        let Some(mut job) = ctx.tx.jobs_by_status(JobStatus::Queued, 1)?.pop() else {
            return Ok(None);
        };
        job.status = JobStatus::Running;
        if job.started_at.is_none() {
            job.started_at = Some(ctx.now.clone());
        }
        ctx.tx.put_job(&job)?;
        Ok(Some(job))
    })
    .await
}

/// The job as last committed.
pub fn load(core: &Core, id: &str) -> Pending<Job> {
    let id = id.to_owned();
    core.submit(move |ctx| reload(ctx.tx, &id))
}

/// Puts a running job back in the queue (the store refused it this time).
pub fn requeue(core: &Core, id: &str) -> Pending<Job> {
    let id = id.to_owned();
    core.submit(move |ctx| {
        let mut job = reload(ctx.tx, &id)?;
        if job.status == JobStatus::Running {
            job.status = JobStatus::Queued;
            ctx.tx.put_job(&job)?;
        }
        Ok(job)
    })
}

/// Marks a job failed with `message`; its callback becomes due.
pub fn fail(core: &Core, id: &str, message: String) -> Pending<Job> {
    let id = id.to_owned();
    core.submit(move |ctx| {
        let mut job = reload(ctx.tx, &id)?;
        job.status = JobStatus::Failed;
        job.error = Some(message);
        job.completed_at = Some(ctx.now.clone());
        if let Some(cb) = job.callback.as_mut() {
            cb.status = CallbackStatus::Pending;
        }
        ctx.tx.put_job(&job)?;
        Ok(job)
    })
}

/// Marks a job completed (or canceled, if that was asked) once every row is done; its callback
/// becomes due. `rows_done` must match the committed checkpoint.
pub fn finish(core: &Core, id: &str, rows_done: u64) -> Pending<Job> {
    let id = id.to_owned();
    core.submit(move |ctx| {
        let mut job = reload(ctx.tx, &id)?;
        if job.checkpoint.rows_done != rows_done {
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
    })
}
