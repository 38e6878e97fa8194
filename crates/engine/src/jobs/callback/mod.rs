//! Callbacks of jobs and exports: once one finishes, its document — rendered by the front door
//! that made it — is signed and POSTed to the caller's URL, retried with exponential backoff, each attempt
//! recorded on the job; deliveries left pending by a stop resume at the next start. Each attempt is
//! made under a lease on the delivery (held through the backoff that follows it), so among
//! instances sharing a database exactly one delivers, and another takes over if it dies.

mod policy;
mod send;

pub use policy::{check, parse_url};
pub use send::sign;

use crate::core::Core;
use crate::error::{Error, Result};
use crate::model::{takeable, Callback, CallbackStatus, Export, Job};
use crate::store::Tx;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use uuid::Uuid;

/// Renders a job as its callback body.
pub type Renderer = Arc<dyn Fn(&Job) -> Json + Send + Sync>;
/// Renders an export as its callback body.
pub type ExportRenderer = Arc<dyn Fn(&Export) -> Json + Send + Sync>;

/// Background work that ends with a callback.
pub(crate) trait Calls: Sized + Send + 'static {
    fn load(tx: &mut dyn Tx, id: &str) -> Result<Option<Self>>;
    fn save(&self, tx: &mut dyn Tx) -> Result<()>;
    fn callback(&mut self) -> Option<&mut Callback>;
    fn app_id(&self) -> Uuid;
    /// Its body, as the front door that made it renders it.
    fn render(&self, by: &Callbacks) -> Option<Json>;
}

impl Calls for Job {
    fn load(tx: &mut dyn Tx, id: &str) -> Result<Option<Job>> {
        tx.get_job(id)
    }
    fn save(&self, tx: &mut dyn Tx) -> Result<()> {
        tx.put_job(self)
    }
    fn callback(&mut self) -> Option<&mut Callback> {
        self.callback.as_mut()
    }
    fn app_id(&self) -> Uuid {
        self.app_id
    }
    fn render(&self, by: &Callbacks) -> Option<Json> {
        let renderers = by.renderers.read().unwrap_or_else(|p| p.into_inner());
        let r = renderers.get(&self.tag).or_else(|| renderers.get(""))?;
        Some(r(self))
    }
}

impl Calls for Export {
    fn load(tx: &mut dyn Tx, id: &str) -> Result<Option<Export>> {
        tx.get_export(id)
    }
    fn save(&self, tx: &mut dyn Tx) -> Result<()> {
        tx.put_export(self)
    }
    fn callback(&mut self) -> Option<&mut Callback> {
        self.callback.as_mut()
    }
    fn app_id(&self) -> Uuid {
        self.app_id
    }
    fn render(&self, by: &Callbacks) -> Option<Json> {
        let renderers = by.exports.read().unwrap_or_else(|p| p.into_inner());
        let r = renderers.get(&self.tag).or_else(|| renderers.get(""))?;
        Some(r(self))
    }
}

pub struct Callbacks {
    core: Arc<Core>,
    /// By job tag; the `""` entry renders jobs whose tag has none of its own.
    renderers: RwLock<HashMap<String, Renderer>>,
    /// By export tag, likewise.
    exports: RwLock<HashMap<String, ExportRenderer>>,
    /// The jobs and exports whose callbacks a task here is delivering.
    active: Mutex<HashSet<String>>,
}

impl Callbacks {
    pub fn new(core: Arc<Core>) -> Callbacks {
        Callbacks {
            core,
            renderers: RwLock::new(HashMap::new()),
            exports: RwLock::new(HashMap::new()),
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

    /// Sets the renderer for exports tagged `tag` (`""`: every export without one of its own).
    pub fn set_export_renderer(&self, tag: &str, r: ExportRenderer) {
        self.exports
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tag.to_owned(), r);
    }

    /// Resumes the deliveries a stop (or another instance that died) left pending.
    pub async fn resume(self: &Arc<Self>) -> Result<()> {
        let (jobs, exports) = self
            .core
            .read(|ctx| {
                Ok((
                    ctx.tx.jobs_with_callback(CallbackStatus::Pending)?,
                    ctx.tx.exports_with_callback(CallbackStatus::Pending)?,
                ))
            })
            .await?;
        for job in jobs {
            self.spawn(job.id);
        }
        for export in exports {
            self.spawn_export(export.id);
        }
        Ok(())
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers a finished job's callback on a background task (unless one here already is).
    pub fn spawn(self: &Arc<Self>, job_id: String) {
        self.spawn_for::<Job>(job_id);
    }

    /// Delivers a finished export's callback on a background task (unless one here already is).
    pub fn spawn_export(self: &Arc<Self>, export_id: String) {
        self.spawn_for::<Export>(export_id);
    }

    fn spawn_for<T: Calls>(self: &Arc<Self>, id: String) {
        if !self.active().insert(id.clone()) {
            return;
        }
        let me = self.clone();
        self.core.background.spawn(async move {
            me.deliver::<T>(&id).await;
            me.active().remove(&id);
        });
    }

    /// Takes the delivery of `id`'s callback for one attempt, if it is due and no other instance
    /// holds it (on a store nobody else shares, the only other holder was a stopped run).
    async fn claim<T: Calls>(self: &Arc<Self>, id: &str) -> Option<(T, Callback)> {
        let (me, id) = (self.clone(), id.to_owned());
        let shared = self.core.store.shared();
        let hold = self.core.settings.callback_timeout;
        self.core
            .transact(move |ctx| {
                let Some(mut item) = T::load(ctx.tx, &id)? else {
                    return Ok(None);
                };
                let lease = me.core.lease_for(hold);
                let Some(cb) = item.callback().filter(|cb| {
                    cb.status == CallbackStatus::Pending
                        && (!shared || takeable(cb.lease.as_ref(), &lease.owner, &ctx.now))
                }) else {
                    return Ok(None);
                };
                cb.lease = Some(lease);
                let cb = cb.clone();
                item.save(ctx.tx)?;
                Ok(Some((item, cb)))
            })
            .await
            .ok()
            .flatten()
    }

    async fn deliver<T: Calls>(self: &Arc<Self>, id: &str) {
        loop {
            let Some((item, cb)) = self.claim::<T>(id).await else {
                return;
            };
            let Some(app) = self.core.catalog().app_by_id(item.app_id()).cloned() else {
                return;
            };
            let Some(body) = item.render(self) else {
                tracing::error!(id, "no callback renderer for this work");
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
            let (id, me) = (id.to_owned(), self.clone());
            let recorded = self
                .core
                .transact(move |ctx| {
                    let mut item = T::load(ctx.tx, &id)?
                        .ok_or_else(|| Error::not_found("the work is gone"))?;
                    let mut due = false;
                    if let Some(cb) = item.callback() {
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
                        due = cb.status == CallbackStatus::Pending;
                        cb.lease = due.then(|| me.core.lease_for(wait));
                    }
                    item.save(ctx.tx)?;
                    Ok(due)
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
