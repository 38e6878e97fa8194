//! Batch and selection SQL.

use super::docs::{docs_where, to_doc};
use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{Batch, BatchStatus, Selected};
use crate::store::BatchTx;
use rusqlite::params;
use uuid::Uuid;

impl BatchTx for SqliteTx<'_> {
    fn put_batch(&mut self, b: &Batch) -> Result<()> {
        let doc = to_doc(b)?;
        self.conn
            .prepare_cached(
                "INSERT INTO _batches (id, app_id, status, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
            )
            .and_then(|mut s| {
                s.execute(params![
                    b.id,
                    b.app_id.to_string(),
                    b.status.as_str(),
                    b.created_at.as_str(),
                    doc
                ])
            })
            .map_err(map_err)?;
        Ok(())
    }

    fn get_batch(&mut self, id: &str) -> Result<Option<Batch>> {
        Ok(docs_where(self.conn, "_batches", "id = ?1", &[&id])?.pop())
    }

    fn list_batches(&mut self, app_id: Uuid, offset: u64, limit: usize) -> Result<Vec<Batch>> {
        let app = app_id.to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        docs_where(
            self.conn,
            "_batches",
            "app_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3",
            &[&app, &limit, &offset],
        )
    }

    fn count_batches(&mut self, app_id: Uuid) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM _batches WHERE app_id = ?1",
                [app_id.to_string()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(map_err)
    }

    fn batches_by_status(&mut self, status: BatchStatus) -> Result<Vec<Batch>> {
        docs_where(
            self.conn,
            "_batches",
            "status = ?1 ORDER BY created_at",
            &[&status.as_str()],
        )
    }

    fn put_batch_ids(&mut self, batch: &str, ids: &[Selected]) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO _batch_ids (batch_id, seq, op, record_id) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(map_err)?;
        for s in ids {
            stmt.execute(params![batch, s.seq as i64, s.op, s.record])
                .map_err(map_err)?;
        }
        Ok(())
    }

    fn batch_ids(&mut self, batch: &str, from: u64, limit: usize) -> Result<Vec<Selected>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, op, record_id FROM _batch_ids WHERE batch_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3")
            .map_err(map_err)?;
        let rows = stmt
            .query_map(params![batch, from as i64, limit as i64], |r| {
                Ok(Selected {
                    seq: r.get::<_, i64>(0)? as u64,
                    op: r.get(1)?,
                    record: r.get(2)?,
                })
            })
            .map_err(map_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(map_err)
    }

    fn delete_batch_ids(&mut self, batch: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM _batch_ids WHERE batch_id = ?1", [batch])
            .map_err(map_err)?;
        Ok(())
    }
}
