//! Upload, job and batch SQL on PostgreSQL. A write transaction locks the job or batch it reads
//! (`FOR UPDATE`), and the queue is claimed with `FOR UPDATE SKIP LOCKED`, so instances sharing the
//! database never take the same job.

use super::catalog::{docs_where, to_doc};
use super::tx::PgTx;
use crate::error::Result;
use crate::model::{
    Batch, BatchStatus, CallbackStatus, FileRow, Job, JobStatus, Lease, Selected, Timestamp,
};
use crate::store::{BatchTx, JobTx};
use uuid::Uuid;

impl JobTx for PgTx<'_> {
    fn put_file(&mut self, f: &FileRow) -> Result<()> {
        let doc = to_doc(f)?;
        self.execute(
            "INSERT INTO _files (id, app_id, created_at, doc) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET app_id = excluded.app_id, doc = excluded.doc",
            &[&f.id, &f.app_id, &f.created_at.as_str(), &doc],
        )?;
        Ok(())
    }

    fn get_file(&mut self, app_id: Uuid, id: &str) -> Result<Option<FileRow>> {
        Ok(docs_where(self, "_files", "id = $1 AND app_id = $2", &[&id, &app_id])?.pop())
    }

    fn put_job(&mut self, job: &Job) -> Result<()> {
        let doc = to_doc(job)?;
        let callback = job.callback.as_ref().map(|c| c.status.as_str());
        self.execute(
            "INSERT INTO _jobs (id, app_id, status, callback, created_at, file_id, expired, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, callback = excluded.callback,
             expired = excluded.expired, doc = excluded.doc",
            &[
                &job.id,
                &job.app_id,
                &job.status.as_str(),
                &callback,
                &job.created_at.as_str(),
                &job.file_id,
                &job.result_expired,
                &doc,
            ],
        )?;
        Ok(())
    }

    fn get_job(&mut self, id: &str) -> Result<Option<Job>> {
        let lock = self.for_update();
        Ok(docs_where(self, "_jobs", &format!("id = $1{lock}"), &[&id])?.pop())
    }

    fn claim_job(&mut self, lease: &Lease, now: &Timestamp) -> Result<Option<Job>> {
        let found: Option<Job> = docs_where(
            self,
            "_jobs",
            "status = $1 ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            &[&JobStatus::Queued.as_str()],
        )?
        .pop();
        let Some(mut job) = found else {
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        docs_where(
            self,
            "_jobs",
            "app_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            &[&app_id, &limit],
        )
    }

    fn jobs_by_status(&mut self, status: JobStatus, limit: usize) -> Result<Vec<Job>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        docs_where(
            self,
            "_jobs",
            "status = $1 ORDER BY created_at, id LIMIT $2",
            &[&status.as_str(), &limit],
        )
    }

    fn queue_depth(&mut self) -> Result<(u64, u64)> {
        let row = self.query_opt(
            "SELECT (SELECT count(*) FROM _jobs WHERE status = 'queued'),
                    (SELECT count(*) FROM _batches WHERE status = 'running')",
            &[],
        )?;
        Ok(row.map_or((0, 0), |r| {
            let n = |i| r.try_get::<_, i64>(i).unwrap_or(0).max(0) as u64;
            (n(0), n(1))
        }))
    }

    fn jobs_with_callback(&mut self, status: CallbackStatus) -> Result<Vec<Job>> {
        docs_where(
            self,
            "_jobs",
            "callback = $1 ORDER BY created_at",
            &[&status.as_str()],
        )
    }

    fn append_result(&mut self, job_id: &str, offset: u64, bytes: &[u8]) -> Result<u64> {
        let start = i64::try_from(offset).unwrap_or(i64::MAX);
        // Anything from `offset` on is the work of a chunk that never committed.
        self.execute(
            "DELETE FROM _results WHERE job_id = $1 AND start >= $2",
            &[&job_id, &start],
        )?;
        if !bytes.is_empty() {
            self.execute(
                "INSERT INTO _results (job_id, start, data) VALUES ($1, $2, $3)",
                &[&job_id, &start, &bytes],
            )?;
        }
        Ok(offset + bytes.len() as u64)
    }

    fn jobs_to_expire(&mut self, before: &Timestamp) -> Result<Vec<Job>> {
        docs_where(
            self,
            "_jobs",
            "NOT expired AND created_at < $1 AND status IN ('completed', 'failed', 'canceled')",
            &[&before.as_str()],
        )
    }

    fn files_before(&mut self, before: &Timestamp) -> Result<Vec<FileRow>> {
        docs_where(self, "_files", "created_at < $1", &[&before.as_str()])
    }

    fn file_needed(&mut self, file_id: &str) -> Result<bool> {
        let row = self.query_opt(
            "SELECT EXISTS (SELECT 1 FROM _jobs WHERE file_id = $1 AND NOT expired)",
            &[&file_id],
        )?;
        Ok(row.is_some_and(|r| r.try_get::<_, bool>(0).unwrap_or(true)))
    }

    fn delete_file_row(&mut self, id: &str) -> Result<()> {
        self.execute("DELETE FROM _files WHERE id = $1", &[&id])?;
        Ok(())
    }
}

