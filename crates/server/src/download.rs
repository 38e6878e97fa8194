//! Files sent to clients: result ZIPs streamed from disk.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sluice_engine::{Error, Result};
use std::path::Path;

/// Streams a ZIP from disk as an attachment named `name`.
pub async fn stream_zip(path: &Path, name: &str) -> Result<Response> {
    let file = tokio::fs::File::open(path).await.map_err(Error::internal)?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or_default();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
