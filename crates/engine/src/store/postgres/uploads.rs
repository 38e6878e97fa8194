//! Upload SQL on PostgreSQL, and the result lines of jobs.

use super::catalog::{docs_where, to_doc};
use super::tx::PgTx;
use crate::error::Result;
use crate::model::{FileRow, Timestamp};
use crate::store::FileTx;
use uuid::Uuid;

impl FileTx for PgTx<'_> {
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

    fn files_before(&mut self, before: &Timestamp) -> Result<Vec<FileRow>> {
        docs_where(self, "_files", "created_at < $1", &[&before.as_str()])
    }

    fn file_needed(&mut self, file_id: &str) -> Result<bool> {
        let row = self.query_opt(
            "SELECT EXISTS (SELECT 1 FROM _tasks WHERE file_id = $1 AND NOT expired)",
            &[&file_id],
        )?;
        Ok(row.is_some_and(|r| r.try_get::<_, bool>(0).unwrap_or(true)))
    }

    fn delete_file_row(&mut self, id: &str) -> Result<()> {
        self.execute("DELETE FROM _files WHERE id = $1", &[&id])?;
        Ok(())
    }
}
