//! Relation values at write time: lookups become ids and every id must name a record of the
//! related object. Done set-wise for a run of rows (one store call per relation field and lookup
//! field), and only for objects that have relation fields.

use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, Field, Lookup, Object, Value, Writes};
use std::collections::HashMap;
use std::sync::Arc;

/// Resolves the relation values of `rows` (writes about to go to `obj`): each lookup is replaced
/// by the id it finds, and ids naming no record fail their row. Returns the rows that failed, by
/// index, with why; their writes may be left partly resolved, and must not be written.
pub fn resolve_refs(
    ctx: &mut Ctx<'_>,
    obj: &Object,
    rows: &mut [&mut Writes],
) -> Result<Vec<(usize, Error)>> {
    let mut failed = Vec::new();
    if obj.fields.iter().all(|f| f.relation.is_none()) || rows.is_empty() {
        return Ok(failed);
    }
    let app = ctx
        .catalog
        .app_by_id(obj.app_id)
        .cloned()
        .ok_or_else(|| Error::not_found("the app is gone"))?;
    for (i, field, rel) in obj.relations() {
        let target = related(&app, obj, &rel.object)?;
        // Ids a lookup found need no second look.
        let looked: Vec<bool> = rows
            .iter_mut()
            .map(|w| matches!(value_at(w, i), Some(Value::Lookup(_))))
            .collect();
        resolve_lookups(ctx, &target, i, field, rows, &mut failed)?;
        check_ids(ctx, &target, i, field, rows, &looked, &mut failed)?;
    }
    failed.sort_by_key(|(row, _)| *row);
    failed.dedup_by_key(|(row, _)| *row);
    Ok(failed)
}

/// The object a relation points at: by name in the app (the catalog keeps it current).
fn related(app: &App, obj: &Object, name: &str) -> Result<Arc<Object>> {
    app.object(name).cloned().ok_or_else(|| {
        Error::new(
            ErrorCode::Conflict,
            format!("{} points at {name:?}, which is gone", obj.name),
        )
    })
}

fn value_at(w: &mut Writes, field: usize) -> Option<&mut Value> {
    w.0.iter_mut().find(|(i, _)| *i == field).map(|(_, v)| v)
}

/// Replaces lookups in field `i` by the ids they find, one store call per lookup field.
fn resolve_lookups(
    ctx: &mut Ctx<'_>,
    target: &Object,
    i: usize,
    field: &Field,
    rows: &mut [&mut Writes],
    failed: &mut Vec<(usize, Error)>,
) -> Result<()> {
    // By lookup field: (row, key as the target field's value).
    let mut by_field: HashMap<String, Vec<(usize, Value)>> = HashMap::new();
    for (row, w) in rows.iter_mut().enumerate() {
        let Some(Value::Lookup(l)) = value_at(w, i) else {
            continue;
        };
        match lookup_key(target, field, l) {
            Ok((name, key)) => by_field.entry(name).or_default().push((row, key)),
            Err(e) => failed.push((row, e)),
        }
    }
    for (name, keys) in by_field {
        let column = target.field(&name).map(|(j, _)| j);
        let values: Vec<&Value> = keys.iter().map(|(_, k)| k).collect();
        let found = ctx.tx.find_ids_to_point_at(target, column, &values)?;
        for ((row, key), id) in keys.iter().zip(found) {
            match (id, value_at(rows[*row], i)) {
                (Some(id), Some(v)) => *v = Value::Text(id),
                _ => failed.push((*row, not_found(field, target, &name, key))),
            }
        }
    }
    Ok(())
}

/// The lookup's target field (`id` or a unique field) and its key converted to that field's type.
fn lookup_key(target: &Object, field: &Field, l: &Lookup) -> Result<(String, Value)> {
    if l.field == "id" {
        let v = Value::from_json(crate::model::FieldType::Relation, &l.key)
            .map_err(|m| Error::validation(field.name.as_str(), format!("{}: {m}", field.name)))?;
        return Ok(("id".to_owned(), v));
    }
    let (_, f) = target
        .field(&l.field)
        .filter(|(_, f)| f.unique)
        .ok_or_else(|| {
            Error::validation(
                field.name.as_str(),
                format!(
                    "{}: a lookup names id or a unique field of {}, and {:?} is neither",
                    field.name, target.name, l.field
                ),
            )
        })?;
    let key = match &l.key {
        serde_json::Value::String(s) => Value::from_text(f.ty, s),
        other => Value::from_json(f.ty, other),
    }
    .map_err(|m| Error::validation(field.name.as_str(), format!("{}: {m}", field.name)))?;
    Ok((l.field.clone(), key))
}

fn not_found(field: &Field, target: &Object, by: &str, key: &Value) -> Error {
    let shown = match key.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    Error::new(
        ErrorCode::ReferenceNotFound,
        format!("{}: no {} has {by} {shown}", field.name, target.name),
    )
    .with_field(field.name.as_str())
}

/// Checks that every id in field `i` names a record of `target`; each distinct id is asked once.
fn check_ids(
    ctx: &mut Ctx<'_>,
    target: &Object,
    i: usize,
    field: &Field,
    rows: &mut [&mut Writes],
    looked: &[bool],
    failed: &mut Vec<(usize, Error)>,
) -> Result<()> {
    let mut rows_of: HashMap<String, Vec<usize>> = HashMap::new();
    for (row, w) in rows.iter_mut().enumerate() {
        if looked[row] {
            continue;
        }
        if let Some(Value::Text(id)) = value_at(w, i) {
            rows_of.entry(id.clone()).or_default().push(row);
        }
    }
    if rows_of.is_empty() {
        return Ok(());
    }
    let keys: Vec<(String, Value)> = rows_of
        .keys()
        .map(|k| (k.clone(), Value::Text(k.clone())))
        .collect();
    let values: Vec<&Value> = keys.iter().map(|(_, v)| v).collect();
    let found = ctx.tx.find_ids_to_point_at(target, None, &values)?;
    for ((id, key), hit) in keys.iter().zip(found) {
        if hit.is_none() {
            for row in &rows_of[id] {
                failed.push((*row, not_found(field, target, "id", key)));
            }
        }
    }
    Ok(())
}
