//! Relation SQL on PostgreSQL: which records point at some targets, in one statement per set,
//! and the locks that keep a delete's plan true while other instances write: the records a delete
//! follows are locked `FOR UPDATE` (in id order) before and while it plans, and a write pointing at
//! a record holds it `FOR KEY SHARE` (`batched_writes::find_ids`), so each waits for the other.

use super::tx::PgTx;
use super::value::uuid;
use crate::error::{Error, Result};
use crate::model::Object;
use crate::store::sql::quote;
use uuid::Uuid;

/// The records of `obj` whose field `field` holds one of `targets`: (target, record id).
pub fn referencing(
    tx: &mut PgTx<'_>,
    obj: &Object,
    field: usize,
    targets: &[&str],
) -> Result<Vec<(String, String)>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let column = quote(obj.fields[field].name.as_str());
    let sql = format!(
        "SELECT {column}::text, id::text FROM {} WHERE {column} = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        quote(&obj.table())
    );
    let targets: Vec<Uuid> = targets.iter().filter_map(|t| uuid(t)).collect();
    tx.query(&sql, &[&targets])?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get(0).map_err(Error::internal)?,
                r.try_get(1).map_err(Error::internal)?,
            ))
        })
        .collect()
}

/// Locks `ids` of `obj`, in id order, for a delete that follows relations.
pub fn lock_for_delete(tx: &mut PgTx<'_>, obj: &Object, ids: &[&str]) -> Result<()> {
    let ids: Vec<Uuid> = ids.iter().filter_map(|t| uuid(t)).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT id FROM {} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        quote(&obj.table())
    );
    tx.query(&sql, &[&ids])?;
    Ok(())
}
