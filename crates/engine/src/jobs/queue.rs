//! How a job ends, each one transaction (the scheduler's queue does the rest): failed, or
//! finished once every row is done.

use crate::core::{Core, Pending};
use crate::error::{Error, ErrorCode};
use crate::model::{CallbackStatus, Job, JobStatus};
use crate::tasks::queue::get as reload;

/// Marks a job failed with `message`; its callback becomes due.
pub fn fail(core: &Core, id: &str, message: String) -> Pending<Job> {
    let id = id.to_owned();
    core.submit(move |ctx| {
        let mut job = reload::<Job>(ctx.tx, &id)?;
        job.status = JobStatus::Failed;
        job.lease = None;
        job.error = Some(message.clone());
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
        let mut job = reload::<Job>(ctx.tx, &id)?;
        if job.checkpoint.rows_done != rows_done {
            return Err(Error::new(ErrorCode::Conflict, "the job moved on"));
        }
        job.status = if job.cancel_requested {
            JobStatus::Canceled
        } else {
            JobStatus::Completed
        };
        job.lease = None;
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
