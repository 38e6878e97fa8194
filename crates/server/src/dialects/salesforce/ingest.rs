//! Ingest jobs: create (an upload assembled from the CSV parts the client PUTs), upload, close
//! (`UploadComplete` starts the bulk-write job on the whole) or abort, info, list and delete.

use super::ingest_info::{info, Ids, Meta};
use super::ingest_plan::{invalid_job, plan, request, CreateBody};
use super::wire::{caller, error, job_number, json_body, not_found, version, StateBody};
use super::State;
use crate::uploads::{self, Rules};
use axum::body::Bytes;
use axum::extract::{Path, Request, State as S};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json as AxJson;
use serde_json::json;
use sluice_engine::model::{AliasKind, AssemblyState, FileRow, Job, Principal};
use sluice_engine::{Error, ErrorCode, Result};

/// What the tag on jobs made here says (their callbacks have no renderer of their own).
pub const TAG: &str = "salesforce";

pub async fn create(
    S(state): S<State>,
    Path(v): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(api_version) = version(&v) else {
        return not_found();
    };
    let made = async {
        let (who, app) = caller(&state, &headers).await?;
        let body: CreateBody = json_body(&body)?;
        let catalog = state.engine.catalog();
        let a = catalog
            .app(&app)
            .ok_or_else(|| Error::not_found("no such app"))?;
        let meta = plan(a, body, api_version)?;
        let name = format!("{}.csv", meta.sluice_object);
        let doc = serde_json::to_value(&meta).map_err(Error::internal)?;
        let file = state
            .engine
            .jobs()
            .open_assembly(&who, &app, &name, doc)
            .await?;
        let ids = ids_of(&state, &file, &who).await?;
        Ok::<_, Error>(info(&file, &meta, None, &ids, false))
    }
    .await;
    made.map_or_else(|e| error(&e), |v| AxJson(v).into_response())
}

/// An ingest job as it stands: its upload, settings, job (once started) and numbers.
pub struct Found {
    pub who: Principal,
    pub app: String,
    pub file: FileRow,
    pub meta: Meta,
    pub job: Option<Job>,
    pub ids: Ids,
}

/// Finds ingest job `id` for the caller.
pub async fn find(state: &State, headers: &HeaderMap, id: &str) -> Result<Found> {
    let (who, app) = caller(state, headers).await?;
    let gone = || Error::not_found("The requested resource does not exist");
    let n = job_number(id).ok_or_else(gone)?;
    let fid = state
        .engine
        .aliases()
        .id_of(AliasKind::File, n)
        .await?
        .ok_or_else(gone)?;
    let file = state
        .engine
        .jobs()
        .assembly(&who, &app, &fid)
        .await
        .map_err(|_| gone())?;
    let meta: Meta = file
        .assembly
        .as_ref()
        .and_then(|a| serde_json::from_value(a.meta.clone()).ok())
        .ok_or_else(gone)?;
    let job = match file.assembly.as_ref().map(|a| &a.state) {
        Some(AssemblyState::Started { job }) => {
            Some(state.engine.jobs().get(&who, &app, job).await?)
        }
        _ => None,
    };
    let ids = Ids {
        job: n,
        user: ids_of(state, &file, &who).await?.user,
    };
    Ok(Found {
        who,
        app,
        file,
        meta,
        job,
        ids,
    })
}

async fn ids_of(state: &State, file: &FileRow, who: &Principal) -> Result<Ids> {
    let aliases = state.engine.aliases();
    Ok(Ids {
        job: aliases.number(AliasKind::File, &file.id).await?,
        user: aliases.number(AliasKind::User, who.user_id()).await?,
    })
}

pub async fn show(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    match find(&state, &headers, &id).await {
        Ok(f) => AxJson(info(&f.file, &f.meta, f.job.as_ref(), &f.ids, true)).into_response(),
        Err(e) => error(&e),
    }
}

