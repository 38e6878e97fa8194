//! Running a claimed export. An object export reads its records a chunk at a time on a snapshot
//! (keyset on the sort keys and `id`, so writers are never held up), and appends each chunk's
//! lines, its counters and its cursor in one transaction: a crash resumes after the last chunk
//! committed. A query export streams its one query to a local file (see `query`). A ZIP is packed
//! from the finished CSV.

use super::encode::{self, Layout, RecordWriter};
use super::queue::{self, End};
use super::request::too_many_rows;
use super::Runner;
use crate::background::failpoint;
use crate::core::{Ctx, Pending};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    encode_cursor, Column, Export, ExportFormat, ExportSource, Object, Stored, Value,
};
use crate::tasks::queue::give_back;
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
    pub(super) async fn run_export(self: &Arc<Self>, e: Export) -> Export {
        let id = e.id.clone();
        let outcome = match &e.source {
            ExportSource::Object { .. } => self.run_object(e.clone()).await,
            ExportSource::Query { .. } => self.run_query(e.clone()).await,
        };
        let end = match outcome {
            Ok(Some(end)) => end,
            Ok(None) => return self.current(&id).await.unwrap_or(e),
            Err(err) if matches!(err.code, ErrorCode::Unavailable | ErrorCode::Busy) => {
                return give_back::<Export>(&self.core, &id).await.unwrap_or(e);
            }
            Err(err) => {
                tracing::warn!(export = %id, error = %err, "export failed");
                End::Failed(err.message)
            }
        };
        let made = match &end {
            End::Done {
                stored: Stored::File(f),
                ..
            } => Some(f.clone()),
            _ => None,
        };
        let done = queue::end(&self.core, &id, end).await.unwrap_or(e);
        // Once the end is committed (a crash before it resumes from what is stored): appended
        // lines are of no use when a file holds the export, or when it did not complete; nor is a
        // file it made and then did not keep.
        if done.status.is_final() {
            let files = self.core.store.files();
            if done.stored != Some(Stored::Results) {
                let _ = files.delete_result(&id);
            }
            if let Some(f) = made.filter(|_| done.stored.is_none()) {
                let _ = files.delete_input(&f);
            }
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
        // Reads run one chunk ahead: the next chunk is read while the writer commits this one.
        let (mut read_at, mut read_rows) = (e.cursor.clone(), e.rows);
        let mut header = e.bytes == 0 && e.format != ExportFormat::Ndjson;
        let mut pending: Option<Pending<Step>> = None;
        // Each chunk's buffer starts at about the last one's size, so it is allocated once
        // instead of doubling its way up (and leaving the smaller copies to the allocator).
        let mut capacity = 0usize;
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
            spec.cursor = read_at.clone();
            let read = Chunk {
                obj,
                spec,
                size: chunk,
                format: e.format,
                layout: layout.clone(),
                header,
                capacity,
            };
            let (bytes, count, next) = read.read(&self.core).await?;
            capacity = bytes.len() + bytes.len() / 8;
            if let Some(p) = pending.take() {
                match self.committed(p.await?).await {
                    Ok(cur) => e = cur,
                    Err(end) => return Ok(end),
                }
            }
            read_rows += count as u64;
            if read_rows > max {
                return Ok(Some(End::Failed(too_many_rows(max).message)));
            }
            let header_len = match header {
                true => layout.header()?.len() as u64,
                false => e.header_len,
            };
            header = false;
            let (n, from) = (count as u64, read_at.clone());
            read_at = next.or(read_at);
            let (id, owner, at) = (e.id.clone(), self.core.instance.clone(), read_at.clone());
            let lease = self.core.lease();
            let bytes = Arc::new(bytes);
            pending = Some(self.core.submit(move |ctx| {
                commit(ctx, &id, &owner, &from, &bytes, |cur| {
                    cur.rows += n;
                    cur.cursor = at.clone();
                    cur.header_len = header_len;
                    cur.lease = Some(lease.clone());
                })
            }));
            if count < chunk {
                if let Some(p) = pending.take() {
                    match self.committed(p.await?).await {
                        Ok(cur) => e = cur,
                        Err(end) => return Ok(end),
                    }
                }
                return self.finish_object(&e).await.map(Some);
            }
        }
    }

    /// The export after a chunk's commit, or how it ends if it is no longer this instance's to
    /// run (`None`: someone else's now).
    async fn committed(&self, step: Step) -> std::result::Result<Export, Option<End>> {
        match step {
            Step::Stop(cur) if cur.cancel_requested => Err(Some(End::Canceled)),
            Step::Stop(_) => Err(None),
            Step::Went(cur) => {
                failpoint("export.chunk.after_commit");
                self.core
                    .background
                    .breakpoint("export.chunk.after_commit")
                    .await;
                Ok(cur)
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
                header_len: e.header_len,
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
            header_len: e.header_len,
        })
    }
}

