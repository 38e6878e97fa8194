//! Uploads assembled from parts, for front doors whose clients send a job's data in several
//! requests before starting it: each part is normalized and stored on its own as it arrives, and
//! starting joins them (moving a single part into place without a copy) and queues the job on the
//! whole, recording which job it became, or why the job was refused.

use super::service::Jobs;
use super::uploads::Upload;
use super::JobRequest;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Assembly, AssemblyState, FileRow, Need, Part, Principal, TaskKind};
use crate::store::FileStore;
use serde_json::Value as Json;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use uuid::Uuid;

impl Jobs {
    /// Opens an assembly in `app`: an upload named `name` that parts will fill; `meta` is kept
    /// with it for the front door.
    pub async fn open_assembly(
        &self,
        who: &Principal,
        app: &str,
        name: &str,
        meta: Json,
    ) -> Result<FileRow> {
        let app = self.core.app(who, app, Need::Write)?;
        let now = self.core.now();
        let file = FileRow {
            id: Uuid::now_v7().to_string(),
            app_id: app.id,
            name: name.to_owned(),
            size: 0,
            content_type: "text/csv".into(),
            header: Vec::new(),
            rows: 0,
            created_at: now.clone(),
            created_by: who.user_name().to_owned(),
            assembly: Some(Assembly {
                parts: Vec::new(),
                state: AssemblyState::Open,
                meta,
                updated_at: now,
            }),
        };
        let row = file.clone();
        self.core.transact(move |ctx| ctx.tx.put_file(&row)).await?;
        Ok(file)
    }

    /// Assembly `id` of `app`, as it stands.
    pub async fn assembly(&self, who: &Principal, app: &str, id: &str) -> Result<FileRow> {
        let app = self.core.app(who, app, Need::Read)?;
        super::files::check_id(id, "id")?;
        let id = id.to_owned();
        let file = self
            .core
            .read(move |ctx| ctx.tx.get_file(app.id, &id))
            .await?;
        file.filter(|f| {
            f.assembly
                .as_ref()
                .is_some_and(|a| a.state != AssemblyState::Deleted)
        })
        .ok_or_else(|| Error::not_found("no such upload being assembled"))
    }

    /// Adds the part streamed to `up.raw` to open assembly `id`. Every part must have the first
    /// part's header row.
    pub async fn add_part(&self, id: &str, up: Upload<'_>) -> Result<FileRow> {
        let _one_at_a_time = self.assembling.lock().await;
        let open = self.assembly(up.who, up.app, id).await;
        if let Err(e) = open.and_then(|f| require_open(&f)) {
            let _ = tokio::fs::remove_file(&up.raw).await;
            return Err(e);
        }
        let part = self.stage(&up).await?;
        let (id, now, input) = (id.to_owned(), self.core.now(), part.id.clone());
        let added = self
            .core
            .transact(move |ctx| {
                let mut f = ctx
                    .tx
                    .get_file(part.app_id, &id)?
                    .ok_or_else(|| Error::not_found("no such upload being assembled"))?;
                require_open(&f)?;
                let first = f.assembly.as_ref().is_some_and(|a| a.parts.is_empty());
                if first {
                    f.header = part.header.clone();
                } else if f.header != part.header {
                    return Err(Error::new(
                        ErrorCode::InvalidFile,
                        "every part must start with the same header row as the first",
                    )
                    .with_field("header"));
                }
                f.rows += part.rows;
                f.size += part.size;
                if let Some(a) = f.assembly.as_mut() {
                    a.parts.push(Part {
                        input: part.id.clone(),
                        rows: part.rows,
                        size: part.size,
                    });
                    a.updated_at = now.clone();
                }
                ctx.tx.put_file(&f)?;
                Ok(f)
            })
            .await;
        if added.is_err() {
            let _ = self.delete_inputs(vec![input]).await;
        }
        added
    }

