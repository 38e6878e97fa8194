//! The job queue's transitions, each one transaction: claim the oldest queued job under a lease,
//! renew the leases of the jobs running here, take back jobs whose holder stopped renewing, and
//! requeue, fail or finish a job.

use crate::core::{Core, Pending};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{abandoned, held, CallbackStatus, Job, JobStatus};
use crate::store::Tx;

fn reload(tx: &mut dyn Tx, id: &str) -> Result<Job> {
    tx.get_job(id)?
        .ok_or_else(|| Error::not_found("the job is gone"))
}

/// Running jobs whose lease expired (or, with `all`, every running job: on a store no other
/// instance shares, all of them were left by a stopped process) go back to the queue; they resume
/// from their checkpoint. Returns how many.
pub async fn rescue(core: &Core, all: bool) -> Result<usize> {
    let me = core.instance.clone();
    core.transact(move |ctx| {
        let mut n = 0;
        for found in ctx.tx.jobs_by_status(JobStatus::Running, usize::MAX)? {
            let mut job = reload(ctx.tx, &found.id)?;
            // This instance's own leases are renewed by its heartbeat while it lives.
            let abandoned = all || abandoned(job.lease.as_ref(), &me, &ctx.now);
            if job.status == JobStatus::Running && abandoned {
                job.status = JobStatus::Queued;
                job.lease = None;
                ctx.tx.put_job(&job)?;
                n += 1;
            }
        }
        Ok(n)
    })
    .await
}

/// Takes the oldest queued job and marks it running under this instance's lease.
pub async fn claim(core: &Core) -> Result<Option<Job>> {
    let lease = core.lease();
    core.transact(move |ctx| ctx.tx.claim_job(&lease, &ctx.now))
        .await
}

/// Moves the leases of these running jobs forward, where this instance still holds them.
pub async fn renew(core: &Core, ids: Vec<String>) -> Result<()> {
    let lease = core.lease();
    core.transact(move |ctx| {
        for id in &ids {
            let Some(mut job) = ctx.tx.get_job(id)? else {
                continue;
            };
            if job.status == JobStatus::Running && held(job.lease.as_ref(), &lease.owner) {
                job.lease = Some(lease.clone());
                ctx.tx.put_job(&job)?;
            }
        }
        Ok(())
    })
    .await
}

/// The job as last committed.
pub fn load(core: &Core, id: &str) -> Pending<Job> {
    let id = id.to_owned();
    core.submit(move |ctx| reload(ctx.tx, &id))
}

/// Puts a job this instance runs back in the queue (the store refused it this time).
pub fn requeue(core: &Core, id: &str) -> Pending<Job> {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    core.submit(move |ctx| {
        let mut job = reload(ctx.tx, &id)?;
        if job.status == JobStatus::Running && held(job.lease.as_ref(), &owner) {
            job.status = JobStatus::Queued;
            job.lease = None;
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
        let mut job = reload(ctx.tx, &id)?;
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
