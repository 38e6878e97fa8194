//! Export file formats: records or query rows as CSV (a header line, then one line per row) or as
//! NDJSON (one JSON object per line, keys in column order), encoded a chunk at a time into a
//! buffer; and a finished CSV packed as a ZIP.

use crate::error::{Error, Result};
use crate::model::{Column, CsvStyle, ExportFormat, RecordRef, ValueRef};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// Column names, their labels (the header line; the names unless a front door gives its own),
/// and the labels as JSON object keys (escaped once, not per row).
pub struct Layout {
    pub names: Vec<String>,
    labels: Vec<String>,
    keys: Vec<String>,
}

impl Layout {
    pub fn new(names: Vec<String>) -> Layout {
        Layout::labelled(names, None)
    }

    /// Columns shown under `labels` (one per name).
    pub fn labelled(names: Vec<String>, labels: Option<Vec<String>>) -> Layout {
        let labels = labels.unwrap_or_else(|| names.clone());
        let keys = labels
            .iter()
            .map(|n| Json::String(n.clone()).to_string())
            .collect();
        Layout {
            names,
            labels,
            keys,
        }
    }

    /// The CSV header line in `style`.
    pub fn header_in(&self, style: &CsvStyle) -> Result<Vec<u8>> {
        let mut w = style.writer(Vec::new());
        w.write_record(&self.names).map_err(Error::csv)?;
        w.into_inner().map_err(|e| Error::internal(e.to_string()))
    }

    /// The CSV header line.
    pub fn header(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        if self.labels.is_empty() {
            w.write_record([""]).map_err(Error::csv)?;
        } else {
            w.write_record(&self.labels).map_err(Error::csv)?;
        }
        w.into_inner().map_err(|e| Error::internal(e.to_string()))
    }
}

/// A value as CSV text, written into `buf` when it is not text already.
fn cell<'a>(v: ValueRef<'a>, buf: &'a mut String) -> &'a str {
    match v {
        ValueRef::Null => "",
        ValueRef::Text(s) | ValueRef::Date(s) | ValueRef::DateTime(s) | ValueRef::Json(s) => s,
        ValueRef::Integer(n) => {
            buf.clear();
            let _ = write!(buf, "{n}");
            buf
        }
        ValueRef::Number(f) => {
            buf.clear();
            let _ = write!(buf, "{f}");
            buf
        }
        ValueRef::Boolean(true) => "true",
        ValueRef::Boolean(false) => "false",
    }
}

fn json_value(out: &mut Vec<u8>, v: ValueRef<'_>) -> Result<()> {
    match v {
        ValueRef::Null => out.extend_from_slice(b"null"),
        ValueRef::Json(s) => out.extend_from_slice(s.as_bytes()),
        ValueRef::Text(s) | ValueRef::Date(s) | ValueRef::DateTime(s) => {
            serde_json::to_writer(out, s).map_err(Error::internal)?
        }
        ValueRef::Integer(n) => {
            let _ = write!(Bytes(out), "{n}");
        }
        ValueRef::Number(f) => serde_json::to_writer(out, &f).map_err(Error::internal)?,
        ValueRef::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
    }
    Ok(())
}

/// `fmt::Write` into a byte buffer.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Ids written as their numbers: which columns hold record ids, and the number of each id.
pub struct Numbers<'n> {
    pub columns: Vec<bool>,
    pub of: &'n HashMap<String, u64>,
}

/// Encodes records in `format` (a ZIP's CSV as CSV), one at a time, onto the end of a buffer.
pub struct RecordWriter<'l> {
    layout: &'l Layout,
    cols: Vec<Column>,
    /// CSV goes through the `csv` crate's writer; NDJSON is written straight into `raw`.
    csv: Option<csv::Writer<Vec<u8>>>,
    raw: Vec<u8>,
    buf: String,
    numbers: Option<Numbers<'l>>,
}

impl<'l> RecordWriter<'l> {
    /// A writer appending to `out` (which keeps what it holds, and its capacity).
    pub fn new(
        format: ExportFormat,
        layout: &'l Layout,
        cols: Vec<Column>,
        out: Vec<u8>,
    ) -> RecordWriter<'l> {
        let (csv, raw) = match format {
            ExportFormat::Ndjson => (None, out),
            _ => (Some(csv::Writer::from_writer(out)), Vec::new()),
        };
        RecordWriter {
            layout,
            cols,
            csv,
            raw,
            buf: String::new(),
            numbers: None,
        }
    }

    /// Writes the ids of `numbers`' columns as their numbers.
    pub fn numbered(mut self, numbers: Numbers<'l>) -> RecordWriter<'l> {
        self.numbers = Some(numbers);
        self
    }

    /// Column `j`'s value as written: an id in a numbered column as its number.
    fn shown<'v>(numbers: &Option<Numbers<'_>>, j: usize, v: ValueRef<'v>) -> ValueRef<'v> {
        match (numbers, v) {
            (Some(n), ValueRef::Text(id)) if n.columns.get(j) == Some(&true) => {
                n.of.get(id)
                    .and_then(|&k| i64::try_from(k).ok())
                    .map_or(v, ValueRef::Integer)
            }
            _ => v,
        }
    }

    pub fn record(&mut self, rec: &RecordRef<'_>) -> Result<()> {
        if let Some(csv) = &mut self.csv {
            for (j, &c) in self.cols.iter().enumerate() {
                let v = Self::shown(&self.numbers, j, rec.get(c));
                csv.write_field(cell(v, &mut self.buf))
                    .map_err(Error::csv)?;
            }
            return csv.write_record(None::<&[u8]>).map_err(Error::csv);
        }
        let out = &mut self.raw;
        out.push(b'{');
        for (j, &c) in self.cols.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(self.layout.keys[j].as_bytes());
            out.push(b':');
            json_value(out, Self::shown(&self.numbers, j, rec.get(c)))?;
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    /// The buffer, with every record encoded.
    pub fn finish(self) -> Result<Vec<u8>> {
        match self.csv {
            None => Ok(self.raw),
            Some(w) => w.into_inner().map_err(|e| Error::io(e.into_error())),
        }
    }
}

/// A query value as CSV text.
fn json_cell(v: &Json) -> std::borrow::Cow<'_, str> {
    match v {
        Json::Null => "".into(),
        Json::String(s) => s.as_str().into(),
        other => other.to_string().into(),
    }
}

