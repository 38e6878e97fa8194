//! The engine's job face: uploads, job creation and control, results, the worker pool and
//! callback delivery. The job logic itself lives in `jobs`.

use crate::auth::{Need, Principal};
use crate::error::{Error, ErrorCode, Result};
use crate::jobs::result::{self, ResultRow};
use crate::jobs::upload::{self, Format};
use crate::jobs::{self, callback, CallbackStatus, Dialect, FileRow, Job, JobRequest, JobStatus};
use crate::model::{Object, Timestamp};
use crate::Engine;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;
use uuid::Uuid;

/// Renders a job for its callback (the dialect that made it decides the body).
pub type Renderer = Arc<dyn Fn(&Job) -> Json + Send + Sync>;

/// How a result file is rendered for download.
pub enum ResultFormat {
    Native,
    /// A dialect's CSV: its file name, header and row renderer.
    Custom {
        tag: &'static str,
        csv_name: String,
        header: Vec<String>,
        render: Box<dyn Fn(ResultRow) -> Vec<String> + Send>,
    },
}

pub struct JobState {
    dir: PathBuf,
    notify: Notify,
    stopping: AtomicBool,
    renderers: RwLock<HashMap<Dialect, Renderer>>,
}

impl JobState {
    pub fn new(data_dir: &Path) -> Result<JobState> {
        for sub in ["files", "jobs", "uploads"] {
            std::fs::create_dir_all(data_dir.join(sub)).map_err(Error::internal)?;
        }
        // Uploads cut short by a crash are never registered: clear them.
        for entry in std::fs::read_dir(data_dir.join("uploads"))
            .map_err(Error::internal)?
            .flatten()
        {
            let _ = std::fs::remove_file(entry.path());
        }
        Ok(JobState {
            dir: data_dir.to_owned(),
            notify: Notify::new(),
            stopping: AtomicBool::new(false),
            renderers: RwLock::new(HashMap::new()),
        })
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

/// Ids name files on disk: only UUIDs are accepted.
fn check_id(id: &str, what: &str) -> Result<()> {
    Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| Error::not_found(format!("no {what} with id {id:?}")).with_field(what))
}

impl Engine {
    /// A fresh path for streaming an upload to before it is registered.
    pub fn upload_path(&self) -> PathBuf {
        self.jobs
            .dir
            .join("uploads")
            .join(Uuid::new_v4().to_string())
    }

    fn file_path(&self, id: &str) -> PathBuf {
        self.jobs.dir.join("files").join(format!("{id}.csv"))
    }

    fn result_path(&self, id: &str) -> PathBuf {
        self.jobs.dir.join("jobs").join(format!("{id}.result"))
    }

    /// Registers a renderer for the callbacks of jobs made through `dialect`.
    pub fn set_callback_renderer(&self, dialect: Dialect, r: Renderer) {
        self.jobs
            .renderers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dialect, r);
    }

    pub(crate) fn app_for(
        &self,
        who: &Principal,
        app: &str,
        need: Need,
    ) -> Result<Arc<crate::model::App>> {
        let catalog = self.catalog();
        let a = catalog
            .app(app)
            .ok_or_else(|| Error::not_found(format!("no app named {app:?}")))?;
        who.authorize(a, need)?;
        Ok(a.clone())
    }

    /// Checks that `who` may upload to `app`, before any byte is stored.
    pub fn authorize_upload(&self, who: &Principal, app: &str) -> Result<()> {
        self.app_for(who, app, Need::Write).map(|_| ())
    }

    /// Checks and normalises the upload streamed to `raw`, then records it. `raw` is removed.
    pub async fn register_upload(
        &self,
        who: &Principal,
        app: &str,
        name: &str,
        content_type: Option<&str>,
        raw: PathBuf,
        size: u64,
    ) -> Result<FileRow> {
        let result = self
            .register(who, app, name, content_type, &raw, size)
            .await;
        let _ = tokio::fs::remove_file(&raw).await;
        result
    }

