//! Files sent to clients: result ZIPs streamed from disk, files streamed from the file store,
//! and the byte ranges of resumable downloads.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sluice_engine::{Error, ErrorCode, Result};
use std::io::Read;
use std::path::Path;

/// Streams a file from disk with `content_type`.
pub async fn stream_file(path: &Path, content_type: &str) -> Result<Response> {
    let file = tokio::fs::File::open(path).await.map_err(Error::internal)?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or_default();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response())
}

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

/// Bytes per piece of a streamed file.
const PIECE: usize = 1 << 16;

/// A body streamed from a blocking reader (`open` runs on a blocking thread): `prefix`, then what
/// the reader gives. A read error ends the body early, so the client sees a short transfer.
pub fn reader_body(
    prefix: Vec<u8>,
    open: impl FnOnce() -> Result<Box<dyn Read + Send>> + Send + 'static,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        if !prefix.is_empty() && tx.blocking_send(Ok(Bytes::from(prefix))).is_err() {
            return;
        }
        let mut r = match open() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "could not open a file to send");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
                return;
            }
        };
        loop {
            let mut buf = vec![0u8; PIECE];
            match r.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// The one byte range a `Range` header asks of a file of `total` bytes, as `(first, last)`
/// inclusive; `None` for the whole file (no header, a form this server does not serve — several
/// ranges, another unit — which RFC 9110 lets it ignore). A range wholly past the end is refused.
pub fn byte_range(header: Option<&str>, total: u64) -> Result<Option<(u64, u64)>> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || {
        Error::new(
            ErrorCode::RangeNotSatisfiable,
            format!("the file has {total} bytes; the range asked for lies outside it"),
        )
    };
    let range = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(first), Some(last)) if first <= last => (first, last.min(total.saturating_sub(1))),
        (Some(first), None) if b.is_empty() => (first, total.saturating_sub(1)),
        (None, Some(n)) if a.is_empty() && n > 0 => {
            (total.saturating_sub(n), total.saturating_sub(1))
        }
        _ => return Ok(None),
    };
    if range.0 >= total {
        return Err(unsatisfiable());
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        assert_eq!(byte_range(None, 100).unwrap(), None);
        assert_eq!(byte_range(Some("bytes=0-9"), 100).unwrap(), Some((0, 9)));
        assert_eq!(byte_range(Some("bytes=90-"), 100).unwrap(), Some((90, 99)));
        assert_eq!(byte_range(Some("bytes=-10"), 100).unwrap(), Some((90, 99)));
        assert_eq!(
            byte_range(Some("bytes=50-500"), 100).unwrap(),
            Some((50, 99))
        );
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100).unwrap(), None);
        assert_eq!(byte_range(Some("items=0-1"), 100).unwrap(), None);
        assert!(byte_range(Some("bytes=100-"), 100).is_err());
        assert_eq!(byte_range(Some("bytes=9-3"), 100).unwrap(), None);
    }
}