impl BatchTx for PgTx<'_> {
    fn put_batch(&mut self, b: &Batch) -> Result<()> {
        let doc = to_doc(b)?;
        self.execute(
            "INSERT INTO _batches (id, app_id, status, created_at, doc) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
            &[
                &b.id,
                &b.app_id,
                &b.status.as_str(),
                &b.created_at.as_str(),
                &doc,
            ],
        )?;
        Ok(())
    }

    fn get_batch(&mut self, id: &str) -> Result<Option<Batch>> {
        let lock = self.for_update();
        Ok(docs_where(self, "_batches", &format!("id = $1{lock}"), &[&id])?.pop())
    }

    fn list_batches(&mut self, app_id: Uuid, offset: u64, limit: usize) -> Result<Vec<Batch>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        docs_where(
            self,
            "_batches",
            "app_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
            &[&app_id, &limit, &offset],
        )
    }

    fn count_batches(&mut self, app_id: Uuid) -> Result<u64> {
        let row = self.query_opt(
            "SELECT count(*) FROM _batches WHERE app_id = $1",
            &[&app_id],
        )?;
        Ok(row.map_or(0, |r| r.try_get::<_, i64>(0).unwrap_or(0).max(0) as u64))
    }

    fn batches_by_status(&mut self, status: BatchStatus) -> Result<Vec<Batch>> {
        docs_where(
            self,
            "_batches",
            "status = $1 ORDER BY created_at",
            &[&status.as_str()],
        )
    }

    fn put_batch_ids(&mut self, batch: &str, ids: &[Selected]) -> Result<()> {
        let seqs: Vec<i64> = ids.iter().map(|s| s.seq as i64).collect();
        let ops: Vec<i32> = ids.iter().map(|s| s.op as i32).collect();
        let records: Vec<&str> = ids.iter().map(|s| s.record.as_str()).collect();
        self.execute(
            "INSERT INTO _batch_ids (batch_id, seq, op, record_id)
             SELECT $1, * FROM unnest($2::int8[], $3::int4[], $4::text[])",
            &[&batch, &seqs, &ops, &records],
        )?;
        Ok(())
    }

    fn batch_ids(&mut self, batch: &str, from: u64, limit: usize) -> Result<Vec<Selected>> {
        let (from, limit) = (from as i64, limit as i64);
        self.query(
            "SELECT seq, op, record_id FROM _batch_ids WHERE batch_id = $1 AND seq >= $2
             ORDER BY seq LIMIT $3",
            &[&batch, &from, &limit],
        )?
        .iter()
        .map(|r| {
            Ok(Selected {
                seq: r
                    .try_get::<_, i64>(0)
                    .map_err(crate::error::Error::internal)? as u64,
                op: r
                    .try_get::<_, i32>(1)
                    .map_err(crate::error::Error::internal)? as u32,
                record: r.try_get(2).map_err(crate::error::Error::internal)?,
            })
        })
        .collect()
    }

    fn delete_batch_ids(&mut self, batch: &str) -> Result<()> {
        self.execute("DELETE FROM _batch_ids WHERE batch_id = $1", &[&batch])?;
        Ok(())
    }
}