/// The CSV's name inside an export's ZIP.
pub fn csv_entry(e: &Export) -> String {
    e.file_name().trim_end_matches(".zip").to_owned() + ".csv"
}

/// One chunk of an object export to read: the next `size` records after `spec`'s cursor.
struct Chunk {
    obj: Arc<Object>,
    spec: crate::model::ListSpec,
    size: usize,
    format: ExportFormat,
    layout: Arc<Layout>,
    /// Start with the CSV header line.
    header: bool,
    /// Bytes to reserve for the chunk.
    capacity: usize,
}

impl Chunk {
    /// Reads and encodes the chunk on one snapshot (on the reading thread, records borrowed from
    /// the store's rows): its bytes, how many records, and the cursor after the last.
    async fn read(self, core: &crate::core::Core) -> Result<(Vec<u8>, usize, Option<String>)> {
        core.read(move |ctx| {
            let Chunk {
                obj,
                spec,
                size,
                format,
                layout,
                header,
                capacity,
            } = self;
            let mut sel = crate::ops::selection(ctx, &obj, &spec)?;
            sel.limit = size;
            let keys = sel.keys();
            let widened = widened(ctx, &obj, &spec, &layout.names, &sel)?;
            let shape = widened.as_ref().map_or(&obj, |(o, _)| o);
            let cols = layout
                .names
                .iter()
                .map(|n| Column::resolve(shape, n))
                .collect::<Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(capacity);
            if header {
                out.extend_from_slice(&layout.header()?);
            }
            let mut w = RecordWriter::new(format, &layout, cols, out);
            let (mut n, mut last) = (0usize, vec![Value::Null; keys.len()]);
            let mut row = |r: &crate::model::RecordRef<'_>| {
                w.record(r)?;
                n += 1;
                for (slot, k) in last.iter_mut().zip(&keys) {
                    r.get(k.column).store_in(slot);
                }
                Ok(())
            };
            match &widened {
                Some((_, records)) => {
                    for r in records {
                        r.with_ref(&mut row)?;
                    }
                }
                None => ctx.tx.scan_records(&obj, &sel, &mut row)?,
            }
            Ok((w.finish()?, n, (n > 0).then(|| encode_cursor(&last))))
        })
        .await
    }
}

/// A chunk's records with their relations expanded and related columns added, when the export
/// asks for either (read whole, a chunk at a time); `None` streams the records as stored.
fn widened(
    ctx: &mut Ctx<'_>,
    obj: &Arc<Object>,
    spec: &crate::model::ListSpec,
    names: &[String],
    sel: &crate::model::Selection,
) -> Result<Option<(Arc<Object>, Vec<crate::model::Record>)>> {
    if spec.expand.is_empty() && !names.iter().any(|n| n.contains('.')) {
        return Ok(None);
    }
    let app = ctx
        .catalog
        .app_by_id(obj.app_id)
        .cloned()
        .ok_or_else(|| Error::not_found("the app is gone"))?;
    let expand = crate::ops::Expand::parse(&app, obj, &spec.expand)?;
    let related = crate::ops::related_columns(&app, obj, names)?;
    let records = ctx.tx.list_records(obj, sel)?;
    crate::ops::widen(ctx, obj, records, &expand, &related).map(Some)
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
    if !cur.runs_here(owner) {
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
