//! Numeric aliases on PostgreSQL: `_aliases` hands out numbers from its `bigserial` key, offset
//! by `ALIAS_BASE`; a batch of ids is numbered and read back in one statement each.

use super::tx::PgTx;
use crate::error::Result;
use crate::model::{AliasKind, AliasRow, ALIAS_BASE};
use crate::store::AliasTx;
use std::collections::HashMap;

impl AliasTx for PgTx<'_> {
    fn alias_numbers(
        &mut self,
        kind: AliasKind,
        ids: &[&str],
        allocate: bool,
    ) -> Result<Vec<Option<u64>>> {
        let list: Vec<&str> = ids.to_vec();
        if allocate {
            // Ordered, so two writers numbering the same ids lock them in the same order.
            self.execute(
                "INSERT INTO _aliases (kind, id) SELECT $1, i FROM unnest($2::text[]) AS i ORDER BY i
                 ON CONFLICT (kind, id) DO NOTHING",
                &[&kind.as_str(), &list],
            )?;
        }
        // A join on the list, not `id = ANY($2)`: statements are prepared once per connection,
        // and a generic plan may test the list against every row of the kind (not hashed, as a
        // parameter), which grows with the table; the join looks each id up by its index.
        let rows = self.query(
            "SELECT a.id, a.num FROM unnest($2::text[]) AS i(id)
             JOIN _aliases a ON a.kind = $1 AND a.id = i.id",
            &[&kind.as_str(), &list],
        )?;
        let found: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(ids
            .iter()
            .map(|id| found.get(*id).map(|n| ALIAS_BASE + *n as u64))
            .collect())
    }

    fn alias_ids(&mut self, kind: AliasKind, numbers: &[u64]) -> Result<Vec<Option<String>>> {
        let keys: Vec<i64> = numbers
            .iter()
            .map(|n| {
                n.checked_sub(ALIAS_BASE)
                    .and_then(|n| i64::try_from(n).ok())
                    .unwrap_or(-1)
            })
            .collect();
        let rows = self.query(
            "SELECT a.num, a.id FROM unnest($2::int8[]) AS k(num)
             JOIN _aliases a ON a.num = k.num AND a.kind = $1",
            &[&kind.as_str(), &keys],
        )?;
        let found: HashMap<i64, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    fn alias_page(&mut self, after: i64, limit: usize) -> Result<Vec<AliasRow>> {
        let rows = self.query(
            "SELECT num, kind, id FROM _aliases WHERE num > $1 ORDER BY num LIMIT $2",
            &[&after, &(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| AliasRow {
                key: r.get(0),
                kind: r.get(1),
                id: r.get(2),
            })
            .collect())
    }

    fn put_aliases(&mut self, rows: &[AliasRow]) -> Result<()> {
        let keys: Vec<i64> = rows.iter().map(|a| a.key).collect();
        let kinds: Vec<&str> = rows.iter().map(|a| a.kind.as_str()).collect();
        let ids: Vec<&str> = rows.iter().map(|a| a.id.as_str()).collect();
        self.execute(
            "INSERT INTO _aliases (num, kind, id)
             SELECT * FROM unnest($1::int8[], $2::text[], $3::text[])",
            &[&keys, &kinds, &ids],
        )?;
        // Explicit keys leave the sequence behind: move it past them.
        self.execute(
            "SELECT setval(pg_get_serial_sequence('_aliases', 'num'),
                           GREATEST((SELECT max(num) FROM _aliases), 1))",
            &[],
        )?;
        Ok(())
    }
}