    async fn register(
        &self,
        who: &Principal,
        app: &str,
        name: &str,
        content_type: Option<&str>,
        raw: &Path,
        size: u64,
    ) -> Result<FileRow> {
        let app = self.app_for(who, app, Need::Write)?;
        let mut head = [0u8; 4];
        let n = {
            use std::io::Read;
            std::fs::File::open(raw)
                .and_then(|mut f| f.read(&mut head))
                .map_err(Error::internal)?
        };
        let format = Format::detect(content_type, name, &head[..n]);
        let id = Uuid::now_v7().to_string();
        let out = self.file_path(&id);
        let (raw, limits, name_owned, out2) = (
            raw.to_owned(),
            self.settings().upload.clone(),
            name.to_owned(),
            out.clone(),
        );
        let normalized = tokio::task::spawn_blocking(move || {
            upload::normalize(&raw, format, &name_owned, &out2, &limits)
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
            created_at: Timestamp::now(),
            created_by: who.user_name().to_owned(),
        };
        let row = file.clone();
        self.write(move |ctx| {
            let r = ctx.tx.put_file(&row);
            (r.is_ok(), r)
        })
        .await??;
        Ok(file)
    }

    /// Checks a job request completely (file, object, mappings, limits, callback policy) and queues it.
    pub async fn create_job(
        &self,
        who: &Principal,
        app: &str,
        req: JobRequest,
        dialect: Dialect,
    ) -> Result<Job> {
        let app = self.app_for(who, app, Need::Write)?;
        if let Some(cb) = &req.callback {
            let url = callback::parse_url(&cb.url)?;
            self.settings().callback_policy.check(&url).await?;
        }
        check_id(&req.file_id, "file_id")?;
        let (who, max) = (who.clone(), self.settings().max_job_records);
        let job = self
            .write(move |ctx| {
                let r = (|| {
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
                    let owner = jobs::plan::Owner {
                        app_id: app.id,
                        app: app.name.as_str(),
                        user: who.user_name(),
                        user_id: who.user_id(),
                        now: ctx.now.clone(),
                        dialect,
                        max_records: max,
                    };
                    let job = jobs::plan_job(req, &obj, &file, owner)?;
                    ctx.tx.put_job(&job)?;
                    Ok(job)
                })();
                (r.is_ok(), r)
            })
            .await??;
        self.jobs.notify.notify_one();
        Ok(job)
    }

    async fn load_job(&self, who: &Principal, app: &str, id: &str, need: Need) -> Result<Job> {
        let app = self.app_for(who, app, need)?;
        check_id(id, "job")?;
        let id = id.to_owned();
        let job = self.read(move |ctx| ctx.tx.get_job(&id)).await??;
        job.filter(|j| j.app_id == app.id)
            .ok_or_else(|| Error::not_found("no such job"))
    }

    pub async fn get_job(&self, who: &Principal, app: &str, id: &str) -> Result<Job> {
        self.load_job(who, app, id, Need::Read).await
    }

    pub async fn list_jobs(&self, who: &Principal, app: &str, limit: usize) -> Result<Vec<Job>> {
        let app = self.app_for(who, app, Need::Read)?;
        self.read(move |ctx| ctx.tx.list_jobs(app.id, limit))
            .await?
    }

    /// Cancels a job: a queued one at once; a running one stops before its next chunk.
    pub async fn cancel_job(&self, who: &Principal, app: &str, id: &str) -> Result<Job> {
        let job = self.load_job(who, app, id, Need::Write).await?;
        let id = job.id;
        self.write(move |ctx| {
            let r = (|| {
                let mut job = ctx
                    .tx
                    .get_job(&id)?
                    .ok_or_else(|| Error::not_found("no such job"))?;
                match job.status {
                    JobStatus::Queued => {
                        job.status = JobStatus::Canceled;
                        job.completed_at = Some(ctx.now.clone());
                    }
                    JobStatus::Running => job.cancel_requested = true,
                    done => {
                        return Err(Error::new(
                            ErrorCode::Conflict,
                            format!("the job is already {}", done.as_str()),
                        ))
                    }
                }
                ctx.tx.put_job(&job)?;
                Ok(job)
            })();
            (r.is_ok(), r)
        })
        .await?
    }

    /// The job's result as a ZIP file on disk (made once a job has finished, kept for later downloads).
    pub async fn job_result(
        &self,
        who: &Principal,
        app: &str,
        id: &str,
        format: ResultFormat,
    ) -> Result<PathBuf> {
        let job = self.load_job(who, app, id, Need::Read).await?;
        let tag = match &format {
            ResultFormat::Native => "native",
            ResultFormat::Custom { tag, .. } => tag,
        };
        let out = self
            .jobs
            .dir
            .join("jobs")
            .join(format!("{}.{tag}.{}.zip", job.id, job.checkpoint.rows_done));
        if job.status.is_final() && out.exists() {
            return Ok(out);
        }
        let (result_path, input) = (self.result_path(&job.id), self.file_path(&job.file_id));
        let out2 = out.clone();
        tokio::task::spawn_blocking(move || match format {
            ResultFormat::Native => {
                let name = format!("{}-{}", job.object, csv_name(&job.file_name));
                result::write_zip(
                    &job,
                    &result_path,
                    &input,
                    &out2,
                    &name,
                    &result::native_header(&job),
                    &result::native_row,
                )
            }
            ResultFormat::Custom {
                csv_name,
                header,
                render,
                ..
            } => result::write_zip(
                &job,
                &result_path,
                &input,
                &out2,
                &csv_name,
                &header,
                &*render,
            ),
        })
        .await
        .map_err(Error::internal)??;
        Ok(out)
    }

    /// Starts the job workers: jobs left running by a crash are queued again, callbacks left
    /// pending are resumed, then `job_workers` workers take queued jobs in order.
    pub async fn start_jobs(self: &Arc<Self>) -> Result<()> {
        let recovered = self.write(|ctx| {
            let r = jobs::recover(ctx.tx);
            (r.is_ok(), r)
        });
        let n = recovered.await??;
        if n > 0 {
            tracing::info!(jobs = n, "resuming jobs left running");
        }
        let pending = self
            .read(|ctx| ctx.tx.jobs_with_callback("pending"))
            .await??;
        for job in pending {
            self.spawn_callback(job.id);
        }
        self.resume_batches().await?;
        for _ in 0..self.settings().job_workers.max(1) {
            let engine = self.clone();
            tokio::spawn(async move { engine.worker().await });
        }
        Ok(())
    }

    async fn claim(&self) -> Result<Option<Job>> {
        self.write(|ctx| {
            let r = (|| {
                let Some(mut job) = ctx.tx.jobs_by_status(JobStatus::Queued.as_str(), 1)?.pop()
                else {
                    return Ok(None);
                };
                jobs::run::started(&mut job, &ctx.now);
                ctx.tx.put_job(&job)?;
                Ok(Some(job))
            })();
            (r.is_ok(), r)
        })
        .await?
    }

    async fn worker(self: Arc<Self>) {
        while !self.jobs.stopping.load(Ordering::SeqCst) {
            match self.claim().await {
                Ok(Some(job)) => {
                    let claimed = job.clone();
                    let done = self
                        .run_blocking(move |host| jobs::run_job(host, job))
                        .await;
                    // A worker that panicked leaves its job failed, not running forever.
                    let job = match done {
                        Some(job) => job,
                        None => {
                            let msg = "the job stopped on an internal error".to_owned();
                            let failed = claimed.clone();
                            self.run_blocking(move |host| jobs::run::fail(host, &failed, msg))
                                .await
                                .unwrap_or(claimed)
                        }
                    };
                    if job
                        .callback
                        .as_ref()
                        .is_some_and(|c| c.status == CallbackStatus::Pending)
                    {
                        self.spawn_callback(job.id);
                    }
                }
                Ok(None) => {
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_secs(1),
                        self.jobs.notify.notified(),
                    )
                    .await;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    }

    /// Runs job work on a blocking thread with the engine as its host; `None` if it panicked.
    async fn run_blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Host<'_>) -> T + Send + 'static,
    ) -> Option<T> {
        let engine = self.clone();
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            f(&Host {
                engine: &engine,
                rt,
            })
        })
        .await
        .ok()
    }

