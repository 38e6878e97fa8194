//! The export queue's transitions, each one transaction: claim the oldest queued export under a
//! lease, renew the leases of those running here, take back those whose holder stopped renewing,
//! and end one (completed, failed, canceled) with its callback made due.

use crate::core::{Core, Ctx};
use crate::error::{Error, Result};
use crate::model::{abandoned, held, CallbackStatus, Export, ExportSource, ExportStatus, Stored};

fn reload(ctx: &mut Ctx<'_>, id: &str) -> Result<Export> {
    ctx.tx
        .get_export(id)?
        .ok_or_else(|| Error::not_found("the export is gone"))
}

/// Puts `e` back in the queue: an object export resumes from its cursor, a query export starts
/// over (its partial output was local to the instance that ran it).
fn requeue_doc(e: &mut Export) {
    e.status = ExportStatus::Queued;
    e.lease = None;
    if matches!(e.source, ExportSource::Query { .. }) {
        e.rows = 0;
        e.bytes = 0;
    }
}

/// Running exports whose lease expired (with `all`: every running one, as on a store nobody else
/// shares) go back to the queue. Returns how many.
pub async fn rescue(core: &Core, all: bool) -> Result<usize> {
    let me = core.instance.clone();
    core.transact(move |ctx| {
        let mut n = 0;
        for found in ctx.tx.exports_by_status(ExportStatus::Running)? {
            let mut e = reload(ctx, &found.id)?;
            if e.status == ExportStatus::Running
                && (all || abandoned(e.lease.as_ref(), &me, &ctx.now))
            {
                requeue_doc(&mut e);
                ctx.tx.put_export(&e)?;
                n += 1;
            }
        }
        Ok(n)
    })
    .await
}

pub async fn claim(core: &Core) -> Result<Option<Export>> {
    let lease = core.lease();
    core.transact(move |ctx| ctx.tx.claim_export(&lease, &ctx.now))
        .await
}

/// Moves the leases of these running exports forward, where this instance still holds them.
pub async fn renew(core: &Core, ids: Vec<String>) -> Result<()> {
    let lease = core.lease();
    core.transact(move |ctx| {
        for id in &ids {
            let Some(mut e) = ctx.tx.get_export(id)? else {
                continue;
            };
            if e.status == ExportStatus::Running && held(e.lease.as_ref(), &lease.owner) {
                e.lease = Some(lease.clone());
                ctx.tx.put_export(&e)?;
            }
        }
        Ok(())
    })
    .await
}

/// Puts an export this instance runs back in the queue (stopping, or the store refused).
pub async fn requeue(core: &Core, id: &str) -> Result<Export> {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    core.transact(move |ctx| {
        let mut e = reload(ctx, &id)?;
        if e.status == ExportStatus::Running && held(e.lease.as_ref(), &owner) {
            requeue_doc(&mut e);
            ctx.tx.put_export(&e)?;
        }
        Ok(e)
    })
    .await
}

/// How a running export ends.
#[derive(Debug, Clone)]
pub enum End {
    /// Its file is complete: where it is, its rows and bytes.
    Done {
        stored: Stored,
        rows: u64,
        bytes: u64,
    },
    Failed(String),
    Canceled,
}

/// Ends export `id` (if this instance still runs it); a completed or failed one's callback
/// becomes due. The export as it then stands.
pub async fn end(core: &Core, id: &str, end: End) -> Result<Export> {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    core.transact(move |ctx| {
        let mut e = reload(ctx, &id)?;
        let ours = held(e.lease.as_ref(), &owner);
        if e.status != ExportStatus::Running || !ours {
            return Ok(e);
        }
        e.status = match &end {
            End::Done { .. } if e.cancel_requested => ExportStatus::Canceled,
            End::Done {
                stored,
                rows,
                bytes,
            } => {
                e.stored = Some(stored.clone());
                e.rows = *rows;
                e.bytes = *bytes;
                ExportStatus::Completed
            }
            End::Failed(message) => {
                e.error = Some(message.clone());
                ExportStatus::Failed
            }
            End::Canceled => ExportStatus::Canceled,
        };
        e.lease = None;
        e.cursor = None;
        e.completed_at = Some(ctx.now.clone());
        e.updated_at = ctx.now.clone();
        if let Some(cb) = e
            .callback
            .as_mut()
            .filter(|_| e.status != ExportStatus::Canceled)
        {
            cb.status = CallbackStatus::Pending;
        }
        ctx.tx.put_export(&e)?;
        Ok(e)
    })
    .await
}
