//! Running a claimed export. An object export reads its records a chunk at a time on a snapshot
//! (keyset on the sort keys and `id`, so writers are never held up), and appends each chunk's
//! lines, its counters and its cursor in one transaction: a crash resumes after the last chunk
//! committed (see `chunk`; `numbered` for ids written as numbers). A window ends an export after
//! its records, and one more read says whether others followed. A query export streams its one
//! query to a local file (see `query`). A ZIP is packed from the finished CSV.

use super::chunk::{any_after, Chunk};
use super::encode::{self, Layout};
use super::queue::{self, End};
use super::request::too_many_rows;
use super::Runner;
use crate::background::{failpoint, Holds};
use crate::core::{Ctx, Pending};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Export, ExportFormat, ExportSource, Stored};
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
        let ended = queue::end(&self.core, &id, end).await;
        // Once the end is committed (a crash before it resumes from what is stored): appended
        // lines are of no use when a file holds the export, or when it did not complete; nor is a
        // file this run made and the export did not keep (it ended elsewhere, or not completed).
        // The file store is blocking (PostgreSQL's client drives a runtime of its own).
        let made = made.filter(|f| {
            let kept = |d: &Export| d.stored.as_ref() == Some(&Stored::File(f.clone()));
            ended.as_ref().is_ok_and(|d| !kept(d))
        });
        let done = ended.unwrap_or(e);
        if done.status.is_final() || made.is_some() {
            let files = self.core.store.files();
            let results = done.status.is_final() && done.stored != Some(Stored::Results);
            let _ = tokio::task::spawn_blocking(move || {
                if results {
                    let _ = files.delete_result(&id);
                }
                if let Some(f) = made {
                    let _ = files.delete_input(&f);
                }
            })
            .await;
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
            shape,
            ..
        } = e.source.clone()
        else {
            return Err(Error::internal("not an object export"));
        };
        let s = &self.core.settings.export;
        let (chunk, max) = (s.chunk_rows.max(1), s.max_rows);
        let layout = Arc::new(Layout::labelled(columns, shape.headers.clone()));
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
            // A window ends once it holds its records; then one read says whether more followed.
            let size = shape.limit.map_or(chunk, |l| {
                usize::try_from(l.saturating_sub(read_rows)).map_or(chunk, |left| left.min(chunk))
            });
            if size == 0 {
                if let Some(p) = pending.take() {
                    match self.committed(p.await?).await {
                        Ok(cur) => e = cur,
                        Err(end) => return Ok(end),
                    }
                }
                let more = any_after(&self.core, obj, spec).await?;
                return self.finish_object(&e, more).await.map(Some);
            }
            let read = Chunk {
                obj,
                spec,
                size,
                offset: shape.offset,
                format: e.format,
                layout: layout.clone(),
                header,
                capacity,
            };
            let (bytes, count, next) = match shape.numbered {
                true => super::numbered::read(read, &self.core).await?,
                false => read.read(&self.core).await?,
            };
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
            let (lease, holds) = (self.core.lease(), self.core.background.holds());
            let bytes = Arc::new(bytes);
            pending = Some(self.core.submit(move |ctx| {
                commit(ctx, &id, &owner, &from, &bytes, &holds, |cur| {
                    cur.rows += n;
                    cur.cursor = at.clone();
                    cur.header_len = header_len;
                    cur.lease = Some(lease.clone());
                })
            }));
            if count < size {
                if let Some(p) = pending.take() {
                    match self.committed(p.await?).await {
                        Ok(cur) => e = cur,
                        Err(end) => return Ok(end),
                    }
                }
                return self.finish_object(&e, false).await.map(Some);
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

    /// The end of a finished object export (`more`: its window ended before the records did):
    /// its lines as they are, or packed in a ZIP.
    async fn finish_object(&self, e: &Export, more: bool) -> Result<End> {
        if e.format != ExportFormat::Zip {
            return Ok(End::Done {
                stored: Stored::Results,
                rows: e.rows,
                bytes: e.bytes,
                header_len: e.header_len,
                more,
            });
        }
        let files = self.core.store.files();
        let (id, len, entry) = (e.id.clone(), e.bytes, csv_entry(e));
        let path = self.scratch.join(format!("{id}.zip"));
        let stored = super::file_id(&id);
        let kept_as = stored.clone();
        let size = tokio::task::spawn_blocking(move || {
            let csv = files.open_result(&id, len)?;
            let size = encode::pack_zip(csv, &entry, &path);
            let kept = size.and_then(|s| files.put_input(&kept_as, &path).map(|_| s));
            if kept.is_err() {
                let _ = std::fs::remove_file(&path);
            }
            kept
        })
        .await
        .map_err(Error::internal)??;
        Ok(End::Done {
            stored: Stored::File(stored),
            rows: e.rows,
            bytes: size,
            header_len: e.header_len,
            more,
        })
    }
}

/// The CSV's name inside an export's ZIP: `<number>.csv` when its shape asks for it.
pub fn csv_entry(e: &Export) -> String {
    let by_number =
        matches!(&e.source, ExportSource::Object { shape, .. } if shape.entry_by_number);
    match e.numbers.filter(|_| by_number) {
        Some(n) => format!("{}.csv", n.export),
        None => e.file_name().trim_end_matches(".zip").to_owned() + ".csv",
    }
}

/// Appends a chunk's `bytes` after what `id` holds and applies `update`, if this instance still
/// runs it from cursor `from` (a chunk read from another position is refused as a conflict).
fn commit(
    ctx: &mut Ctx<'_>,
    id: &str,
    owner: &str,
    from: &Option<String>,
    bytes: &[u8],
    holds: &Holds,
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
    holds.hold("export.chunk.before_commit");
    update(&mut cur);
    cur.updated_at = ctx.now.clone();
    ctx.tx.put_export(&cur)?;
    Ok(Step::Went(cur))
}
