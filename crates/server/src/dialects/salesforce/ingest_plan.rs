//! Checking an ingest job's settings when it is created, and the bulk-write job its CSV header
//! asks for once its upload is complete.

use super::ingest_info::Meta;
use super::names;
use super::wire::CsvFormat;
use serde::Deserialize;
use sluice_engine::jobs::{JobRequest, MappingSpec};
use sluice_engine::model::{App, JobOp};
use sluice_engine::{Error, ErrorCode, Result};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    object: Option<String>,
    operation: Option<String>,
    external_id_field_name: Option<String>,
    content_type: Option<String>,
    column_delimiter: Option<String>,
    line_ending: Option<String>,
}

pub fn invalid_job(message: String) -> Error {
    Error::new(ErrorCode::InvalidRequest, message)
}

/// Checks a create request against `app`: the settings to keep.
pub fn plan(app: &App, body: CreateBody, api_version: f64) -> Result<Meta> {
    let object = body.object.unwrap_or_default();
    let obj = names::object(app, &object)
        .ok_or_else(|| invalid_job(format!("InvalidJob : Invalid object: {object}")))?;
    let operation = body.operation.unwrap_or_default();
    let external = match (operation.as_str(), body.external_id_field_name) {
        ("upsert", Some(ext)) => {
            let f = names::field(obj, &ext)
                .filter(|f| f == "id" || obj.field(f).is_some_and(|(_, field)| field.unique));
            f.ok_or_else(|| {
                invalid_job(format!(
                    "InvalidJob : Field {ext} is not an external id field of {object}"
                ))
            })?;
            Some(ext)
        }
        ("upsert", None) => {
            return Err(invalid_job(
                "InvalidJob : External ID was blank for upsert".to_owned(),
            ))
        }
        (_, ext) => ext,
    };
    let format = CsvFormat::parse(body.content_type, body.column_delimiter, body.line_ending)?;
    let meta = Meta {
        object,
        sluice_object: obj.name.to_string(),
        operation,
        external_id_field_name: external,
        column_delimiter: format.column_delimiter,
        line_ending: format.line_ending,
        api_version,
    };
    meta.job_op().ok_or_else(|| {
        invalid_job(format!(
            "InvalidJob : Invalid operation: {}",
            meta.operation
        ))
    })?;
    Ok(meta)
}

/// The bulk-write job an ingest job's CSV header asks for: each column names a field (any
/// case), `Id`, or a relationship and the related object's field (`Account.Email__c`), which
/// becomes a lookup. Empty cells leave fields as they are, as Salesforce's do.
pub fn request(app: &App, meta: &Meta, header: &[String]) -> Result<JobRequest> {
    let obj = app
        .object(&meta.sluice_object)
        .ok_or_else(|| Error::not_found("the job's object no longer exists"))?;
    let unknown = |h: &str| {
        Error::new(
            ErrorCode::UnknownField,
            format!("InvalidBatch : Field name not found : {h}"),
        )
    };
    let mut mappings = Vec::with_capacity(header.len());
    for h in header {
        let (field, lookup) = match h.split_once('.') {
            Some((rel, by)) => {
                let (field, target) = names::related(app, obj, rel).ok_or_else(|| unknown(h))?;
                (
                    field,
                    Some(names::field(target, by).ok_or_else(|| unknown(h))?),
                )
            }
            None => (names::field(obj, h).ok_or_else(|| unknown(h))?, None),
        };
        mappings.push(MappingSpec {
            field,
            column: Some(h.clone()),
            index: None,
            default: None,
            lookup,
        });
    }
    let op = meta
        .job_op()
        .ok_or_else(|| invalid_job("InvalidJob : Invalid operation".into()))?;
    let find_by = match op {
        JobOp::Insert => None,
        JobOp::Upsert => meta
            .external_id_field_name
            .as_deref()
            .and_then(|e| names::field(obj, e)),
        JobOp::Update | JobOp::Delete => Some("id".to_owned()),
    };
    Ok(JobRequest {
        operation: op,
        object: meta.sluice_object.clone(),
        file_id: String::new(),
        find_by,
        field_mappings: Some(mappings),
        ignore_empty: true,
        callback: None,
        numbered: false,
        vendor_cap: None,
        whole_rows: true,
    })
}
