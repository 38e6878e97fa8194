//! Relation SQL on SQLite: which records point at some targets, and which ids exist, each a
//! cached statement run per key (in-process, a keyed probe of an index costs less than building
//! one statement per set).

use super::tx::map_err;
use super::value::SqlValue;
use crate::error::Result;
use crate::model::{Object, Value};
use crate::store::sql::quote;
use rusqlite::Connection;

/// The records of `obj` whose field `field` holds one of `targets`: (target, record id).
pub fn referencing(
    conn: &Connection,
    obj: &Object,
    field: usize,
    targets: &[&str],
) -> Result<Vec<(String, String)>> {
    let sql = format!(
        "SELECT id FROM {} WHERE {} = ?1",
        quote(&obj.table()),
        quote(obj.fields[field].name.as_str())
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut out = Vec::new();
    for t in targets {
        let mut rows = stmt.query([t]).map_err(map_err)?;
        while let Some(row) = rows.next().map_err(map_err)? {
            out.push(((*t).to_owned(), row.get(0).map_err(map_err)?));
        }
    }
    Ok(out)
}

/// For each key, the id of the record whose field `field` (`None`: the id) holds it.
pub fn find_ids(
    conn: &Connection,
    obj: &Object,
    field: Option<usize>,
    keys: &[&Value],
) -> Result<Vec<Option<String>>> {
    let column = field.map_or_else(|| "id".to_owned(), |f| quote(obj.fields[f].name.as_str()));
    let sql = format!(
        "SELECT id FROM {} WHERE {column} = ?1 LIMIT 1",
        quote(&obj.table())
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    keys.iter()
        .map(|k| {
            if k.is_null() {
                return Ok(None);
            }
            let mut rows = stmt.query([SqlValue(k)]).map_err(map_err)?;
            match rows.next().map_err(map_err)? {
                Some(row) => Ok(Some(row.get(0).map_err(map_err)?)),
                None => Ok(None),
            }
        })
        .collect()
}
