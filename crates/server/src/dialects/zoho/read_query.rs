//! Zoho's create-bulk-read body (`query {module, fields, criteria, page}`, `callback`,
//! `file_type`) as the engine's object export: field API names become its columns (`Id` the
//! record id, first, as Zoho adds it; `Created_Time`/`Modified_Time` its times), criteria its
//! filter (see `criteria`), `page` a window of 200,000 records; ids are written as numbers and
//! the ZIP's CSV is `<job>.csv`. What Zoho's Bulk Read pages list and sluice does not do is
//! refused in Zoho's words.

use super::criteria::filter;
use super::read_wire::{refusal, Refusal, PER_PAGE};
use super::wire::{column_of, numeric};
use crate::State;
use serde_json::{json, Map, Value as Json};
use sluice_engine::exports::{ExportRequest, ExportWhat};
use sluice_engine::jobs::CallbackSpec;
use sluice_engine::model::{ExportFormat, ListSpec, Object, Shape};

/// Field API names one job may list (Zoho's specification: `fields`, at most 1,000 items).
const ZOHO_MAX_FIELDS: usize = 1000;

fn text<'a>(o: &'a Map<String, Json>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Json::as_str)
}

/// Reads the body's `callback`.
pub fn callback(body: &Map<String, Json>) -> Result<Option<CallbackSpec>, Refusal> {
    let Some(cb) = body.get("callback").filter(|c| !c.is_null()) else {
        return Ok(None);
    };
    let method = cb.get("method").and_then(Json::as_str).unwrap_or("post");
    if !method.eq_ignore_ascii_case("post") {
        return Err(refusal(
            "INVALID_CALLBACK_METHOD",
            "invalid callback method",
            json!({"supported_callback_methods": ["post"]}),
        ));
    }
    let url = cb.get("url").and_then(Json::as_str).ok_or_else(|| {
        refusal(
            "INVALID_CALLBACK_URL",
            "invalid callback url",
            json!({"api_name": "url"}),
        )
    })?;
    Ok(Some(CallbackSpec {
        url: url.to_owned(),
        method: Some("post".to_owned()),
    }))
}

/// The columns (and their Zoho labels) of `fields`: `Id` first, as Zoho adds it; without
/// fields (or with none), every field of the module and its times, as Zoho exports them.
fn columns(obj: &Object, fields: Option<&Json>) -> Result<(Vec<String>, Vec<String>), Refusal> {
    let listed = fields.filter(|f| !f.is_null() && f.as_array().is_none_or(|a| !a.is_empty()));
    if listed
        .and_then(Json::as_array)
        .is_some_and(|a| a.len() > ZOHO_MAX_FIELDS)
    {
        return Err(refusal(
            "INVALID_DATA",
            "too many fields",
            json!({"api_name": "fields", "max_limit": ZOHO_MAX_FIELDS}),
        ));
    }
    let asked: Vec<String> = match listed {
        None => obj
            .fields
            .iter()
            .map(|f| f.name.to_string())
            .chain(["Created_Time", "Modified_Time"].map(String::from))
            .collect(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid_data("fields", "fields is a list of field API names"))?,
        Some(_) => {
            return Err(invalid_data(
                "fields",
                "fields is a list of field API names",
            ))
        }
    };
    let mut cols = vec!["id".to_owned()];
    let mut labels = vec!["Id".to_owned()];
    let mut seen = std::collections::HashSet::new();
    for api in asked {
        let col = column_of(obj, &api).ok_or_else(|| {
            refusal(
                "FIELD_NOT_AVAILABLE",
                &format!("the field {api} is not available"),
                json!({"api_name": api}),
            )
        })?;
        if col == "id" {
            continue;
        }
        if !seen.insert(col.clone()) {
            return Err(invalid_data(&api, "the field is listed twice"));
        }
        cols.push(col);
        labels.push(api);
    }
    Ok((cols, labels))
}

fn invalid_data(api: &str, message: &str) -> Refusal {
    refusal("INVALID_DATA", message, json!({"api_name": api}))
}

/// The records the page asked for (1 when absent) skips.
fn offset(query: &Map<String, Json>) -> Result<u64, Refusal> {
    let page = match query.get("page").filter(|p| !p.is_null()) {
        None => 1,
        Some(p) => p
            .as_u64()
            .or_else(|| p.as_str().and_then(numeric))
            .filter(|&p| p >= 1)
            .ok_or_else(|| invalid_data("page", "page is a whole number from 1"))?,
    };
    let max = i64::MAX as u64 / PER_PAGE;
    if page > max {
        return Err(refusal(
            "PAGE_RANGE_EXCEEDED",
            "page range exceeded",
            json!({"max_limit": max}),
        ));
    }
    Ok((page - 1) * PER_PAGE)
}

/// The export a create-bulk-read body asks of `obj`'s records.
pub async fn translate(
    state: &State,
    obj: &Object,
    body: &Map<String, Json>,
    query: &Map<String, Json>,
) -> Result<ExportRequest, Refusal> {
    let file_type = text(query, "file_type").or_else(|| text(body, "file_type"));
    if file_type.is_some_and(|t| !t.eq_ignore_ascii_case("csv")) {
        return Err(refusal(
            "NOT_SUPPORTED_FEATURE",
            "only csv files are exported here",
            json!({"api_name": "file_type", "supported": ["csv"]}),
        ));
    }
    if query.get("cvid").is_some_and(|c| !c.is_null()) {
        return Err(refusal(
            "CVID_NOT_SUPPORTED",
            "custom views are not supported",
            json!({"api_name": "cvid"}),
        ));
    }
    let (columns, labels) = columns(obj, query.get("fields"))?;
    let filter = filter(state, obj, query.get("criteria").unwrap_or(&Json::Null)).await?;
    let offset = offset(query)?;
    let what = ExportWhat::Object {
        object: obj.name.to_string(),
        spec: ListSpec {
            filter,
            ..ListSpec::default()
        },
        fields: Some(columns),
        shape: Box::new(Shape {
            offset,
            limit: Some(PER_PAGE),
            headers: Some(labels),
            numbered: true,
            entry_by_number: true,
        }),
    };
    Ok(ExportRequest::new(what, ExportFormat::Zip, callback(body)?))
}
