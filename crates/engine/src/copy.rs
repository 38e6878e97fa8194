//! Copying a whole instance into another store (moving from embedded SQLite to PostgreSQL): apps
//! and objects, records with their system fields, users, app tokens, numeric aliases (with their
//! numbers, which clients holding ids as integers have stored), finished jobs with their uploads
//! and result lines, and finished batches; then the counts of both sides are compared. The
//! source is only read, page by page; the target must be empty. Login sessions, and jobs or
//! batches still queued or running, stay behind (and are counted as such).

use crate::core::Core;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, Cond, Object, Record, Selection, Value};
use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

/// Records read and written per transaction.
const PAGE: usize = 5_000;
/// Result bytes written per transaction.
const RESULT_PIECE: usize = 4 << 20;
/// How long a count may take.
const COUNT_WITHIN: Duration = Duration::from_secs(3600);

/// How far a copy is.
pub enum CopyProgress {
    /// Records to copy in all.
    Total(u64),
    /// Records of `object` (`app.object`) are being copied.
    Object(String),
    /// This many more records are copied.
    Records(u64),
}

/// One line of the final check: what was counted, on each side (`checked`: the two must agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub what: String,
    pub source: u64,
    pub target: u64,
    pub checked: bool,
}

impl Counted {
    fn new(what: impl Into<String>, source: u64, target: u64) -> Self {
        Self {
            what: what.into(),
            source,
            target,
            checked: true,
        }
    }
}

async fn count(core: &Core, obj: &Arc<Object>) -> Result<u64> {
    let obj = obj.clone();
    core.read(move |ctx| {
        let sel = Selection {
            cond: Cond::True,
            sort: Vec::new(),
            limit: 0,
            offset: 0,
            after: None,
        };
        ctx.tx
            .count_records(&obj, &sel, COUNT_WITHIN)?
            .ok_or_else(|| Error::new(ErrorCode::Timeout, "counting took too long"))
    })
    .await
}

fn target_object(to: &Core, app: &App, obj: &Object) -> Result<Arc<Object>> {
    to.catalog()
        .app(app.name.as_str())
        .and_then(|a| a.object(obj.name.as_str()).cloned())
        .ok_or_else(|| Error::internal("a copied object is missing"))
}

async fn copy_records(
    from: &Core,
    to: &Core,
    app: &App,
    obj: &Arc<Object>,
    progress: &(dyn Fn(CopyProgress) + Send + Sync),
) -> Result<()> {
    let target = target_object(to, app, obj)?;
    progress(CopyProgress::Object(format!("{}.{}", app.name, obj.name)));
    let mut after: Option<String> = None;
    loop {
        let (src, last) = (obj.clone(), after.clone());
        let page: Vec<Record> = from
            .read(move |ctx| {
                let sel = Selection {
                    cond: Cond::True,
                    sort: Vec::new(),
                    limit: PAGE,
                    offset: 0,
                    after: last.clone().map(|id| vec![Value::Text(id)]),
                };
                ctx.tx.list_records(&src, &sel)
            })
            .await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.id.clone());
        let n = page.len() as u64;
        let obj = target.clone();
        to.transact(move |ctx| ctx.tx.put_records(&obj, &page))
            .await?;
        progress(CopyProgress::Records(n));
    }
}

/// Copies a finished job: its upload (once per file), its result lines, then the job.
async fn copy_job(
    from: &Core,
    to: &Core,
    job: crate::model::Job,
    files: &mut HashSet<String>,
) -> Result<()> {
    let (app_id, file_id) = (job.app_id, job.file_id.clone());
    if files.insert(file_id.clone()) {
        let fid = file_id.clone();
        if let Some(file) = from.read(move |ctx| ctx.tx.get_file(app_id, &fid)).await? {
            let (src, dst, id) = (from.store.files(), to.store.files(), file_id.clone());
            tokio::task::spawn_blocking(move || -> Result<()> {
                let (path, mut tmp) = tempfile_in_temp()?;
                let copied = src.open_input(&id, 0).and_then(|mut input| {
                    std::io::copy(&mut input, &mut tmp).map_err(Error::io)?;
                    drop(tmp);
                    dst.put_input(&id, &path)
                });
                if copied.is_err() {
                    let _ = std::fs::remove_file(&path);
                }
                copied
            })
            .await
            .map_err(Error::internal)??;
            to.transact(move |ctx| ctx.tx.put_file(&file)).await?;
        }
    }
    let (src, id, len) = (
        from.store.files(),
        job.id.clone(),
        job.checkpoint.result_offset,
    );
    let mut lines = tokio::task::spawn_blocking(move || src.open_result(&id, len))
        .await
        .map_err(Error::internal)??;
    let mut offset = 0u64;
    loop {
        let (piece, rest) = tokio::task::spawn_blocking(move || {
            let mut piece = Vec::with_capacity(RESULT_PIECE);
            let got = (&mut lines)
                .take(RESULT_PIECE as u64)
                .read_to_end(&mut piece)
                .map_err(Error::io);
            got.map(|_| (piece, lines))
        })
        .await
        .map_err(Error::internal)??;
        lines = rest;
        if piece.is_empty() {
            break;
        }
        let (id, at) = (job.id.clone(), offset);
        offset = to
            .transact(move |ctx| ctx.tx.append_result(&id, at, &piece))
            .await?;
    }
    to.transact(move |ctx| ctx.tx.put_job(&job)).await
}