    /// Completes open assembly `id` and queues the job `request` makes of the whole upload (its
    /// `file_id` is set here). A job refused by its checks (or by `request`) leaves the assembly
    /// `failed` with the refusal's message rather than answering an error: the upload was
    /// complete, the job it was to make was not.
    pub async fn start_assembly(
        &self,
        who: &Principal,
        app: &str,
        id: &str,
        request: impl FnOnce(&FileRow) -> Result<JobRequest>,
        tag: &str,
    ) -> Result<FileRow> {
        let _one_at_a_time = self.assembling.lock().await;
        let file = self.assembly(who, app, id).await?;
        require_open(&file)?;
        let parts = file.assembly.clone().map(|a| a.parts).unwrap_or_default();
        if parts.is_empty() {
            return self
                .end_assembly(id, file.app_id, fail("no data was uploaded for the job"))
                .await;
        }
        let (files, to, header) = (self.core.store.files(), id.to_owned(), file.header.clone());
        let joined = self.scratch.normalized_path(&format!("{id}.joined"));
        tokio::task::spawn_blocking(move || join(&*files, &parts, &header, &to, &joined))
            .await
            .map_err(Error::internal)??;
        let made = request(&file).map(|mut req| {
            req.file_id = id.to_owned();
            req
        });
        let maker = match made {
            Ok(req) => self.maker(who, app, req, tag).await,
            Err(e) => Err(e),
        };
        let started = match maker {
            Ok(mut make) => {
                let (id, app_id) = (id.to_owned(), file.app_id);
                self.core
                    .transact(move |ctx| {
                        // Whole before the job's checks read it; all of it rolls back if they fail.
                        let current = ctx.tx.get_file(app_id, &id)?;
                        let starting = AssemblyState::Started { job: String::new() };
                        let mut f = ended(current, starting, &ctx.now)?;
                        ctx.tx.put_file(&f)?;
                        let job = make(ctx)?;
                        if let Some(a) = f.assembly.as_mut() {
                            a.state = AssemblyState::Started { job: job.id };
                        }
                        ctx.tx.put_file(&f)?;
                        Ok(Some(f))
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        match started {
            Ok(Some(f)) => {
                self.core.wake(TaskKind::Job);
                Ok(f)
            }
            Ok(None) => Err(Error::not_found("no such upload being assembled")),
            Err(e) if e.code.status() < 500 => {
                self.end_assembly(id, file.app_id, fail(&e.message)).await
            }
            Err(e) => Err(e),
        }
    }

    /// Gives up open assembly `id`: its parts are deleted.
    pub async fn abort_assembly(&self, who: &Principal, app: &str, id: &str) -> Result<FileRow> {
        let _one_at_a_time = self.assembling.lock().await;
        let file = self.assembly(who, app, id).await?;
        require_open(&file)?;
        let parts = file.assembly.map(|a| a.parts).unwrap_or_default();
        let ended = self
            .end_assembly(id, file.app_id, AssemblyState::Aborted)
            .await?;
        self.delete_inputs(parts.into_iter().map(|p| p.input).collect())
            .await?;
        Ok(ended)
    }

    /// Deletes stored inputs, off the async threads (a file store may block).
    async fn delete_inputs(&self, ids: Vec<String>) -> Result<()> {
        let files = self.core.store.files();
        tokio::task::spawn_blocking(move || ids.iter().try_for_each(|id| files.delete_input(id)))
            .await
            .map_err(Error::internal)?
    }

    /// Deletes assembly `id` once it has ended (and the job it started, if any, has too): it is
    /// no longer found.
    pub async fn delete_assembly(&self, who: &Principal, app: &str, id: &str) -> Result<()> {
        let _one_at_a_time = self.assembling.lock().await;
        let file = self.assembly(who, app, id).await?;
        self.core.app(who, app, Need::Write)?;
        match file.assembly.as_ref().map(|a| &a.state) {
            Some(AssemblyState::Open) => {
                return Err(Error::new(
                    ErrorCode::Conflict,
                    "the upload is still open: complete or abort it first",
                ))
            }
            Some(AssemblyState::Started { job }) => {
                let job = self.load(who, app, job, Need::Write).await?;
                if !job.status.is_final() {
                    return Err(Error::new(
                        ErrorCode::Conflict,
                        format!(
                            "its job is {}: delete it once it has ended",
                            job.status.as_str()
                        ),
                    ));
                }
            }
            _ => {}
        }
        self.end_assembly(id, file.app_id, AssemblyState::Deleted)
            .await
            .map(|_| ())
    }

    async fn end_assembly(&self, id: &str, app_id: Uuid, state: AssemblyState) -> Result<FileRow> {
        let id = id.to_owned();
        self.core
            .transact(move |ctx| {
                let f = ended(ctx.tx.get_file(app_id, &id)?, state.clone(), &ctx.now)?;
                ctx.tx.put_file(&f)?;
                Ok(f)
            })
            .await
    }
}

fn fail(message: &str) -> AssemblyState {
    AssemblyState::Failed {
        error: message.to_owned(),
    }
}

fn require_open(f: &FileRow) -> Result<()> {
    match f.assembly.as_ref().map(|a| &a.state) {
        Some(AssemblyState::Open) => Ok(()),
        Some(other) => Err(Error::new(
            ErrorCode::Conflict,
            format!("the upload is {}: it takes no more changes", other.as_str()),
        )),
        None => Err(Error::not_found("no such upload being assembled")),
    }
}

/// The assembly `f` in its final `state` (its parts now joined as its own upload, or deleted).
fn ended(
    f: Option<FileRow>,
    state: AssemblyState,
    now: &crate::model::Timestamp,
) -> Result<FileRow> {
    let mut f = f.ok_or_else(|| Error::not_found("no such upload being assembled"))?;
    if let Some(a) = f.assembly.as_mut() {
        a.parts.clear();
        a.state = state;
        a.updated_at = now.clone();
    }
    Ok(f)
}

/// Makes `parts` one upload stored as `to`: a single part is moved into place; several are joined
/// in order, each one's header line (the same as the first's) skipped.
fn join(
    files: &dyn FileStore,
    parts: &[Part],
    header: &[String],
    to: &str,
    scratch: &Path,
) -> Result<()> {
    if let [only] = parts {
        return files.rename_input(&only.input, to);
    }
    let header_len = {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(header).map_err(Error::csv)?;
        w.into_inner()
            .map_err(|e| Error::internal(e.to_string()))?
            .len() as u64
    };
    let mut out =
        BufWriter::with_capacity(1 << 16, std::fs::File::create(scratch).map_err(Error::io)?);
    for (i, p) in parts.iter().enumerate() {
        let from = if i == 0 { 0 } else { header_len };
        let mut input: Box<dyn Read + Send> = files.open_input(&p.input, from)?;
        std::io::copy(&mut input, &mut out).map_err(Error::io)?;
    }
    out.flush().map_err(Error::io)?;
    drop(out);
    let kept = files.put_input(to, scratch);
    let _ = std::fs::remove_file(scratch);
    kept?;
    for p in parts {
        files.delete_input(&p.input)?;
    }
    Ok(())
}
