//! Upload and job SQL.

use super::docs::{docs_where, to_doc};
use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{CallbackStatus, FileRow, Job, JobStatus, Lease, Timestamp};
use crate::store::JobTx;
use rusqlite::params;
use uuid::Uuid;

impl JobTx for SqliteTx<'_> {
    fn put_file(&mut self, f: &FileRow) -> Result<()> {
        let doc = to_doc(f)?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO _files (id, app_id, created_at, doc) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![f.id, f.app_id.to_string(), f.created_at.as_str(), doc])
            })
            .map_err(map_err)?;
        Ok(())
    }

    fn get_file(&mut self, app_id: Uuid, id: &str) -> Result<Option<FileRow>> {
        let app = app_id.to_string();
        Ok(docs_where(self.conn, "_files", "id = ?1 AND app_id = ?2", &[&id, &app])?.pop())
    }

    fn put_job(&mut self, job: &Job) -> Result<()> {
        let doc = to_doc(job)?;
        let callback = job.callback.as_ref().map(|c| c.status.as_str());
        self.conn
            .prepare_cached(
                "INSERT INTO _jobs (id, app_id, status, callback, created_at, file_id, expired, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, callback = excluded.callback,
                 expired = excluded.expired, doc = excluded.doc",
            )
            .and_then(|mut s| {
                s.execute(params![
                    job.id,
                    job.app_id.to_string(),
                    job.status.as_str(),
                    callback,
                    job.created_at.as_str(),
                    job.file_id,
                    job.result_expired,
                    doc
                ])
            })
            .map_err(map_err)?;
        Ok(())
    }

    fn get_job(&mut self, id: &str) -> Result<Option<Job>> {
        Ok(docs_where(self.conn, "_jobs", "id = ?1", &[&id])?.pop())
    }

    fn claim_job(&mut self, lease: &Lease, now: &Timestamp) -> Result<Option<Job>> {
        let Some(mut job) = self.jobs_by_status(JobStatus::Queued, 1)?.pop() else {
            return Ok(None);
        };
        job.status = JobStatus::Running;
        job.lease = Some(lease.clone());
        if job.started_at.is_none() {
            job.started_at = Some(now.clone());
        }
        self.put_job(&job)?;
        Ok(Some(job))
    }

    fn list_jobs(&mut self, app_id: Uuid, limit: usize) -> Result<Vec<Job>> {
        let (app, limit) = (app_id.to_string(), limit as i64);
        docs_where(
            self.conn,
            "_jobs",
            "app_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
            &[&app, &limit],
        )
    }

    fn jobs_by_status(&mut self, status: JobStatus, limit: usize) -> Result<Vec<Job>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        docs_where(
            self.conn,
            "_jobs",
            "status = ?1 ORDER BY created_at, id LIMIT ?2",
            &[&status.as_str(), &limit],
        )
    }

    fn queue_depth(&mut self) -> Result<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT (SELECT count(*) FROM _jobs WHERE status = 'queued'),
                        (SELECT count(*) FROM _batches WHERE status = 'running')",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(map_err)
    }

    fn jobs_with_callback(&mut self, status: CallbackStatus) -> Result<Vec<Job>> {
        docs_where(
            self.conn,
            "_jobs",
            "callback = ?1 ORDER BY created_at",
            &[&status.as_str()],
        )
    }

    fn append_result(&mut self, job_id: &str, offset: u64, bytes: &[u8]) -> Result<u64> {
        self.files.append_result(job_id, offset, bytes)
    }

    fn jobs_to_expire(&mut self, before: &Timestamp) -> Result<Vec<Job>> {
        docs_where(
            self.conn,
            "_jobs",
            "expired = 0 AND created_at < ?1 AND status IN ('completed', 'failed', 'canceled')",
            &[&before.as_str()],
        )
    }

    fn files_before(&mut self, before: &Timestamp) -> Result<Vec<FileRow>> {
        docs_where(self.conn, "_files", "created_at < ?1", &[&before.as_str()])
    }

    fn file_needed(&mut self, file_id: &str) -> Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM _jobs WHERE file_id = ?1 AND expired = 0)",
            )
            .and_then(|mut s| s.query_row([file_id], |r| r.get(0)))
            .map_err(map_err)
    }

    fn delete_file_row(&mut self, id: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM _files WHERE id = ?1", [id])
            .map_err(map_err)?;
        Ok(())
    }
}
