//! Pure job planning: a job request checked against the object and the file (everything that can
//! be refused is refused before anything is written), and rows converted into writes.

use super::{
    Callback, CallbackStatus, Checkpoint, Dialect, FileRow, Job, JobOp, JobStatus, Mapping,
    Progress,
};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{FieldType, Object, Timestamp, Value, WriteMode, Writes};
use serde::Deserialize;
use serde_json::Value as Json;
use uuid::Uuid;

/// A field mapping as clients send it: a column by name or by 0-based index, and/or a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    pub field: String,
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(default)]
    pub default: Option<Json>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSpec {
    pub url: String,
    #[serde(default)]
    pub method: Option<String>,
}

/// A job as clients ask for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    pub operation: JobOp,
    pub object: String,
    pub file_id: String,
    #[serde(default)]
    pub find_by: Option<String>,
    #[serde(default)]
    pub field_mappings: Option<Vec<MappingSpec>>,
    #[serde(default)]
    pub ignore_empty: bool,
    #[serde(default)]
    pub callback: Option<CallbackSpec>,
}

/// Who asks, and where the job lives.
pub struct Owner<'a> {
    pub app_id: Uuid,
    pub app: &'a str,
    pub user: &'a str,
    pub user_id: &'a str,
    pub now: Timestamp,
    pub dialect: Dialect,
    pub max_records: u64,
}

/// Checks a request against `obj` and `file` and builds the queued job.
pub fn plan_job(req: JobRequest, obj: &Object, file: &FileRow, owner: Owner<'_>) -> Result<Job> {
    if file.rows > owner.max_records {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "a job takes at most {} records; the file has {}",
                owner.max_records, file.rows
            ),
        )
        .with_field("file_id"));
    }
    let find_by = match (&req.find_by, req.operation) {
        (None, JobOp::Update | JobOp::Upsert | JobOp::Delete) => {
            return Err(Error::new(
                ErrorCode::Required,
                "find_by is required for update, upsert and delete",
            )
            .with_field("find_by"))
        }
        (None, JobOp::Insert) => None,
        (Some(f), _) if f == "id" => Some(f.clone()),
        (Some(f), _) => match obj.field(f) {
            Some((_, field)) if field.unique => Some(f.clone()),
            Some(_) => {
                return Err(Error::validation(
                    "find_by",
                    format!("find_by must be id or a unique field; {f} is not unique"),
                ))
            }
            None => {
                return Err(Error::new(
                    ErrorCode::UnknownField,
                    format!("{} has no field {f:?}", obj.name),
                )
                .with_field("find_by"))
            }
        },
    };
    let mappings = match req.field_mappings {
        Some(specs) => specs
            .into_iter()
            .map(|m| check_mapping(m, obj, &file.header))
            .collect::<Result<Vec<_>>>()?,
        // Without mappings the header names the fields.
        None => file
            .header
            .iter()
            .enumerate()
            .map(|(i, name)| {
                if name != "id" && obj.field(name).is_none() {
                    return Err(Error::new(
                        ErrorCode::UnknownField,
                        format!("column {name:?} names no field of {}", obj.name),
                    )
                    .with_field(name.as_str()));
                }
                Ok(Mapping {
                    field: name.clone(),
                    column: Some(i),
                    default: None,
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    for (i, m) in mappings.iter().enumerate() {
        if mappings[..i].iter().any(|o| o.field == m.field) {
            return Err(Error::validation(
                &m.field,
                format!("field {} is mapped twice", m.field),
            ));
        }
    }
    if let Some(key) = &find_by {
        if !mappings
            .iter()
            .any(|m| &m.field == key && m.column.is_some())
        {
            return Err(Error::new(
                ErrorCode::Required,
                format!("the find_by field {key} must be mapped to a column"),
            )
            .with_field("find_by"));
        }
    }
    if matches!(req.operation, JobOp::Insert | JobOp::Upsert) {
        for f in obj
            .fields
            .iter()
            .filter(|f| f.required && f.default.is_none())
        {
            if !mappings.iter().any(|m| m.field == f.name.as_str()) {
                return Err(Error::new(
                    ErrorCode::Required,
                    format!("required field {} is not mapped", f.name),
                )
                .with_field(f.name.as_str()));
            }
        }
    }
    let result_columns: Vec<usize> = mappings.iter().filter_map(|m| m.column).take(3).collect();
    let callback = req.callback.map(check_callback).transpose()?;
    Ok(Job {
        id: Uuid::now_v7().to_string(),
        app_id: owner.app_id,
        app: owner.app.to_owned(),
        object: obj.name.to_string(),
        object_id: obj.id,
        operation: req.operation,
        file_id: file.id.clone(),
        file_name: file.name.clone(),
        find_by,
        result_headers: result_columns
            .iter()
            .map(|&c| file.header[c].clone())
            .collect(),
        result_columns,
        mappings,
        ignore_empty: req.ignore_empty,
        callback,
        dialect: owner.dialect,
        status: JobStatus::Queued,
        progress: Progress {
            total: file.rows,
            ..Progress::default()
        },
        checkpoint: Checkpoint::default(),
        cancel_requested: false,
        created_at: owner.now,
        started_at: None,
        completed_at: None,
        created_by: owner.user.to_owned(),
        created_by_id: owner.user_id.to_owned(),
        error: None,
    })
}

fn check_mapping(m: MappingSpec, obj: &Object, header: &[String]) -> Result<Mapping> {
    let ty = match obj.field(&m.field) {
        Some((_, f)) => f.ty,
        None if m.field == "id" => FieldType::Text,
        None => {
            return Err(Error::new(
                ErrorCode::UnknownField,
                format!("{} has no field {:?}", obj.name, m.field),
            )
            .with_field(m.field.as_str()))
        }
    };
    let column = match (&m.column, m.index) {
        (Some(_), Some(_)) => {
            return Err(Error::validation(
                &m.field,
                "a mapping takes a column or an index, not both",
            ))
        }
        (Some(name), None) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
            Error::validation("column", format!("the file has no column {name:?}"))
        })?),
        (None, Some(i)) if i >= header.len() => {
            return Err(Error::validation(
                "index",
                format!("index {i} is past the file's {} columns", header.len()),
            ))
        }
        (None, Some(i)) => Some(i),
        (None, None) if m.default.is_none() => {
            return Err(Error::validation(
                &m.field,
                format!(
                    "mapping for {} needs a column, an index or a default",
                    m.field
                ),
            ))
        }
        (None, None) => None,
    };
    if let Some(d) = &m.default {
        let converted = match d {
            Json::String(s) => Value::from_text(ty, s),
            other => Value::from_json(ty, other),
        };
        converted
            .map_err(|e| Error::validation(&m.field, format!("default of {}: {e}", m.field)))?;
    }
    Ok(Mapping {
        field: m.field,
        column,
        default: m.default,
    })
}

fn check_callback(c: CallbackSpec) -> Result<Callback> {
    let method = c
        .method
        .unwrap_or_else(|| "post".into())
        .to_ascii_lowercase();
    if method != "post" {
        return Err(Error::validation(
            "callback",
            "callbacks are sent with POST",
        ));
    }
    super::callback::parse_url(&c.url)?;
    Ok(Callback {
        url: c.url,
        method,
        status: CallbackStatus::Waiting,
        attempts: 0,
        last_error: None,
        delivered_at: None,
    })
}

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
        for (idx, col, default) in &self.cols {
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
