//! The stored selections of batches.

use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::Selected;
use crate::store::SelectionTx;
use rusqlite::params;

impl SelectionTx for SqliteTx<'_> {
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
