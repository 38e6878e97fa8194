//! The job service: uploads (authorised before a byte is stored, then checked and registered),
//! job creation (every check before anything is queued), status, cancel, result files, and the
//! start of the workers.

use super::callback::{self, Callbacks, Renderer};
use super::files::{check_id, Scratch};
use super::plan::{plan_job, JobRequest, Owner};
use super::result::{self, ResultLayout, ResultView};
use super::worker::JobRunner;
use crate::core::Core;
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    cancel, Answer, CallbackStatus, IdemKey, Job, JobNumbers, JobStatus, Keyed, Need, Principal,
    TaskKind,
};
use crate::tasks::{every, Scheduler};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Jobs {
    pub(super) core: Arc<Core>,
    pub(super) scratch: Scratch,
    callbacks: Arc<Callbacks>,
    /// Assemblies change one at a time on an instance (a part's header is checked against the
    /// first part's, and starting one must see every part).
    pub(super) assembling: tokio::sync::Mutex<()>,
}

impl Jobs {
    pub fn new(core: Arc<Core>, data_dir: &Path) -> Result<Jobs> {
        Ok(Jobs {
            scratch: Scratch::open(data_dir)?,
            callbacks: Arc::new(Callbacks::new(core.clone())),
            assembling: tokio::sync::Mutex::new(()),
            core,
        })
    }

    /// Resumes pending callbacks (and keeps looking for those another instance left), and
    /// registers the executor of jobs.
    pub async fn start(&self, scheduler: &Scheduler) -> Result<()> {
        self.callbacks.resume().await?;
        let callbacks = self.callbacks.clone();
        every(&self.core, self.core.settings.lease / 2, move || {
            let callbacks = callbacks.clone();
            async move {
                if let Err(e) = callbacks.resume().await {
                    tracing::warn!(error = %e, "could not look for pending callbacks");
                }
            }
        });
        let runner = JobRunner {
            core: self.core.clone(),
            callbacks: self.callbacks.clone(),
        };
        scheduler
            .register(Arc::new(runner), self.core.settings.job_workers)
            .await
    }

    /// The callback deliverer jobs share with exports.
    pub(crate) fn callbacks(&self) -> Arc<Callbacks> {
        self.callbacks.clone()
    }

    /// Sets how callbacks of jobs tagged `tag` are rendered (`""`: every job without its own).
    pub fn set_callback_renderer(&self, tag: &str, r: Renderer) {
        self.callbacks.set_renderer(tag, r);
    }

    /// Checks a job request completely (file, object, mappings, limits, callback policy) and queues
    /// it. `tag` labels the job for its callback's renderer.
    pub async fn create(
        &self,
        who: &Principal,
        app: &str,
        req: JobRequest,
        tag: &str,
    ) -> Result<Job> {
        let make = self.maker(who, app, req, tag).await?;
        let job = self.core.transact(make).await?;
        self.core.wake(TaskKind::Job);
        Ok(job)
    }

    /// `create` once for idempotency `key`; `render` makes the answer kept with it.
    pub async fn create_keyed(
        &self,
        who: &Principal,
        app: &str,
        req: JobRequest,
        tag: &str,
        key: IdemKey,
        render: impl Fn(&Job) -> Answer + Send + 'static,
    ) -> Result<Keyed> {
        let mut make = self.maker(who, app, req, tag).await?;
        let keyed = self
            .core
            .transact_keyed(key, move |ctx| make(ctx).map(|job| render(&job)))
            .await?;
        if !keyed.replayed {
            self.core.wake(TaskKind::Job);
        }
        Ok(keyed)
    }

