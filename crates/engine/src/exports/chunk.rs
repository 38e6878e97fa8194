//! One chunk of an object export read on a snapshot: the next records after the cursor (the
//! first chunk after the window's offset), encoded as they are read, with their relations
//! expanded and related columns added when the export asks for either.

use super::encode::{Layout, RecordWriter};
use crate::core::{Core, Ctx};
use crate::error::{Error, Result};
use crate::model::{encode_cursor, Column, ExportFormat, Object, Value};
use std::sync::Arc;

/// Whether a record follows `spec`'s cursor.
pub(super) async fn any_after(
    core: &Core,
    obj: Arc<Object>,
    spec: crate::model::ListSpec,
) -> Result<bool> {
    core.read_current(move |ctx| {
        let mut sel = crate::ops::selection(ctx, &obj, &spec)?;
        sel.limit = 1;
        let mut any = false;
        ctx.tx.scan_records(&obj, &sel, &mut |_| {
            any = true;
            Ok(())
        })?;
        Ok(any)
    })
    .await
}

/// One chunk of an object export to read: the next `size` records after `spec`'s cursor (the
/// first chunk, with no cursor, after `offset` records).
pub(super) struct Chunk {
    pub obj: Arc<Object>,
    pub spec: crate::model::ListSpec,
    pub size: usize,
    pub offset: u64,
    pub format: ExportFormat,
    pub layout: Arc<Layout>,
    /// Start with the CSV header line.
    pub header: bool,
    /// Bytes to reserve for the chunk.
    pub capacity: usize,
}

impl Chunk {
    /// Reads and encodes the chunk on one snapshot (on the reading thread, records borrowed from
    /// the store's rows): its bytes, how many records, and the cursor after the last.
    pub(super) async fn read(self, core: &Core) -> Result<(Vec<u8>, usize, Option<String>)> {
        core.read_current(move |ctx| {
            let Chunk {
                obj,
                spec,
                size,
                offset,
                format,
                layout,
                header,
                capacity,
            } = self;
            let sel = window(ctx, &obj, &spec, size, offset)?;
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

/// The selection of a chunk: `size` records after the cursor, or after `offset` without one.
pub(super) fn window(
    ctx: &Ctx<'_>,
    obj: &Object,
    spec: &crate::model::ListSpec,
    size: usize,
    offset: u64,
) -> Result<crate::model::Selection> {
    let mut sel = crate::ops::selection(ctx, obj, spec)?;
    sel.limit = size;
    if spec.cursor.is_none() {
        sel.offset = offset;
    }
    Ok(sel)
}

/// A chunk's records with their relations expanded and related columns added, when the export
/// asks for either (read whole, a chunk at a time); `None` streams the records as stored.
pub(super) fn widened(
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
