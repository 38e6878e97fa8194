//! Registering uploads: the bytes streamed to local scratch are checked and normalized to CSV,
//! stored in the file store, and recorded — once per idempotency key when one is given.

use super::normalize::{normalize, Format};
use super::service::Jobs;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Answer, FileRow, IdemKey, Keyed, Need, Principal};
use std::path::PathBuf;
use uuid::Uuid;

/// An upload streamed to local scratch, to register.
pub struct Upload<'a> {
    pub who: &'a Principal,
    pub app: &'a str,
    pub name: &'a str,
    pub content_type: Option<&'a str>,
    pub raw: PathBuf,
    pub size: u64,
    /// Only ZIP archives are accepted.
    pub zip_only: bool,
    /// The CSV delimiter the client declared; detected from the header row when `None`.
    pub delimiter: Option<u8>,
}

impl Jobs {
    /// A fresh path for streaming an upload to before it is registered.
    pub fn upload_path(&self) -> PathBuf {
        self.scratch.upload_path()
    }

    /// Checks that `who` may upload to `app`, before any byte is stored.
    pub fn authorize_upload(&self, who: &Principal, app: &str) -> Result<()> {
        self.core.app(who, app, Need::Write).map(|_| ())
    }

    /// Checks and normalizes the upload streamed to `raw` (which must be a ZIP archive if
    /// `zip_only`), then records it. `raw` is removed.
    pub async fn register_upload(&self, up: Upload<'_>) -> Result<FileRow> {
        let file = self.stage(&up).await?;
        let row = file.clone();
        self.core.transact(move |ctx| ctx.tx.put_file(&row)).await?;
        Ok(file)
    }

    /// `register_upload` once for idempotency `key`; `render` makes the answer kept with it.
    pub async fn register_upload_keyed(
        &self,
        up: Upload<'_>,
        key: IdemKey,
        render: impl Fn(&FileRow) -> Answer + Send + 'static,
    ) -> Result<Keyed> {
        // A repeat is answered before its content is stored again.
        if let Some(kept) = self.core.kept_answer(&key).await? {
            let _ = tokio::fs::remove_file(&up.raw).await;
            return Ok(kept);
        }
        let file = self.stage(&up).await?;
        let (row, id) = (file.clone(), file.id.clone());
        let keyed = self
            .core
            .transact_keyed(key, move |ctx| {
                ctx.tx.put_file(&row)?;
                Ok(render(&row))
            })
            .await;
        if !matches!(
            keyed,
            Ok(Keyed {
                replayed: false,
                ..
            })
        ) {
            // Another request with the key won the race (or this one failed): its copy goes.
            let _ = self.core.store.files().delete_input(&id);
        }
        keyed
    }

    /// Checks, normalizes and stores the upload's content; the row to record. `raw` is removed.
    pub(super) async fn stage(&self, up: &Upload<'_>) -> Result<FileRow> {
        let result = self.ingest(up).await;
        let _ = tokio::fs::remove_file(&up.raw).await;
        result
    }

    /// Checks the caller and the format, normalizes the content to CSV and puts it in the file
    /// store; the row to record.
    async fn ingest(&self, up: &Upload<'_>) -> Result<FileRow> {
        let (who, app, name, content_type, raw, size, zip_only) = (
            up.who,
            up.app,
            up.name,
            up.content_type,
            up.raw.as_path(),
            up.size,
            up.zip_only,
        );
        let app = self.core.app(who, app, Need::Write)?;
        let mut head = [0u8; 4];
        let n = {
            use std::io::Read;
            std::fs::File::open(raw)
                .and_then(|mut f| f.read(&mut head))
                .map_err(Error::internal)?
        };
        if zip_only && !head.starts_with(b"PK") {
            return Err(
                Error::new(ErrorCode::InvalidFile, "only ZIP files are accepted here")
                    .with_field("format"),
            );
        }
        let format = match (Format::detect(content_type, name, &head[..n]), up.delimiter) {
            (Format::Csv, Some(d)) => Format::Delimited(d),
            (detected, _) => detected,
        };
        let id = Uuid::now_v7().to_string();
        let out = self.scratch.normalized_path(&id);
        let (raw, limits, name_owned, out2) = (
            raw.to_owned(),
            self.core.settings.upload.clone(),
            name.to_owned(),
            out.clone(),
        );
        let (files, fid) = (self.core.store.files(), id.clone());
        let normalized = tokio::task::spawn_blocking(move || {
            let n = normalize(&raw, format, &name_owned, &out2, &limits)?;
            files.put_input(&fid, &out2)?;
            Ok(n)
        })
        .await
        .map_err(Error::internal)?;
        let normalized = match normalized {
            Ok(n) => n,
            Err(e) => {
                let _ = tokio::fs::remove_file(&out).await;
                return Err(e);
            }
        };
        let file = FileRow {
            id,
            app_id: app.id,
            name: if format == Format::Zip {
                normalized.name
            } else {
                name.to_owned()
            },
            size,
            content_type: format.content_type().to_owned(),
            header: normalized.header,
            rows: normalized.rows,
            created_at: self.core.now(),
            created_by: who.user_name().to_owned(),
            assembly: None,
        };
        Ok(file)
    }
}
