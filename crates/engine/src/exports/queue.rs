//! How an export ends, in one transaction (the scheduler's queue does the rest): completed,
//! failed or canceled, with its callback made due.

use crate::core::Core;
use crate::error::Result;
use crate::model::{held, CallbackStatus, Export, ExportStatus, Stored};
use crate::tasks::queue::get;

/// How a running export ends.
#[derive(Debug, Clone)]
pub enum End {
    /// Its file is complete: where it is, its rows and bytes, and whether its window ended
    /// before the records did.
    Done {
        stored: Stored,
        rows: u64,
        bytes: u64,
        /// Bytes of the CSV header line at the file's start.
        header_len: u64,
        more: bool,
    },
    Failed(String),
    Canceled,
}

/// Ends export `id` (if this instance still runs it); a completed or failed one's callback
/// becomes due. The export as it then stands.
pub async fn end(core: &Core, id: &str, end: End) -> Result<Export> {
    let (id, owner) = (id.to_owned(), core.instance.clone());
    core.transact(move |ctx| {
        let mut e: Export = get(ctx.tx, &id)?;
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
                header_len,
                more,
            } => {
                e.stored = Some(stored.clone());
                e.header_len = *header_len;
                e.rows = *rows;
                e.bytes = *bytes;
                e.more = *more;
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
