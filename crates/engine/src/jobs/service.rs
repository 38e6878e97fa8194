//! The job service: uploads (authorised before a byte is stored, then checked and registered),
//! job creation (every check before anything is queued), status, cancel, result files, and the
//! start of the workers.

use super::callback::{self, Callbacks, Renderer};
use super::files::{check_id, Scratch};
use super::plan::{plan_job, JobRequest, Owner};
use super::queue;
use super::result::{self, ResultLayout};
use super::upload::{self, Format};
use super::worker::Workers;
use crate::auth::{Need, Principal};
use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{cancel, CallbackStatus, FileRow, Job, JobNumbers, JobStatus};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

pub struct Jobs {
    core: Arc<Core>,
    scratch: Scratch,
    callbacks: Arc<Callbacks>,
    queued: Arc<Notify>,
}

impl Jobs {
    pub fn new(core: Arc<Core>, data_dir: &Path) -> Result<Jobs> {
        Ok(Jobs {
            scratch: Scratch::open(data_dir)?,
            callbacks: Arc::new(Callbacks::new(core.clone())),
            queued: Arc::new(Notify::new()),
            core,
        })
    }

    /// Requeues jobs a crash left running, resumes pending callbacks, and starts the workers.
    pub async fn start(&self) -> Result<()> {
        // A store no other instance shares holds only jobs a stopped process left running.
        let n = queue::rescue(&self.core, !self.core.store.shared()).await?;
        if n > 0 {
            tracing::info!(jobs = n, "resuming jobs left running");
        }
        self.callbacks.resume().await?;
        Workers {
            core: self.core.clone(),
            callbacks: self.callbacks.clone(),
            queued: self.queued.clone(),
        }
        .spawn(self.core.settings.job_workers);
        Ok(())
    }

    /// Sets how callbacks of jobs tagged `tag` are rendered (`""`: every job without its own).
    pub fn set_callback_renderer(&self, tag: &str, r: Renderer) {
        self.callbacks.set_renderer(tag, r);
    }

    /// A fresh path for streaming an upload to before it is registered.
    pub fn upload_path(&self) -> PathBuf {
        self.scratch.upload_path()
    }

    /// Checks that `who` may upload to `app`, before any byte is stored.
    pub fn authorize_upload(&self, who: &Principal, app: &str) -> Result<()> {
        self.core.app(who, app, Need::Write).map(|_| ())
    }

    /// Checks and normalises the upload streamed to `raw` (which must be a ZIP archive if
    /// `zip_only`), then records it. `raw` is removed.
    #[allow(clippy::too_many_arguments)]
    pub async fn register_upload(
        &self,
        who: &Principal,
        app: &str,
        name: &str,
        content_type: Option<&str>,
        raw: PathBuf,
        size: u64,
        zip_only: bool,
    ) -> Result<FileRow> {
        let result = self
            .register(who, app, name, content_type, &raw, size, zip_only)
            .await;
        let _ = tokio::fs::remove_file(&raw).await;
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn register(
        &self,
        who: &Principal,
        app: &str,
        name: &str,
        content_type: Option<&str>,
        raw: &Path,
        size: u64,
        zip_only: bool,
    ) -> Result<FileRow> {
        let app = self.core.app(who, app, Need::Write)?;
        let mut head = [0u8; 4];
        let n = {
            use std::io::Read;
            std::fs::File::open(raw)
                .and_then(|mut f| f.read(&mut head))
                .map_err(Error::internal)?
        };
        if zip_only && !head.starts_with(b"PK") {
            return Err(
                Error::new(ErrorCode::InvalidFile, "only ZIP files are accepted here")
                    .with_field("format"),
            );
        }
        let format = Format::detect(content_type, name, &head[..n]);
        let id = Uuid::now_v7().to_string();
        let out = self.scratch.normalized_path(&id);
        let (raw, limits, name_owned, out2) = (
            raw.to_owned(),
            self.core.settings.upload.clone(),
            name.to_owned(),
            out.clone(),
        );
        let (files, fid) = (self.core.store.files(), id.clone());
        let normalized = tokio::task::spawn_blocking(move || {
            let n = upload::normalize(&raw, format, &name_owned, &out2, &limits)?;
            files.put_input(&fid, &out2)?;
            Ok(n)
        })
        .await
        .map_err(Error::internal)?;
        let normalized = match normalized {
            Ok(n) => n,
            Err(e) => {
                let _ = tokio::fs::remove_file(&out).await;
                return Err(e);
            }
        };
        let file = FileRow {
            id,
            app_id: app.id,
            name: if format == Format::Zip {
                normalized.name
            } else {
                name.to_owned()
            },
            size,
            content_type: format.content_type().to_owned(),
            header: normalized.header,
            rows: normalized.rows,
            created_at: self.core.now(),
            created_by: who.user_name().to_owned(),
        };
        let row = file.clone();
        self.core.transact(move |ctx| ctx.tx.put_file(&row)).await?;
        Ok(file)
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
        let job = self
            .core
            .transact(move |ctx| {
                let obj = app.object(&req.object).cloned().ok_or_else(|| {
                    Error::not_found(format!(
                        "app {} has no object named {:?}",
                        app.name, req.object
                    ))
                    .with_field("object")
                })?;
                let file = ctx.tx.get_file(app.id, &req.file_id)?.ok_or_else(|| {
                    Error::not_found(format!("no file with id {:?}", req.file_id))
                        .with_field("file_id")
                })?;
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
                if req.numbered {
                    job.numbers = Some(number_job(ctx, &job)?);
                }
                ctx.tx.put_job(&job)?;
                Ok(job)
            })
            .await?;
        self.queued.notify_one();
        Ok(job)
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
        self.core.held_jobs.total_rate()
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
        self.queued.notify_one();
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
        let job = self.load(who, app, id, Need::Read).await?;
        let layout = layout(&job);
        let out = self
            .scratch
            .result_zip(&job.id, layout.tag, job.checkpoint.rows_done);
        if job.status.is_final() && out.exists() {
            return Ok(out);
        }
        let (files, out2) = (self.core.store.files(), out.clone());
        tokio::task::spawn_blocking(move || {
            let lines = files.open_result(&job.id, job.checkpoint.result_offset)?;
            let input = files.open_input(&job.file_id, job.checkpoint.input_offset)?;
            result::write_zip(
                &job,
                lines,
                input,
                &out2,
                &layout.csv_name,
                &layout.header,
                &*layout.render,
            )
        })
        .await
        .map_err(Error::internal)??;
        Ok(out)
    }
}

/// Numbers a job's ids (allocating what has no number yet), in its creation transaction.
fn number_job(ctx: &mut crate::core::Ctx<'_>, job: &Job) -> Result<JobNumbers> {
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
