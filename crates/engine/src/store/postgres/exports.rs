//! Export SQL on PostgreSQL: a write transaction locks the export it reads (`FOR UPDATE`), and the
//! queue is claimed with `FOR UPDATE SKIP LOCKED`, so instances never take the same export.

use super::catalog::{docs_where, to_doc};
use super::tx::PgTx;
use crate::error::Result;
use crate::model::{CallbackStatus, Export, ExportStatus, Lease, Timestamp};
use crate::store::ExportTx;
use uuid::Uuid;

impl ExportTx for PgTx<'_> {
    fn put_export(&mut self, e: &Export) -> Result<()> {
        let doc = to_doc(e)?;
        let callback = e.callback.as_ref().map(|c| c.status.as_str());
        self.execute(
            "INSERT INTO _exports (id, app_id, status, callback, created_at, expired, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status,
             callback = excluded.callback, expired = excluded.expired, doc = excluded.doc",
            &[
                &e.id,
                &e.app_id,
                &e.status.as_str(),
                &callback,
                &e.created_at.as_str(),
                &e.expired,
                &doc,
            ],
        )?;
        Ok(())
    }

    fn get_export(&mut self, id: &str) -> Result<Option<Export>> {
        let lock = self.for_update();
        Ok(docs_where(self, "_exports", &format!("id = $1{lock}"), &[&id])?.pop())
    }

    fn claim_export(&mut self, lease: &Lease, now: &Timestamp) -> Result<Option<Export>> {
        let queued: Option<Export> = docs_where(
            self,
            "_exports",
            "status = 'queued' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        docs_where(
            self,
            "_exports",
            "app_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
            &[&app_id, &limit, &offset],
        )
    }

    fn count_exports(&mut self, app_id: Uuid) -> Result<u64> {
        let row = self.query_opt(
            "SELECT count(*) FROM _exports WHERE app_id = $1",
            &[&app_id],
        )?;
        Ok(row.map_or(0, |r| r.try_get::<_, i64>(0).unwrap_or(0).max(0) as u64))
    }

    fn exports_by_status(&mut self, status: ExportStatus) -> Result<Vec<Export>> {
        docs_where(
            self,
            "_exports",
            "status = $1 ORDER BY created_at, id",
            &[&status.as_str()],
        )
    }

    fn exports_with_callback(&mut self, status: CallbackStatus) -> Result<Vec<Export>> {
        docs_where(
            self,
            "_exports",
            "callback = $1 ORDER BY created_at",
            &[&status.as_str()],
        )
    }

    fn exports_to_expire(&mut self, before: &Timestamp) -> Result<Vec<Export>> {
        docs_where(
            self,
            "_exports",
            "NOT expired AND created_at < $1 AND status IN ('completed', 'failed', 'canceled')",
            &[&before.as_str()],
        )
    }
}
