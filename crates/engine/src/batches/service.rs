//! The batch service: create (every check before anything is stored), get, list, start (the
//! selection is resolved and stored, then the batch runs in the background), cancel, and resume
//! after a restart.

use super::check::{check_given, check_op, no_id_column, BatchRequest};
use super::{run, selection};
use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    cancel, Answer, App, Batch, BatchStatus, IdemKey, Keyed, Need, Phase, Principal, QueryView,
    Selected,
};
use crate::query::Queries;
use crate::tasks::Scheduler;
use std::sync::Arc;

/// How a front door answers with a batch (kept with an idempotency key).
pub type Render = Arc<dyn Fn(&Batch) -> Answer + Send + Sync>;

pub struct Batches {
    pub(super) core: Arc<Core>,
    queries: Queries,
}

impl Batches {
    pub(super) fn core(&self) -> &Core {
        &self.core
    }

    pub fn new(core: Arc<Core>) -> Batches {
        Batches {
            queries: Queries::new(core.clone()),
            core,
        }
    }

    /// Checks a batch request completely and stores it; starts it if asked. Queries see objects
    /// through `view` (`None`: as stored).
    pub async fn create(
        &self,
        who: &Principal,
        app_name: &str,
        req: BatchRequest,
        view: Option<QueryView>,
    ) -> Result<Batch> {
        let start = req.start;
        let (batch, given) = self.planned(who, app_name, req, view).await?;
        let b = batch.clone();
        self.core
            .transact(move |ctx| {
                ctx.tx.put_batch(&b)?;
                ctx.tx.put_batch_ids(&b.id, &given)
            })
            .await?;
        if start {
            return self.start(who, app_name, &batch.id).await;
        }
        Ok(batch)
    }

    /// `create` once for idempotency `key`: the batch (started, when asked) and the key commit
    /// together.
    pub async fn create_keyed(
        &self,
        who: &Principal,
        app_name: &str,
        req: BatchRequest,
        key: IdemKey,
        render: Render,
    ) -> Result<Keyed> {
        let start = req.start;
        let (batch, given) = self.planned(who, app_name, req, None).await?;
        if start {
            let app = self.core.app(who, app_name, Need::Write)?;
            return self
                .create_started_keyed(who, &app, batch, given, key, render)
                .await;
        }
        self.core
            .transact_keyed(key, move |ctx| {
                ctx.tx.put_batch(&batch)?;
                ctx.tx.put_batch_ids(&batch.id, &given)?;
                Ok(render(&batch))
            })
            .await
    }

    /// A checked request as the batch to store, and its given ids as selection entries.
    async fn planned(
        &self,
        who: &Principal,
        app_name: &str,
        req: BatchRequest,
        view: Option<QueryView>,
    ) -> Result<(Batch, Vec<Selected>)> {
        let app = self.core.app(who, app_name, Need::Write)?;
        let ops = self.checked_ops(&app, req.operations, view.clone()).await?;
        let (name, id) = self.display_name(&app, who).await;
        let now = self.core.now();
        let mut batch = Batch {
            id: uuid::Uuid::now_v7().to_string(),
            app_id: app.id,
            app: app.name.to_string(),
            view,
            status: BatchStatus::Pending,
            lease: None,
            operations: ops,
            objects_total: 0,
            objects_success: 0,
            objects_failed: 0,
            objects_cascaded: 0,
            position: 0,
            cancel_requested: false,
            error: None,
            created_at: now.clone(),
            updated_at: now,
            started_at: None,
            completed_at: None,
            created_by: name.clone(),
            created_by_id: id.clone(),
            updated_by: name,
            updated_by_id: id,
        };
        // Given ids go straight into the stored selection; the batch document keeps their count.
        let given = selection::take_given(&mut batch);
        Ok((batch, given))
    }