/// `PUT …/batches`: a CSV part, in the job's delimiter. Answers 201 with no body.
pub async fn upload(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    req: Request,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let added = async {
        let f = find(&state, req.headers(), &id).await?;
        let rules = Rules {
            delimiter: Some(f.meta.delimiter()),
            ..Rules::default()
        };
        uploads::receive_part(&state, &f.who, &f.app, req, &f.file.id, rules).await
    }
    .await;
    match added {
        Ok(_) => StatusCode::CREATED.into_response(),
        Err(e) => uploads::closing_if_unread(error(&e), &e),
    }
}

/// `PATCH` with `{"state":"UploadComplete"}` (start the job) or `{"state":"Aborted"}`.
pub async fn set_state(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let changed = async {
        let asked: StateBody = json_body(&body)?;
        let f = find(&state, &headers, &id).await?;
        let jobs = state.engine.jobs();
        match (asked.state.as_str(), &f.job) {
            ("UploadComplete", None) => {
                let catalog = state.engine.catalog();
                let meta = f.meta.clone();
                let app = catalog.app(&f.app).cloned();
                let request = move |file: &FileRow| match app {
                    Some(app) => request(&app, &meta, &file.header),
                    None => Err(Error::not_found("no such app")),
                };
                jobs.start_assembly(&f.who, &f.app, &f.file.id, request, TAG)
                    .await?;
            }
            ("Aborted", None) => {
                jobs.abort_assembly(&f.who, &f.app, &f.file.id).await?;
            }
            ("Aborted", Some(job)) => {
                jobs.cancel(&f.who, &f.app, &job.id).await?;
            }
            ("UploadComplete", Some(_)) => {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    "InvalidJobState : the job's upload is already complete",
                ))
            }
            (other, _) => {
                return Err(invalid_job(format!("InvalidJob : Invalid state: {other}")));
            }
        }
        let f = find(&state, &headers, &id).await?;
        Ok::<_, Error>(info(&f.file, &f.meta, f.job.as_ref(), &f.ids, false))
    }
    .await;
    changed.map_or_else(|e| error(&e), |v| AxJson(v).into_response())
}

/// `GET …/jobs/ingest`: the ingest jobs started here, newest first, in one page.
pub async fn list(S(state): S<State>, Path(v): Path<String>, headers: HeaderMap) -> Response {
    let Some(api_version) = version(&v) else {
        return not_found();
    };
    let listed = async {
        let (who, app) = caller(&state, &headers).await?;
        let jobs = state.engine.jobs().list(&who, &app, 1000).await?;
        let mut records = Vec::new();
        for job in jobs.iter().filter(|j| j.tag == TAG) {
            let fid = job.file_id.clone();
            let Ok(file) = state.engine.jobs().assembly(&who, &app, &fid).await else {
                continue;
            };
            let meta: Meta = file
                .assembly
                .as_ref()
                .and_then(|a| serde_json::from_value(a.meta.clone()).ok())
                .unwrap_or_else(|| Meta {
                    object: job.object.clone(),
                    sluice_object: job.object.clone(),
                    operation: job.operation.as_str().to_owned(),
                    external_id_field_name: None,
                    column_delimiter: "COMMA".into(),
                    line_ending: "LF".into(),
                    api_version,
                });
            let ids = ids_of(&state, &file, &who).await?;
            records.push(info(&file, &meta, Some(job), &ids, false));
        }
        Ok::<_, Error>(json!({"done": true, "records": records, "nextRecordsUrl": null}))
    }
    .await;
    listed.map_or_else(|e| error(&e), |v| AxJson(v).into_response())
}

/// `DELETE`: an ended job (and its data) is no longer shown. Answers 204.
pub async fn delete(
    S(state): S<State>,
    Path((v, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if version(&v).is_none() {
        return not_found();
    }
    let deleted = async {
        let f = find(&state, &headers, &id).await?;
        state
            .engine
            .jobs()
            .delete_assembly(&f.who, &f.app, &f.file.id)
            .await
    }
    .await;
    match deleted {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}
