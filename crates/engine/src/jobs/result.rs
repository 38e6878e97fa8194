//! Result files: one line per input row, appended chunk by chunk as the job runs (neutral CSV:
//! the copied input cells, record id, status, error codes, messages), and rendered on download as a
//! ZIP holding one CSV in the caller's format, rows not reached listed as `unprocessed`.

use crate::error::{Error, Result};
use crate::model::Job;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// One row's outcome, as stored and as handed to renderers.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub cells: Vec<String>,
    pub id: String,
    /// The record's numeric alias, in a numbered job.
    pub number: Option<u64>,
    /// The row's outcome; `None` for a stored line whose status sluice does not know, which
    /// renders as an empty status.
    pub status: Option<RowStatus>,
    /// `(sluice error code, field)` pairs.
    pub errors: Vec<(String, String)>,
    pub messages: String,
    /// The row's number in the input (1 for the first row after the header), given as rows are
    /// read back in input order (not stored).
    pub row: u64,
}

/// A row's outcome in a result file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowStatus {
    Added,
    Updated,
    /// An insert whose key was already taken: the record was left as it was.
    Skipped,
    Deleted,
    Failed,
    /// The job ended before it reached the row.
    Unprocessed,
}

impl RowStatus {
    /// sluice's own name for the status, as stored in result lines and in its `STATUS` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Updated => "updated",
            Self::Skipped => "skipped",
            Self::Deleted => "deleted",
            Self::Failed => "failed",
            Self::Unprocessed => "unprocessed",
        }
    }

    /// Reads a stored status back; `None` for a name sluice never writes.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Added,
            Self::Updated,
            Self::Skipped,
            Self::Deleted,
            Self::Failed,
            Self::Unprocessed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Renders rows as result lines (CSV: the copied cells, record id, status, `code-field` errors
/// joined with `:`, messages, and the record's number in a numbered job).
pub fn render_lines(rows: &[ResultRow]) -> Result<Vec<u8>> {
    // Flexible: a numbered job's failed rows have no record number, its other rows do.
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(rows.len() * 64));
    for r in rows {
        let codes = r
            .errors
            .iter()
            .map(|(c, f)| format!("{c}-{f}"))
            .collect::<Vec<_>>()
            .join(":");
        let number = r.number.map(|n| n.to_string());
        let status = r.status.map_or("", RowStatus::as_str);
        let line = r
            .cells
            .iter()
            .map(String::as_str)
            .chain([r.id.as_str(), status, &codes, &r.messages])
            .chain(number.as_deref());
        w.write_record(line).map_err(Error::csv)?;
    }
    w.into_inner().map_err(|e| Error::internal(e.to_string()))
}

/// Where a job's upload is read from for its results: its start when the rows are shown whole
/// (read beside the result lines), else where the job stopped (the rows never reached).
pub fn input_offset(job: &Job) -> u64 {
    if job.result_rows_whole {
        0
    } else {
        job.checkpoint.input_offset
    }
}

/// Reads every row's outcome in input order: the stored ones, then the rows never reached.
/// `result` reads the stored lines; `input` reads the upload from `input_offset`.
pub fn for_each(
    job: &Job,
    result: Box<dyn Read + Send>,
    input: Box<dyn Read + Send>,
    mut f: impl FnMut(ResultRow) -> Result<()>,
) -> Result<()> {
    let n = job.result_columns.len();
    let whole = job.result_rows_whole;
    let mut row = 0u64;
    let mut next_row = || {
        row += 1;
        row
    };
    let mut rows_in = csv::ReaderBuilder::new()
        .has_headers(input_offset(job) == 0)
        .from_reader(input);
    let mut input_row = csv::StringRecord::new();
    {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(result);
        for rec in rdr.records() {
            let rec = rec.map_err(Error::internal)?;
            let get = |i: usize| rec.get(i).unwrap_or_default().to_owned();
            let errors = get(n + 2)
                .split(':')
                .filter(|s| !s.is_empty())
                .map(|e| match e.split_once('-') {
                    Some((c, f)) => (c.to_owned(), f.to_owned()),
                    None => (e.to_owned(), String::new()),
                })
                .collect();
            // A whole row is its input line, read in step with the result lines.
            let cells = if !whole {
                (0..n).map(get).collect()
            } else if rows_in
                .read_record(&mut input_row)
                .map_err(Error::internal)?
            {
                input_row.iter().map(str::to_owned).collect()
            } else {
                Vec::new()
            };
            f(ResultRow {
                cells,
                id: get(n),
                number: get(n + 4).parse().ok(),
                status: RowStatus::parse(&get(n + 1)),
                errors,
                messages: get(n + 3),
                row: next_row(),
            })?;
        }
    }
    if job.checkpoint.rows_done < job.progress.total {
        for rec in rows_in.records() {
            let rec = rec.map_err(Error::internal)?;
            let cells = if whole {
                rec.iter().map(str::to_owned).collect()
            } else {
                job.result_columns
                    .iter()
                    .map(|&c| rec.get(c).unwrap_or_default().to_owned())
                    .collect()
            };
            f(ResultRow {
                cells,
                id: String::new(),
                number: None,
                status: Some(RowStatus::Unprocessed),
                errors: Vec::new(),
                messages: String::new(),
                row: next_row(),
            })?;
        }
    }
    Ok(())
}

