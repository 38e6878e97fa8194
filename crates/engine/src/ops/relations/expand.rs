//! `expand`: related records put in place of their ids in what a read answers, and related
//! fields (`account.email`) as columns of an export. Each level reads its related records in one
//! store call per relation field.

use super::super::select::follow;
use crate::core::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, Column, Cond, Field, FieldType, Name, Object, Record, Selection, Value};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;

/// Expand paths checked against an object: relation fields, each with the relation fields of
/// its target to expand in turn (`account.owner`).
#[derive(Debug, Clone, Default)]
pub struct Expand {
    fields: Vec<(usize, Arc<Object>, Expand)>,
}

impl Expand {
    /// Parses `account,account.owner` style paths (already split at commas).
    pub fn parse(app: &App, obj: &Object, paths: &[String]) -> Result<Expand> {
        let max = crate::settings::defaults::MAX_EXPAND_DEPTH;
        let mut out = Expand::default();
        for path in paths.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let steps: Vec<&str> = path.split('.').collect();
            if steps.len() > max {
                return Err(Error::new(
                    ErrorCode::LimitExceeded,
                    format!("expand follows at most {max} relations ({path})"),
                )
                .with_field("expand"));
            }
            out.add(app, obj, &steps).map_err(|e| Error {
                field: Some("expand".into()),
                ..e
            })?;
        }
        Ok(out)
    }

    fn add(&mut self, app: &App, obj: &Object, steps: &[&str]) -> Result<()> {
        let Some((first, rest)) = steps.split_first() else {
            return Ok(());
        };
        let (i, target) = follow(obj, first, Some(app))?;
        let pos = match self.fields.iter().position(|(j, _, _)| *j == i) {
            Some(p) => p,
            None => {
                self.fields.push((i, target.clone(), Expand::default()));
                self.fields.len() - 1
            }
        };
        self.fields[pos].2.add(app, &target, rest)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// The records `ids` names in `obj`, by id.
fn fetch(ctx: &mut Ctx<'_>, obj: &Object, ids: Vec<String>) -> Result<HashMap<String, Record>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sel = Selection {
        limit: ids.len(),
        cond: Cond::In(
            Column::Id,
            ids.into_iter().map(Value::Text).collect(),
            false,
        ),
        sort: Vec::new(),
        offset: 0,
        after: None,
    };
    Ok(ctx
        .tx
        .list_records(obj, &sel)?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect())
}

fn ids_in(records: &[&Record], field: usize) -> Vec<String> {
    let mut ids: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.values[field] {
            Value::Text(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `records` of `obj` as JSON, each relation `expand` names holding its record instead of its id
/// (null where the record is gone).
pub fn expand_records(
    ctx: &mut Ctx<'_>,
    obj: &Object,
    records: &[Record],
    expand: &Expand,
) -> Result<Vec<Json>> {
    let refs: Vec<&Record> = records.iter().collect();
    expand_level(ctx, obj, &refs, expand)
}

fn expand_level(
    ctx: &mut Ctx<'_>,
    obj: &Object,
    records: &[&Record],
    expand: &Expand,
) -> Result<Vec<Json>> {
    let mut out: Vec<Json> = records.iter().map(|r| r.to_json(obj)).collect();
    for (field, target, deeper) in &expand.fields {
        let found = fetch(ctx, target, ids_in(records, *field))?;
        let related: Vec<&Record> = found.values().collect();
        let shown: HashMap<&str, Json> = related
            .iter()
            .map(|r| r.id.as_str())
            .zip(expand_level(ctx, target, &related, deeper)?)
            .collect();
        let name = obj.fields[*field].name.as_str();
        for (json, r) in out.iter_mut().zip(records) {
            if let Value::Text(id) = &r.values[*field] {
                json[name] = shown.get(id.as_str()).cloned().unwrap_or(Json::Null);
            }
        }
    }
    Ok(out)
}

/// Related fields an export names as columns (`account.email`): (relation field, target, its
/// field).
pub fn related_columns(
    app: &App,
    obj: &Object,
    names: &[String],
) -> Result<Vec<(usize, Arc<Object>, usize)>> {
    names
        .iter()
        .filter_map(|n| n.split_once('.'))
        .map(|(relation, field)| {
            let (i, target) = follow(obj, relation, Some(app))?;
            let (j, _) = target.field(field).ok_or_else(|| {
                Error::new(
                    ErrorCode::UnknownField,
                    format!("{} has no field {field:?}", target.name),
                )
                .with_field(format!("{relation}.{field}"))
            })?;
            Ok((i, target, j))
        })
        .collect()
}

/// `records` widened for an export: each expanded relation holds its record as JSON, and each
/// related column is one more field, named by its path. The widened object names those fields.
pub fn widen(
    ctx: &mut Ctx<'_>,
    obj: &Object,
    mut records: Vec<Record>,
    expand: &Expand,
    columns: &[(usize, Arc<Object>, usize)],
) -> Result<(Arc<Object>, Vec<Record>)> {
    let mut wide = obj.clone();
    if !expand.is_empty() {
        let shown = expand_records(ctx, obj, &records, expand)?;
        for (field, ..) in &expand.fields {
            wide.fields[*field].ty = FieldType::Json;
            let name = obj.fields[*field].name.as_str();
            for (r, j) in records.iter_mut().zip(&shown) {
                r.values[*field] = match &j[name] {
                    Json::Null => Value::Null,
                    other => Value::Json(other.to_string()),
                };
            }
        }
    }
    // Each relation's records are read once, however many of their fields are columns.
    let mut fetched: HashMap<usize, HashMap<String, Record>> = HashMap::new();
    for (field, target, j) in columns {
        if !fetched.contains_key(field) {
            let refs: Vec<&Record> = records.iter().collect();
            let found = fetch(ctx, target, ids_in(&refs, *field))?;
            fetched.insert(*field, found);
        }
        let found = &fetched[field];
        let f = &target.fields[*j];
        wide.fields.push(Field {
            name: Name::path(&obj.fields[*field].name, f.name.as_str()),
            ty: f.ty,
            required: false,
            unique: false,
            indexed: false,
            default: None,
            label: None,
            relation: None,
        });
        for r in records.iter_mut() {
            let v = match &r.values[*field] {
                Value::Text(id) => found.get(id).map_or(Value::Null, |t| t.values[*j].clone()),
                _ => Value::Null,
            };
            r.values.push(v);
        }
    }
    Ok((Arc::new(wide), records))
}
