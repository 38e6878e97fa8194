//! Receiving uploads: the body (raw, or the multipart field `file`) streams to disk with its size
//! counted against the limit; the engine then checks and registers the file.

use crate::idempotency;
use crate::native::documents::file_json;
use crate::State;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use sluice_engine::jobs::Upload;
use sluice_engine::model::{FileRow, Principal};
use sluice_engine::{Error, ErrorCode, Result};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Streams `stream` into `path`, refusing past `max` bytes, feeding `hash`; returns the size.
async fn save<S, E>(mut stream: S, path: &Path, max: u64, hash: &mut Sha256) -> Result<u64>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(path).await.map_err(Error::io)?;
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Error::invalid(format!("the upload could not be read: {e}")))?;
        size += chunk.len() as u64;
        if size > max {
            return Err(Error::new(
                ErrorCode::TooLarge,
                format!("uploads are limited to {max} bytes"),
            ));
        }
        hash.update(&chunk);
        file.write_all(&chunk).await.map_err(Error::io)?;
    }
    file.flush().await.map_err(Error::io)?;
    Ok(size)
}

/// A front door's own rules for uploads, beyond the configured limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// A lower size limit than the configured one.
    pub max: Option<u64>,
    /// Only ZIP archives are accepted.
    pub zip_only: bool,
    /// The CSV delimiter the client declared (else detected).
    pub delimiter: Option<u8>,
}

/// An upload on local scratch, not yet registered: its name, declared type, size, where it is,
/// and the SHA-256 of its bytes.
struct Saved {
    name: String,
    content_type: Option<String>,
    size: u64,
    path: std::path::PathBuf,
    sha256: String,
}

/// The answer to an upload refused for its size, which comes before its body was read whole, says
/// `Connection: close`: the bytes still coming must not be read as the client's next request, and
/// a client told to close does not send its next request on a connection about to close.
pub fn closing_if_unread(mut answer: Response, e: &Error) -> Response {
    if e.code == ErrorCode::TooLarge {
        answer.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    answer
}

/// Receives an upload for `app` and registers it.
pub async fn receive(
    state: &State,
    who: &Principal,
    app: &str,
    req: Request,
    name: Option<String>,
    rules: Rules,
) -> Result<FileRow> {
    let saved = save_request(state, who, app, req, name, rules).await?;
    state
        .engine
        .jobs()
        .register_upload(upload(&saved, who, app, rules))
        .await
}

/// Receives a part of the upload being assembled as `id` in `app`, and adds it.
pub async fn receive_part(
    state: &State,
    who: &Principal,
    app: &str,
    req: Request,
    id: &str,
    rules: Rules,
) -> Result<FileRow> {
    let saved = save_request(state, who, app, req, None, rules).await?;
    state
        .engine
        .jobs()
        .add_part(id, upload(&saved, who, app, rules))
        .await
}

/// `receive`, once per `Idempotency-Key` when the request names one (the fingerprint covers the
/// uploaded bytes); the answer as the native API gives it.
pub async fn receive_native(
    state: &State,
    who: &Principal,
    app: &str,
    req: Request,
    name: Option<String>,
) -> Result<Response> {
    let (method, uri, headers) = (
        req.method().clone(),
        req.uri().clone(),
        req.headers().clone(),
    );
    let rules = Rules::default();
    let saved = save_request(state, who, app, req, name, rules).await?;
    let up = upload(&saved, who, app, rules);
    let print = || idempotency::fingerprint(&method, &uri, saved.sha256.as_bytes());
    let Some(key) = idempotency::key_of(&headers, who, Some(app), print)? else {
        let file = state.engine.jobs().register_upload(up).await?;
        return Ok((StatusCode::CREATED, Json(file_json(&file))).into_response());
    };
    let render = |f: &FileRow| idempotency::json_answer(StatusCode::CREATED, &file_json(f));
    let keyed = state
        .engine
        .jobs()
        .register_upload_keyed(up, key, render)
        .await?;
    Ok(idempotency::respond(keyed))
}

fn upload<'a>(saved: &'a Saved, who: &'a Principal, app: &'a str, rules: Rules) -> Upload<'a> {
    Upload {
        who,
        app,
        name: &saved.name,
        content_type: saved.content_type.as_deref(),
        raw: saved.path.clone(),
        size: saved.size,
        zip_only: rules.zip_only,
        delimiter: rules.delimiter,
    }
}

/// Streams the request's file to local scratch: multipart (field `file`) or a raw body named by
/// `?name=`.
async fn save_request(
    state: &State,
    who: &Principal,
    app: &str,
    req: Request,
    name: Option<String>,
    rules: Rules,
) -> Result<Saved> {
    let max = rules.max;
    let jobs = state.engine.jobs();
    jobs.authorize_upload(who, app)?;
    let limit = state.engine.settings().upload.max_bytes;
    let max = max.map_or(limit, |m| m.min(limit));
    let path = jobs.upload_path();
    let ctype = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut hash = Sha256::new();
    let received = if ctype
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/form-data"))
    {
        let mut mp = Multipart::from_request(req, state)
            .await
            .map_err(|e| Error::invalid(format!("the multipart body is malformed: {e}")))?;
        let mut found = None;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| Error::invalid(format!("the multipart body is malformed: {e}")))?
        {
            if field.name() == Some("file") {
                let fname = field
                    .file_name()
                    .map(str::to_owned)
                    .or(name.clone())
                    .unwrap_or_else(|| "upload.csv".into());
                let fctype = field.content_type().map(str::to_owned);
                let size = save(field, &path, max, &mut hash).await;
                found = Some(size.map(|s| (fname, fctype, s)));
                break;
            }
        }
        found.unwrap_or_else(|| {
            Err(Error::new(
                ErrorCode::Required,
                "the multipart body has no field named file",
            )
            .with_field("file"))
        })
    } else {
        let body: Body = req.into_body();
        save(body.into_data_stream(), &path, max, &mut hash)
            .await
            .map(|s| (name.unwrap_or_else(|| "upload.csv".into()), ctype, s))
    };
    match received {
        Ok((name, content_type, size)) => Ok(Saved {
            name,
            content_type,
            size,
            path,
            sha256: hex::encode(hash.finalize()),
        }),
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    }
}
