//! Pure job planning: a job request checked against the object and the file, so everything that
//! can be refused is refused before anything is written.

use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    App, Callback, CallbackStatus, Checkpoint, FieldType, FileRow, Job, JobOp, JobStatus, Mapping,
    Object, Progress, Timestamp, Value,
};
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
    /// For a relation field: the related object's unique field (or `id`) the column names its
    /// record by.
    #[serde(default)]
    pub lookup: Option<String>,
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
    /// Give the job and the records its rows touch numeric aliases (`model::alias`), for a front
    /// door whose clients hold ids as integers. Not part of any wire format.
    #[serde(skip)]
    pub numbered: bool,
    /// A front door's own cap on a job's rows (a vendor's documented limit), and its name in the
    /// refusal; the server's `--max-job-records` applies as well. Not part of any wire format.
    #[serde(skip)]
    pub vendor_cap: Option<(u64, &'static str)>,
    /// Results show each input row whole, not only its first three mapped columns (a front door
    /// whose result files repeat each row). Not part of any wire format.
    #[serde(skip)]
    pub whole_rows: bool,
}

/// Who asks, and where the job lives.
pub struct Owner<'a> {
    pub app_id: Uuid,
    pub app: &'a str,
    pub user: &'a str,
    pub user_id: &'a str,
    pub now: Timestamp,
    /// The front door's label for the job (see `Job::tag`).
    pub tag: String,
    pub max_records: u64,
}

/// Checks a request against `obj` and `file` and builds the queued job.
pub fn plan_job(req: JobRequest, obj: &Object, file: &FileRow, owner: Owner<'_>) -> Result<Job> {
    if file.rows > owner.max_records {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "a job takes at most {} records on this server (raise it with --max-job-records \
                 or SLUICE_MAX_JOB_RECORDS); the file has {}",
                owner.max_records, file.rows
            ),
        )
        .with_field("file_id"));
    }
    if let Some((cap, whose)) = req.vendor_cap.filter(|(cap, _)| file.rows > *cap) {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "{whose} takes at most {cap} records a job; the file has {}",
                file.rows
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
                // `account.email`: the relation field, looked up by the related field.
                let relation = name
                    .split_once('.')
                    .filter(|(f, _)| obj.field(f).is_some_and(|(_, f)| f.relation.is_some()));
                if let Some((field, by)) = relation {
                    return Ok(Mapping {
                        field: field.to_owned(),
                        column: Some(i),
                        default: None,
                        header: Some(name.clone()),
                        lookup: Some(by.to_owned()),
                    });
                }
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
                    header: Some(name.clone()),
                    lookup: None,
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
    let result_columns: Vec<usize> = if req.whole_rows {
        Vec::new()
    } else {
        mappings.iter().filter_map(|m| m.column).take(3).collect()
    };
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
        result_headers: match req.whole_rows {
            true => file.header.clone(),
            false => result_columns
                .iter()
                .map(|&c| file.header[c].clone())
                .collect(),
        },
        result_rows_whole: req.whole_rows,
        result_columns,
        mappings,
        ignore_empty: req.ignore_empty,
        callback,
        tag: owner.tag,
        status: JobStatus::Queued,
        lease: None,
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
        result_expired: false,
        numbers: None,
        numbered_records: None,
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
    if m.lookup.is_some() && ty != FieldType::Relation {
        return Err(Error::validation(
            &m.field,
            format!("only a relation field takes a lookup ({})", m.field),
        ));
    }
    Ok(Mapping {
        field: m.field,
        column,
        default: m.default,
        header: column.and_then(|c| header.get(c).cloned()),
        lookup: m.lookup,
    })
}

/// Every lookup names `id` or a unique field of the object its relation points at.
pub fn check_lookups(app: &App, obj: &Object, mappings: &[Mapping]) -> Result<()> {
    for m in mappings {
        let Some(by) = &m.lookup else { continue };
        let target = obj
            .field(&m.field)
            .and_then(|(_, f)| f.relation.as_ref())
            .and_then(|r| app.object(&r.object));
        let unique =
            target.is_some_and(|t| by == "id" || t.field(by).is_some_and(|(_, f)| f.unique));
        if !unique {
            return Err(Error::validation(
                &m.field,
                format!(
                    "{} is looked up by {by:?}, which is not id or a unique field of the object it points at",
                    m.field
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn check_callback(c: CallbackSpec) -> Result<Callback> {
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
        lease: None,
    })
}

#[cfg(test)]
mod tests;