    /// Every check of a request's operations, before anything is stored.
    pub(super) async fn checked_ops(
        &self,
        app: &App,
        specs: Vec<super::check::OpSpec>,
        view: Option<QueryView>,
    ) -> Result<Vec<crate::model::BatchOp>> {
        let max = self.core.settings.max_batch_records;
        if specs.is_empty() {
            return Err(
                Error::new(ErrorCode::Required, "a batch needs at least one operation")
                    .with_field("operations"),
            );
        }
        let mut ops = Vec::with_capacity(specs.len());
        for spec in specs {
            let name = spec.object.as_deref().ok_or_else(|| {
                Error::new(ErrorCode::Required, "an operation names its object")
                    .with_field("object")
            })?;
            let obj = app.object(name).cloned().ok_or_else(|| {
                Error::not_found("the operation's object does not exist").with_field("object")
            })?;
            if let Some(sql) = &spec.query {
                // Checked now, not at start: a query that cannot run or yields no id is refused here.
                let checked = self.check(app, sql, view.clone())?;
                let limits = self.core.settings.query.clone();
                let cols = self
                    .core
                    .read(move |ctx| ctx.tx.query_columns(&checked, &limits))
                    .await?;
                if !cols.iter().any(|c| c.eq_ignore_ascii_case("id")) {
                    return Err(no_id_column());
                }
            }
            ops.push(check_op(spec, &obj, max)?);
        }
        check_given(&ops, max)?;
        Ok(ops)
    }

    pub(super) fn check(
        &self,
        app: &App,
        sql: &str,
        view: Option<QueryView>,
    ) -> Result<crate::model::CheckedQuery> {
        self.queries
            .check(app, sql, view)
            .map_err(|e| e.with_field("query"))
    }

    /// A user's display name ("First Last" when the app knows the user) and id.
    pub(super) async fn display_name(&self, app: &App, who: &Principal) -> (String, String) {
        let (app_id, user) = (app.id, who.user_name().to_owned());
        let row = self
            .core
            .read(move |ctx| ctx.tx.get_user(app_id, &user))
            .await
            .ok()
            .flatten();
        match row {
            Some(u) => (u.display_name(), u.id),
            None => (who.user_name().to_owned(), who.user_id().to_owned()),
        }
    }

    pub(super) async fn load(
        &self,
        who: &Principal,
        app: &str,
        id: &str,
        need: Need,
    ) -> Result<Batch> {
        let app = self.core.app(who, app, need)?;
        let id = id.to_owned();
        let b = self.core.read(move |ctx| ctx.tx.get_batch(&id)).await?;
        b.filter(|b| b.app_id == app.id)
            .ok_or_else(|| Error::not_found("no such batch"))
    }

    pub async fn get(&self, who: &Principal, app: &str, id: &str) -> Result<Batch> {
        self.load(who, app, id, Need::Read).await
    }

    pub async fn list(&self, who: &Principal, app: &str, limit: usize) -> Result<Vec<Batch>> {
        let app = self.core.app(who, app, Need::Read)?;
        self.core
            .read(move |ctx| ctx.tx.list_batches(app.id, 0, limit))
            .await
    }

    /// One page of an app's batches, newest first, and how many it has in all.
    pub async fn page(
        &self,
        who: &Principal,
        app: &str,
        offset: u64,
        limit: usize,
    ) -> Result<(Vec<Batch>, u64)> {
        let app = self.core.app(who, app, Need::Read)?;
        self.core
            .read(move |ctx| {
                let total = ctx.tx.count_batches(app.id)?;
                Ok((ctx.tx.list_batches(app.id, offset, limit)?, total))
            })
            .await
    }

    /// The ids a batch query selects (at most `max` + 1, which is over the limit).
    pub(super) async fn selected_ids(
        &self,
        app: &App,
        sql: &str,
        view: Option<QueryView>,
        max: u64,
    ) -> Result<Vec<String>> {
        let checked = self.check(app, sql, view)?;
        let mut limits = self.core.settings.query.clone();
        limits.max_rows = max as usize + 1;
        let result = self
            .core
            .read(move |ctx| ctx.tx.query(&checked, &[], &limits))
            .await?;
        selection::ids_of(result)
    }

    /// Cancels a batch: a pending one at once, a running one before its next chunk.
    pub async fn cancel(&self, who: &Principal, app: &str, id: &str) -> Result<Batch> {
        let batch = self.load(who, app, id, Need::Write).await?;
        self.core
            .transact(move |ctx| {
                let mut b = ctx
                    .tx
                    .get_batch(&batch.id)?
                    .ok_or_else(|| Error::not_found("no such batch"))?;
                if cancel(&mut b, &ctx.now)? == Phase::Waiting {
                    ctx.tx.delete_batch_ids(&b.id)?;
                }
                ctx.tx.put_batch(&b)?;
                Ok(b)
            })
            .await
    }

    /// Registers the executor of batches.
    pub async fn run_background(&self, scheduler: &Scheduler) -> Result<()> {
        let runner = run::BatchRunner {
            core: self.core.clone(),
        };
        let workers = self.core.settings.batch_workers;
        scheduler.register(Arc::new(runner), workers).await
    }
}
