//! Normalizing uploads: a ZIP holding one CSV, a plain CSV, or NDJSON, checked and made one CSV
//! (comma-delimited, UTF-8, header row, equal row lengths) in a single streaming pass; a file is
//! refused whole, with the row, before any job can use it.

mod ndjson;

use crate::error::{Error, ErrorCode, Result};
use crate::settings::UploadLimits;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Cursor, Read};
use std::path::Path;
use std::rc::Rc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Zip,
    Csv,
    /// CSV whose delimiter the client declared (rather than one detected from the header row).
    Delimited(u8),
    Ndjson,
}

impl Format {
    /// From the declared content type and name, else from the first bytes (`PK` is a ZIP).
    pub fn detect(content_type: Option<&str>, name: &str, head: &[u8]) -> Format {
        let ct = content_type.unwrap_or_default().to_ascii_lowercase();
        let name = name.to_ascii_lowercase();
        if head.starts_with(b"PK") || ct.contains("zip") || name.ends_with(".zip") {
            Format::Zip
        } else if ct.contains("ndjson")
            || ct.contains("jsonl")
            || name.ends_with(".ndjson")
            || name.ends_with(".jsonl")
        {
            Format::Ndjson
        } else {
            Format::Csv
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Zip => "application/zip",
            Format::Csv | Format::Delimited(_) => "text/csv",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

/// What normalising found.
#[derive(Debug, Clone)]
pub struct Normalized {
    pub header: Vec<String>,
    pub rows: u64,
    /// The CSV's own name (a ZIP's entry, else the upload's name).
    pub name: String,
    pub delimiter: char,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidFile, msg)
}

/// Normalises the upload at `raw` into the CSV at `out`.
pub fn normalize(
    raw: &Path,
    format: Format,
    name: &str,
    out: &Path,
    limits: &UploadLimits,
) -> Result<Normalized> {
    let file = File::open(raw).map_err(Error::internal)?;
    match format {
        Format::Zip => from_zip(file, out, limits),
        Format::Csv => from_csv(file, out, limits, name.to_owned(), None),
        Format::Delimited(d) => from_csv(file, out, limits, name.to_owned(), Some(d)),
        Format::Ndjson => ndjson::from_ndjson(raw, out, limits, name.to_owned()),
    }
}

/// Counts bytes read and fails past a limit: the defence against ZIP bombs whatever sizes the
/// archive declares.
struct Limited<R> {
    inner: R,
    left: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.tripped.set(true);
            return Err(io::Error::other("size limit"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn from_zip(file: File, out: &Path, limits: &UploadLimits) -> Result<Normalized> {
    let mut archive =
        zip::ZipArchive::new(file).map_err(|_| bad("the file is not a valid ZIP archive"))?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|_| bad("the ZIP archive is corrupt"))?;
        let n = entry.name().to_owned();
        let base = n.rsplit('/').next().unwrap_or_default();
        if entry.is_dir() || n.starts_with("__MACOSX/") || base.starts_with("._") {
            continue;
        }
        entries.push(i);
    }
    let [index] = entries[..] else {
        return Err(bad(format!(
            "the ZIP archive must hold exactly one CSV file; it holds {}",
            entries.len()
        )));
    };
    let entry = archive
        .by_index(index)
        .map_err(|_| bad("the ZIP archive is corrupt"))?;
    let name = entry
        .name()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    if !name.to_ascii_lowercase().ends_with(".csv") {
        return Err(bad(format!(
            "the ZIP archive must hold a .csv file, not {name:?}"
        )));
    }
    let compressed = entry.compressed_size().max(1);
    let ratio_cap = compressed.saturating_mul(limits.max_zip_ratio);
    let cap = limits.max_unzipped_bytes.min(ratio_cap);
    if entry.size() > cap {
        return Err(too_big(limits));
    }
    let tripped = Rc::new(Cell::new(false));
    let reader = Limited {
        inner: entry,
        left: cap,
        tripped: tripped.clone(),
    };
    from_csv(reader, out, limits, name, None).map_err(|e| {
        if tripped.get() {
            too_big(limits)
        } else {
            e
        }
    })
}

fn too_big(limits: &UploadLimits) -> Error {
    Error::new(
        ErrorCode::TooLarge,
        format!(
            "the ZIP archive unpacks to more than {} bytes or more than {} times its size",
            limits.max_unzipped_bytes, limits.max_zip_ratio
        ),
    )
}

/// The delimiters a header row may use, in the order ties go (Zoho's four, and the tab of TSV files
/// and spreadsheet exports).
const DELIMITERS: [u8; 5] = [b',', b';', b'\t', b':', b'|'];

/// The delimiter the header row uses most among `DELIMITERS` (outside quotes); `,` by default.
fn detect_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            _ if quoted => {}
            _ => {
                if let Some(i) = DELIMITERS.iter().position(|d| *d == b) {
                    counts[i] += 1;
                }
            }
        }
    }
    let best = (0..DELIMITERS.len())
        .max_by_key(|&i| (counts[i], DELIMITERS.len() - i))
        .unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        DELIMITERS[best]
    }
}

