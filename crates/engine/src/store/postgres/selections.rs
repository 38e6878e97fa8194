//! The stored selections of batches, on PostgreSQL.

use super::tx::PgTx;
use crate::error::Result;
use crate::model::Selected;
use crate::store::SelectionTx;

impl SelectionTx for PgTx<'_> {
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