    /// Checks what can be checked before the writer, and returns the work that stores the job.
    pub(super) async fn maker(
        &self,
        who: &Principal,
        app: &str,
        req: JobRequest,
        tag: &str,
    ) -> Result<impl FnMut(&mut Ctx<'_>) -> Result<Job> + Send + 'static> {
        let app = self.core.app(who, app, Need::Write)?;
        if let Some(cb) = &req.callback {
            let url = callback::parse_url(&cb.url)?;
            callback::check(&self.core.settings.callback_allow, &url).await?;
        }
        check_id(&req.file_id, "file_id")?;
        let (who, max, tag) = (
            who.clone(),
            self.core.settings.max_job_records,
            tag.to_owned(),
        );
        Ok(move |ctx: &mut Ctx<'_>| {
            let obj = app.object(&req.object).cloned().ok_or_else(|| {
                Error::not_found(format!(
                    "app {} has no object named {:?}",
                    app.name, req.object
                ))
                .with_field("object")
            })?;
            let file = ctx.tx.get_file(app.id, &req.file_id)?.ok_or_else(|| {
                Error::not_found(format!("no file with id {:?}", req.file_id)).with_field("file_id")
            })?;
            if file
                .assembly
                .as_ref()
                .is_some_and(|a| a.state == crate::model::AssemblyState::Open)
            {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    "the file is still being assembled from parts",
                )
                .with_field("file_id"));
            }
            let owner = Owner {
                app_id: app.id,
                app: app.name.as_str(),
                user: who.user_name(),
                user_id: who.user_id(),
                now: ctx.now.clone(),
                tag: tag.clone(),
                max_records: max,
            };
            let mut job = plan_job(req.clone(), &obj, &file, owner)?;
            super::plan::check_lookups(&app, &obj, &job.mappings)?;
            // Every job is numbered, so a front door whose clients hold ids as integers can show
            // any job, whichever door made it.
            job.numbers = Some(number_job(ctx, &job)?);
            job.numbered_records = Some(req.numbered);
            ctx.tx.put_job(&job)?;
            Ok(job)
        })
    }

    pub(super) fn core(&self) -> &Core {
        &self.core
    }

    pub(super) async fn load(
        &self,
        who: &Principal,
        app: &str,
        id: &str,
        need: Need,
    ) -> Result<Job> {
        let app = self.core.app(who, app, need)?;
        check_id(id, "job")?;
        let id = id.to_owned();
        let job = self.core.read(move |ctx| ctx.tx.get_job(&id)).await?;
        job.filter(|j| j.app_id == app.id)
            .ok_or_else(|| Error::not_found("no such job"))
    }

    /// Rows per second of the jobs running on this instance now (each one's last chunk).
    pub fn rows_per_second(&self) -> f64 {
        self.core.held.total_rate(TaskKind::Job)
    }

    pub async fn get(&self, who: &Principal, app: &str, id: &str) -> Result<Job> {
        self.load(who, app, id, Need::Read).await
    }

    pub async fn list(&self, who: &Principal, app: &str, limit: usize) -> Result<Vec<Job>> {
        let app = self.core.app(who, app, Need::Read)?;
        self.core
            .read(move |ctx| ctx.tx.list_jobs(app.id, limit))
            .await
    }

    /// Cancels a job: a queued one at once; a running one stops before its next chunk.
    pub async fn cancel(&self, who: &Principal, app: &str, id: &str) -> Result<Job> {
        let job = self.load(who, app, id, Need::Write).await?;
        self.core
            .transact(move |ctx| {
                let mut job = ctx
                    .tx
                    .get_job(&job.id)?
                    .ok_or_else(|| Error::not_found("no such job"))?;
                cancel(&mut job, &ctx.now)?;
                ctx.tx.put_job(&job)?;
                Ok(job)
            })
            .await
    }

    /// Puts a failed job back in the queue; it resumes from its last checkpoint (rows already done
    /// are not done again), e.g. once disk space is back. Its callback will be sent again.
    pub async fn retry(&self, who: &Principal, app: &str, id: &str) -> Result<Job> {
        let job = self.load(who, app, id, Need::Write).await?;
        let job = self
            .core
            .transact(move |ctx| {
                let mut job = ctx
                    .tx
                    .get_job(&job.id)?
                    .ok_or_else(|| Error::not_found("no such job"))?;
                if job.status != JobStatus::Failed {
                    return Err(Error::new(
                        ErrorCode::Conflict,
                        format!(
                            "only a failed job can be retried; this one is {}",
                            job.status.as_str()
                        ),
                    ));
                }
                job.status = JobStatus::Queued;
                job.error = None;
                job.completed_at = None;
                if let Some(cb) = job.callback.as_mut() {
                    cb.status = CallbackStatus::Waiting;
                    cb.attempts = 0;
                    cb.last_error = None;
                }
                ctx.tx.put_job(&job)?;
                Ok(job)
            })
            .await?;
        self.core.wake(TaskKind::Job);
        Ok(job)
    }

    /// The job's result as a ZIP file on disk, in the layout `layout` makes for the job (built once
    /// the job has finished, and kept for later downloads).
    pub async fn result(
        &self,
        who: &Principal,
        app: &str,
        id: &str,
        layout: impl FnOnce(&Job) -> ResultLayout,
    ) -> Result<PathBuf> {
        let job = self.with_result(who, app, id).await?;
        let layout = layout(&job);
        let out = self
            .scratch
            .result_zip(&job.id, layout.tag, job.checkpoint.rows_done);
        self.render(job, out, move |job, lines, input, out| {
            let (name, header) = (&layout.csv_name, &layout.header);
            result::write_zip(job, lines, input, out, name, header, &*layout.render)
        })
        .await
    }

    /// The job's result as a plain CSV file on disk, the rows and shape `view` picks (built once
    /// the job has finished, and kept for later downloads).
    pub async fn result_view(
        &self,
        who: &Principal,
        app: &str,
        id: &str,
        view: impl FnOnce(&Job) -> ResultView,
    ) -> Result<PathBuf> {
        let job = self.with_result(who, app, id).await?;
        let view = view(&job);
        let out = self
            .scratch
            .result_zip(&job.id, view.tag, job.checkpoint.rows_done)
            .with_extension("csv");
        self.render(job, out, move |job, lines, input, out| {
            result::write_csv(job, lines, input, out, &view)
        })
        .await
    }

    /// Job `id`, whose result is still kept.
    async fn with_result(&self, who: &Principal, app: &str, id: &str) -> Result<Job> {
        let job = self.load(who, app, id, Need::Read).await?;
        if job.result_expired {
            return Err(Error::new(
                ErrorCode::Expired,
                "the job's result was deleted after the retention period",
            ));
        }
        Ok(job)
    }

    /// `out`, written by `write` from the job's result lines and its upload — unless the job has
    /// finished and `out` was written already.
    async fn render(
        &self,
        job: Job,
        out: PathBuf,
        write: impl FnOnce(&Job, Box<dyn Read + Send>, Box<dyn Read + Send>, &Path) -> Result<()>
            + Send
            + 'static,
    ) -> Result<PathBuf> {
        if job.status.is_final() && out.exists() {
            return Ok(out);
        }
        let (files, out2) = (self.core.store.files(), out.clone());
        tokio::task::spawn_blocking(move || {
            let lines = files.open_result(&job.id, job.checkpoint.result_offset)?;
            let input = files.open_input(&job.file_id, result::input_offset(&job))?;
            write(&job, lines, input, &out2)
        })
        .await
        .map_err(Error::internal)??;
        Ok(out)
    }
}

/// Numbers a job's ids (allocating what has no number yet), in its creation transaction.
fn number_job(ctx: &mut Ctx<'_>, job: &Job) -> Result<JobNumbers> {
    use crate::model::AliasKind as K;
    let (object, app) = (job.object_id.to_string(), job.app_id.to_string());
    let mut n = |kind, id: &str| -> Result<u64> {
        ctx.tx
            .alias_numbers(kind, &[id], true)?
            .pop()
            .flatten()
            .ok_or_else(|| Error::internal("an alias was not allocated"))
    };
    Ok(JobNumbers {
        job: n(K::Job, &job.id)?,
        file: n(K::File, &job.file_id)?,
        object: n(K::Object, &object)?,
        app: n(K::App, &app)?,
        user: n(K::User, &job.created_by_id)?,
    })
}