/// Longest header line read to detect the delimiter.
const MAX_HEADER_LINE: u64 = 1 << 20;

fn from_csv<R: Read>(
    input: R,
    out: &Path,
    limits: &UploadLimits,
    name: String,
    declared: Option<u8>,
) -> Result<Normalized> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let io_err = |e: io::Error| bad(format!("the file could not be read: {e}"));
    if reader
        .fill_buf()
        .map_err(io_err)?
        .starts_with(b"\xEF\xBB\xBF")
    {
        reader.consume(3);
    }
    let mut first = Vec::new();
    (&mut reader)
        .take(MAX_HEADER_LINE)
        .read_until(b'\n', &mut first)
        .map_err(io_err)?;
    if first.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("the file is empty: it needs a header row"));
    }
    let delimiter = declared.unwrap_or_else(|| detect_delimiter(&first));
    let mut csv_in = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(Cursor::new(first).chain(reader));
    let header: Vec<String> = csv_in
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if header.len() > limits.max_columns {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "the file has {} columns; at most {} are allowed",
                header.len(),
                limits.max_columns
            ),
        )
        .with_field("columns"));
    }
    if header.iter().all(String::is_empty) {
        return Err(bad("the header row is empty"));
    }
    let mut csv_out = csv::Writer::from_writer(BufWriter::with_capacity(
        1 << 16,
        File::create(out).map_err(Error::io)?,
    ));
    csv_out.write_record(&header).map_err(Error::csv)?;
    let mut record = csv::StringRecord::new();
    let mut rows = 0u64;
    while csv_in.read_record(&mut record).map_err(csv_error)? {
        rows += 1;
        csv_out.write_record(&record).map_err(Error::csv)?;
    }
    csv_out.flush().map_err(Error::io)?;
    Ok(Normalized {
        header,
        rows,
        name,
        delimiter: char::from(delimiter),
    })
}

fn csv_error(e: csv::Error) -> Error {
    let row = e.position().map(|p| p.record());
    let err = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => bad(format!("row {} is not valid UTF-8", row.unwrap_or(0))),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => bad(format!(
            "row {} has {len} columns; the header has {expected_len}",
            row.unwrap_or(0)
        )),
        csv::ErrorKind::Io(io) => bad(format!("the file could not be read: {io}")),
        _ => bad(format!("the file is not valid CSV: {e}")),
    };
    match row {
        Some(r) => err.with_row(r),
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_come_from_the_header() {
        assert_eq!(detect_delimiter(b"a,b,c\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c\n"), b';');
        assert_eq!(detect_delimiter(b"a|b\n"), b'|');
        assert_eq!(detect_delimiter(b"\"x,y\";b;c\n"), b';');
        assert_eq!(detect_delimiter(b"only\n"), b',');
        assert_eq!(detect_delimiter(b"email\tage\tnote\n"), b'\t');
        assert_eq!(detect_delimiter(b"a\tb,c\td\n"), b'\t');
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(Format::detect(None, "x.csv", b"PK\x03\x04"), Format::Zip);
        assert_eq!(
            Format::detect(Some("application/x-ndjson"), "x", b"{"),
            Format::Ndjson
        );
        assert_eq!(Format::detect(Some("text/csv"), "x", b"a,b"), Format::Csv);
    }
}
