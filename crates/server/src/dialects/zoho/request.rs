//! Zoho's create-job body (`operation`, `callback`, `resource[{module, file_id, find_by,
//! field_mappings}]`) as the engine's job request. Keys sluice does not use (`character_encoding`,
//! `type`, a mapping's `format`) are accepted and ignored, as Zoho's SDKs send them.

use serde::Deserialize;
use serde_json::Value as Json;
use sluice_engine::jobs::{CallbackSpec, JobRequest, MappingSpec};
use sluice_engine::model::JobOp;
use sluice_engine::{Error, ErrorCode, Result};

#[derive(Deserialize)]
pub(crate) struct ZohoJob {
    operation: String,
    #[serde(default)]
    ignore_empty: bool,
    #[serde(default)]
    callback: Option<CallbackSpec>,
    resource: Vec<Resource>,
}

#[derive(Deserialize)]
struct Resource {
    module: Module,
    /// A string of digits, or a number (SDKs that hold it as an integer send one).
    file_id: Json,
    #[serde(default)]
    find_by: Option<String>,
    #[serde(default)]
    field_mappings: Option<Vec<ZohoMapping>>,
}

/// `{"api_name": "Leads", "id": "…"}`: the name is what counts (the id is Zoho's own).
#[derive(Deserialize)]
struct Module {
    api_name: String,
}

#[derive(Deserialize)]
struct ZohoMapping {
    api_name: String,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    default_value: Option<DefaultValue>,
    /// On a lookup field: the related module's field (`id` or a unique one) the column's values
    /// name their record by (Zoho's `field_mappings[].find_by`).
    #[serde(default)]
    find_by: Option<String>,
}

#[derive(Deserialize)]
struct DefaultValue {
    value: Json,
}

/// Zoho's request → the engine's job request. With mappings, columns map only by index.
fn from_wire(req: ZohoJob) -> Result<JobRequest> {
    let operation = match req.operation.as_str() {
        "insert" => JobOp::Insert,
        "update" => JobOp::Update,
        "upsert" => JobOp::Upsert,
        other => {
            return Err(Error::invalid(format!(
                "operation must be insert, update or upsert, not {other:?}"
            )))
        }
    };
    let mut resources = req.resource.into_iter();
    let res = resources.next().ok_or_else(|| {
        Error::new(ErrorCode::Required, "resource is required").with_field("resource")
    })?;
    if resources.next().is_some() {
        return Err(Error::invalid("a job takes one resource"));
    }
    Ok(JobRequest {
        operation,
        object: res.module.api_name,
        file_id: crate::dialects::text(&res.file_id),
        find_by: res.find_by,
        field_mappings: res.field_mappings.map(|ms| {
            ms.into_iter()
                .map(|m| MappingSpec {
                    field: m.api_name,
                    column: None,
                    index: m.index,
                    default: m.default_value.map(|d| d.value),
                    lookup: m.find_by,
                })
                .collect()
        }),
        ignore_empty: req.ignore_empty,
        callback: req.callback,
        numbered: false,
        // Zoho's Bulk Write limit (25,000 records a job), kept in its dialect.
        vendor_cap: Some((ZOHO_MAX_JOB_RECORDS, "Zoho Bulk Write")),
        whole_rows: false,
    })
}

/// Records one Zoho Bulk Write job may hold (Zoho's Bulk Write limits page).
pub const ZOHO_MAX_JOB_RECORDS: u64 = 25_000;

/// Parses a create-job body. A missing key is answered in Zoho's words ("Required key find_by is
/// not available").
pub fn translate(body: Json) -> Result<JobRequest> {
    let req: ZohoJob = serde_json::from_value(body).map_err(|e| {
        let msg = e.to_string();
        match msg
            .split('`')
            .nth(1)
            .filter(|_| msg.starts_with("missing field"))
        {
            Some(f) => Error::new(
                ErrorCode::Required,
                format!("Required key {f} is not available"),
            )
            .with_field(f),
            None => Error::invalid(format!("invalid job: {msg}")),
        }
    })?;
    from_wire(req)
}
