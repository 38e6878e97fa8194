//! The executor of bulk-write jobs: it streams a claimed job's CSV from the checkpointed offset in
//! chunks, converting the next chunk while the writer commits the one before. A crash at any
//! point resumes from the last committed checkpoint: the result file is cut back to the
//! checkpointed length and the input is read again from the checkpointed offset.

use super::apply::{apply_chunk, Chunk};
use super::callback::Callbacks;
use super::queue;
use super::rows::RowPlan;
use crate::background::failpoint;
use crate::core::{Core, Pending};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{held, Job, JobStatus, TaskKind};
use crate::tasks::{queue as tasks, Executor};
use std::sync::Arc;

/// Times a chunk is retried after the job or its object changed under it.
const MAX_CONFLICT_RETRIES: u32 = 5;

/// Runs jobs the scheduler claimed; a finished job's callback goes to `callbacks`.
pub struct JobRunner {
    pub core: Arc<Core>,
    pub callbacks: Arc<Callbacks>,
}

impl JobRunner {
    fn after(&self, job: &Job) {
        if job.callback_due() {
            self.callbacks.spawn(job.id.clone());
        }
    }
}

impl Executor for JobRunner {
    type Task = Job;

    async fn run(self: Arc<Self>, job: Job) {
        let core = self.core.clone();
        // Every line the run logs names its job.
        let span = tracing::info_span!("job", job_id = %job.id);
        let done = tokio::task::spawn_blocking(move || {
            let _in = span.enter();
            tracing::info!(operation = job.operation.as_str(), object = %job.object,
                from_row = job.checkpoint.rows_done, "job running");
            let job = run_job(&core, job);
            let p = &job.progress;
            tracing::info!(
                status = job.status.as_str(),
                processed = p.processed,
                failed = p.failed,
                "job stopped running here"
            );
            job
        })
        .await;
        match done {
            Ok(job) => self.after(&job),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }

    async fn crashed(self: Arc<Self>, id: String) {
        let msg = "the job stopped on an internal error".to_owned();
        if let Ok(job) = queue::fail(&self.core, &id, msg).await {
            self.after(&job);
        }
    }
}

/// Runs a claimed job until it completes, fails, is canceled, or the server stops (blocking).
pub fn run_job(core: &Core, mut job: Job) -> Job {
    let mut retries = 0;
    loop {
        match run_from_checkpoint(core, &job) {
            Ok(done) => return done,
            // Another version of the object or checkpoint, or a transaction that lost a race with
            // another: reload and go on from the checkpoint, unless the job is no longer ours.
            Err(e)
                if matches!(e.code, ErrorCode::Conflict | ErrorCode::Busy)
                    && retries < MAX_CONFLICT_RETRIES =>
            {
                retries += 1;
                match tasks::load::<Job>(core, &job.id).wait() {
                    Ok(j) if j.status == JobStatus::Running && ours(core, &j) => job = j,
                    Ok(j) => return j,
                    Err(_) => return job,
                }
            }
            // Stopping, or the store refused this time: back to the queue, to be taken again
            // (here after a restart, or by another instance).
            Err(e) if e.code == ErrorCode::Unavailable => {
                return tasks::give_back::<Job>(core, &job.id).wait().unwrap_or(job);
            }
            Err(e) => return queue::fail(core, &job.id, e.message).wait().unwrap_or(job),
        }
    }
}

fn ours(core: &Core, job: &Job) -> bool {
    held(job.lease.as_ref(), &core.instance)
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
    let size = core.settings.job_chunk(core.store.shared());
    // One chunk in the writer while the next is read and converted here; chunks are applied in
    // order, and each checks it follows the committed checkpoint, so a failed one stops the next.
    let mut from = job.checkpoint.rows_done;
    let mut pending: Option<Pending<Job>> = None;
    let mut last_commit = std::time::Instant::now();
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
            let before = job.progress.clone();
            job = wait.wait()?;
            failpoint("job.chunk.after_commit");
            crate::metrics::job_rows(job.operation.as_str(), &before, &job.progress);
            let rows = job.progress.processed.saturating_sub(before.processed);
            let secs = last_commit.elapsed().as_secs_f64();
            if secs > 0.0 {
                core.held
                    .set_rate(TaskKind::Job, &job.id, rows as f64 / secs);
            }
            last_commit = std::time::Instant::now();
            if job.status != JobStatus::Running {
                return Ok(job);
            }
        }
        if rows.is_empty() {
            return queue::finish(core, &job.id, job.checkpoint.rows_done).wait();
        }
        let n = rows.len() as u64;
        let chunk = Chunk {
            rows,
            end,
            from,
            owner: core.instance.clone(),
            holds: core.background.holds(),
        };
        let (obj, plan, id) = (obj.clone(), plan.clone(), job.id.clone());
        pending = Some(core.submit(move |ctx| apply_chunk(ctx, &id, &obj, &plan, &chunk)));
        from += n;
    }
}
