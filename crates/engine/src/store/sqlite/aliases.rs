//! Numeric aliases on SQLite: `_aliases` hands out numbers by its integer key, offset by
//! `ALIAS_BASE`.

use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{AliasKind, AliasRow, ALIAS_BASE};
use crate::store::AliasTx;
use rusqlite::{params, OptionalExtension};

impl AliasTx for SqliteTx<'_> {
    fn alias_numbers(
        &mut self,
        kind: AliasKind,
        ids: &[&str],
        allocate: bool,
    ) -> Result<Vec<Option<u64>>> {
        if allocate {
            let mut ins = self
                .conn
                .prepare_cached("INSERT OR IGNORE INTO _aliases (kind, id) VALUES (?1, ?2)")
                .map_err(map_err)?;
            for id in ids {
                ins.execute(params![kind.as_str(), id]).map_err(map_err)?;
            }
        }
        let mut sel = self
            .conn
            .prepare_cached("SELECT num FROM _aliases WHERE kind = ?1 AND id = ?2")
            .map_err(map_err)?;
        ids.iter()
            .map(|id| {
                let n: Option<i64> = sel
                    .query_row(params![kind.as_str(), id], |r| r.get(0))
                    .optional()
                    .map_err(map_err)?;
                Ok(n.map(|n| ALIAS_BASE + n as u64))
            })
            .collect()
    }

    fn alias_ids(&mut self, kind: AliasKind, numbers: &[u64]) -> Result<Vec<Option<String>>> {
        let mut sel = self
            .conn
            .prepare_cached("SELECT id FROM _aliases WHERE num = ?1 AND kind = ?2")
            .map_err(map_err)?;
        numbers
            .iter()
            .map(|n| {
                match n
                    .checked_sub(ALIAS_BASE)
                    .and_then(|n| i64::try_from(n).ok())
                {
                    Some(key) => sel
                        .query_row(params![key, kind.as_str()], |r| r.get(0))
                        .optional()
                        .map_err(map_err),
                    None => Ok(None),
                }
            })
            .collect()
    }

    fn alias_page(&mut self, after: i64, limit: usize) -> Result<Vec<AliasRow>> {
        let mut sel = self
            .conn
            .prepare_cached(
                "SELECT num, kind, id FROM _aliases WHERE num > ?1 ORDER BY num LIMIT ?2",
            )
            .map_err(map_err)?;
        let rows = sel
            .query_map(params![after, limit as i64], |r| {
                Ok(AliasRow {
                    key: r.get(0)?,
                    kind: r.get(1)?,
                    id: r.get(2)?,
                })
            })
            .map_err(map_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(map_err)
    }

    fn put_aliases(&mut self, rows: &[AliasRow]) -> Result<()> {
        let mut ins = self
            .conn
            .prepare_cached("INSERT INTO _aliases (num, kind, id) VALUES (?1, ?2, ?3)")
            .map_err(map_err)?;
        for a in rows {
            ins.execute(params![a.key, a.kind, a.id]).map_err(map_err)?;
        }
        Ok(())
    }
}
