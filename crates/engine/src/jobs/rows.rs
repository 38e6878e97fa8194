//! Converting input rows into writes, by a job's mappings compiled against its object (pure).
//! Conversion errors are collected per row: a bad row fails alone.

use crate::error::{Error, ErrorCode, Result};
use crate::model::{FieldType, Job, JobOp, Lookup, Object, Value, WriteMode, Writes};
use serde_json::Value as Json;

/// One row's failure: a code and the field it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub code: ErrorCode,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn from_error(e: Error, field: &str) -> RowError {
        RowError {
            code: e.code,
            field: e.field.unwrap_or_else(|| field.to_owned()),
            message: e.message,
        }
    }
}

/// A row ready for the writer: its key (for find_by) and the writes for creating and for updating.
#[derive(Debug, Clone)]
pub struct PreparedRow {
    pub key: Option<Value>,
    pub create: Option<Writes>,
    pub update: Option<Writes>,
    pub errors: Vec<RowError>,
}

/// A job's mappings compiled against its object, for converting rows quickly.
pub struct RowPlan {
    op: JobOp,
    ignore_empty: bool,
    /// (field index, column, default as a value); `usize::MAX` marks the `id` key mapping.
    cols: Vec<(usize, Option<usize>, Option<Value>)>,
    /// Per entry of `cols`: the related field a relation column's cells look their record up by.
    lookups: Vec<Option<String>>,
    key: Option<(Option<usize>, FieldType)>,
    key_column: Option<usize>,
    required: Vec<usize>,
    defaults: Vec<Option<Value>>,
    names: Vec<String>,
    types: Vec<FieldType>,
}

pub const ID_FIELD: usize = usize::MAX;

