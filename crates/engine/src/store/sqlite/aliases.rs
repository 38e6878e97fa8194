//! Numeric aliases on SQLite: `_aliases` hands out numbers by its integer key, offset by
//! `ALIAS_BASE`.

use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::model::{AliasKind, ALIAS_BASE};
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
}
