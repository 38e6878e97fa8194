//! One record written on PostgreSQL: an insert never fails on a taken unique value (`ON CONFLICT
//! DO NOTHING`, then the taken field is named); an update that writes a unique field runs in a
//! savepoint of its own. Batches fall back to these a row at a time.

use super::tx::PgTx;
use super::value::{at, params, uuid, PgValue};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Object, Stamp, Writes};
use crate::store::sql::{push_ident, quote};
use std::fmt::Write;
use uuid::Uuid;

/// Whether `writes` set a unique field (an update that may then collide with another record).
pub fn writes_unique(obj: &Object, w: &Writes) -> bool {
    w.0.iter().any(|(i, _)| obj.fields[*i].unique)
}

/// Why an insert that conflicted did: the id, or the first unique field whose value is taken.
pub fn conflict(tx: &mut PgTx<'_>, obj: &Object, id: Uuid, w: &Writes) -> Result<Error> {
    let table = quote(&obj.table());
    let taken = |field: &str| {
        Error::new(
            ErrorCode::UniqueViolation,
            format!("a record with this {field} already exists"),
        )
        .with_field(field)
    };
    if tx
        .query_opt(&format!("SELECT 1 FROM {table} WHERE id = $1"), &[&id])?
        .is_some()
    {
        return Ok(taken("id"));
    }
    for (i, v) in &w.0 {
        let f = &obj.fields[*i];
        if !f.unique || v.is_null() {
            continue;
        }
        let sql = format!(
            "SELECT 1 FROM {table} WHERE {} = $1 LIMIT 1",
            quote(f.name.as_str())
        );
        if tx.query_opt(&sql, &[&PgValue(v)])?.is_some() {
            return Ok(taken(f.name.as_str()));
        }
    }
    Ok(Error::new(
        ErrorCode::UniqueViolation,
        "a record with these values already exists",
    ))
}

fn insert_sql(obj: &Object, w: &Writes) -> String {
    let mut sql = String::with_capacity(160 + 24 * w.0.len());
    sql.push_str("INSERT INTO ");
    push_ident(&mut sql, &obj.table());
    sql.push_str(" (id, created_at, updated_at, created_by, updated_by");
    for (i, _) in &w.0 {
        sql.push_str(", ");
        push_ident(&mut sql, obj.fields[*i].name.as_str());
    }
    sql.push_str(") VALUES ($1, $2, $2, $3, $3");
    for n in 0..w.0.len() {
        let _ = write!(sql, ", ${}", n + 4);
    }
    sql.push_str(") ON CONFLICT DO NOTHING");
    sql
}

fn update_sql(obj: &Object, w: &Writes) -> String {
    let mut sql = String::with_capacity(96 + 24 * w.0.len());
    sql.push_str("UPDATE ");
    push_ident(&mut sql, &obj.table());
    sql.push_str(" SET updated_at = $1, updated_by = $2");
    for (n, (i, _)) in w.0.iter().enumerate() {
        sql.push_str(", ");
        push_ident(&mut sql, obj.fields[*i].name.as_str());
        let _ = write!(sql, " = ${}", n + 4);
    }
    sql.push_str(" WHERE id = $3");
    sql
}

pub fn insert(tx: &mut PgTx<'_>, obj: &Object, id: &str, w: &Writes, stamp: &Stamp) -> Result<()> {
    let rid = uuid(id).ok_or_else(|| Error::validation("id", format!("{id:?} is not a UUID")))?;
    let at = at(stamp)?;
    let values: Vec<PgValue<'_>> = w.0.iter().map(|(_, v)| PgValue(v)).collect();
    let p = params(&values, &[&rid, &at, &stamp.user]);
    if tx.execute(&insert_sql(obj, w), &p)? == 0 {
        return Err(conflict(tx, obj, rid, w)?);
    }
    Ok(())
}

pub fn update(
    tx: &mut PgTx<'_>,
    obj: &Object,
    id: &str,
    w: &Writes,
    stamp: &Stamp,
) -> Result<bool> {
    let Some(rid) = uuid(id) else {
        return Ok(false);
    };
    let at = at(stamp)?;
    let values: Vec<PgValue<'_>> = w.0.iter().map(|(_, v)| PgValue(v)).collect();
    let sql = update_sql(obj, w);
    let run = |tx: &mut PgTx<'_>| {
        let p = params(&values, &[&at, &stamp.user, &rid]);
        tx.execute(&sql, &p).map(|n| n > 0)
    };
    if writes_unique(obj, w) {
        tx.isolated(run)
    } else {
        run(tx)
    }
}
