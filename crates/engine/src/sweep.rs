//! The sweeper: a background task that drops what has outlived its time, every ten minutes on every
//! instance (each step is its own transaction; instances may overlap, and a second pass finds
//! nothing left): expired idempotency keys; past the result retention (`--result-ttl`) the files of
//! finished exports, the result lines of finished jobs and local caches; and past `--upload-ttl`
//! the uploads no job with a kept result reads.

use crate::core::Core;
use crate::error::Result;
use crate::model::{Stored, Timestamp};
use crate::tasks::every;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the sweeper runs: often enough that an unused upload goes within `--upload-ttl` and a
/// few minutes.
pub const SWEEP_EVERY: Duration = Duration::from_secs(600);

pub fn start(core: &Arc<Core>, cache: PathBuf) {
    let c = core.clone();
    every(core, SWEEP_EVERY, move || {
        let (c, cache) = (c.clone(), cache.clone());
        async move {
            match c.purge_idempotency_keys().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "dropped expired idempotency keys"),
                Err(e) => tracing::warn!(error = %e, "could not drop expired idempotency keys"),
            }
            match expire_results(&c, &cache).await {
                Ok(Swept {
                    exports: 0,
                    jobs: 0,
                    uploads: 0,
                }) => {}
                Ok(s) => tracing::info!(
                    exports = s.exports,
                    jobs = s.jobs,
                    uploads = s.uploads,
                    "deleted files past the result retention"
                ),
                Err(e) => tracing::warn!(error = %e, "could not delete expired result files"),
            }
        }
    });
}

/// What one sweep deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub exports: usize,
    pub jobs: usize,
    pub uploads: usize,
}

/// Deletes what finished more than the result retention ago. Each item is marked expired first
/// and its file deleted after, so a crash in between leaves an unreachable file, never a kept
/// record pointing at a missing one.
pub async fn expire_results(core: &Core, cache: &std::path::Path) -> Result<Swept> {
    let ttl = core.settings.result_ttl;
    let now = core.settings.clock.now();
    let cutoff = Timestamp::at(now - ttl);
    // An upload goes once no job uses it and it is older than the shorter of the two times (a job
    // uses its upload while its result is kept).
    let unused = Timestamp::at(now - core.settings.upload_ttl.min(ttl));
    let c = cutoff.clone();
    let (exports, jobs, uploads, parts) = core
        .transact(move |ctx| {
            let old = |t: &Option<Timestamp>| t.as_ref().is_some_and(|t| *t < c);
            let mut exports = Vec::new();
            for mut e in ctx.tx.exports_to_expire(&c)? {
                if old(&e.completed_at) {
                    e.expired = true;
                    ctx.tx.put_export(&e)?;
                    exports.push((e.id, e.stored));
                }
            }
            let mut jobs = Vec::new();
            for mut j in ctx.tx.jobs_to_expire(&c)? {
                if old(&j.completed_at) {
                    j.result_expired = true;
                    ctx.tx.put_job(&j)?;
                    jobs.push(j.id);
                }
            }
            let mut uploads = Vec::new();
            let mut parts = Vec::new();
            for f in ctx.tx.files_before(&unused)? {
                if !ctx.tx.file_needed(&f.id)? {
                    ctx.tx.delete_file_row(&f.id)?;
                    // The parts of an assembly never completed go with it.
                    let assembled = f.assembly.iter().flat_map(|a| a.parts.iter());
                    parts.extend(assembled.map(|p| p.input.clone()));
                    uploads.push(f.id);
                }
            }
            Ok((
                exports.clone(),
                jobs.clone(),
                uploads.clone(),
                parts.clone(),
            ))
        })
        .await?;
    let files = core.store.files();
    let swept = Swept {
        exports: exports.len(),
        jobs: jobs.len(),
        uploads: uploads.len(),
    };
    let cache = cache.to_owned();
    tokio::task::spawn_blocking(move || -> Result<()> {
        for (id, stored) in exports {
            match stored {
                Some(Stored::File(f)) => files.delete_input(&f)?,
                _ => files.delete_result(&id)?,
            }
        }
        for id in jobs {
            files.delete_result(&id)?;
        }
        for id in uploads.iter().chain(&parts) {
            files.delete_input(id)?;
        }
        clear_cache(&cache, SystemTime::now() - ttl);
        Ok(())
    })
    .await
    .map_err(crate::error::Error::internal)??;
    Ok(swept)
}

/// Removes cached renderings (result ZIPs) last written before `before`.
fn clear_cache(dir: &std::path::Path, before: SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < before);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
