//! Upload SQL, and the result lines of jobs.

use super::docs::{docs_where, to_doc};
use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{FileRow, Timestamp};
use crate::store::FileTx;
use rusqlite::params;
use uuid::Uuid;

impl FileTx for SqliteTx<'_> {
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

    fn append_result(&mut self, job_id: &str, offset: u64, bytes: &[u8]) -> Result<u64> {
        self.files.append_result(job_id, offset, bytes)
    }

    fn files_before(&mut self, before: &Timestamp) -> Result<Vec<FileRow>> {
        docs_where(self.conn, "_files", "created_at < ?1", &[&before.as_str()])
    }

    fn file_needed(&mut self, file_id: &str) -> Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM _tasks WHERE file_id = ?1 AND expired = 0)",
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