impl RowPlan {
    pub fn new(job: &Job, obj: &Object) -> Result<RowPlan> {
        let mut cols = Vec::new();
        let mut lookups = Vec::new();
        let mut key_column = None;
        for m in &job.mappings {
            let idx = if m.field == "id" {
                ID_FIELD
            } else {
                obj.field(&m.field).map(|(i, _)| i).ok_or_else(|| {
                    Error::new(
                        ErrorCode::Conflict,
                        format!("field {} no longer exists", m.field),
                    )
                })?
            };
            let ty = if idx == ID_FIELD {
                FieldType::Text
            } else {
                obj.fields[idx].ty
            };
            let default = m.default.as_ref().and_then(|d| match d {
                Json::String(s) => Value::from_text(ty, s).ok(),
                other => Value::from_json(ty, other).ok(),
            });
            if job.find_by.as_deref() == Some(m.field.as_str()) {
                key_column = m.column;
            }
            cols.push((idx, m.column, default));
            lookups.push(m.lookup.clone());
        }
        let key = job.find_by.as_ref().map(|k| {
            if k == "id" {
                (None, FieldType::Text)
            } else {
                let (i, f) = obj
                    .field(k)
                    .map(|(i, f)| (Some(i), f.ty))
                    .unwrap_or((None, FieldType::Text));
                (i, f)
            }
        });
        Ok(RowPlan {
            op: job.operation,
            ignore_empty: job.ignore_empty,
            cols,
            lookups,
            key,
            key_column,
            required: obj
                .fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.required)
                .map(|(i, _)| i)
                .collect(),
            defaults: obj.fields.iter().map(|f| f.default_value()).collect(),
            names: obj.fields.iter().map(|f| f.name.to_string()).collect(),
            types: obj.fields.iter().map(|f| f.ty).collect(),
        })
    }

    /// The key field's index (`None` for `id` or no key).
    pub fn key_field(&self) -> Option<usize> {
        self.key.and_then(|(i, _)| i)
    }

    pub fn op(&self) -> JobOp {
        self.op
    }

    pub fn field_name(&self, i: usize) -> &str {
        if i == ID_FIELD {
            "id"
        } else {
            &self.names[i]
        }
    }

    /// Converts one input row. Conversion errors are collected, not raised: the row fails alone.
    pub fn prepare(&self, row: &csv::StringRecord) -> PreparedRow {
        let mut errors = Vec::new();
        // Values given by the row: `Some(v)` to write, absent when the cell is empty and ignored.
        let mut given: Vec<(usize, Value)> = Vec::with_capacity(self.cols.len());
        for ((idx, col, default), lookup) in self.cols.iter().zip(&self.lookups) {
            let cell = col.and_then(|c| row.get(c)).unwrap_or("");
            let ty = if *idx == ID_FIELD {
                FieldType::Text
            } else {
                self.types[*idx]
            };
            let value = if cell.is_empty() {
                match default {
                    Some(d) => d.clone(),
                    None if self.ignore_empty => continue,
                    None => Value::Null,
                }
            } else if let Some(by) = lookup {
                Value::Lookup(Box::new(Lookup {
                    field: by.clone(),
                    key: Json::String(cell.to_owned()),
                }))
            } else {
                match Value::from_text(ty, cell) {
                    Ok(v) => v,
                    Err(m) => {
                        let field = self.field_name(*idx).to_owned();
                        errors.push(RowError {
                            code: ErrorCode::ValidationFailed,
                            message: format!("{field}: {m}"),
                            field,
                        });
                        continue;
                    }
                }
            };
            given.push((*idx, value));
        }
        let key = self.key.map(|(i, _)| {
            let k = i.unwrap_or(ID_FIELD);
            given
                .iter()
                .find(|(f, _)| *f == k)
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null)
        });
        if let Some(k) = &key {
            if k.is_null() && self.key_column.is_some() {
                let field = self
                    .key
                    .and_then(|(i, _)| i)
                    .map_or("id".to_owned(), |i| self.names[i].clone());
                errors.push(RowError {
                    code: ErrorCode::Required,
                    message: format!("{field} (find_by) is empty"),
                    field,
                });
            }
        }
        given.retain(|(f, _)| *f != ID_FIELD);
        given.sort_by_key(|(f, _)| *f);
        let whole = || {
            let mut w: Vec<(usize, Value)> = Vec::with_capacity(self.names.len());
            let mut it = given.iter().peekable();
            for i in 0..self.names.len() {
                match it.peek() {
                    Some((f, v)) if *f == i => {
                        w.push((i, v.clone()));
                        it.next();
                    }
                    _ => w.push((i, self.defaults[i].clone().unwrap_or(Value::Null))),
                }
            }
            Writes(w)
        };
        let check = |w: &Writes, mode: WriteMode, errors: &mut Vec<RowError>| {
            for &r in &self.required {
                let present = w.0.iter().find(|(f, _)| *f == r);
                let missing = match (mode, present) {
                    (WriteMode::Whole, Some((_, v))) | (WriteMode::Merge, Some((_, v))) => {
                        v.is_null()
                    }
                    (WriteMode::Whole, None) => true,
                    (WriteMode::Merge, None) => false,
                };
                if missing && !errors.iter().any(|e| e.field == self.names[r]) {
                    errors.push(RowError {
                        code: ErrorCode::Required,
                        field: self.names[r].clone(),
                        message: format!("{} is required", self.names[r]),
                    });
                }
            }
        };
        let (create, update) = match self.op {
            JobOp::Insert => (Some(whole()), None),
            JobOp::Update => (None, Some(Writes(given.clone()))),
            JobOp::Upsert => (Some(whole()), Some(Writes(given.clone()))),
            JobOp::Delete => (None, None),
        };
        // Upserts check required fields when the row turns out to be new (the writer knows).
        if let (Some(w), JobOp::Insert) = (&create, self.op) {
            check(w, WriteMode::Whole, &mut errors);
        }
        if let Some(w) = &update {
            check(w, WriteMode::Merge, &mut errors);
        }
        PreparedRow {
            key,
            create,
            update,
            errors,
        }
    }

    /// Required fields missing from a row's create writes (an upsert that turns out to insert).
    pub fn missing_required(&self, w: &Writes) -> Vec<RowError> {
        self.required
            .iter()
            .filter(|&&r| {
                w.0.iter()
                    .find(|(f, _)| *f == r)
                    .is_none_or(|(_, v)| v.is_null())
            })
            .map(|&r| RowError {
                code: ErrorCode::Required,
                field: self.names[r].clone(),
                message: format!("{} is required", self.names[r]),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::plan::{plan_job, JobRequest, Owner};
    use crate::model::{FileRow, ObjectSpec, Timestamp};
    use serde_json::json;
    use uuid::Uuid;

    fn obj() -> Object {
        let spec: ObjectSpec = serde_json::from_value(json!({"name": "contacts", "fields": [
            {"name": "email", "type": "text", "required": true, "unique": true},
            {"name": "age", "type": "integer"},
            {"name": "vip", "type": "boolean", "default": true}
        ]}))
        .unwrap();
        Object::from_spec(Uuid::nil(), spec, Timestamp::now()).unwrap()
    }

    fn row_plan(req: Json) -> RowPlan {
        let mut req = req;
        req["file_id"] = json!(Uuid::nil().to_string());
        req["object"] = json!("contacts");
        let req: JobRequest = serde_json::from_value(req).unwrap();
        let file = FileRow {
            id: Uuid::nil().to_string(),
            app_id: Uuid::nil(),
            name: "c.csv".into(),
            size: 1,
            content_type: "text/csv".into(),
            header: vec!["email".into(), "age".into(), "vip".into()],
            rows: 1,
            created_at: Timestamp::now(),
            created_by: "u".into(),
            assembly: None,
        };
        let owner = Owner {
            app_id: Uuid::nil(),
            app: "crm",
            user: "u",
            user_id: "u",
            now: Timestamp::now(),
            tag: String::new(),
            max_records: 100,
        };
        let o = obj();
        RowPlan::new(&plan_job(req, &o, &file, owner).unwrap(), &o).unwrap()
    }

    fn row(cells: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(cells.to_vec())
    }

    #[test]
    fn inserts_fill_defaults_and_check_required_fields() {
        let p = row_plan(json!({"operation": "insert"}));
        let r = p.prepare(&row(&["a@b.c", "31", ""]));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            r.create.unwrap().0,
            vec![
                (0, Value::Text("a@b.c".into())),
                (1, Value::Integer(31)),
                (2, Value::Null)
            ],
            "an empty cell writes null (not ignored)"
        );
        let r = p.prepare(&row(&["", "x", "true"]));
        let codes: Vec<_> = r
            .errors
            .iter()
            .map(|e| (e.code, e.field.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (ErrorCode::ValidationFailed, "age"),
                (ErrorCode::Required, "email")
            ]
        );
    }

    #[test]
    fn ignore_empty_leaves_fields_and_defaults_apply() {
        let p = row_plan(json!({"operation": "insert", "ignore_empty": true,
            "field_mappings": [{"field": "email", "index": 0}, {"field": "age", "index": 1}]}));
        let w = p.prepare(&row(&["a@b.c", "", ""])).create.unwrap();
        assert_eq!(
            w.0,
            vec![
                (0, Value::Text("a@b.c".into())),
                (1, Value::Null),
                (2, Value::Boolean(true))
            ],
            "a new record takes the object's defaults"
        );
    }

    #[test]
    fn updates_need_their_key_and_upserts_check_on_insert() {
        let p = row_plan(json!({"operation": "update", "find_by": "email"}));
        let r = p.prepare(&row(&["", "5", ""]));
        assert_eq!(r.errors[0].code, ErrorCode::Required);
        let r = p.prepare(&row(&["a@b.c", "5", ""]));
        assert_eq!(r.key, Some(Value::Text("a@b.c".into())));
        assert!(r.create.is_none() && r.update.is_some());
        let p = row_plan(json!({"operation": "upsert", "find_by": "email", "ignore_empty": true}));
        let r = p.prepare(&row(&["a@b.c", "", ""]));
        assert!(r.errors.is_empty());
        assert_eq!(
            r.update.as_ref().unwrap().0.len(),
            1,
            "only the given cells update"
        );
        assert!(p.missing_required(r.create.as_ref().unwrap()).is_empty());
        assert_eq!(p.missing_required(&Writes(vec![])).len(), 1);
        assert_eq!(p.op(), JobOp::Upsert);
        assert_eq!(p.field_name(p.key_field().unwrap()), "email");
    }
}
