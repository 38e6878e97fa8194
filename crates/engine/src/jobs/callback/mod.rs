//! Job callbacks: once a job finishes, its document — rendered by the front door that made the
//! job — is signed and POSTed to the caller's URL, retried with exponential backoff, each attempt
//! recorded on the job; deliveries left pending by a stop resume at the next start. Each attempt is
//! made under a lease on the delivery (held through the backoff that follows it), so among
//! instances sharing a database exactly one delivers, and another takes over if it dies.

mod policy;
mod send;

pub use policy::{check, parse_url};
pub use send::sign;

use crate::core::Core;
use crate::error::Error;
use crate::model::{takeable, CallbackStatus, Job};
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

/// Renders a job as its callback body.
pub type Renderer = Arc<dyn Fn(&Job) -> Json + Send + Sync>;

pub struct Callbacks {
    core: Arc<Core>,
    /// By job tag; the `""` entry renders jobs whose tag has none of its own.
    renderers: RwLock<HashMap<String, Renderer>>,
    /// The jobs whose callbacks a task here is delivering.
    active: Mutex<HashSet<String>>,
}

impl Callbacks {
    pub fn new(core: Arc<Core>) -> Callbacks {
        Callbacks {
            core,
            renderers: RwLock::new(HashMap::new()),
            active: Mutex::new(HashSet::new()),
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

    /// Resumes the deliveries a stop (or another instance that died) left pending.
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

    fn active(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers a finished job's callback on a background task (unless one here already is).
    pub fn spawn(self: &Arc<Self>, job_id: String) {
        if !self.active().insert(job_id.clone()) {
            return;
        }
        let me = self.clone();
        self.core.background.spawn(async move {
            me.deliver(&job_id).await;
            me.active().remove(&job_id);
        });
    }

    /// Takes the delivery of job `id`'s callback for one attempt, if it is due and no other
    /// instance holds it (on a store nobody else shares, the only other holder was a stopped run).
    async fn claim(self: &Arc<Self>, id: &str) -> Option<Job> {
        let (me, id) = (self.clone(), id.to_owned());
        let shared = self.core.store.shared();
        let hold = self.core.settings.callback_timeout;
        self.core
            .transact(move |ctx| {
                let Some(mut job) = ctx.tx.get_job(&id)? else {
                    return Ok(None);
                };
                let lease = me.core.lease_for(hold);
                let Some(cb) = job.callback.as_mut().filter(|cb| {
                    cb.status == CallbackStatus::Pending
                        && (!shared || takeable(cb.lease.as_ref(), &lease.owner, &ctx.now))
                }) else {
                    return Ok(None);
                };
                cb.lease = Some(lease);
                ctx.tx.put_job(&job)?;
                Ok(Some(job))
            })
            .await
            .ok()
            .flatten()
    }

    async fn deliver(self: &Arc<Self>, job_id: &str) {
        loop {
            let Some(job) = self.claim(job_id).await else {
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
            crate::metrics::callback(match (&outcome, give_up) {
                (Ok(()), _) => "delivered",
                (Err(_), false) => "retry",
                (Err(_), true) => "failed",
            });
            let wait = s
                .callback_backoff
                .saturating_mul(1 << (attempts - 1).min(16));
            let (id, me) = (job_id.to_owned(), self.clone());
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
                        // Held through the backoff, so the next attempt is this instance's.
                        cb.lease =
                            (cb.status == CallbackStatus::Pending).then(|| me.core.lease_for(wait));
                    }
                    ctx.tx.put_job(&job)?;
                    Ok(job.callback_due())
                })
                .await;
            if !matches!(recorded, Ok(true)) {
                return;
            }
            if !self.core.background.sleep(wait).await {
                return;
            }
        }
    }
}