/// A temporary file for an upload on its way.
fn tempfile_in_temp() -> Result<(std::path::PathBuf, std::fs::File)> {
    let path = std::env::temp_dir().join(format!("sluice-copy-{}.csv", uuid::Uuid::new_v4()));
    let file = std::fs::File::create(&path).map_err(Error::io)?;
    Ok((path, file))
}

pub async fn run(
    from: &Core,
    to: &Core,
    progress: &(dyn Fn(CopyProgress) + Send + Sync),
) -> Result<Vec<Counted>> {
    if to.catalog().apps().next().is_some() {
        return Err(Error::new(
            ErrorCode::Conflict,
            "the target already holds apps; copy into an empty database",
        ));
    }
    let source = from.catalog();
    let apps: Vec<Arc<App>> = source.apps().cloned().collect();
    let copied = apps.clone();
    to.transact(move |ctx| {
        for app in &copied {
            ctx.tx.put_app(app)?;
            for obj in app.objects.values() {
                ctx.tx.create_object(obj)?;
            }
        }
        *ctx.catalog = Arc::new(ctx.tx.load_catalog()?);
        Ok(())
    })
    .await?;
    let mut total = 0;
    let mut counts = Vec::new();
    for app in &apps {
        for obj in app.objects.values() {
            let n = count(from, obj).await?;
            total += n;
            counts.push((app.clone(), obj.clone(), n));
        }
    }
    progress(CopyProgress::Total(total));
    for (app, obj, _) in &counts {
        copy_records(from, to, app, obj, progress).await?;
    }
    let mut report = Vec::new();
    for (app, obj, n) in &counts {
        let target = count(to, &target_object(to, app, obj)?).await?;
        report.push(Counted::new(
            format!("records {}.{}", app.name, obj.name),
            *n,
            target,
        ));
    }
    report.extend(copy_principals(from, to, &apps).await?);
    report.push(copy_aliases(from, to).await?);
    report.extend(copy_work(from, to, &apps).await?);
    Ok(report)
}

/// Users and app tokens.
async fn copy_principals(from: &Core, to: &Core, apps: &[Arc<App>]) -> Result<Vec<Counted>> {
    let mut users = Vec::new();
    for app in apps {
        let id = app.id;
        users.extend(from.read(move |ctx| ctx.tx.list_users(id)).await?);
    }
    let tokens = from.read(|ctx| ctx.tx.key_tokens()).await?;
    let (u, t) = (users.clone(), tokens.clone());
    to.transact(move |ctx| {
        for user in &u {
            ctx.tx.insert_user(user)?;
        }
        for (token, hash) in &t {
            ctx.tx.insert_token(token, hash)?;
        }
        Ok(())
    })
    .await?;
    let mut target_users = 0;
    for app in apps {
        let id = app.id;
        target_users += to.read(move |ctx| ctx.tx.list_users(id)).await?.len() as u64;
    }
    let target_tokens = to.read(|ctx| ctx.tx.key_tokens()).await?.len() as u64;
    Ok(vec![
        Counted::new("users", users.len() as u64, target_users),
        Counted::new("app tokens", tokens.len() as u64, target_tokens),
    ])
}

/// Every numeric alias, page by page, with its number.
async fn copy_aliases(from: &Core, to: &Core) -> Result<Counted> {
    let copied = alias_pages(from, |page| {
        to.transact(move |ctx| ctx.tx.put_aliases(&page))
    })
    .await?;
    let target = alias_pages(to, |_| async { Ok(()) }).await?;
    Ok(Counted::new("numeric aliases", copied, target))
}

/// Hands `core`'s aliases to `each` a page at a time, in key order; how many there were.
async fn alias_pages<F: std::future::Future<Output = Result<()>>>(
    core: &Core,
    mut each: impl FnMut(Vec<crate::model::AliasRow>) -> F,
) -> Result<u64> {
    let (mut after, mut n) = (0i64, 0u64);
    loop {
        let page = core.read(move |ctx| ctx.tx.alias_page(after, PAGE)).await?;
        let Some(last) = page.last() else {
            return Ok(n);
        };
        after = last.key;
        n += page.len() as u64;
        each(page).await?;
    }
}

/// Finished jobs (with uploads and results) and finished batches.
async fn copy_work(from: &Core, to: &Core, apps: &[Arc<App>]) -> Result<Vec<Counted>> {
    let (mut jobs, mut left, mut batches) = (0u64, 0u64, 0u64);
    let mut files = HashSet::new();
    for app in apps {
        let id = app.id;
        for job in from
            .read(move |ctx| ctx.tx.list_jobs(id, usize::MAX))
            .await?
        {
            if !job.status.is_final() {
                left += 1;
                continue;
            }
            copy_job(from, to, job, &mut files).await?;
            jobs += 1;
        }
        for batch in from
            .read(move |ctx| ctx.tx.list_batches(id, 0, usize::MAX))
            .await?
        {
            if !batch.is_final() {
                left += 1;
                continue;
            }
            to.transact(move |ctx| ctx.tx.put_batch(&batch)).await?;
            batches += 1;
        }
    }
    let mut target_jobs = 0;
    let mut target_batches = 0;
    for app in apps {
        let id = app.id;
        target_jobs += to
            .read(move |ctx| ctx.tx.list_jobs(id, usize::MAX))
            .await?
            .len() as u64;
        target_batches += to.read(move |ctx| ctx.tx.count_batches(id)).await?;
    }
    Ok(vec![
        Counted::new("finished jobs", jobs, target_jobs),
        Counted::new("finished batches", batches, target_batches),
        Counted {
            checked: false,
            ..Counted::new("unfinished jobs and batches (left behind)", left, 0)
        },
    ])
}
