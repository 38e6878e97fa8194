//! How a job ends, each one transaction (the scheduler's queue does the rest): failed, or
//! finished once every row is done — either only while this instance holds the job's lease (one
//! cut off from the database meanwhile finds another instance ran it, and leaves it be).

use crate::core::{Core, Pending};
use crate::error::{Error, ErrorCode};
use crate::model::{held, CallbackStatus, Job, JobStatus};
use crate::tasks::queue::get as reload;

/// Marks a job this instance runs failed with `message`; its callback becomes due. The job as it
/// then stands.
pub fn fail(core: &Core, id: &str, message: String) -> Pending<Job> {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    core.submit(move |ctx| {
        let mut job = reload::<Job>(ctx.tx, &id)?;
        if job.status != JobStatus::Running || !held(job.lease.as_ref(), &owner) {
            return Ok(job);
        }
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
/// becomes due. `rows_done` must match the committed checkpoint, and the job must still be this
/// instance's.
pub fn finish(core: &Core, id: &str, rows_done: u64) -> Pending<Job> {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    core.submit(move |ctx| {
        let mut job = reload::<Job>(ctx.tx, &id)?;
        let ours = job.status == JobStatus::Running && held(job.lease.as_ref(), &owner);
        if job.checkpoint.rows_done != rows_done || !ours {
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
