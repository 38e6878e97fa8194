//! Export SQL.

use super::docs::{docs_where, to_doc};
use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{CallbackStatus, Export, ExportStatus, Lease, Timestamp};
use crate::store::ExportTx;
use rusqlite::params;
use uuid::Uuid;

impl ExportTx for SqliteTx<'_> {
    fn put_export(&mut self, e: &Export) -> Result<()> {
        let doc = to_doc(e)?;
        let callback = e.callback.as_ref().map(|c| c.status.as_str());
        self.conn
            .prepare_cached(
                "INSERT INTO _exports (id, app_id, status, callback, created_at, expired, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                 callback = excluded.callback, expired = excluded.expired, doc = excluded.doc",
            )
            .and_then(|mut s| {
                s.execute(params![
                    e.id,
                    e.app_id.to_string(),
                    e.status.as_str(),
                    callback,
                    e.created_at.as_str(),
                    e.expired,
                    doc
                ])
            })
            .map_err(map_err)?;
        Ok(())
    }

    fn get_export(&mut self, id: &str) -> Result<Option<Export>> {
        Ok(docs_where(self.conn, "_exports", "id = ?1", &[&id])?.pop())
    }

    fn claim_export(&mut self, lease: &Lease, now: &Timestamp) -> Result<Option<Export>> {
        let queued: Option<Export> = docs_where(
            self.conn,
            "_exports",
            "status = 'queued' ORDER BY created_at, id LIMIT 1",
            &[],
        )?
        .pop();
        let Some(mut e) = queued else {
            return Ok(None);
        };
        e.claim(lease, now);
        self.put_export(&e)?;
        Ok(Some(e))
    }

    fn list_exports(&mut self, app_id: Uuid, offset: u64, limit: usize) -> Result<Vec<Export>> {
        let app = app_id.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        docs_where(
            self.conn,
            "_exports",
            "app_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3",
            &[&app, &limit, &offset],
        )
    }

    fn count_exports(&mut self, app_id: Uuid) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM _exports WHERE app_id = ?1",
                [app_id.to_string()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(map_err)
    }

    fn exports_by_status(&mut self, status: ExportStatus) -> Result<Vec<Export>> {
        docs_where(
            self.conn,
            "_exports",
            "status = ?1 ORDER BY created_at, id",
            &[&status.as_str()],
        )
    }

    fn exports_with_callback(&mut self, status: CallbackStatus) -> Result<Vec<Export>> {
        docs_where(
            self.conn,
            "_exports",
            "callback = ?1 ORDER BY created_at",
            &[&status.as_str()],
        )
    }

    fn exports_to_expire(&mut self, before: &Timestamp) -> Result<Vec<Export>> {
        docs_where(
            self.conn,
            "_exports",
            "expired = 0 AND created_at < ?1 AND status IN ('completed', 'failed', 'canceled')",
            &[&before.as_str()],
        )
    }
}
