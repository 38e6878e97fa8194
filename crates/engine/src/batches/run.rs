//! Running a started batch: chunk by chunk, each chunk's changes and the batch's counters in one
//! transaction, until the selection is done, the batch is canceled, or the server stops (a restart
//! resumes it from its stored position).

use crate::background::failpoint;
use crate::core::{Core, Ctx};
use crate::error::{ErrorCode, Result};
use crate::model::{Action, Batch, BatchStatus, Stamp, WriteMode, Writes};
use std::sync::Arc;
use std::time::Duration;

/// Wait before retrying a chunk the store refused.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Runs batch `id` on a background task.
pub fn spawn(core: &Arc<Core>, id: String) {
    let c = core.clone();
    core.background.spawn(async move { run(c, id).await });
}

async fn run(core: Arc<Core>, id: String) {
    let chunk = core.settings.batch_chunk_rows.max(1);
    let pause = core.settings.batch_pause;
    loop {
        let bid = id.clone();
        match core.transact(move |ctx| chunk_of(ctx, &bid, chunk)).await {
            Ok(true) => {
                failpoint("batch.chunk.after_commit");
                core.background.breakpoint("batch.chunk.after_commit").await;
                if !pause.is_zero() && !core.background.sleep(pause).await {
                    return;
                }
            }
            Ok(false) => return,
            // Stopping: the batch resumes at the next start. Otherwise the store refused this
            // time: try again shortly.
            Err(e) if e.code == ErrorCode::Unavailable => {
                if !core.background.sleep(RETRY_AFTER).await {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(batch = %id, error = %e, "batch failed");
                let bid = id.clone();
                let _ = core
                    .transact(move |ctx| {
                        let Some(mut b) = ctx.tx.get_batch(&bid)? else {
                            return Ok(());
                        };
                        b.error = Some(e.message.clone());
                        finish(ctx, &mut b, BatchStatus::Failed)
                    })
                    .await;
                return;
            }
        }
    }
}

/// Ends a batch in `status`; its stored selection goes.
fn finish(ctx: &mut Ctx<'_>, b: &mut Batch, status: BatchStatus) -> Result<()> {
    b.status = status;
    b.completed_at = Some(ctx.now.clone());
    b.updated_at = ctx.now.clone();
    ctx.tx.delete_batch_ids(&b.id)?;
    ctx.tx.put_batch(b)
}

/// One chunk of a running batch; `Ok(true)` while there is more to do.
fn chunk_of(ctx: &mut Ctx<'_>, id: &str, chunk: usize) -> Result<bool> {
    let Some(mut b) = ctx.tx.get_batch(id)? else {
        return Ok(false);
    };
    if b.status != BatchStatus::Running {
        return Ok(false);
    }
    if b.cancel_requested {
        finish(ctx, &mut b, BatchStatus::Canceled)?;
        return Ok(false);
    }
    let items = ctx.tx.batch_ids(&b.id, b.position, chunk)?;
    if items.is_empty() {
        finish(ctx, &mut b, BatchStatus::Success)?;
        return Ok(false);
    }
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
    let writes: Vec<Option<Writes>> = b
        .operations
        .iter()
        .zip(&objects)
        .map(|(op, obj)| match (op.action, &op.set, obj) {
            (Action::Update, Some(set), Some(obj)) => {
                Writes::from_body(obj, set, WriteMode::Merge).ok()
            }
            _ => None,
        })
        .collect();
    for item in items {
        let i = item.op as usize;
        let ok = match (
            b.operations.get(i).map(|o| o.action),
            objects.get(i).and_then(Option::as_ref),
        ) {
            (Some(Action::Delete), Some(obj)) => {
                ctx.tx.delete_record(obj, &item.record).unwrap_or(false)
            }
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
    ctx.tx.put_batch(&b)?;
    Ok(true)
}
