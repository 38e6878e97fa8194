//! Looking into uploads and results without downloading them: the first rows of an upload (a
//! mapping wizard's preview) and the rows of a job that failed, with their errors.

use super::result::{self, ResultRow, RowStatus};
use super::service::Jobs;
use crate::error::{Error, Result};
use crate::jobs::files::check_id;
use crate::model::{Need, Principal};
use std::io::Read;

/// Most rows one look returns.
pub const MAX_LOOK_ROWS: usize = 1000;

/// An upload's header and first rows.
#[derive(Debug, Clone)]
pub struct Preview {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A failed row of a job: its position in the input (from 1), its copied cells and errors.
#[derive(Debug, Clone)]
pub struct FailedRow {
    pub row: u64,
    pub result: ResultRow,
}

impl Jobs {
    /// The header and first `n` rows (at most `MAX_LOOK_ROWS`) of upload `id`, as the store keeps
    /// it (a ZIP or NDJSON upload already as CSV).
    pub async fn preview(&self, who: &Principal, app: &str, id: &str, n: usize) -> Result<Preview> {
        let app = self.core().app(who, app, Need::Read)?;
        check_id(id, "file")?;
        let id = id.to_owned();
        let file = self
            .core()
            .read(move |ctx| ctx.tx.get_file(app.id, &id))
            .await?
            .ok_or_else(|| Error::not_found("no such file").with_field("file"))?;
        let files = self.core().store.files();
        let n = n.min(MAX_LOOK_ROWS);
        tokio::task::spawn_blocking(move || {
            let input = files.open_input(&file.id, 0)?;
            let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(input);
            let columns = rdr
                .headers()
                .map_err(Error::internal)?
                .iter()
                .map(str::to_owned)
                .collect();
            let rows = rdr
                .records()
                .take(n)
                .map(|r| {
                    r.map(|r| r.iter().map(str::to_owned).collect())
                        .map_err(Error::internal)
                })
                .collect::<Result<_>>()?;
            Ok(Preview { columns, rows })
        })
        .await
        .map_err(Error::internal)?
    }

    /// Up to `limit` (at most `MAX_LOOK_ROWS`) failed rows of job `id`, in input order, and how
    /// many rows failed in all.
    pub async fn failures(
        &self,
        who: &Principal,
        app: &str,
        id: &str,
        limit: usize,
    ) -> Result<(Vec<FailedRow>, u64)> {
        let job = self.load(who, app, id, Need::Read).await?;
        let files = self.core().store.files();
        let limit = limit.min(MAX_LOOK_ROWS);
        tokio::task::spawn_blocking(move || {
            let lines = files.open_result(&job.id, job.checkpoint.result_offset)?;
            // Rows never reached are not failures: only the stored lines are read (and, when
            // rows are shown whole, the upload beside them).
            let none: Box<dyn Read + Send> = match job.result_rows_whole {
                true => files.open_input(&job.file_id, 0)?,
                false => Box::new(std::io::empty()),
            };
            let mut done = job.clone();
            done.progress.total = done.checkpoint.rows_done;
            let (mut out, mut row) = (Vec::new(), 0);
            result::for_each(&done, lines, none, |r| {
                row += 1;
                if r.status == Some(RowStatus::Failed) && out.len() < limit {
                    out.push(FailedRow { row, result: r });
                }
                Ok(())
            })?;
            Ok((out, job.progress.failed))
        })
        .await
        .map_err(Error::internal)?
    }
}