/// Writes query rows in `format` to `out`, one at a time.
pub struct RowWriter<W: Write> {
    keys: Vec<String>,
    out: RowOut<W>,
}

enum RowOut<W: Write> {
    Csv(Box<csv::Writer<W>>),
    /// NDJSON, each line built in `line` (reused) and written whole.
    Ndjson {
        w: W,
        line: Vec<u8>,
    },
}

impl<W: Write> RowWriter<W> {
    /// A writer for rows with these columns; a CSV (in `style`) starts with its header.
    pub fn new(
        format: ExportFormat,
        layout: &Layout,
        out: W,
        style: &CsvStyle,
    ) -> Result<RowWriter<W>> {
        let out = if format == ExportFormat::Ndjson {
            RowOut::Ndjson {
                w: out,
                line: Vec::new(),
            }
        } else {
            let mut w = style.writer(out);
            w.write_record(&layout.names).map_err(Error::csv)?;
            RowOut::Csv(Box::new(w))
        };
        Ok(RowWriter {
            keys: layout.keys.clone(),
            out,
        })
    }

    pub fn row(&mut self, row: &[Json]) -> Result<()> {
        match &mut self.out {
            RowOut::Csv(w) => {
                for v in row {
                    w.write_field(json_cell(v).as_bytes()).map_err(Error::csv)?;
                }
                w.write_record(None::<&[u8]>).map_err(Error::csv)
            }
            RowOut::Ndjson { w, line } => {
                line.clear();
                line.push(b'{');
                for (j, (k, v)) in self.keys.iter().zip(row).enumerate() {
                    if j > 0 {
                        line.push(b',');
                    }
                    line.extend_from_slice(k.as_bytes());
                    line.push(b':');
                    serde_json::to_writer(&mut *line, v).map_err(Error::internal)?;
                }
                line.extend_from_slice(b"}\n");
                w.write_all(line).map_err(Error::io)
            }
        }
    }

    /// Flushes what is buffered and gives the output back.
    pub fn finish(self) -> Result<W> {
        match self.out {
            RowOut::Csv(w) => w.into_inner().map_err(|e| Error::io(e.into_error())),
            RowOut::Ndjson { w, .. } => Ok(w),
        }
    }
}

/// Packs the CSV read from `csv` into a ZIP at `out`, as one entry named `entry`; its size.
pub fn pack_zip(mut csv: impl Read, entry: &str, out: &Path) -> Result<u64> {
    let file = std::fs::File::create(out).map_err(Error::io)?;
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(1 << 16, file));
    // The fastest level: an export is about moving data, and level 1 deflates several times
    // faster than the default for files a fifth larger.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    zip.start_file(entry, options).map_err(Error::zip)?;
    std::io::copy(&mut csv, &mut zip).map_err(Error::io)?;
    let mut w = zip.finish().map_err(Error::zip)?;
    w.flush().map_err(Error::io)?;
    drop(w);
    Ok(std::fs::metadata(out).map_err(Error::io)?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Record, Value};

    #[test]
    fn labels_head_the_columns_and_numbered_columns_show_numbers() {
        let names = vec!["id".to_owned(), "owner".to_owned()];
        let labels = vec!["Id".to_owned(), "Owner".to_owned()];
        let layout = Layout::labelled(names, Some(labels));
        assert_eq!(layout.header().unwrap(), b"Id,Owner\n".to_vec());
        let rec = Record {
            id: "a".into(),
            created_at: String::new(),
            updated_at: String::new(),
            created_by: String::new(),
            updated_by: String::new(),
            values: vec![Value::Text("a".into())],
        };
        let of: HashMap<String, u64> = [("a".to_owned(), 7u64)].into();
        let cols = vec![Column::Id, Column::Field(0)];
        let numbers = Numbers {
            columns: vec![true, false],
            of: &of,
        };
        let mut w =
            RecordWriter::new(ExportFormat::Csv, &layout, cols, Vec::new()).numbered(numbers);
        rec.with_ref(|r| w.record(r)).unwrap();
        assert_eq!(w.finish().unwrap(), b"7,a\n".to_vec());
    }
}
