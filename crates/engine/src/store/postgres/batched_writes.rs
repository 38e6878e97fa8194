//! Batched record writes on PostgreSQL, a few statements per batch instead of one per row: rows
//! travel as one array per column and are spread with `unnest`. Inserts skip taken values (`ON
//! CONFLICT DO NOTHING … RETURNING id`) and name them afterwards; updates join the arrays by id;
//! deletes match `id = ANY($1)`. A batch statement runs in a savepoint: if it fails (a unique value
//! taken by an update), the batch is undone and its rows go one by one, each failing alone. The
//! unique values a batch writes are locked first (`locks`), in one statement.

use super::locks::{lock_unique, Past};
use super::single_writes::{conflict, insert, update};
use super::tx::PgTx;
use super::value::{array_type, at, uuid, wire_type, PgValue};
use crate::error::{Error, Result};
use crate::model::{Object, Record, Stamp, Value};
use crate::store::sql::{push_ident, quote};
use crate::store::RowWrite;
use chrono::{DateTime, Utc};
use postgres::types::ToSql;
use postgres::types::Type;
use std::collections::HashSet;
use std::fmt::Write;
use uuid::Uuid;

type Param<'a> = &'a (dyn ToSql + Sync);

/// Rows grouped by the fields they write (one statement per group), keeping input positions.
fn groups<'r, 'a>(rows: &'r [RowWrite<'a>]) -> Vec<(Vec<usize>, Vec<usize>)> {
    // Rows of a chunk nearly always write the same fields: a few groups, searched in order, and
    // a key allocated only when a new group starts.
    let mut out: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    for (pos, r) in rows.iter().enumerate() {
        let fields = || r.writes.0.iter().map(|(i, _)| *i);
        match out.iter_mut().find(|(k, _)| k.iter().copied().eq(fields())) {
            Some((_, members)) => members.push(pos),
            None => out.push((fields().collect(), vec![pos])),
        }
    }
    out
}

/// One array per written field: the value each row of the group writes there.
fn columns<'a>(rows: &[RowWrite<'a>], group: &[usize], fields: usize) -> Vec<Vec<PgValue<'a>>> {
    (0..fields)
        .map(|j| {
            group
                .iter()
                .map(|&p| PgValue(&rows[p].writes.0[j].1))
                .collect()
        })
        .collect()
}

/// `unnest($1::uuid[], $4::text[], …) AS u(id, c0, …)`, the id array first.
fn unnest(obj: &Object, fields: &[usize], first_param: usize) -> String {
    let mut sql = String::from("unnest($1::uuid[]");
    for (j, i) in fields.iter().enumerate() {
        let _ = write!(
            sql,
            ", ${}::{}",
            first_param + j,
            array_type(obj.fields[*i].ty)
        );
    }
    sql.push_str(") AS u(id");
    for j in 0..fields.len() {
        let _ = write!(sql, ", c{j}");
    }
    sql.push(')');
    sql
}

fn ids_of(rows: &[postgres::Row]) -> Result<HashSet<Uuid>> {
    rows.iter()
        .map(|r| r.try_get::<_, Uuid>(0).map_err(Error::internal))
        .collect()
}

/// Batches at least this large try `COPY` first.
const COPY_MIN: usize = 32;

