//! Reading a finished export's file: whole, from a byte range (resumable downloads), or a page of
//! records at a time. A page runs from a locator — an opaque token for a byte offset at a record
//! boundary — to the end of its last record; a CSV page after the first starts with the header
//! line again, as Salesforce's Bulk API 2.0 query results do (`Sforce-Locator`).

use crate::error::{Error, ErrorCode, Result};
use crate::model::{Export, ExportFormat, Stored};
use crate::store::FileStore;
use base64::Engine as _;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

/// A finished export's file.
pub struct Download {
    pub export: Export,
    /// The whole file's size.
    pub total: u64,
    files: Arc<dyn FileStore>,
}

impl Download {
    pub(super) fn new(export: Export, files: Arc<dyn FileStore>) -> Result<Download> {
        if export.expired {
            return Err(Error::new(
                ErrorCode::Expired,
                "the export's file was deleted after the retention period; export again",
            ));
        }
        if export.stored.is_none() {
            return Err(Error::new(
                ErrorCode::NotReady,
                format!(
                    "the export is {}; its file is there once it completed",
                    export.status.as_str()
                ),
            ));
        }
        Ok(Download {
            total: export.bytes,
            export,
            files,
        })
    }

    pub fn content_type(&self) -> &'static str {
        self.export.format.content_type()
    }

    pub fn file_name(&self) -> String {
        self.export.file_name()
    }

    /// A validator that changes whenever the file could.
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.export.id, self.total)
    }

    /// Reads `len` bytes from byte `from` on (blocking: call it off the async threads).
    pub fn open(&self, from: u64, len: u64) -> Result<Box<dyn Read + Send>> {
        let len = len.min(self.total.saturating_sub(from));
        match &self.export.stored {
            Some(Stored::File(id)) => Ok(Box::new(self.files.open_input(id, from)?.take(len))),
            _ => self.files.open_result_at(&self.export.id, from, len),
        }
    }

    /// The page of at most `max` records from `locator` on (none: the first), blocking.
    pub fn page(&self, locator: Option<&str>, max: u64) -> Result<Page> {
        let format = self.export.format;
        if !format.pageable() {
            return Err(Error::invalid(
                "paged reads are for csv and ndjson exports; download a ZIP whole or by range",
            )
            .with_field("locator"));
        }
        if max == 0 {
            return Err(Error::invalid("max_records must be at least 1").with_field("max_records"));
        }
        let header = self.export.header_len;
        let start = match locator {
            None => 0,
            Some(l) => decode(l)
                .filter(|&at| at >= header && at <= self.total)
                .ok_or_else(|| {
                    Error::invalid("the locator is not one this export gave").with_field("locator")
                })?,
        };
        // A locator this export gave starts a line: one made by hand mid-record is refused.
        if start > 0 {
            let mut before = [0u8];
            self.open(start - 1, 1)?
                .read_exact(&mut before)
                .map_err(Error::io)?;
            if before[0] != b'\n' {
                return Err(
                    Error::invalid("the locator is not one this export gave").with_field("locator")
                );
            }
        }
        let input = self.open(start, self.total - start)?;
        let (len, records) = if format == ExportFormat::Ndjson {
            lines(input, max)?
        } else {
            let with_header = u64::from(start == 0 && header > 0);
            let (mut len, n) = csv_records(input, max + with_header, self.export.csv.delimiter)?;
            // The reader stops after a CRLF's `\r`: the page ends after its `\n`.
            if start + len < self.total {
                let mut next = [0u8];
                self.open(start + len, 1)?
                    .read_exact(&mut next)
                    .map_err(Error::io)?;
                len += u64::from(next[0] == b'\n');
            }
            (len, n.saturating_sub(with_header))
        };
        let end = start + len;
        let mut prefix = Vec::new();
        if start > 0 && header > 0 {
            self.open(0, header)?
                .read_to_end(&mut prefix)
                .map_err(Error::io)?;
        }
        Ok(Page {
            prefix,
            from: start,
            len,
            records,
            next: (end < self.total).then(|| encode(end)),
        })
    }
}

/// One page: `prefix` (the header line, after the first page), then `len` bytes from `from`.
pub struct Page {
    pub prefix: Vec<u8>,
    pub from: u64,
    pub len: u64,
    /// Records in the page.
    pub records: u64,
    /// The locator of the next page; none on the last.
    pub next: Option<String>,
}

fn encode(offset: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(offset.to_string())
}

fn decode(locator: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(locator)
        .ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

/// Bytes taken by the first `n` lines of `input`, and how many lines that is.
fn lines(input: impl Read, n: u64) -> Result<(u64, u64)> {
    let mut r = BufReader::with_capacity(1 << 16, input);
    let (mut len, mut count, mut buf) = (0u64, 0u64, Vec::new());
    while count < n {
        buf.clear();
        match r.read_until(b'\n', &mut buf).map_err(Error::io)? {
            0 => break,
            k => len += k as u64,
        }
        count += 1;
    }
    Ok((len, count))
}

/// Bytes taken by the first `n` CSV records of `input` (quoted line breaks stay inside a record),
/// and how many records that is.
fn csv_records(input: impl Read, n: u64, delimiter: u8) -> Result<(u64, u64)> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let (mut rec, mut count) = (csv::ByteRecord::new(), 0u64);
    while count < n && r.read_byte_record(&mut rec).map_err(Error::internal)? {
        count += 1;
    }
    Ok((r.position().byte(), count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_at_record_boundaries() {
        let csv = b"a,b\n1,\"x\ny\"\n2,z\n";
        assert_eq!(csv_records(&csv[..], 1, b',').unwrap(), (4, 1));
        assert_eq!(csv_records(&csv[..], 2, b',').unwrap(), (12, 2));
        assert_eq!(
            csv_records(&csv[..], 9, b',').unwrap(),
            (csv.len() as u64, 3)
        );
        let tabbed = b"a\tb\r\n1\t\"x\ny\"\r\n";
        assert_eq!(csv_records(&tabbed[..], 2, b'\t').unwrap(), (13, 2));
        let nd = b"{\"a\":1}\n{\"a\":2}\n";
        assert_eq!(lines(&nd[..], 1).unwrap(), (8, 1));
        assert_eq!(lines(&nd[..], 5).unwrap(), (16, 2));
        assert_eq!(decode(&encode(1234)), Some(1234));
        assert_eq!(decode("not base64!"), None);
    }
}
