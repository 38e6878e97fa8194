//! Record SQL: inserts, updates, deletes and point reads; the store's `RecordTx`.

use super::prepared::{Kind, Prepared};
use super::tx::{map_err, SqliteTx};
use super::value::{read_record, SqlValue};
use super::{catalog, relations, schema, select};
use crate::error::Result;
use crate::model::{App, Catalog, Object, Record, RecordRef, Selection, Stamp, Value, Writes};
use crate::store::sql::{push_ident, quote, select_list};
use crate::store::{RecordTx, SchemaChange};
use rusqlite::{Connection, Statement};
use std::sync::Arc;
use std::time::Duration;

fn push_param(sql: &mut String, n: usize) {
    use std::fmt::Write;
    let _ = write!(sql, "?{n}");
}

fn insert_sql(obj: &Object, w: &Writes) -> String {
    let mut sql = String::with_capacity(128 + 24 * w.0.len());
    sql.push_str("INSERT INTO ");
    push_ident(&mut sql, &obj.table());
    sql.push_str(" (id, created_at, updated_at, created_by, updated_by");
    for (i, _) in &w.0 {
        sql.push_str(", ");
        push_ident(&mut sql, obj.fields[*i].name.as_str());
    }
    sql.push_str(") VALUES (?1, ?2, ?2, ?3, ?3");
    for n in 0..w.0.len() {
        sql.push_str(", ");
        push_param(&mut sql, n + 4);
    }
    sql.push(')');
    sql
}

fn update_sql(obj: &Object, w: &Writes) -> String {
    let mut sql = String::with_capacity(96 + 24 * w.0.len());
    sql.push_str("UPDATE ");
    push_ident(&mut sql, &obj.table());
    sql.push_str(" SET updated_at = ?1, updated_by = ?2");
    for (n, (i, _)) in w.0.iter().enumerate() {
        sql.push_str(", ");
        push_ident(&mut sql, obj.fields[*i].name.as_str());
        sql.push_str(" = ");
        push_param(&mut sql, n + 4);
    }
    sql.push_str(" WHERE id = ?3");
    sql
}

/// Binds the three leading parameters and the written values, then runs the statement.
fn bind_and_run(stmt: &mut Statement<'_>, first: [&str; 3], w: &Writes) -> Result<usize> {
    for (n, p) in first.iter().enumerate() {
        stmt.raw_bind_parameter(n + 1, p).map_err(map_err)?;
    }
    for (n, (_, v)) in w.0.iter().enumerate() {
        stmt.raw_bind_parameter(n + 4, SqlValue(v))
            .map_err(map_err)?;
    }
    stmt.raw_execute().map_err(map_err)
}

/// Runs an insert or update through the per-transaction statements, or SQLite's statement cache.
fn write<'c>(
    conn: &'c Connection,
    prepared: &mut Prepared<'c>,
    obj: &Arc<Object>,
    w: &Writes,
    kind: Kind,
    first: [&str; 3],
) -> Result<usize> {
    let sql = || match kind {
        Kind::Insert => insert_sql(obj, w),
        Kind::Update => update_sql(obj, w),
    };
    match prepared.get(conn, obj, w, kind, sql).map_err(map_err)? {
        Some(stmt) => bind_and_run(stmt, first, w),
        None => bind_and_run(
            &mut *conn.prepare_cached(&sql()).map_err(map_err)?,
            first,
            w,
        ),
    }
}

fn insert<'c>(
    conn: &'c Connection,
    prepared: &mut Prepared<'c>,
    obj: &Arc<Object>,
    id: &str,
    w: &Writes,
    stamp: &Stamp,
) -> Result<()> {
    write(
        conn,
        prepared,
        obj,
        w,
        Kind::Insert,
        [id, stamp.at.as_str(), &stamp.user],
    )
    .map(|_| ())
}

fn update<'c>(
    conn: &'c Connection,
    prepared: &mut Prepared<'c>,
    obj: &Arc<Object>,
    id: &str,
    w: &Writes,
    stamp: &Stamp,
) -> Result<bool> {
    write(
        conn,
        prepared,
        obj,
        w,
        Kind::Update,
        [stamp.at.as_str(), &stamp.user, id],
    )
    .map(|n| n > 0)
}

fn delete(conn: &Connection, obj: &Object, id: &str) -> Result<bool> {
    let sql = format!("DELETE FROM {} WHERE id = ?1", quote(&obj.table()));
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    Ok(stmt.execute([id]).map_err(map_err)? > 0)
}

