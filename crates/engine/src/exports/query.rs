//! Running a query export: its one query runs on a read snapshot (on SQLite, a WAL snapshot on a
//! read connection: writers go on), each row written to a local file as it is read, so nothing is
//! held whole. Meanwhile the counters are published every half second, and a cancel or a stop
//! interrupts the query. The finished file (packed as a ZIP if asked) is kept in the file store,
//! where every instance reaches it. A crash restarts the query from the beginning.

use super::encode::{self, Layout, RowWriter};
use super::queue::End;
use super::request::too_many_rows;
use super::run::csv_entry;
use super::Runner;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Export, ExportFormat, ExportSource, Stored};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a running query export publishes its counters and looks for a cancel.
const TICK: Duration = Duration::from_millis(500);

/// What the reading thread and the ticking task share.
#[derive(Default)]
struct Shared {
    rows: AtomicU64,
    bytes: AtomicU64,
    /// Set to stop the query: canceled, or the server stops.
    stop: AtomicBool,
    stopping: AtomicBool,
    /// Bytes of the CSV header line.
    header: AtomicU64,
}

/// A file that counts what is written to it.
struct Counted {
    file: BufWriter<File>,
    shared: Arc<Shared>,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.shared.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Runner {
    pub(super) async fn run_query(self: &Arc<Self>, e: Export) -> Result<Option<End>> {
        let ExportSource::Query { sql, params, view } = e.source.clone() else {
            return Err(Error::internal("not a query export"));
        };
        let app = self
            .core
            .catalog()
            .app_by_id(e.app_id)
            .cloned()
            .ok_or_else(|| Error::not_found("the export's app no longer exists"))?;
        let checked = self.queries.check(&app, &sql, view)?;
        let mut limits = self.core.settings.query.clone();
        limits.timeout = self.core.settings.export.timeout;
        let max = self.core.settings.export.max_rows;
        let shared = Arc::new(Shared::default());
        let path = self.scratch.join(format!("{}.part", e.id));
        // The CSV inside a ZIP is written as CSV.
        let format = match e.format {
            ExportFormat::Ndjson => ExportFormat::Ndjson,
            _ => ExportFormat::Csv,
        };
        let (sh, p, style, names) = (shared.clone(), path.clone(), e.csv, e.header.clone());
        let reading = self.core.read_current(move |ctx| {
            let columns = ctx.tx.query_columns(&checked, &limits)?;
            let layout = Layout::new(match names {
                Some(names) if names.len() == columns.len() => names,
                Some(_) => {
                    return Err(Error::internal(
                        "the export's header does not fit its query",
                    ))
                }
                None => columns,
            });
            if format == ExportFormat::Csv {
                let header = layout.header_in(&style)?.len() as u64;
                sh.header.store(header, Ordering::Relaxed);
            }
            let file = Counted {
                file: BufWriter::with_capacity(1 << 16, File::create(&p).map_err(Error::io)?),
                shared: sh.clone(),
            };
            let mut w = RowWriter::new(format, &layout, file, &style)?;
            ctx.tx.query_each(&checked, &params, &limits, &mut |row| {
                if sh.stop.load(Ordering::Relaxed) {
                    return Err(Error::new(ErrorCode::Conflict, "stopped"));
                }
                if sh.rows.load(Ordering::Relaxed) >= max {
                    return Err(too_many_rows(max));
                }
                w.row(&row)?;
                sh.rows.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })?;
            w.finish()?.flush().map_err(Error::io)
        });
        tokio::pin!(reading);
        let mut tick = tokio::time::interval(TICK);
        tick.tick().await;
        let read = loop {
            tokio::select! {
                r = &mut reading => break r,
                _ = tick.tick() => self.publish(&e.id, &shared).await,
                _ = self.core.background.stopped(), if !shared.stopping.load(Ordering::Relaxed) => {
                    shared.stopping.store(true, Ordering::Relaxed);
                    shared.stop.store(true, Ordering::Relaxed);
                }
            }
        };
        let rows = shared.rows.load(Ordering::Relaxed);
        let finished = match read {
            Ok(()) => {
                let header = shared.header.load(Ordering::Relaxed);
                self.keep(&e, path.clone(), rows, header).await.map(Some)
            }
            Err(_) if shared.stopping.load(Ordering::Relaxed) => {
                Err(Error::new(ErrorCode::Unavailable, "the server is stopping"))
            }
            Err(_) if shared.stop.load(Ordering::Relaxed) => Ok(Some(End::Canceled)),
            Err(err) => Err(err),
        };
        let _ = std::fs::remove_file(&path);
        finished
    }

    /// Publishes the counters of a running query export; asks the query to stop if the export
    /// was canceled or is no longer this instance's.
    async fn publish(&self, id: &str, shared: &Arc<Shared>) {
        let (id, sh, owner) = (id.to_owned(), shared.clone(), self.core.instance.clone());
        let lease = self.core.lease();
        let r = self
            .core
            .transact(move |ctx| {
                let Some(mut e) = ctx.tx.get_export(&id)? else {
                    return Ok(false);
                };
                if !e.runs_here(&owner) {
                    return Ok(false);
                }
                e.rows = sh.rows.load(Ordering::Relaxed);
                e.bytes = sh.bytes.load(Ordering::Relaxed);
                e.lease = Some(lease.clone());
                e.updated_at = ctx.now.clone();
                ctx.tx.put_export(&e)?;
                Ok(true)
            })
            .await;
        if matches!(r, Ok(false)) {
            shared.stop.store(true, Ordering::Relaxed);
        }
    }

    /// Keeps a query's finished file (packed first, for a ZIP) in the file store.
    async fn keep(
        &self,
        e: &Export,
        path: std::path::PathBuf,
        rows: u64,
        header_len: u64,
    ) -> Result<End> {
        let files = self.core.store.files();
        let (id, zip, entry) = (e.id.clone(), e.format == ExportFormat::Zip, csv_entry(e));
        let zipped = self.scratch.join(format!("{id}.zip"));
        let stored = super::file_id(&id);
        let kept_as = stored.clone();
        let bytes = tokio::task::spawn_blocking(move || {
            let keep = if zip {
                let csv = File::open(&path).map_err(Error::io)?;
                encode::pack_zip(std::io::BufReader::new(csv), &entry, &zipped)?;
                zipped.clone()
            } else {
                path.clone()
            };
            let size = std::fs::metadata(&keep).map_err(Error::io)?.len();
            let kept = files.put_input(&kept_as, &keep);
            let _ = std::fs::remove_file(&zipped);
            kept.map(|_| size)
        })
        .await
        .map_err(Error::internal)??;
        Ok(End::Done {
            stored: Stored::File(stored),
            rows,
            bytes,
            header_len,
            more: false,
        })
    }
}
