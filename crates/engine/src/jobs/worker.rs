//! Job workers: each takes the oldest queued job and streams its CSV from the checkpointed offset
//! in chunks, converting the next chunk while the writer commits the one before. A crash at any
//! point resumes from the last committed checkpoint: the result file is cut back to the
//! checkpointed length and the input is read again from the checkpointed offset.

use super::apply::{apply_chunk, Chunk};
use super::callback::Callbacks;
use super::queue;
use super::rows::RowPlan;
use crate::background::failpoint;
use crate::core::{Core, Pending};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Job, JobStatus};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long an idle worker waits before looking at the queue again unprompted.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Wait after the store refused a claim.
const CLAIM_RETRY: Duration = Duration::from_millis(200);
/// Times a chunk is retried after the job or its object changed under it.
const MAX_CONFLICT_RETRIES: u32 = 5;

/// What workers share.
#[derive(Clone)]
pub struct Workers {
    pub core: Arc<Core>,
    pub callbacks: Arc<Callbacks>,
    /// Woken when a job is queued.
    pub queued: Arc<Notify>,
}

impl Workers {
    pub fn spawn(&self, n: usize) {
        for _ in 0..n.max(1) {
            let w = self.clone();
            self.core.background.spawn(async move { w.run().await });
        }
    }

    async fn run(self) {
        let bg = &self.core.background;
        while !bg.is_stopping() {
            match queue::claim(&self.core).await {
                Ok(Some(job)) => {
                    bg.breakpoint("job.claimed").await;
                    let (core, id) = (self.core.clone(), job.id.clone());
                    let done = tokio::task::spawn_blocking(move || run_job(&core, job));
                    // A worker that panicked leaves its job failed, not running forever.
                    let job = match done.await {
                        Ok(job) => Some(job),
                        Err(_) => {
                            let msg = "the job stopped on an internal error".to_owned();
                            queue::fail(&self.core, &id, msg).await.ok()
                        }
                    };
                    if let Some(job) = job.filter(Job::callback_due) {
                        self.callbacks.spawn(job.id);
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        _ = self.queued.notified() => {}
                        _ = bg.sleep(IDLE_POLL) => {}
                    }
                }
                Err(_) => {
                    bg.sleep(CLAIM_RETRY).await;
                }
            }
        }
    }
}

/// Runs a claimed job until it completes, fails, is canceled, or the server stops (blocking).
pub fn run_job(core: &Core, mut job: Job) -> Job {
    let mut retries = 0;
    loop {
        match run_from_checkpoint(core, &job) {
            Ok(done) => return done,
            // Another version of the object or checkpoint: reload and go on from the checkpoint.
            Err(e) if e.code == ErrorCode::Conflict && retries < MAX_CONFLICT_RETRIES => {
                retries += 1;
                match queue::load(core, &job.id).wait() {
                    Ok(j) => job = j,
                    Err(_) => return job,
                }
            }
            // Stopping: the job stays running and resumes at the next start. Otherwise the store
            // refused this time: back to the queue, to be taken again.
            Err(e) if e.code == ErrorCode::Unavailable => {
                if !core.background.is_stopping() {
                    let _ = queue::requeue(core, &job.id).wait();
                }
                return job;
            }
            Err(e) => return queue::fail(core, &job.id, e.message).wait().unwrap_or(job),
        }
    }
}

fn run_from_checkpoint(core: &Core, job: &Job) -> Result<Job> {
    let obj = core
        .catalog()
        .app_by_id(job.app_id)
        .and_then(|a| a.object_by_id(&job.object_id.to_string()).cloned())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("object {} no longer exists", job.object),
            )
        })?;
    let plan = Arc::new(RowPlan::new(job, &obj)?);
    let base = job.checkpoint.input_offset;
    let input = core.store.files().open_input(&job.file_id, base)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(base == 0)
        .flexible(true)
        .from_reader(input);
    if base == 0 {
        rdr.headers().map_err(Error::internal)?;
    }
    let mut job = job.clone();
    let mut record = csv::StringRecord::new();
    let size = core.settings.job_chunk_rows.max(1);
    // One chunk in the writer while the next is read and converted here; chunks are applied in
    // order, and each checks it follows the committed checkpoint, so a failed one stops the next.
    let mut from = job.checkpoint.rows_done;
    let mut pending: Option<Pending<Job>> = None;
    loop {
        if core.background.is_stopping() {
            return Err(Error::new(ErrorCode::Unavailable, "the server is stopping"));
        }
        let mut rows = Vec::with_capacity(size);
        while rows.len() < size && rdr.read_record(&mut record).map_err(Error::internal)? {
            let cells = job
                .result_columns
                .iter()
                .map(|&c| record.get(c).unwrap_or_default().to_owned())
                .collect();
            rows.push((plan.prepare(&record), cells));
        }
        let end = base + rdr.position().byte();
        if let Some(wait) = pending.take() {
            job = wait.wait()?;
            failpoint("job.chunk.after_commit");
            if job.status != JobStatus::Running {
                return Ok(job);
            }
        }
        if rows.is_empty() {
            return queue::finish(core, &job.id, job.checkpoint.rows_done).wait();
        }
        let n = rows.len() as u64;
        let chunk = Chunk { rows, end, from };
        let (obj, plan, id) = (obj.clone(), plan.clone(), job.id.clone());
        pending = Some(core.submit(move |ctx| apply_chunk(ctx, &id, &obj, &plan, chunk)));
        from += n;
    }
}