/// Writes the ZIP at `out`: one CSV named `csv_name` with `header`, each row rendered by `render`.
pub fn write_zip(
    job: &Job,
    result: Box<dyn Read + Send>,
    input: Box<dyn Read + Send>,
    out: &Path,
    csv_name: &str,
    header: &[String],
    render: &dyn Fn(ResultRow) -> Vec<String>,
) -> Result<()> {
    // A name of its own, so that two downloads building the same result do not share a file.
    let tmp = out.with_extension(format!("{}.part", uuid::Uuid::new_v4().simple()));
    let mut zip = zip::ZipWriter::new(File::create(&tmp).map_err(Error::io)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file(csv_name, options).map_err(Error::zip)?;
    {
        let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, &mut zip));
        w.write_record(header).map_err(Error::csv)?;
        for_each(job, result, input, |row| {
            w.write_record(render(row)).map_err(Error::csv)
        })?;
        w.flush().map_err(Error::io)?;
    }
    zip.finish()
        .map_err(Error::zip)?
        .flush()
        .map_err(Error::io)?;
    std::fs::rename(&tmp, out).map_err(Error::io)
}

/// Writes a plain CSV at `out` (every field quoted when `quote_all`): `header`, then each row
/// `render` keeps.
pub fn write_csv(
    job: &Job,
    result: Box<dyn Read + Send>,
    input: Box<dyn Read + Send>,
    out: &Path,
    view: &ResultView,
) -> Result<()> {
    let tmp = out.with_extension(format!("{}.part", uuid::Uuid::new_v4().simple()));
    {
        let file = BufWriter::with_capacity(1 << 16, File::create(&tmp).map_err(Error::io)?);
        let style = if view.quote_all {
            csv::QuoteStyle::Always
        } else {
            csv::QuoteStyle::Necessary
        };
        let mut w = csv::WriterBuilder::new()
            .quote_style(style)
            .flexible(true)
            .from_writer(file);
        w.write_record(&view.header).map_err(Error::csv)?;
        for_each(job, result, input, |row| match (view.render)(row) {
            Some(cells) => w.write_record(cells).map_err(Error::csv),
            None => Ok(()),
        })?;
        w.flush().map_err(Error::io)?;
    }
    std::fs::rename(&tmp, out).map_err(Error::io)
}

/// A selection of a result file as a plain CSV: the rows `render` keeps, in its shape.
pub struct ResultView {
    /// Names the rendered file on disk, so each view is built once.
    pub tag: &'static str,
    pub header: Vec<String>,
    pub quote_all: bool,
    pub render: Box<dyn Fn(ResultRow) -> Option<Vec<String>> + Send>,
}

/// How a result file is rendered for download: the CSV's name and header, and each row.
pub struct ResultLayout {
    /// Names the rendered file on disk, so each layout is built once.
    pub tag: &'static str,
    pub csv_name: String,
    pub header: Vec<String>,
    pub render: Box<dyn Fn(ResultRow) -> Vec<String> + Send>,
}

impl ResultLayout {
    /// sluice's own layout: the copied columns, `ID`, `STATUS`, `ERRORS` (messages), and `ROW`, the
    /// row's number in the input file (1 for the first row after the header).
    pub fn standard(job: &Job) -> ResultLayout {
        ResultLayout {
            tag: "standard-row",
            csv_name: entry_name(job),
            header: job
                .result_headers
                .iter()
                .cloned()
                .chain(["ID", "STATUS", "ERRORS", "ROW"].map(String::from))
                .collect(),
            render: Box::new(|r| {
                let mut v = r.cells;
                let status = r.status.map_or("", RowStatus::as_str).to_owned();
                v.extend([r.id, status, r.messages, r.row.to_string()]);
                v
            }),
        }
    }
}

/// Longest base name kept from an upload's name in a result file's entry.
const MAX_BASE_NAME: usize = 100;

/// The result CSV's name: `<object>-<upload's file name>`. The upload's name is the client's, so
/// only a safe base name is kept: no folder of either kind, no drive, no `..`, no control
/// characters, a bounded length, ending in `.csv` — a naive unzip cannot write outside its folder.
pub fn entry_name(job: &Job) -> String {
    format!("{}-{}", job.object, safe_base_name(&job.file_name))
}

fn safe_base_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let base = base.rsplit(':').next().unwrap_or_default();
    let mut clean: String = base
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .replace("..", "_");
    clean = clean.trim_start_matches(['.', ' ']).to_owned();
    if clean.to_ascii_lowercase().ends_with(".csv") {
        clean.truncate(clean.len() - 4);
    }
    let mut stem: String = clean.chars().take(MAX_BASE_NAME).collect();
    if stem.trim().is_empty() {
        stem = "data".into();
    }
    format!("{stem}.csv")
}

#[cfg(test)]
mod tests {
    use super::{safe_base_name, RowStatus};

    #[test]
    fn stored_statuses_read_back() {
        for s in [
            RowStatus::Added,
            RowStatus::Updated,
            RowStatus::Skipped,
            RowStatus::Deleted,
            RowStatus::Failed,
            RowStatus::Unprocessed,
        ] {
            assert_eq!(RowStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RowStatus::parse(""), None);
    }

    #[test]
    fn entry_names_cannot_leave_their_folder() {
        for (given, want) in [
            ("contacts.csv", "contacts.csv"),
            ("contacts", "contacts.csv"),
            ("../../../evil.csv", "evil.csv"),
            ("/etc/cron.d/x.csv", "x.csv"),
            ("..\\..\\evil.csv", "evil.csv"),
            ("C:\\Windows\\x.CSV", "x.csv"),
            ("C:evil.csv", "evil.csv"),
            ("..", "_.csv"),
            ("a..b.csv", "a_b.csv"),
            ("", "data.csv"),
            ("new\nline.csv", "newline.csv"),
        ] {
            assert_eq!(safe_base_name(given), want, "{given:?}");
        }
        let long = "x".repeat(500);
        assert_eq!(safe_base_name(&long).len(), 104);
    }
}
