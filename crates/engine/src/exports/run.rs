//! Running a claimed export. An object export reads its records a chunk at a time on a snapshot
//! (keyset on the sort keys and `id`, so writers are never held up), and appends each chunk's
//! lines, its counters and its cursor in one transaction: a crash resumes after the last chunk
//! committed. A query export streams its one query to a local file (see `query`). A ZIP is packed
//! from the finished CSV.

use super::encode::{self, Layout};
use super::queue::{self, End};
use super::request::too_many_rows;
use super::Runner;
use crate::background::failpoint;
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    encode_cursor, Column, Export, ExportFormat, ExportSource, Object, Record, Stored,
};
use std::sync::Arc;

/// What one committed chunk left.
enum Step {
    /// More to read.
    Went(Export),
    /// The export is no longer this instance's to run (canceled, taken over, deleted).
    Stop(Export),
}

impl Runner {
    /// Runs a claimed export until it ends or the server stops; the export as it then stands.
    pub(super) async fn run(self: &Arc<Self>, e: Export) -> Export {
        let id = e.id.clone();
        let outcome = match &e.source {
            ExportSource::Object { .. } => self.run_object(e.clone()).await,
            ExportSource::Query { .. } => self.run_query(e.clone()).await,
        };
        let end = match outcome {
            Ok(Some(end)) => end,
            Ok(None) => return self.current(&id).await.unwrap_or(e),
            Err(err) if matches!(err.code, ErrorCode::Unavailable | ErrorCode::Busy) => {
                return queue::requeue(&self.core, &id).await.unwrap_or(e);
            }
            Err(err) => {
                tracing::warn!(export = %id, error = %err, "export failed");
                End::Failed(err.message)
            }
        };
        let stored_results = !matches!(
            end,
            End::Done {
                stored: Stored::File(_),
                ..
            }
        );
        let done = queue::end(&self.core, &id, end).await.unwrap_or(e);
        if done.stored.is_none() && stored_results {
            // Failed or canceled: what it appended is of no use.
            let _ = self.core.store.files().delete_result(&id);
        }
        done
    }

    async fn current(&self, id: &str) -> Result<Export> {
        let id = id.to_owned();
        self.core
            .read(move |ctx| {
                ctx.tx
                    .get_export(&id)?
                    .ok_or_else(|| Error::not_found("the export is gone"))
            })
            .await
    }

    async fn run_object(self: &Arc<Self>, mut e: Export) -> Result<Option<End>> {
        let ExportSource::Object {
            object_id,
            spec,
            columns,
            ..
        } = e.source.clone()
        else {
            return Err(Error::internal("not an object export"));
        };
        let s = &self.core.settings.export;
        let (chunk, max) = (s.chunk_rows.max(1), s.max_rows);
        let layout = Arc::new(Layout::new(columns));
        loop {
            if self.core.background.is_stopping() {
                return Err(Error::new(ErrorCode::Unavailable, "the server is stopping"));
            }
            let obj = self
                .core
                .catalog()
                .app_by_id(e.app_id)
                .and_then(|a| a.object_by_id(&object_id.to_string()).cloned())
                .ok_or_else(|| Error::not_found("the export's object no longer exists"))?;
            let mut spec = spec.clone();
            spec.cursor = e.cursor.clone();
            let (records, next) = read_chunk(&self.core, obj.clone(), spec, chunk).await?;
            if e.rows + records.len() as u64 > max {
                return Ok(Some(End::Failed(too_many_rows(max).message)));
            }
            let last = records.len() < chunk;
            let mut bytes = Vec::with_capacity(records.len() * 128);
            let first = e.bytes == 0 && e.format != ExportFormat::Ndjson;
            if first {
                bytes.extend_from_slice(&layout.header()?);
            }
            let header_len = if first {
                bytes.len() as u64
            } else {
                e.header_len
            };
            let cols = layout
                .names
                .iter()
                .map(|n| Column::resolve(&obj, n))
                .collect::<Result<Vec<_>>>()?;
            encode::records(e.format, &layout, &cols, &records, &mut bytes)?;
            let n = records.len() as u64;
            let (id, from, owner) = (e.id.clone(), e.cursor.clone(), self.core.instance.clone());
            let lease = self.core.lease();
            let bytes = Arc::new(bytes);
            let step = self
                .core
                .transact(move |ctx| {
                    commit(ctx, &id, &owner, &from, &bytes, |cur| {
                        cur.rows += n;
                        cur.cursor = next.clone().or(cur.cursor.take());
                        cur.header_len = header_len;
                        cur.lease = Some(lease.clone());
                    })
                })
                .await?;
            match step {
                Step::Stop(cur) if cur.cancel_requested => return Ok(Some(End::Canceled)),
                Step::Stop(_) => return Ok(None),
                Step::Went(cur) => e = cur,
            }
            failpoint("export.chunk.after_commit");
            self.core
                .background
                .breakpoint("export.chunk.after_commit")
                .await;
            if last {
                return self.finish_object(&e).await.map(Some);
            }
        }
    }

