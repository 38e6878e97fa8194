//! Export requests as front doors hand them over, and every check made before one is queued: the
//! object and its filter, sort and columns resolve, or the query passes the read-only guard and
//! prepares; the callback is allowed.

use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::jobs::CallbackSpec;
use crate::model::{
    App, Column, CsvStyle, Export, ExportFormat, ExportSource, ExportStatus, ListSpec, Object,
    Shape, SYSTEM_FIELDS,
};
use crate::query::Queries;
use serde_json::Value as Json;

/// What to export.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportWhat {
    /// An object's records matching `spec`'s filters, in its order; `fields` picks and orders the
    /// columns (default: `id`, every field, then the other system fields); `shape` cuts a window
    /// and says how they are shown.
    Object {
        object: String,
        spec: ListSpec,
        fields: Option<Vec<String>>,
        shape: Box<Shape>,
    },
    /// A read-only query and the values of its parameters.
    Query { sql: String, params: Vec<Json> },
}

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub what: ExportWhat,
    pub format: ExportFormat,
    pub callback: Option<CallbackSpec>,
    /// How a query's CSV is written.
    pub csv: CsvStyle,
    /// A query's CSV header names, one per result column, in place of the columns' own.
    pub header: Option<Vec<String>>,
    /// Kept with the export for the front door (opaque to the engine).
    pub meta: Json,
}

impl ExportRequest {
    /// A request in sluice's own CSV style, with no header names or front-door data of its own.
    pub fn new(what: ExportWhat, format: ExportFormat, callback: Option<CallbackSpec>) -> Self {
        ExportRequest {
            what,
            format,
            callback,
            csv: CsvStyle::default(),
            header: None,
            meta: Json::Null,
        }
    }
}

/// An object export's columns: the names asked for, each resolved (duplicates refused).
fn columns(app: &App, obj: &Object, fields: Option<Vec<String>>) -> Result<Vec<String>> {
    let names = match fields {
        Some(f) if f.is_empty() => {
            return Err(Error::validation(
                "fields",
                "name at least one field to export",
            ))
        }
        Some(f) => f,
        None => std::iter::once("id".to_owned())
            .chain(obj.fields.iter().map(|f| f.name.to_string()))
            .chain(
                SYSTEM_FIELDS
                    .iter()
                    .filter(|n| **n != "id")
                    .map(|n| (*n).to_owned()),
            )
            .collect(),
    };
    crate::ops::related_columns(app, obj, &names)?;
    for (i, n) in names.iter().enumerate() {
        if !n.contains('.') {
            Column::resolve(obj, n)?;
        }
        if names[..i].contains(n) {
            return Err(Error::validation(n, format!("{n:?} is listed twice")));
        }
    }
    Ok(names)
}

/// A window starts where a list's offset may, holds at least one record, and the header labels
/// match the columns one for one.
fn check_shape(shape: &Shape, columns: usize) -> Result<()> {
    if shape.offset > i64::MAX as u64 {
        return Err(Error::invalid("the window starts too far in").with_field("offset"));
    }
    if shape.limit == Some(0) {
        return Err(Error::invalid("a window holds at least one record").with_field("limit"));
    }
    match &shape.headers {
        Some(h) if h.len() != columns => Err(Error::invalid(format!(
            "{} header labels for {columns} columns",
            h.len()
        ))
        .with_field("headers")),
        _ => Ok(()),
    }
}

/// Checks `what` against `app` and makes the source an export reads.
pub async fn source(
    core: &Core,
    queries: &Queries,
    app: &App,
    what: ExportWhat,
) -> Result<ExportSource> {
    match what {
        ExportWhat::Object {
            object,
            spec,
            fields,
            shape,
        } => {
            let obj = app.object(&object).cloned().ok_or_else(|| {
                Error::not_found(format!("app {} has no object named {object:?}", app.name))
                    .with_field("object")
            })?;
            if spec.limit.is_some() || spec.cursor.is_some() || spec.offset.is_some() {
                return Err(Error::invalid(
                    "an export reads every matching record: no limit, cursor or offset",
                ));
            }
            let columns = columns(app, &obj, fields)?;
            check_shape(&shape, columns.len())?;
            crate::ops::Expand::parse(app, &obj, &spec.expand)?;
            let (o, s) = (obj.clone(), spec.clone());
            // Resolved on a snapshot now, so a bad filter or sort is refused before it is queued.
            core.read(move |ctx| crate::ops::selection(ctx, &o, &s).map(|_| ()))
                .await?;
            Ok(ExportSource::Object {
                object: obj.name.to_string(),
                object_id: obj.id,
                spec,
                columns,
                shape,
            })
        }
        ExportWhat::Query { sql, params } => {
            crate::query::check_params(&params)?;
            let checked = queries
                .check(app, &sql, None)
                .map_err(|e| e.with_field("query"))?;
            let limits = core.settings.query.clone();
            core.read(move |ctx| ctx.tx.query_columns(&checked, &limits))
                .await
                .map_err(|e| match e.field {
                    Some(_) => e,
                    None => e.with_field("query"),
                })?;
            Ok(ExportSource::Query {
                sql,
                params,
                view: None,
            })
        }
    }
}

/// The export to queue, as `user` asks for it now.
pub fn queued(
    app: &App,
    source: ExportSource,
    req_format: ExportFormat,
    callback: Option<crate::model::Callback>,
    user: (&str, &str),
    now: crate::model::Timestamp,
) -> Export {
    Export {
        id: uuid::Uuid::now_v7().to_string(),
        app_id: app.id,
        app: app.name.to_string(),
        format: req_format,
        source,
        status: ExportStatus::Queued,
        lease: None,
        rows: 0,
        bytes: 0,
        cursor: None,
        header_len: 0,
        stored: None,
        expired: false,
        cancel_requested: false,
        error: None,
        callback,
        created_at: now.clone(),
        updated_at: now,
        started_at: None,
        completed_at: None,
        created_by: user.0.to_owned(),
        created_by_id: user.1.to_owned(),
        csv: CsvStyle::default(),
        header: None,
        meta: Json::Null,
        tag: String::new(),
        numbers: None,
        more: false,
    }
}

/// Numbers an export's ids (allocating what has no number yet), in its creation transaction, so a
/// front door whose clients hold ids as integers can show any export, whichever door made it.
pub fn number(ctx: &mut crate::core::Ctx<'_>, e: &Export) -> Result<crate::model::ExportNumbers> {
    use crate::model::AliasKind as K;
    let mut n = |kind, id: &str| -> Result<u64> {
        ctx.tx
            .alias_numbers(kind, &[id], true)?
            .pop()
            .flatten()
            .ok_or_else(|| Error::internal("an alias was not allocated"))
    };
    let object = match &e.source {
        ExportSource::Object { object_id, .. } => Some(n(K::Object, &object_id.to_string())?),
        ExportSource::Query { .. } => None,
    };
    Ok(crate::model::ExportNumbers {
        export: n(K::Export, &e.id)?,
        user: n(K::User, &e.created_by_id)?,
        object,
    })
}

/// The error for an export past `max` rows.
pub fn too_many_rows(max: u64) -> Error {
    Error::new(
        ErrorCode::LimitExceeded,
        format!("the export holds more than {max} rows (max_export_rows); narrow it with a filter"),
    )
}
