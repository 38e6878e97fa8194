//! Zoho Bulk Read's shapes: a job's details (the `data` item of `GET …/read/{id}`, and the body
//! of its callback), Zoho's states, the `result` of a completed page, and Bulk Read's refusals
//! (Zoho's CRM API specification for Bulk Read, and its SDK's models).

use super::wire::{api_name_of, body, error, reply, zoho_time, Refusals};
use super::{Api, Product};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value as Json};
use sluice_engine::model::{Export, ExportNumbers, ExportSource, ExportStatus, Filter, FilterOp};
use sluice_engine::{Error, ErrorCode};

/// Records in one page of a Bulk Read job (`per_page`; `page` N starts after (N-1) pages).
pub const PER_PAGE: u64 = 200_000;

/// A refusal in Zoho's words: an engine error as the Zoho dialects render it, or one of Bulk
/// Read's own codes.
pub enum Refusal {
    Engine(Error),
    Zoho {
        status: StatusCode,
        code: &'static str,
        message: String,
        details: Json,
    },
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        Refusal::Engine(e)
    }
}

/// A 400 with Bulk Read's `code`.
pub fn refusal(code: &'static str, message: &str, details: Json) -> Refusal {
    Refusal::Zoho {
        status: StatusCode::BAD_REQUEST,
        code,
        message: message.to_owned(),
        details,
    }
}

impl Refusal {
    pub fn response(self) -> Response {
        match self {
            Refusal::Engine(e)
                if e.code == ErrorCode::NotFound && e.field.as_deref() != Some("path") =>
            {
                // Bulk Read names what was not found (`details.resource`).
                let details = json!({"resource": e.field.unwrap_or_default(),
                                     "sluice_code": e.code.as_str()});
                let b = body(
                    "RESOURCE_NOT_FOUND",
                    "The requested resource doesn't exist.",
                    details,
                );
                reply(StatusCode::NOT_FOUND, b)
            }
            Refusal::Engine(e) => error(&e, Refusals::Http),
            Refusal::Zoho {
                status,
                code,
                message,
                details,
            } => reply(status, body(code, &message, details)),
        }
    }
}

/// An engine error from creating the export, in Bulk Read's words (the dialect checked the
/// module, the fields and the criteria's shape; what is left is the engine's own checks).
pub fn create_refusal(e: Error) -> Refusal {
    let api = json!({"api_name": e.field, "reason": e.message, "sluice_code": e.code.as_str()});
    match (e.code, e.field.as_deref()) {
        (ErrorCode::ValidationFailed, Some("callback")) => {
            refusal("INVALID_CALLBACK_URL", "invalid callback url", api)
        }
        (ErrorCode::UnknownField, _) => {
            refusal("FIELD_NOT_AVAILABLE", "the field is not available", api)
        }
        (ErrorCode::ValidationFailed | ErrorCode::InvalidRequest, _) => {
            refusal("INVALID_CRITERIA", "the criteria are not valid", api)
        }
        _ => Refusal::Engine(e),
    }
}

/// Zoho's job states (its specification: ADDED, IN PROGRESS, COMPLETED, FAILURE).
pub fn state(s: ExportStatus) -> &'static str {
    match s {
        ExportStatus::Queued => "ADDED",
        ExportStatus::Running => "IN PROGRESS",
        ExportStatus::Completed => "COMPLETED",
        ExportStatus::Failed | ExportStatus::Canceled => "FAILURE",
    }
}

/// Bigin's v1 pages show the module as its name and a criterion's field as `api_name`.
fn legacy(api: &Api) -> bool {
    api.product == Product::Bigin && api.version == "v1"
}

/// The page an export's window is (1 for an export without one).
fn page_of(e: &Export) -> u64 {
    match &e.source {
        ExportSource::Object { shape, .. } if shape.limit == Some(PER_PAGE) => {
            shape.offset / PER_PAGE + 1
        }
        _ => 1,
    }
}

