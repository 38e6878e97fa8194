//! The executor of batches: chunk by chunk, each chunk's changes, the batch's counters and its
//! renewed lease in one transaction, until the selection is done, the batch is canceled, the lease
//! is lost, or the server stops (a restart, or another instance once the lease expires, resumes it
//! from its stored position).

use crate::background::{failpoint, Holds};
use crate::core::{Core, Ctx};
use crate::error::{ErrorCode, Result};
use crate::model::{held, Action, Batch, BatchStatus, Lease, Stamp, WriteMode, Writes};
use crate::ops::{delete_following, resolve_refs};
use crate::tasks::Executor;
use std::sync::Arc;
use std::time::Duration;

/// Wait before retrying a chunk the store refused.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Runs batches the scheduler claimed.
pub struct BatchRunner {
    pub core: Arc<Core>,
}

impl Executor for BatchRunner {
    type Task = Batch;

    async fn run(self: Arc<Self>, b: Batch) {
        let span = tracing::info_span!("batch", batch_id = %b.id);
        tracing::Instrument::instrument(run_chunks(self.core.clone(), b.id), span).await
    }

    async fn crashed(self: Arc<Self>, id: String) {
        fail(
            &self.core,
            &id,
            "the batch stopped on an internal error".into(),
        )
        .await;
    }
}

fn ours(b: &Batch, owner: &str) -> bool {
    held(b.lease.as_ref(), owner)
}

async fn run_chunks(core: Arc<Core>, id: String) {
    tracing::info!("batch running");
    let chunk = core.settings.batch_chunk_rows.max(1);
    let pause = core.settings.batch_pause;
    loop {
        let (bid, lease, holds) = (id.clone(), core.lease(), core.background.holds());
        match core
            .transact(move |ctx| chunk_of(ctx, &bid, chunk, lease.clone(), &holds))
            .await
        {
            Ok(Some((success, failed))) => {
                crate::metrics::batch_records(success, failed);
                failpoint("batch.chunk.after_commit");
                core.background.breakpoint("batch.chunk.after_commit").await;
                if !pause.is_zero() && !core.background.sleep(pause).await {
                    return;
                }
            }
            Ok(None) => return,
            // Stopping: the batch resumes at the next start. Otherwise the store refused this
            // time, or the chunk lost a race with another transaction: try again shortly.
            Err(e) if matches!(e.code, ErrorCode::Unavailable | ErrorCode::Busy) => {
                if !core.background.sleep(RETRY_AFTER).await {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(batch = %id, error = %e, "batch failed");
                fail(&core, &id, e.message).await;
                return;
            }
        }
    }
}

/// Ends batch `id` failed with `message`, if this instance still runs it (one cut off from the
/// database meanwhile finds another instance ran it, and leaves it be).
async fn fail(core: &Core, id: &str, message: String) {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    let _ = core
        .transact(move |ctx| {
            let Some(mut b) = ctx.tx.get_batch(&id)? else {
                return Ok(());
            };
            if b.status != BatchStatus::Running || !ours(&b, &owner) {
                return Ok(());
            }
            b.error = Some(message.clone());
            finish(ctx, &mut b, BatchStatus::Failed)
        })
        .await;
}

/// Ends a batch in `status`; its stored selection goes.
fn finish(ctx: &mut Ctx<'_>, b: &mut Batch, status: BatchStatus) -> Result<()> {
    b.status = status;
    b.lease = None;
    b.completed_at = Some(ctx.now.clone());
    b.updated_at = ctx.now.clone();
    ctx.tx.delete_batch_ids(&b.id)?;
    ctx.tx.put_batch(b)
}

/// One chunk of a running batch this instance still holds, renewing its lease; while there is
/// more to do, the records it changed and failed to change (`None`: the batch is done here).
fn chunk_of(
    ctx: &mut Ctx<'_>,
    id: &str,
    chunk: usize,
    lease: Lease,
    holds: &Holds,
) -> Result<Option<(u64, u64)>> {
    let Some(mut b) = ctx.tx.get_batch(id)? else {
        return Ok(None);
    };
    if b.status != BatchStatus::Running || !ours(&b, &lease.owner) {
        return Ok(None);
    }
    b.lease = Some(lease);
    if b.cancel_requested {
        finish(ctx, &mut b, BatchStatus::Canceled)?;
        return Ok(None);
    }
    let items = ctx.tx.batch_ids(&b.id, b.position, chunk)?;
    if items.is_empty() {
        finish(ctx, &mut b, BatchStatus::Success)?;
        return Ok(None);
    }
    let before = (b.objects_success, b.objects_failed);
    let stamp = Stamp {
        user: b.updated_by.clone(),
        at: ctx.now.clone(),
    };
    let app = ctx.catalog.app_by_id(b.app_id).cloned();
    let objects: Vec<_> = b
        .operations
        .iter()
        .map(|op| {
            app.as_ref()
                .and_then(|a| a.object_by_id(&op.object_id.to_string()).cloned())
        })
        .collect();
    // An update's values are the same for every record: its relations are resolved once.
    let mut writes: Vec<Option<Writes>> = Vec::with_capacity(objects.len());
    for (op, obj) in b.operations.iter().zip(&objects) {
        writes.push(match (op.action, &op.set, obj) {
            (Action::Update, Some(set), Some(obj)) => {
                match Writes::from_body(obj, set, WriteMode::Merge) {
                    Ok(mut w) => resolve_refs(ctx, obj, &mut [&mut w])?
                        .is_empty()
                        .then_some(w),
                    Err(_) => None,
                }
            }
            _ => None,
        });
    }
    // A chunk's deletes go set-wise, per operation, following relations.
    // Whether each item's delete went, by the item's place in the chunk.
    let mut deleted = vec![false; items.len()];
    for (i, obj) in objects.iter().enumerate() {
        let (Some(Action::Delete), Some(obj)) = (b.operations.get(i).map(|o| o.action), obj) else {
            continue;
        };
        let (at, ids): (Vec<usize>, Vec<&str>) = items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.op as usize == i)
            .map(|(k, it)| (k, it.record.as_str()))
            .unzip();
        for (k, r) in at
            .into_iter()
            .zip(delete_following(ctx, obj, &ids, &stamp)?)
        {
            deleted[k] = r.is_ok_and(|d| {
                b.objects_cascaded += d.cascaded;
                d.found
            });
        }
    }
    for (k, item) in items.iter().enumerate() {
        let i = item.op as usize;
        let ok = match (
            b.operations.get(i).map(|o| o.action),
            objects.get(i).and_then(Option::as_ref),
        ) {
            (Some(Action::Delete), Some(_)) => deleted[k],
            (Some(Action::Update), Some(obj)) => match writes.get(i).and_then(Option::as_ref) {
                Some(w) => ctx
                    .tx
                    .update_record(obj, &item.record, w, &stamp)
                    .unwrap_or(false),
                None => false,
            },
            _ => false,
        };
        if ok {
            b.objects_success += 1;
        } else {
            b.objects_failed += 1;
        }
        b.position = item.seq + 1;
    }
    b.updated_at = ctx.now.clone();
    holds.hold("batch.chunk.before_commit");
    ctx.tx.put_batch(&b)?;
    Ok(Some((
        b.objects_success - before.0,
        b.objects_failed - before.1,
    )))
}
