//! An ingest job's results, as Salesforce's three CSVs: `successfulResults` (`sf__Id`,
//! `sf__Created`, then the row as sent), `failedResults` (`sf__Id`, `sf__Error`, then the row) and
//! `unprocessedrecords` (the rows the job never reached), every field quoted.

use super::ingest::find;
use super::wire::{error, not_found, version};
use super::State;
use crate::download::stream_file;
use axum::extract::{Path, State as S};
use axum::http::HeaderMap;
use axum::response::Response;
use sluice_engine::jobs::{ResultRow, ResultView, RowStatus};
use sluice_engine::model::Job;
use sluice_engine::ErrorCode;

#[derive(Clone, Copy)]
enum Kind {
    Successful,
    Failed,
    Unprocessed,
}

/// Salesforce's status code for a sluice error code, in `sf__Error`.
fn status_code(code: &str) -> &'static str {
    use ErrorCode as C;
    match ErrorCode::ALL.iter().find(|c| c.as_str() == code) {
        Some(C::Required) => "REQUIRED_FIELD_MISSING",
        Some(C::UniqueViolation) => "DUPLICATE_VALUE",
        Some(C::NotFound | C::ReferenceNotFound) => "INVALID_CROSS_REFERENCE_KEY",
        Some(C::StillReferenced) => "DELETE_FAILED",
        Some(C::UnknownField) => "INVALID_FIELD",
        Some(C::Forbidden) => "INSUFFICIENT_ACCESS_OR_READONLY",
        Some(C::ValidationFailed) => "INVALID_TYPE_ON_FIELD_IN_RECORD",
        _ => "UNKNOWN_EXCEPTION",
    }
}

/// `sf__Error`: `CODE:message:fields --`, as Salesforce writes it.
fn sf_error(r: &ResultRow) -> String {
    let code = r
        .errors
        .first()
        .map_or("UNKNOWN_EXCEPTION", |(c, _)| status_code(c));
    let fields: Vec<&str> = r
        .errors
        .iter()
        .map(|(_, f)| f.as_str())
        .filter(|f| !f.is_empty())
        .collect();
    format!("{code}:{}:{} --", r.messages, fields.join(","))
}

fn view(kind: Kind, job: &Job) -> ResultView {
    let row = job.result_headers.clone();
    let (tag, first): (&'static str, &[&str]) = match kind {
        Kind::Successful => ("sf-successful", &["sf__Id", "sf__Created"]),
        Kind::Failed => ("sf-failed", &["sf__Id", "sf__Error"]),
        Kind::Unprocessed => ("sf-unprocessed", &[]),
    };
    let header = first.iter().map(|s| (*s).to_owned()).chain(row).collect();
    let render = move |r: ResultRow| -> Option<Vec<String>> {
        let status = r.status?;
        let lead = match (kind, status) {
            (Kind::Successful, RowStatus::Added) => vec![r.id.clone(), "true".into()],
            (Kind::Successful, RowStatus::Updated | RowStatus::Deleted) => {
                vec![r.id.clone(), "false".into()]
            }
            (Kind::Failed, RowStatus::Failed | RowStatus::Skipped) => {
                vec![r.id.clone(), sf_error(&r)]
            }
            (Kind::Unprocessed, RowStatus::Unprocessed) => Vec::new(),
            _ => return None,
        };
        Some(lead.into_iter().chain(r.cells).collect())
    };
    ResultView {
        tag,
        header,
        quote_all: true,
        render: Box::new(render),
    }
}

pub async fn download(
    S(state): S<State>,
    Path((v, id, which)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let kind = match which.to_ascii_lowercase().as_str() {
        "successfulresults" => Kind::Successful,
        "failedresults" => Kind::Failed,
        "unprocessedrecords" => Kind::Unprocessed,
        _ => return not_found(),
    };
    let sent = async {
        let f = find(&state, &headers, &id).await?;
        let Some(job) = f.job else {
            return Err(sluice_engine::Error::new(
                ErrorCode::Conflict,
                "InvalidJobState : the job has no results before its upload is complete",
            ));
        };
        let path = state
            .engine
            .jobs()
            .result_view(&f.who, &f.app, &job.id, |j| view(kind, j))
            .await?;
        stream_file(&path, "text/csv").await
    }
    .await;
    sent.unwrap_or_else(|e| error(&e))
}