/// A filter as Zoho's criteria.
fn criteria(f: &Filter, legacy: bool) -> Json {
    let (field, op, value) = match f {
        Filter::And(fs) | Filter::Or(fs) => {
            let op = if matches!(f, Filter::And(_)) {
                "and"
            } else {
                "or"
            };
            let group: Vec<Json> = fs.iter().map(|f| criteria(f, legacy)).collect();
            return json!({"group_operator": op, "group": group});
        }
        Filter::Cmp { field, op, value } => (field, *op, value),
    };
    let null = op == FilterOp::IsNull && value.as_bool() != Some(false);
    let (comparator, value) = match op {
        FilterOp::Eq => ("equal", value.clone()),
        FilterOp::Ne => ("not_equal", value.clone()),
        FilterOp::Gt => ("greater_than", value.clone()),
        FilterOp::Gte => ("greater_equal", value.clone()),
        FilterOp::Lt => ("less_than", value.clone()),
        FilterOp::Lte => ("less_equal", value.clone()),
        FilterOp::Like => ("like", value.clone()),
        FilterOp::StartsWith => ("starts_with", value.clone()),
        FilterOp::EndsWith => ("ends_with", value.clone()),
        FilterOp::Contains => ("contains", value.clone()),
        FilterOp::NotContains => ("not_contains", value.clone()),
        FilterOp::In => ("in", value.clone()),
        FilterOp::NotIn => ("not_in", value.clone()),
        FilterOp::Between => ("between", value.clone()),
        FilterOp::IsNull if null => ("equal", Json::Null),
        FilterOp::IsNull | FilterOp::NotNull => ("not_equal", Json::Null),
    };
    let name = api_name_of(field);
    match legacy {
        true => json!({"api_name": name, "comparator": comparator, "value": value}),
        false => json!({"field": {"api_name": name}, "comparator": comparator, "value": value}),
    }
}

/// The job's `query`, as it was asked: module, fields, criteria, page.
fn query(e: &Export, api: &Api, n: &ExportNumbers) -> Json {
    let mut q = json!({"page": page_of(e)});
    if let ExportSource::Object {
        object,
        spec,
        columns,
        shape,
        ..
    } = &e.source
    {
        let id = n.object.map(|o| o.to_string());
        q["module"] = match legacy(api) {
            true => json!(object),
            false => json!({"api_name": object, "id": id}),
        };
        q["fields"] = match &shape.headers {
            Some(labels) => json!(labels),
            None => json!(columns.iter().map(|c| api_name_of(c)).collect::<Vec<_>>()),
        };
        match spec.filter.as_slice() {
            [] => {}
            [one] => q["criteria"] = criteria(one, legacy(api)),
            all => q["criteria"] = criteria(&Filter::And(all.to_vec()), legacy(api)),
        }
    }
    q
}

/// A job's details in Zoho's shape (its ids as numbers); once completed, its `result`: the page,
/// its records, where to download it (a path, as Zoho gives it), and whether more pages follow.
pub fn details(e: &Export, api: &Api, n: &ExportNumbers) -> Json {
    let mut v = json!({
        "id": n.export.to_string(),
        "operation": "read",
        "state": state(e.status),
        "query": query(e, api, n),
        "created_by": {"id": n.user.to_string(), "name": e.created_by},
        "created_time": zoho_time(e.created_at.as_str()),
        "file_type": "csv",
    });
    if e.status == ExportStatus::Completed {
        let page = page_of(e);
        let mut result = json!({
            "page": page,
            "count": e.rows,
            "download_url": format!("{}/{}/result", api.read_path(), n.export),
            "per_page": PER_PAGE,
            "more_records": e.more,
        });
        if e.more {
            result["next_page_token"] = json!(page_token(n.export, page + 1));
        }
        v["result"] = result;
    }
    v
}

/// The token of page `page` of the job numbered `job` (`<job>-<page>`): a later job with it
/// reads that page of the same query.
pub fn page_token(job: u64, page: u64) -> String {
    format!("{job}-{page}")
}

/// The job number and page a page token names.
pub fn read_token(token: &str) -> Option<(u64, u64)> {
    let (job, page) = token.split_once('-')?;
    Some((job.parse().ok()?, page.parse().ok().filter(|p| *p >= 1)?))
}