fn get(conn: &Connection, obj: &Object, id: &str) -> Result<Option<Record>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1",
        select_list(obj),
        quote(&obj.table())
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query([id]).map_err(map_err)?;
    match rows.next().map_err(map_err)? {
        Some(row) => Ok(Some(read_record(obj, row).map_err(map_err)?)),
        None => Ok(None),
    }
}

impl RecordTx for SqliteTx<'_> {
    fn load_catalog(&mut self) -> Result<Catalog> {
        catalog::load_catalog(self.conn)
    }

    fn put_app(&mut self, app: &App) -> Result<()> {
        catalog::put_app(self.conn, app)
    }

    fn delete_app(&mut self, app: &App) -> Result<()> {
        for obj in app.objects.values() {
            schema::drop_table(self.conn, obj)?;
        }
        catalog::delete_app(self.conn, app.id)
    }

    fn create_object(&mut self, obj: &Object) -> Result<()> {
        catalog::put_object(self.conn, obj)?;
        schema::create_table(self.conn, obj)
    }

    fn put_object(&mut self, obj: &Object) -> Result<()> {
        catalog::put_object(self.conn, obj)
    }

    fn alter_object(&mut self, obj: &Object, change: &SchemaChange) -> Result<()> {
        schema::alter_table(self.conn, obj, change)
    }

    fn drop_object(&mut self, obj: &Object) -> Result<()> {
        schema::drop_table(self.conn, obj)?;
        catalog::delete_object(self.conn, obj.id)
    }

    fn insert_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        writes: &Writes,
        stamp: &Stamp,
    ) -> Result<()> {
        insert(self.conn, &mut self.prepared, obj, id, writes, stamp)
    }

    fn update_record(
        &mut self,
        obj: &Arc<Object>,
        id: &str,
        writes: &Writes,
        stamp: &Stamp,
    ) -> Result<bool> {
        update(self.conn, &mut self.prepared, obj, id, writes, stamp)
    }

    fn delete_record(&mut self, obj: &Object, id: &str) -> Result<bool> {
        delete(self.conn, obj, id)
    }

    fn get_record(&mut self, obj: &Object, id: &str) -> Result<Option<Record>> {
        get(self.conn, obj, id)
    }

    fn find_id(&mut self, obj: &Object, field: usize, value: &Value) -> Result<Option<String>> {
        Ok(relations::find_ids(self.conn, obj, Some(field), &[value])?
            .pop()
            .flatten())
    }

    fn find_ids(
        &mut self,
        obj: &Object,
        field: Option<usize>,
        keys: &[&Value],
    ) -> Result<Vec<Option<String>>> {
        relations::find_ids(self.conn, obj, field, keys)
    }

    fn referencing(
        &mut self,
        obj: &Object,
        field: usize,
        targets: &[&str],
    ) -> Result<Vec<(String, String)>> {
        relations::referencing(self.conn, obj, field, targets)
    }

    fn list_records(&mut self, obj: &Object, sel: &Selection) -> Result<Vec<Record>> {
        select::list(self.conn, obj, sel)
    }

    fn scan_records(
        &mut self,
        obj: &Object,
        sel: &Selection,
        row: &mut dyn FnMut(&RecordRef<'_>) -> Result<()>,
    ) -> Result<()> {
        select::scan(self.conn, obj, sel, row)
    }

    fn put_records(&mut self, obj: &Object, records: &[Record]) -> Result<()> {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES (?1, ?2, ?3, ?4, ?5",
            quote(&obj.table()),
            select_list(obj)
        );
        for n in 0..obj.fields.len() {
            sql.push_str(", ");
            push_param(&mut sql, n + 6);
        }
        sql.push(')');
        let mut stmt = self.conn.prepare_cached(&sql).map_err(map_err)?;
        for r in records {
            let system = [
                &r.id,
                &r.created_at,
                &r.updated_at,
                &r.created_by,
                &r.updated_by,
            ];
            for (n, v) in system.iter().enumerate() {
                stmt.raw_bind_parameter(n + 1, v).map_err(map_err)?;
            }
            for (n, v) in r.values.iter().enumerate() {
                stmt.raw_bind_parameter(n + 6, SqlValue(v))
                    .map_err(map_err)?;
            }
            stmt.raw_execute().map_err(map_err)?;
        }
        Ok(())
    }

    fn count_records(
        &mut self,
        obj: &Object,
        sel: &Selection,
        within: Duration,
    ) -> Result<Option<u64>> {
        select::count_within(self.conn, obj, sel, within)
    }
}