    fn spawn_callback(self: &Arc<Self>, job_id: String) {
        let engine = self.clone();
        tokio::spawn(async move { engine.deliver(job_id).await });
    }

    /// Delivers a job's callback with exponential backoff, recording each attempt on the job.
    async fn deliver(self: Arc<Self>, job_id: String) {
        loop {
            let id = job_id.clone();
            let Ok(Ok(Some(job))) = self.read(move |ctx| ctx.tx.get_job(&id)).await else {
                return;
            };
            let Some(cb) = job
                .callback
                .clone()
                .filter(|c| c.status == CallbackStatus::Pending)
            else {
                return;
            };
            let Some(app) = self.catalog().app_by_id(job.app_id).cloned() else {
                return;
            };
            let render = self
                .jobs
                .renderers
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&job.dialect)
                .cloned();
            let body = render.map_or_else(|| job.to_json(), |r| r(&job));
            let body = serde_json::to_vec(&body).unwrap_or_default();
            let s = self.settings();
            let outcome = callback::deliver(
                &s.callback_policy,
                &cb.url,
                &app.secret,
                &body,
                s.callback_timeout,
            )
            .await;
            let attempts = cb.attempts + 1;
            let give_up = attempts >= s.callback_attempts;
            let id = job_id.clone();
            let recorded = self
                .write(move |ctx| {
                    let r = (|| {
                        let mut job = ctx
                            .tx
                            .get_job(&id)?
                            .ok_or_else(|| Error::not_found("the job is gone"))?;
                        if let Some(cb) = job.callback.as_mut() {
                            cb.attempts = attempts;
                            match &outcome {
                                Ok(()) => {
                                    cb.status = CallbackStatus::Delivered;
                                    cb.delivered_at = Some(ctx.now.clone());
                                    cb.last_error = None;
                                }
                                Err(e) => {
                                    cb.last_error = Some(e.clone());
                                    if give_up {
                                        cb.status = CallbackStatus::Failed;
                                    }
                                }
                            }
                        }
                        ctx.tx.put_job(&job)?;
                        Ok::<_, Error>(job.callback.map(|c| c.status))
                    })();
                    (r.is_ok(), r)
                })
                .await;
            match recorded {
                Ok(Ok(Some(CallbackStatus::Pending))) => {
                    let wait = s
                        .callback_backoff
                        .saturating_mul(1 << (attempts - 1).min(16));
                    tokio::time::sleep(wait).await;
                }
                _ => return,
            }
        }
    }
}

