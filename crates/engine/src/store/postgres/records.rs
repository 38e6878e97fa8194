//! Record SQL on PostgreSQL: the store's `RecordTx`. Inserts never fail on a taken unique value
//! (`ON CONFLICT DO NOTHING`, then the taken field is named); an update that writes a unique field
//! runs in a savepoint of its own; batched writes go through `batch`.

use super::tx::{Params, PgTx};
use super::value::{read_record, timestamp, PgValue};
use super::{batch, catalog, schema};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, Catalog, Object, Record, Selection, Stamp, Value, Writes};
use crate::store::sql::{count_sql, list_sql, push_ident, quote, select_list, Flavor};
use crate::store::{RecordTx, RowWrite, SchemaChange};
use chrono::{DateTime, Utc};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A record id as the table keeps it; text that is no UUID names no record.
pub fn uuid(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id).ok()
}

pub fn at(stamp: &Stamp) -> Result<DateTime<Utc>> {
    timestamp(stamp.at.as_str()).map_err(|e| Error::internal(e.to_string()))
}

fn params<'a>(
    values: &'a [PgValue<'a>],
    first: &[&'a (dyn postgres::types::ToSql + Sync)],
) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    let mut p: Vec<&(dyn postgres::types::ToSql + Sync)> = first.to_vec();
    p.extend(
        values
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync)),
    );
    p
}

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

fn one(tx: &mut PgTx<'_>, sql: &str, p: &Params<'_>) -> Result<Option<postgres::Row>> {
    tx.query_opt(sql, p)
}

/// Counts within `within`; `None` when that takes longer. The count runs in a savepoint, so a
/// count cut short leaves the transaction usable.
fn count_within(
    tx: &mut PgTx<'_>,
    obj: &Object,
    sel: &Selection,
    within: Duration,
) -> Result<Option<u64>> {
    if within.is_zero() {
        return Ok(None);
    }
    let (sql, values) = count_sql(Flavor::Postgres, obj, &sel.cond);
    let values: Vec<PgValue<'_>> = values.into_iter().map(PgValue).collect();
    let p = params(&values, &[]);
    let ms = within.as_millis().max(1);
    let counted = tx.isolated(|tx| {
        tx.batch(&format!("SET LOCAL statement_timeout = {ms}"))?;
        let n: i64 = one(tx, &sql, &p)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(Error::internal)?
            .unwrap_or(0);
        Ok(n as u64)
    });
    match counted {
        Ok(n) => {
            tx.batch("SET LOCAL statement_timeout TO DEFAULT")?;
            Ok(Some(n))
        }
        Err(e) if e.code == ErrorCode::Timeout => Ok(None),
        Err(e) => Err(e),
    }
}

impl RecordTx for PgTx<'_> {
    fn load_catalog(&mut self) -> Result<Catalog> {
        catalog::load_catalog(self)
    }

    fn put_app(&mut self, app: &App) -> Result<()> {
        catalog::put_app(self, app)
    }

    fn delete_app(&mut self, app: &App) -> Result<()> {
        for obj in app.objects.values() {
            schema::drop_table(self, obj)?;
        }
        catalog::delete_app(self, app.id)
    }

    fn create_object(&mut self, obj: &Object) -> Result<()> {
        catalog::put_object(self, obj)?;
        let role = self.shared.query_role.clone();
        schema::create_table(self, obj, &role)
    }

    fn put_object(&mut self, obj: &Object) -> Result<()> {
        catalog::put_object(self, obj)
    }

    fn alter_object(&mut self, obj: &Object, change: &SchemaChange) -> Result<()> {
        schema::alter_table(self, obj, change)
    }

    fn drop_object(&mut self, obj: &Object) -> Result<()> {
        schema::drop_table(self, obj)?;
        catalog::delete_object(self, obj.id)
    }

    fn insert_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        w: &Writes,
        stamp: &Stamp,
    ) -> Result<()> {
        insert(self, obj, id, w, stamp)
    }

    fn update_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        w: &Writes,
        stamp: &Stamp,
    ) -> Result<bool> {
        update(self, obj, id, w, stamp)
    }

    fn delete_record(&mut self, obj: &Object, id: &str) -> Result<bool> {
        let Some(rid) = uuid(id) else {
            return Ok(false);
        };
        let sql = format!("DELETE FROM {} WHERE id = $1", quote(&obj.table()));
        Ok(self.execute(&sql, &[&rid])? > 0)
    }

    fn get_record(&mut self, obj: &Object, id: &str) -> Result<Option<Record>> {
        let Some(rid) = uuid(id) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE id = $1",
            select_list(obj),
            quote(&obj.table())
        );
        one(self, &sql, &[&rid])?
            .map(|r| read_record(obj, &r).map_err(Error::internal))
            .transpose()
    }

    fn find_id(&mut self, obj: &Object, field: usize, value: &Value) -> Result<Option<String>> {
        let sql = format!(
            "SELECT id FROM {} WHERE {} = $1 LIMIT 1",
            quote(&obj.table()),
            quote(obj.fields[field].name.as_str())
        );
        one(self, &sql, &[&PgValue(value)])?
            .map(|r| r.try_get::<_, Uuid>(0).map(|u| u.hyphenated().to_string()))
            .transpose()
            .map_err(Error::internal)
    }

    fn list_records(&mut self, obj: &Object, sel: &Selection) -> Result<Vec<Record>> {
        let keys = sel.keys();
        let (sql, values) = list_sql(Flavor::Postgres, obj, sel, &keys);
        let values: Vec<PgValue<'_>> = values.into_iter().map(PgValue).collect();
        self.query(&sql, &params(&values, &[]))?
            .iter()
            .map(|r| read_record(obj, r).map_err(Error::internal))
            .collect()
    }

    fn put_records(&mut self, obj: &Object, records: &[Record]) -> Result<()> {
        batch::put_records(self, obj, records)
    }

    fn count_records(
        &mut self,
        obj: &Object,
        sel: &Selection,
        within: Duration,
    ) -> Result<Option<u64>> {
        count_within(self, obj, sel, within)
    }

    fn find_ids(
        &mut self,
        obj: &Object,
        field: Option<usize>,
        keys: &[&Value],
    ) -> Result<Vec<Option<String>>> {
        batch::find_ids(self, obj, field, keys)
    }

    fn insert_records(
        &mut self,
        obj: &Arc<Object>,
        rows: &[RowWrite<'_>],
        stamp: &Stamp,
    ) -> Result<Vec<Result<()>>> {
        batch::insert_records(self, obj, rows, stamp)
    }

    fn update_records(
        &mut self,
        obj: &Arc<Object>,
        rows: &[RowWrite<'_>],
        stamp: &Stamp,
    ) -> Result<Vec<Result<bool>>> {
        batch::update_records(self, obj, rows, stamp)
    }

    fn delete_records(&mut self, obj: &Object, ids: &[&str]) -> Result<Vec<Result<bool>>> {
        batch::delete_records(self, obj, ids)
    }
}
