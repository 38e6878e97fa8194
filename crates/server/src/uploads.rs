//! Receiving uploads: the body (raw, or the multipart field `file`) streams to disk with its size
//! counted against the limit; the engine then checks and registers the file.

use crate::State;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sluice_engine::auth::Principal;
use sluice_engine::model::FileRow;
use sluice_engine::{Error, ErrorCode, Result};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Streams `stream` into `path`, refusing past `max` bytes; returns the size.
async fn save<S, E>(mut stream: S, path: &Path, max: u64) -> Result<u64>
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
}

/// Receives an upload for `app`: multipart (field `file`) or a raw body named by `?name=`.
pub async fn receive(
    state: &State,
    who: &Principal,
    app: &str,
    req: Request,
    name: Option<String>,
    rules: Rules,
) -> Result<FileRow> {
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
                let size = save(field, &path, max).await;
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
        save(body.into_data_stream(), &path, max)
            .await
            .map(|s| (name.unwrap_or_else(|| "upload.csv".into()), ctype, s))
    };
    match received {
        Ok((fname, fctype, size)) => {
            let zip_only = rules.zip_only;
            jobs.register_upload(who, app, &fname, fctype.as_deref(), path, size, zip_only)
                .await
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    }
}
