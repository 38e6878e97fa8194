//! Starting a batch: its query operations' selections are resolved on a snapshot (with the
//! record limit checked before anything changes), then stored with the batch as it turns
//! `running`, in one transaction; a batch created with `start` does both in its creating one.

use super::service::{Batches, Render};
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, Batch, BatchStatus, IdemKey, Keyed, Need, Principal, Selected, TaskKind};

/// What a start stores: the resolved selection and who started it.
pub(super) struct Start {
    total: u64,
    selected: Vec<Selected>,
    max: u64,
    name: String,
    user_id: String,
}

impl Start {
    fn over(&self) -> bool {
        self.total > self.max
    }

    fn over_error(&self) -> Error {
        Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "the batch selects more than {} records; it is marked failed and nothing changed",
                self.max
            ),
        )
    }

    /// Turns pending `b` running with its selection (or failed, when it selects too many).
    fn apply(&self, ctx: &mut Ctx<'_>, b: &mut Batch) -> Result<()> {
        b.updated_at = ctx.now.clone();
        b.updated_by = self.name.clone();
        b.updated_by_id = self.user_id.clone();
        b.started_at = Some(ctx.now.clone());
        if self.over() {
            ctx.tx.delete_batch_ids(&b.id)?;
            b.status = BatchStatus::Failed;
            b.completed_at = Some(ctx.now.clone());
            b.error = Some(format!(
                "the selection holds more than {} records; nothing was changed",
                self.max
            ));
        } else {
            // Running on the wire from now on; without a lease, it waits for the scheduler.
            b.status = BatchStatus::Running;
            b.lease = None;
            b.objects_total = self.total;
            ctx.tx.put_batch_ids(&b.id, &self.selected)?;
        }
        ctx.tx.put_batch(b)
    }
}

fn already(b: &Batch) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!("the batch is already {}", b.status.as_str()),
    )
}

impl Batches {
    /// Resolves `batch`'s query selections now (given ids were stored at creation).
    pub(super) async fn resolve(&self, who: &Principal, app: &App, batch: &Batch) -> Result<Start> {
        let max = self.core.settings.max_batch_records;
        let mut total = batch
            .operations
            .iter()
            .filter_map(|o| o.ids_count)
            .sum::<usize>() as u64;
        let mut selected: Vec<Selected> = Vec::new();
        for (i, op) in batch.operations.iter().enumerate() {
            let Some(sql) = &op.query else { continue };
            let ids = match self.selected_ids(app, sql, batch.view.clone(), max).await {
                // Over the limit whatever else it selects: nothing more to resolve.
                Err(e) if e.code == ErrorCode::LimitExceeded => {
                    total = max + 1;
                    break;
                }
                other => other?,
            };
            total += ids.len() as u64;
            selected.extend(
                ids.into_iter()
                    .enumerate()
                    .map(|(j, id)| Selected::new(i, j, id)),
            );
        }
        let (name, user_id) = self.display_name(app, who).await;
        Ok(Start {
            total,
            selected,
            max,
            name,
            user_id,
        })
    }

    /// Resolves the selection (now, not at creation), checks the record limit before anything
    /// changes, stores the selection with the batch, and runs it in the background.
    pub async fn start(&self, who: &Principal, app_name: &str, id: &str) -> Result<Batch> {
        let batch = self.load(who, app_name, id, Need::Write).await?;
        if batch.status != BatchStatus::Pending {
            return Err(already(&batch));
        }
        let app = self.core.app(who, app_name, Need::Write)?;
        let start = std::sync::Arc::new(self.resolve(who, &app, &batch).await?);
        let (id, s) = (batch.id.clone(), start.clone());
        let started = self
            .core()
            .transact(move |ctx| {
                let mut b = ctx
                    .tx
                    .get_batch(&id)?
                    .ok_or_else(|| Error::not_found("no such batch"))?;
                if b.status != BatchStatus::Pending {
                    return Err(already(&b));
                }
                s.apply(ctx, &mut b)?;
                Ok(b)
            })
            .await?;
        if start.over() {
            return Err(start.over_error());
        }
        self.core.wake(TaskKind::Batch);
        Ok(started)
    }

    /// Stores a new batch and starts it in the same transaction, once for idempotency `key`: a
    /// crash leaves either nothing or the running batch with its kept answer. A selection over the
    /// limit is refused and nothing is stored (a retry runs again).
    pub(super) async fn create_started_keyed(
        &self,
        who: &Principal,
        app: &App,
        batch: Batch,
        given: Vec<Selected>,
        key: IdemKey,
        render: Render,
    ) -> Result<Keyed> {
        let start = self.resolve(who, app, &batch).await?;
        if start.over() {
            return Err(start.over_error());
        }
        let keyed = self
            .core()
            .transact_keyed(key, move |ctx| {
                let mut b = batch.clone();
                ctx.tx.put_batch(&b)?;
                ctx.tx.put_batch_ids(&b.id, &given)?;
                start.apply(ctx, &mut b)?;
                Ok(render(&b))
            })
            .await?;
        if !keyed.replayed {
            self.core.wake(TaskKind::Batch);
        }
        Ok(keyed)
    }
}
