//! Job callbacks: once a job finishes, its document — rendered by the front door that made the
//! job — is signed and POSTed to the caller's URL, retried with exponential backoff, each attempt
//! recorded on the job; deliveries left pending by a stop resume at the next start.

mod policy;
mod send;

pub use policy::{check, parse_url};
pub use send::sign;

use crate::core::Core;
use crate::error::Error;
use crate::model::{CallbackStatus, Job};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Renders a job as its callback body.
pub type Renderer = Arc<dyn Fn(&Job) -> Json + Send + Sync>;

pub struct Callbacks {
    core: Arc<Core>,
    /// By job tag; the `""` entry renders jobs whose tag has none of its own.
    renderers: RwLock<HashMap<String, Renderer>>,
}

impl Callbacks {
    pub fn new(core: Arc<Core>) -> Callbacks {
        Callbacks {
            core,
            renderers: RwLock::new(HashMap::new()),
        }
    }

    /// Sets the renderer for jobs tagged `tag` (`""`: every job without a renderer of its own).
    pub fn set_renderer(&self, tag: &str, r: Renderer) {
        self.renderers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tag.to_owned(), r);
    }

    fn render(&self, job: &Job) -> Option<Json> {
        let renderers = self.renderers.read().unwrap_or_else(|p| p.into_inner());
        let r = renderers.get(&job.tag).or_else(|| renderers.get(""))?;
        Some(r(job))
    }

    /// Resumes the deliveries a stop left pending.
    pub async fn resume(self: &Arc<Self>) -> crate::error::Result<()> {
        let pending = self
            .core
            .read(|ctx| ctx.tx.jobs_with_callback(CallbackStatus::Pending))
            .await?;
        for job in pending {
            self.spawn(job.id);
        }
        Ok(())
    }

    /// Delivers a finished job's callback on a background task.
    pub fn spawn(self: &Arc<Self>, job_id: String) {
        let me = self.clone();
        self.core
            .background
            .spawn(async move { me.deliver(job_id).await });
    }

    async fn deliver(&self, job_id: String) {
        loop {
            let id = job_id.clone();
            let Ok(Some(job)) = self.core.read(move |ctx| ctx.tx.get_job(&id)).await else {
                return;
            };
            let Some(cb) = job.callback.clone().filter(|_| job.callback_due()) else {
                return;
            };
            let Some(app) = self.core.catalog().app_by_id(job.app_id).cloned() else {
                return;
            };
            let Some(body) = self.render(&job) else {
                tracing::error!(job = %job.id, "no callback renderer for this job");
                return;
            };
            let body = serde_json::to_vec(&body).unwrap_or_default();
            let s = &self.core.settings;
            let outcome = send::send(
                &s.callback_allow,
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
                .core
                .transact(move |ctx| {
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
                    Ok(job.callback_due())
                })
                .await;
            if !matches!(recorded, Ok(true)) {
                return;
            }
            let wait = s
                .callback_backoff
                .saturating_mul(1 << (attempts - 1).min(16));
            if !self.core.background.sleep(wait).await {
                return;
            }
        }
    }
}
