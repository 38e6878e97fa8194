//! NDJSON uploads: one JSON object per line, normalised to CSV with the union of the objects' keys
//! (in first-seen order) as the header.

use super::{bad, Normalized};
use crate::error::{Error, ErrorCode, Result};
use crate::settings::UploadLimits;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read};
use std::path::Path;

/// Longest NDJSON line accepted.
const MAX_LINE: u64 = 16 << 20;

/// Two passes over the upload: the first learns every key (in first-seen order), the second writes
/// the CSV. Strings go as they are, null as an empty cell, other values as JSON text.
pub fn from_ndjson(
    raw: &Path,
    out: &Path,
    limits: &UploadLimits,
    name: String,
) -> Result<Normalized> {
    let mut header: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut rows = 0u64;
    for_each_object(raw, |obj, _| {
        for (k, _) in obj {
            if seen.insert(k.clone()) {
                header.push(k.clone());
            }
        }
        rows += 1;
        Ok(())
    })?;
    if header.is_empty() {
        return Err(bad("the file holds no JSON objects"));
    }
    if header.len() > limits.max_columns {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "the file has {} keys; at most {} are allowed",
                header.len(),
                limits.max_columns
            ),
        )
        .with_field("columns"));
    }
    let mut csv_out = csv::Writer::from_writer(BufWriter::with_capacity(
        1 << 16,
        File::create(out).map_err(Error::io)?,
    ));
    csv_out.write_record(&header).map_err(Error::csv)?;
    for_each_object(raw, |obj, _| {
        let cells = header
            .iter()
            .map(|k| match obj.iter().find(|(f, _)| f == k).map(|(_, v)| v) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            });
        csv_out.write_record(cells).map_err(Error::csv)
    })?;
    csv_out.flush().map_err(Error::io)?;
    Ok(Normalized {
        header,
        rows,
        name,
        delimiter: ',',
    })
}

/// A JSON object's entries in document order.
struct Ordered(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Ordered, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(V)
    }
}

fn for_each_object(
    raw: &Path,
    mut f: impl FnMut(&[(String, serde_json::Value)], u64) -> Result<()>,
) -> Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(raw).map_err(Error::internal)?);
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .map_err(Error::internal)?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| bad(format!("line {n} is not valid UTF-8")).with_row(n))?;
        match serde_json::from_str::<Ordered>(text) {
            Ok(obj) => f(&obj.0, n)?,
            Err(_) => return Err(bad(format!("line {n} is not a JSON object")).with_row(n)),
        }
    }
}