/// `file.csv` stays; an upload without a `.csv` name gets one, so the result CSV is named well.
fn csv_name(name: &str) -> String {
    if name.to_ascii_lowercase().ends_with(".csv") {
        name.to_owned()
    } else {
        format!("{name}.csv")
    }
}

/// The engine as the worker sees it.
struct Host<'a> {
    engine: &'a Arc<Engine>,
    rt: tokio::runtime::Handle,
}

impl jobs::run::JobHost for Host<'_> {
    fn write_blocking(&self, f: jobs::run::JobWrite) -> Result<Job> {
        self.rt
            .block_on(self.engine.write(move |ctx| {
                let r = f(ctx);
                (r.is_ok(), r)
            }))
            .and_then(|r| r)
    }

    fn submit(&self, f: jobs::run::JobWrite) -> jobs::run::Waiter {
        let engine = self.engine.clone();
        let handle = self.rt.spawn(async move {
            engine
                .write(move |ctx| {
                    let r = f(ctx);
                    (r.is_ok(), r)
                })
                .await
        });
        let rt = self.rt.clone();
        Box::new(move || {
            rt.block_on(handle)
                .map_err(Error::internal)?
                .and_then(|r| r)
        })
    }

    fn current_object(&self, job: &Job) -> Option<Arc<Object>> {
        self.engine
            .catalog()
            .app_by_id(job.app_id)?
            .object_by_id(&job.object_id.to_string())
            .cloned()
    }

    fn input_path(&self, file_id: &str) -> PathBuf {
        self.engine.file_path(file_id)
    }

    fn result_path(&self, job_id: &str) -> PathBuf {
        self.engine.result_path(job_id)
    }

    fn chunk_rows(&self) -> usize {
        self.engine.settings().job_chunk_rows
    }

    fn stopping(&self) -> bool {
        self.engine.jobs.stopping.load(Ordering::SeqCst)
    }
}