/// Streams one group of new records in with binary `COPY`.
#[allow(clippy::too_many_arguments)]
fn copy_group(
    tx: &mut PgTx<'_>,
    obj: &Object,
    fields: &[usize],
    rows: &[RowWrite<'_>],
    group: &[usize],
    ids: &[Uuid],
    at: &DateTime<Utc>,
    user: &String,
) -> Result<u64> {
    let mut sql = String::from("COPY ");
    push_ident(&mut sql, &obj.table());
    sql.push_str(" (id, created_at, updated_at, created_by, updated_by");
    for i in fields {
        sql.push_str(", ");
        push_ident(&mut sql, obj.fields[*i].name.as_str());
    }
    sql.push_str(") FROM STDIN (FORMAT binary)");
    let mut types = vec![
        Type::UUID,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::TEXT,
    ];
    types.extend(fields.iter().map(|i| wire_type(obj.fields[*i].ty)));
    let values: Vec<Vec<PgValue<'_>>> = group
        .iter()
        .map(|&pos| rows[pos].writes.0.iter().map(|(_, v)| PgValue(v)).collect())
        .collect();
    tx.copy_in(&sql, &types, |w| {
        let mut row: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(types.len());
        for (id, vals) in ids.iter().zip(&values) {
            row.clear();
            row.extend([id as &(dyn ToSql + Sync), at, at, user, user]);
            row.extend(vals.iter().map(|v| v as &(dyn ToSql + Sync)));
            w.write(&row)?;
        }
        Ok(())
    })
}

pub fn insert_records(
    tx: &mut PgTx<'_>,
    obj: &Object,
    rows: &[RowWrite<'_>],
    stamp: &Stamp,
) -> Result<Vec<Result<()>>> {
    let mut out: Vec<Option<Result<()>>> = (0..rows.len()).map(|_| None).collect();
    let at = at(stamp)?;
    lock_unique(tx, obj, rows, Past::Nothing)?;
    for (fields, group) in groups(rows) {
        let ids: Vec<Option<Uuid>> = group.iter().map(|&p| uuid(rows[p].id)).collect();
        if ids.iter().any(Option::is_none) {
            one_by_one(tx, rows, &group, &mut out, |tx, r| {
                insert(tx, obj, r.id, r.writes, stamp)
            });
            continue;
        }
        let ids: Vec<Uuid> = ids.into_iter().flatten().collect();
        // Most batches collide with nothing: stream them in with COPY. If one row collides, the
        // copy is undone and the batch goes through the statement that skips and names taken
        // values.
        if group.len() >= COPY_MIN {
            let copied = tx
                .isolated(|tx| copy_group(tx, obj, &fields, rows, &group, &ids, &at, &stamp.user));
            if copied.is_ok() {
                for &pos in &group {
                    out[pos] = Some(Ok(()));
                }
                continue;
            }
        }
        let mut sql = String::from("INSERT INTO ");
        push_ident(&mut sql, &obj.table());
        sql.push_str(" (id, created_at, updated_at, created_by, updated_by");
        for i in &fields {
            sql.push_str(", ");
            push_ident(&mut sql, obj.fields[*i].name.as_str());
        }
        sql.push_str(") SELECT u.id, $2, $2, $3, $3");
        for j in 0..fields.len() {
            let _ = write!(sql, ", u.c{j}");
        }
        let _ = write!(
            sql,
            " FROM {} ON CONFLICT DO NOTHING RETURNING id",
            unnest(obj, &fields, 4)
        );
        let cols = columns(rows, &group, fields.len());
        let mut p: Vec<Param<'_>> = vec![&ids, &at, &stamp.user];
        p.extend(cols.iter().map(|c| c as Param<'_>));
        match tx.isolated(|tx| tx.query(&sql, &p)) {
            Ok(returned) => {
                let inserted = ids_of(&returned)?;
                for (&pos, id) in group.iter().zip(&ids) {
                    out[pos] = Some(if inserted.contains(id) {
                        Ok(())
                    } else {
                        Err(conflict(tx, obj, *id, rows[pos].writes)?)
                    });
                }
            }
            Err(_) => one_by_one(tx, rows, &group, &mut out, |tx, r| {
                insert(tx, obj, r.id, r.writes, stamp)
            }),
        }
    }
    Ok(finish(out))
}

pub fn update_records(
    tx: &mut PgTx<'_>,
    obj: &Object,
    rows: &[RowWrite<'_>],
    stamp: &Stamp,
) -> Result<Vec<Result<bool>>> {
    let mut out: Vec<Option<Result<bool>>> = (0..rows.len()).map(|_| None).collect();
    let at = at(stamp)?;
    lock_unique(tx, obj, rows, Past::Nothing)?;
    for (fields, group) in groups(rows) {
        let ids: Vec<Option<Uuid>> = group.iter().map(|&p| uuid(rows[p].id)).collect();
        if ids.iter().any(Option::is_none) {
            one_by_one(tx, rows, &group, &mut out, |tx, r| {
                update(tx, obj, r.id, r.writes, stamp)
            });
            continue;
        }
        let ids: Vec<Uuid> = ids.into_iter().flatten().collect();
        let table = quote(&obj.table());
        let mut sql = format!("UPDATE {table} AS t SET updated_at = $2, updated_by = $3");
        for (j, i) in fields.iter().enumerate() {
            sql.push_str(", ");
            push_ident(&mut sql, obj.fields[*i].name.as_str());
            let _ = write!(sql, " = u.c{j}");
        }
        let _ = write!(
            sql,
            " FROM {} WHERE t.id = u.id RETURNING t.id",
            unnest(obj, &fields, 4)
        );
        let cols = columns(rows, &group, fields.len());
        let mut p: Vec<Param<'_>> = vec![&ids, &at, &stamp.user];
        p.extend(cols.iter().map(|c| c as Param<'_>));
        match tx.isolated(|tx| tx.query(&sql, &p)) {
            Ok(returned) => {
                let updated = ids_of(&returned)?;
                for (&pos, id) in group.iter().zip(&ids) {
                    out[pos] = Some(Ok(updated.contains(id)));
                }
            }
            Err(_) => one_by_one(tx, rows, &group, &mut out, |tx, r| {
                update(tx, obj, r.id, r.writes, stamp)
            }),
        }
    }
    Ok(finish(out))
}

pub fn delete_records(tx: &mut PgTx<'_>, obj: &Object, ids: &[&str]) -> Result<Vec<Result<bool>>> {
    let parsed: Vec<Option<Uuid>> = ids.iter().map(|id| uuid(id)).collect();
    let valid: Vec<Uuid> = parsed.iter().flatten().copied().collect();
    let sql = format!(
        "DELETE FROM {} WHERE id = ANY($1) RETURNING id",
        quote(&obj.table())
    );
    let deleted = if valid.is_empty() {
        HashSet::new()
    } else {
        ids_of(&tx.query(&sql, &[&valid])?)?
    };
    Ok(parsed
        .iter()
        .map(|id| Ok(id.is_some_and(|id| deleted.contains(&id))))
        .collect())
}

/// Writes records as they are, system fields included, in one statement.
pub fn put_records(tx: &mut PgTx<'_>, obj: &Object, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let system: Vec<Vec<Value>> = records
        .iter()
        .map(|r| {
            [
                &r.id,
                &r.created_at,
                &r.updated_at,
                &r.created_by,
                &r.updated_by,
            ]
            .iter()
            .map(|s| Value::Text((*s).clone()))
            .collect()
        })
        .collect();
    let mut cols: Vec<Vec<PgValue<'_>>> = (0..5)
        .map(|j| system.iter().map(|s| PgValue(&s[j])).collect())
        .collect();
    cols.extend(
        (0..obj.fields.len()).map(|j| records.iter().map(|r| PgValue(&r.values[j])).collect()),
    );
    let mut sql = String::from("INSERT INTO ");
    push_ident(&mut sql, &obj.table());
    sql.push_str(" SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[]");
    for (j, f) in obj.fields.iter().enumerate() {
        let _ = write!(sql, ", ${}::{}", j + 6, array_type(f.ty));
    }
    sql.push(')');
    let p: Vec<Param<'_>> = cols.iter().map(|c| c as Param<'_>).collect();
    tx.execute(&sql, &p)?;
    Ok(())
}

/// For each key, the id of the record whose `field` (or id) holds it: one join of the keys, with
/// their positions, against the table.
/// How `find_ids` holds what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    /// Until the transaction ends, no other may delete it (or change its id).
    KeyShare,
}

pub fn find_ids(
    tx: &mut PgTx<'_>,
    obj: &Object,
    field: Option<usize>,
    keys: &[&Value],
    lock: Lock,
) -> Result<Vec<Option<String>>> {
    let mut out = vec![None; keys.len()];
    if keys.is_empty() {
        return Ok(out);
    }
    let (column, ty) = match field {
        Some(f) => (
            quote(obj.fields[f].name.as_str()),
            array_type(obj.fields[f].ty),
        ),
        None => ("id".to_owned(), "uuid[]"),
    };
    // Keys that cannot name a record are left out (an id that is no UUID).
    let usable: Vec<(usize, &Value)> = keys
        .iter()
        .enumerate()
        .filter(|(_, k)| match (field, k) {
            (None, Value::Text(t)) => uuid(t).is_some(),
            (None, _) => false,
            (Some(_), k) => !k.is_null(),
        })
        .map(|(i, k)| (i, *k))
        .collect();
    let values: Vec<PgValue<'_>> = usable.iter().map(|(_, k)| PgValue(k)).collect();
    let sql = format!(
        "SELECT k.i, t.id FROM unnest($1::{ty}) WITH ORDINALITY AS k(v, i) JOIN {} AS t ON t.{column} = k.v{}",
        quote(&obj.table()),
        match lock {
            Lock::None => "",
            // A delete of a found record waits for this transaction, and then sees what it wrote.
            Lock::KeyShare => " ORDER BY t.id FOR KEY SHARE OF t",
        }
    );
    for r in tx.query(&sql, &[&values])? {
        let i: i64 = r.try_get(0).map_err(Error::internal)?;
        let id: Uuid = r.try_get(1).map_err(Error::internal)?;
        if let Some((pos, _)) = usize::try_from(i - 1).ok().and_then(|i| usable.get(i)) {
            out[*pos].get_or_insert_with(|| id.hyphenated().to_string());
        }
    }
    Ok(out)
}

/// Each row of `group` alone, in a savepoint of its own, when its batch could not go as one
/// statement.
fn one_by_one<T>(
    tx: &mut PgTx<'_>,
    rows: &[RowWrite<'_>],
    group: &[usize],
    out: &mut [Option<Result<T>>],
    f: impl Fn(&mut PgTx<'_>, &RowWrite<'_>) -> Result<T>,
) {
    for &pos in group {
        out[pos] = Some(tx.isolated(|tx| f(tx, &rows[pos])));
    }
}

fn finish<T>(out: Vec<Option<Result<T>>>) -> Vec<Result<T>> {
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::internal("a batched row was left out"))))
        .collect()
}
