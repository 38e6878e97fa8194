//! The export service: create (every check before anything is queued, optionally once for an
//! idempotency key), get, list, cancel, and the finished file.

use super::download::Download;
use super::request::{self, ExportRequest};
use super::Runner;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::jobs::callback::{self, Callbacks};
use crate::model::{
    cancel, Answer, Export, IdemKey, Keyed, Need, Phase, Principal, Stored, TaskKind,
};
use crate::query::Queries;
use crate::tasks::Scheduler;
use std::path::Path;
use std::sync::Arc;

/// How a front door answers with an export (kept with an idempotency key).
pub type Render = Arc<dyn Fn(&Export) -> Answer + Send + Sync>;

pub struct Exports {
    runner: Arc<Runner>,
}

impl Exports {
    pub(crate) fn new(
        core: Arc<Core>,
        callbacks: Arc<Callbacks>,
        data_dir: &Path,
    ) -> Result<Exports> {
        let scratch = data_dir.join("exports");
        // What a stop left here was partial output of query exports, which start over.
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).map_err(Error::io)?;
        Ok(Exports {
            runner: Arc::new(Runner {
                queries: Queries::new(core.clone()),
                core,
                callbacks,
                scratch,
            }),
        })
    }

    fn core(&self) -> &Core {
        &self.runner.core
    }

    /// Sets how export callbacks are rendered (those of every door without a renderer of its own).
    pub fn set_callback_renderer(&self, r: callback::ExportRenderer) {
        self.runner.callbacks.set_export_renderer("", r);
    }

    /// Sets how the callbacks of exports made with `tag` are rendered.
    pub fn set_tagged_callback_renderer(&self, tag: &str, r: callback::ExportRenderer) {
        self.runner.callbacks.set_export_renderer(tag, r);
    }

    /// Registers the executor of exports.
    pub async fn start(&self, scheduler: &Scheduler) -> Result<()> {
        let workers = self.core().settings.export.workers;
        scheduler.register(self.runner.clone(), workers).await
    }

    /// Checks and queues an export `who` asks for in `app` (readers may export).
    pub async fn create(&self, who: &Principal, app: &str, req: ExportRequest) -> Result<Export> {
        self.create_tagged(who, app, req, "").await
    }

    /// `create`, for the front door `tag` names: its callback renders with that door's renderer.
    pub async fn create_tagged(
        &self,
        who: &Principal,
        app: &str,
        req: ExportRequest,
        tag: &str,
    ) -> Result<Export> {
        let mut e = self.planned(who, app, req).await?;
        e.tag = tag.to_owned();
        let created = self
            .core()
            .transact(move |ctx| {
                let mut e = e.clone();
                e.numbers = Some(request::number(ctx, &e)?);
                ctx.tx.put_export(&e)?;
                Ok(e)
            })
            .await?;
        self.core().wake(TaskKind::Export);
        Ok(created)
    }

    /// `create` once for idempotency `key`: the export and the key commit together.
    pub async fn create_keyed(
        &self,
        who: &Principal,
        app: &str,
        req: ExportRequest,
        key: IdemKey,
        render: Render,
    ) -> Result<Keyed> {
        let e = self.planned(who, app, req).await?;
        let keyed = self
            .core()
            .transact_keyed(key, move |ctx| {
                let mut e = e.clone();
                e.numbers = Some(request::number(ctx, &e)?);
                ctx.tx.put_export(&e)?;
                Ok(render(&e))
            })
            .await?;
        if !keyed.replayed {
            self.core().wake(TaskKind::Export);
        }
        Ok(keyed)
    }

    async fn planned(&self, who: &Principal, app: &str, req: ExportRequest) -> Result<Export> {
        let app = self.core().app(who, app, Need::Read)?;
        let callback = match req.callback {
            Some(cb) => {
                let url = callback::parse_url(&cb.url)?;
                callback::check(&self.core().settings.callback_allow, &url).await?;
                Some(crate::jobs::check_callback(cb)?)
            }
            None => None,
        };
        let source = request::source(self.core(), &self.runner.queries, &app, req.what).await?;
        let now = self.core().now();
        let mut e = request::queued(
            &app,
            source,
            req.format,
            callback,
            (who.user_name(), who.user_id()),
            now,
        );
        (e.csv, e.header, e.meta) = (req.csv, req.header, req.meta);
        Ok(e)
    }

    async fn load(&self, who: &Principal, app: &str, id: &str, need: Need) -> Result<Export> {
        let app = self.core().app(who, app, need)?;
        let id = id.to_owned();
        let e = self.core().read(move |ctx| ctx.tx.get_export(&id)).await?;
        e.filter(|e| e.app_id == app.id)
            .ok_or_else(|| Error::not_found("no such export"))
    }

    pub async fn get(&self, who: &Principal, app: &str, id: &str) -> Result<Export> {
        self.load(who, app, id, Need::Read).await
    }

    /// One page of an app's exports, newest first, and how many it has in all.
    pub async fn page(
        &self,
        who: &Principal,
        app: &str,
        offset: u64,
        limit: usize,
    ) -> Result<(Vec<Export>, u64)> {
        let app = self.core().app(who, app, Need::Read)?;
        self.core()
            .read(move |ctx| {
                let total = ctx.tx.count_exports(app.id)?;
                Ok((ctx.tx.list_exports(app.id, offset, limit)?, total))
            })
            .await
    }

    /// Cancels an export: a queued one at once, a running one before its next chunk. Whoever may
    /// read the app may cancel an export in it, as whoever may read it may start one.
    pub async fn cancel(&self, who: &Principal, app: &str, id: &str) -> Result<Export> {
        let e = self.load(who, app, id, Need::Read).await?;
        let done = self
            .core()
            .transact(move |ctx| {
                let mut e = ctx
                    .tx
                    .get_export(&e.id)?
                    .ok_or_else(|| Error::not_found("no such export"))?;
                let phase = cancel(&mut e, &ctx.now)?;
                ctx.tx.put_export(&e)?;
                Ok((e, phase))
            })
            .await?;
        if done.1 == Phase::Waiting {
            crate::metrics::export_finished("canceled", 0);
        }
        Ok(done.0)
    }

    /// Deletes an ended export's file now rather than after the retention period; the export
    /// stays, expired.
    pub async fn discard(&self, who: &Principal, app: &str, id: &str) -> Result<Export> {
        let e = self.load(who, app, id, Need::Read).await?;
        let e = self
            .core()
            .transact(move |ctx| {
                let mut e = ctx
                    .tx
                    .get_export(&e.id)?
                    .ok_or_else(|| Error::not_found("no such export"))?;
                if !e.is_final() {
                    return Err(Error::new(
                        crate::error::ErrorCode::Conflict,
                        format!(
                            "the export is {}: discard it once it has ended",
                            e.status.as_str()
                        ),
                    ));
                }
                e.expired = true;
                ctx.tx.put_export(&e)?;
                Ok(e)
            })
            .await?;
        let (files, stored, eid) = (self.core().store.files(), e.stored.clone(), e.id.clone());
        tokio::task::spawn_blocking(move || match stored {
            Some(Stored::File(f)) => files.delete_input(&f),
            Some(Stored::Results) => files.delete_result(&eid),
            None => Ok(()),
        })
        .await
        .map_err(Error::internal)??;
        Ok(e)
    }

    /// The finished export's file, to read whole, by range or by page.
    pub async fn download(&self, who: &Principal, app: &str, id: &str) -> Result<Download> {
        let e = self.load(who, app, id, Need::Read).await?;
        Download::new(e, self.core().store.files())
    }
}
