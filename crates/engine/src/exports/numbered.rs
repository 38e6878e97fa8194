//! Numbered object exports (`Shape::numbered`): record ids — the `id` column and the object's own
//! relation fields — written as their numeric aliases. A chunk's records are read on a snapshot
//! with the numbers they already have; ids without one are numbered in a short transaction of
//! their own (a number, once given, stands for its id for good), then the chunk is encoded.

use super::chunk::{widened, window, Chunk};
use super::encode::{Numbers, RecordWriter};
use crate::core::Core;
use crate::error::{Error, Result};
use crate::model::{encode_cursor, AliasKind, Column, Object, Record, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a numbered chunk's snapshot read gives: the records, how its columns resolve in the
/// shape they were read in and which hold record ids, and the cursor after the last.
struct Read {
    records: Vec<Record>,
    cols: Vec<Column>,
    ids: Vec<bool>,
    next: Option<String>,
}

/// Which of the columns `names` (resolved to `cols` in `shape`) hold record ids: `id`, and a
/// relation field of the object itself (not a related record's field, `account.name`).
fn id_columns(shape: &Object, names: &[String], cols: &[Column]) -> Vec<bool> {
    names
        .iter()
        .zip(cols)
        .map(|(name, c)| match c {
            Column::Id => true,
            Column::Field(i) => {
                !name.contains('.') && shape.fields.get(*i).is_some_and(|f| f.relation.is_some())
            }
            _ => false,
        })
        .collect()
}

/// The distinct ids the chunk shows in numbered columns.
fn shown_ids(records: &[Record], cols: &[Column], ids: &[bool]) -> Vec<String> {
    let mut seen = HashSet::new();
    for r in records {
        r.with_ref(|r| {
            for (c, _) in cols.iter().zip(ids).filter(|(_, n)| **n) {
                if let crate::model::ValueRef::Text(id) = r.get(*c) {
                    if !id.is_empty() && !seen.contains(id) {
                        seen.insert(id.to_owned());
                    }
                }
            }
        });
    }
    seen.into_iter().collect()
}

/// Reads and encodes a numbered chunk: its bytes, how many records, and the cursor after the last.
pub(super) async fn read(chunk: Chunk, core: &Core) -> Result<(Vec<u8>, usize, Option<String>)> {
    let Chunk {
        obj,
        spec,
        size,
        offset,
        format,
        layout,
        header,
        capacity,
    } = chunk;
    let names = layout.names.clone();
    let (read, mut numbers, missing) = core
        .read_current(move |ctx| {
            let sel = window(ctx, &obj, &spec, size, offset)?;
            let keys = sel.keys();
            let (shape, records): (Arc<Object>, Vec<Record>) =
                match widened(ctx, &obj, &spec, &names, &sel)? {
                    Some(w) => w,
                    None => (obj.clone(), ctx.tx.list_records(&obj, &sel)?),
                };
            let cols = names
                .iter()
                .map(|n| Column::resolve(&shape, n))
                .collect::<Result<Vec<_>>>()?;
            let ids = id_columns(&shape, &names, &cols);
            let shown = shown_ids(&records, &cols, &ids);
            let refs: Vec<&str> = shown.iter().map(String::as_str).collect();
            let found = ctx.tx.alias_numbers(AliasKind::Record, &refs, false)?;
            let mut numbers = HashMap::with_capacity(shown.len());
            let mut missing = Vec::new();
            for (id, n) in shown.into_iter().zip(found) {
                match n {
                    Some(n) => {
                        numbers.insert(id, n);
                    }
                    None => missing.push(id),
                }
            }
            let next = records.last().map(|r| {
                r.with_ref(|r| {
                    let last: Vec<Value> =
                        keys.iter().map(|k| r.get(k.column).to_value()).collect();
                    encode_cursor(&last)
                })
            });
            let read = Read {
                records,
                cols,
                ids,
                next,
            };
            Ok((read, numbers, missing))
        })
        .await?;
    if !missing.is_empty() {
        let given = core
            .transact(move |ctx| {
                let refs: Vec<&str> = missing.iter().map(String::as_str).collect();
                let got = ctx.tx.alias_numbers(AliasKind::Record, &refs, true)?;
                missing
                    .iter()
                    .zip(got)
                    .map(|(id, n)| {
                        let n = n.ok_or_else(|| Error::internal("an alias was not allocated"))?;
                        Ok((id.clone(), n))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        numbers.extend(given);
    }
    let Read {
        records,
        cols,
        ids,
        next,
    } = read;
    let count = records.len();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(capacity);
        if header {
            out.extend_from_slice(&layout.header()?);
        }
        let numbered = Numbers {
            columns: ids,
            of: &numbers,
        };
        let mut w = RecordWriter::new(format, &layout, cols, out).numbered(numbered);
        for r in &records {
            r.with_ref(|r| w.record(r))?;
        }
        w.finish()
    })
    .await
    .map_err(Error::internal)??;
    Ok((bytes, count, next))
}