    /// The end of a finished object export: its lines as they are, or packed in a ZIP.
    async fn finish_object(&self, e: &Export) -> Result<End> {
        if e.format != ExportFormat::Zip {
            return Ok(End::Done {
                stored: Stored::Results,
                rows: e.rows,
                bytes: e.bytes,
            });
        }
        let files = self.core.store.files();
        let (id, len, entry) = (e.id.clone(), e.bytes, csv_entry(e));
        let path = self.scratch.join(format!("{id}.zip"));
        let size = tokio::task::spawn_blocking(move || {
            let csv = files.open_result(&id, len)?;
            let size = encode::pack_zip(csv, &entry, &path);
            let kept = size.and_then(|s| files.put_input(&id, &path).map(|_| s));
            if kept.is_err() {
                let _ = std::fs::remove_file(&path);
            }
            kept
        })
        .await
        .map_err(Error::internal)??;
        Ok(End::Done {
            stored: Stored::File(e.id.clone()),
            rows: e.rows,
            bytes: size,
        })
    }
}

/// The CSV's name inside an export's ZIP.
pub fn csv_entry(e: &Export) -> String {
    e.file_name().trim_end_matches(".zip").to_owned() + ".csv"
}

/// The next `chunk` records after `spec`'s cursor, on one snapshot, and the cursor after them.
async fn read_chunk(
    core: &crate::core::Core,
    obj: Arc<Object>,
    spec: crate::model::ListSpec,
    chunk: usize,
) -> Result<(Vec<Record>, Option<String>)> {
    core.read(move |ctx| {
        let mut sel = crate::ops::selection(ctx, &obj, &spec)?;
        sel.limit = chunk;
        let records = ctx.tx.list_records(&obj, &sel)?;
        let next = records.last().map(|last| {
            let keys: Vec<_> = sel
                .keys()
                .iter()
                .map(|k| crate::ops::key_value(last, k.column))
                .collect();
            encode_cursor(&keys)
        });
        Ok((records, next))
    })
    .await
}

/// Appends a chunk's `bytes` after what `id` holds and applies `update`, if this instance still
/// runs it from cursor `from` (a chunk read from another position is refused as a conflict).
fn commit(
    ctx: &mut Ctx<'_>,
    id: &str,
    owner: &str,
    from: &Option<String>,
    bytes: &[u8],
    update: impl FnOnce(&mut Export),
) -> Result<Step> {
    let mut cur = ctx
        .tx
        .get_export(id)?
        .ok_or_else(|| Error::not_found("the export is gone"))?;
    let held = cur.lease.as_ref().is_some_and(|l| l.held_by(owner));
    if cur.status != crate::model::ExportStatus::Running || !held || cur.cancel_requested {
        return Ok(Step::Stop(cur));
    }
    if cur.cursor != *from {
        return Err(Error::new(ErrorCode::Conflict, "the export moved on"));
    }
    cur.bytes = ctx.tx.append_result(id, cur.bytes, bytes)?;
    update(&mut cur);
    cur.updated_at = ctx.now.clone();
    ctx.tx.put_export(&cur)?;
    Ok(Step::Went(cur))
}
