//! Record SQL: inserts, updates, deletes, point reads, and selections (conditions, keyset paging, counts).

use super::prepared::{Kind, Prepared};
use super::schema::{push_ident, quote};
use super::tx::map_err;
use crate::error::Result;
use crate::model::{
    CmpOp, Column, Cond, FieldType, Object, Record, Selection, SortKey, Stamp, Value, Writes,
};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection, Row, Statement, ToSql};
use std::sync::Arc;

/// A value bound as a SQL parameter.
pub struct SqlValue<'a>(pub &'a Value);

impl ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Text(s) | Value::Date(s) | Value::DateTime(s) | Value::Json(s) => {
                ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
            }
            Value::Integer(i) => ToSqlOutput::Owned((*i).into()),
            Value::Number(f) => ToSqlOutput::Owned((*f).into()),
            Value::Boolean(b) => ToSqlOutput::Owned(i64::from(*b).into()),
        })
    }
}

fn column_sql(obj: &Object, c: Column) -> String {
    match c {
        Column::Field(i) => quote(obj.fields[i].name.as_str()),
        other => other.name(obj).to_owned(),
    }
}

fn select_list(obj: &Object) -> String {
    let mut s = String::from("id, created_at, updated_at, created_by, updated_by");
    for f in &obj.fields {
        s.push_str(", ");
        s.push_str(&quote(f.name.as_str()));
    }
    s
}

fn read_value(row: &Row<'_>, idx: usize, ty: FieldType) -> rusqlite::Result<Value> {
    let v = row.get_ref(idx)?;
    if v == ValueRef::Null {
        return Ok(Value::Null);
    }
    Ok(match ty {
        FieldType::Text => Value::Text(v.as_str()?.to_owned()),
        FieldType::Date => Value::Date(v.as_str()?.to_owned()),
        FieldType::Datetime => Value::DateTime(v.as_str()?.to_owned()),
        FieldType::Json => Value::Json(v.as_str()?.to_owned()),
        FieldType::Integer => Value::Integer(v.as_i64()?),
        FieldType::Number => Value::Number(v.as_f64()?),
        FieldType::Boolean => Value::Boolean(v.as_i64()? != 0),
    })
}

fn read_record(obj: &Object, row: &Row<'_>) -> rusqlite::Result<Record> {
    let mut values = Vec::with_capacity(obj.fields.len());
    for (i, f) in obj.fields.iter().enumerate() {
        values.push(read_value(row, 5 + i, f.ty)?);
    }
    Ok(Record {
        id: row.get(0)?,
        created_at: row.get(1)?,
        updated_at: row.get(2)?,
        created_by: row.get(3)?,
        updated_by: row.get(4)?,
        values,
    })
}

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
    match prepared.get(conn, obj, w, kind, sql)? {
        Some(stmt) => bind_and_run(stmt, first, w),
        None => bind_and_run(
            &mut *conn.prepare_cached(&sql()).map_err(map_err)?,
            first,
            w,
        ),
    }
}

pub fn insert<'c>(
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

pub fn update<'c>(
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

pub fn delete(conn: &Connection, obj: &Object, id: &str) -> Result<bool> {
    let sql = format!("DELETE FROM {} WHERE id = ?1", quote(&obj.table()));
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    Ok(stmt.execute([id]).map_err(map_err)? > 0)
}

pub fn get(conn: &Connection, obj: &Object, id: &str) -> Result<Option<Record>> {
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

pub fn find_id(
    conn: &Connection,
    obj: &Object,
    field: usize,
    value: &Value,
) -> Result<Option<String>> {
    let sql = format!(
        "SELECT id FROM {} WHERE {} = ?1 LIMIT 1",
        quote(&obj.table()),
        quote(obj.fields[field].name.as_str())
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt.query([SqlValue(value)]).map_err(map_err)?;
    match rows.next().map_err(map_err)? {
        Some(row) => Ok(Some(row.get(0).map_err(map_err)?)),
        None => Ok(None),
    }
}

/// Builds SQL conditions with bound parameters.
struct Where<'a> {
    obj: &'a Object,
    sql: String,
    params: Vec<&'a Value>,
}

impl<'a> Where<'a> {
    fn push(&mut self, v: &'a Value) {
        self.params.push(v);
        self.sql.push('?');
    }

    fn cond(&mut self, c: &'a Cond) {
        match c {
            Cond::True => self.sql.push('1'),
            Cond::And(cs) | Cond::Or(cs) if cs.is_empty() => self.sql.push('1'),
            Cond::And(cs) | Cond::Or(cs) => {
                let joiner = if matches!(c, Cond::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.sql.push('(');
                for (i, sub) in cs.iter().enumerate() {
                    if i > 0 {
                        self.sql.push_str(joiner);
                    }
                    self.cond(sub);
                }
                self.sql.push(')');
            }
            Cond::Not(c) => {
                self.sql.push_str("NOT (");
                self.cond(c);
                self.sql.push(')');
            }
            Cond::Cmp(col, op, v) => {
                let col = column_sql(self.obj, *col);
                if v.is_null() {
                    let null_test = match op {
                        CmpOp::Ne => "IS NOT NULL",
                        CmpOp::Eq => "IS NULL",
                        _ => {
                            self.sql.push('0');
                            return;
                        }
                    };
                    self.sql.push_str(&format!("{col} {null_test}"));
                    return;
                }
                let (op, like) = match op {
                    CmpOp::Eq => ("=", None),
                    CmpOp::Ne => ("IS NOT", None),
                    CmpOp::Gt => (">", None),
                    CmpOp::Gte => (">=", None),
                    CmpOp::Lt => ("<", None),
                    CmpOp::Lte => ("<=", None),
                    CmpOp::Like => ("LIKE", None),
                    CmpOp::StartsWith => ("LIKE", Some(("", "||'%'"))),
                    CmpOp::EndsWith => ("LIKE", Some(("'%'||", ""))),
                    CmpOp::Contains => ("LIKE", Some(("'%'||", "||'%'"))),
                };
                self.sql.push_str(&format!("{col} {op} "));
                match like {
                    // The value is matched literally: its own % and _ are escaped.
                    Some((pre, post)) => {
                        self.sql.push_str(pre);
                        self.sql.push_str("replace(replace(replace(CAST(");
                        self.push(v);
                        self.sql
                            .push_str(r" AS TEXT), '\', '\\'), '%', '\%'), '_', '\_')");
                        self.sql.push_str(post);
                        self.sql.push_str(r" ESCAPE '\'");
                    }
                    None => self.push(v),
                }
            }
            Cond::In(col, vs, negate) => {
                let col = column_sql(self.obj, *col);
                if vs.is_empty() {
                    self.sql.push_str(if *negate { "1" } else { "0" });
                    return;
                }
                self.sql
                    .push_str(&format!("{col} {}IN (", if *negate { "NOT " } else { "" }));
                for (i, v) in vs.iter().enumerate() {
                    if i > 0 {
                        self.sql.push_str(", ");
                    }
                    self.push(v);
                }
                self.sql.push(')');
            }
            Cond::IsNull(col, null) => {
                let col = column_sql(self.obj, *col);
                self.sql
                    .push_str(&format!("{col} IS {}NULL", if *null { "" } else { "NOT " }));
            }
            Cond::Between(col, lo, hi) => {
                let col = column_sql(self.obj, *col);
                self.sql.push_str(&format!("{col} BETWEEN "));
                self.push(lo);
                self.sql.push_str(" AND ");
                self.push(hi);
            }
        }
    }

    /// Rows strictly after `after` in the order of `keys` (NULLs sort first ascending, last descending).
    fn after(&mut self, keys: &[SortKey], after: &'a [Value]) {
        self.sql.push_str(" AND (");
        for i in 0..keys.len() {
            if i > 0 {
                self.sql.push_str(" OR ");
            }
            self.sql.push('(');
            for (k, v) in keys.iter().zip(after).take(i) {
                self.sql
                    .push_str(&format!("{} IS ", column_sql(self.obj, k.column)));
                self.push(v);
                self.sql.push_str(" AND ");
            }
            let (k, v) = (keys[i], &after[i]);
            let col = column_sql(self.obj, k.column);
            match (k.desc, v.is_null()) {
                (false, true) => self.sql.push_str(&format!("{col} IS NOT NULL")),
                (false, false) => {
                    self.sql.push_str(&format!("{col} > "));
                    self.push(v);
                }
                (true, true) => self.sql.push('0'),
                (true, false) => {
                    self.sql.push_str(&format!("({col} < "));
                    self.push(v);
                    self.sql.push_str(&format!(" OR {col} IS NULL)"));
                }
            }
            self.sql.push(')');
        }
        self.sql.push(')');
    }
}

fn where_clause<'a>(
    obj: &'a Object,
    cond: &'a Cond,
    after: Option<(&'a [SortKey], &'a [Value])>,
) -> Where<'a> {
    let mut w = Where {
        obj,
        sql: String::from(" WHERE "),
        params: Vec::new(),
    };
    w.cond(cond);
    if let Some((keys, values)) = after {
        w.after(keys, values);
    }
    w
}

pub fn list(conn: &Connection, obj: &Object, sel: &Selection) -> Result<Vec<Record>> {
    let keys = sel.keys();
    let w = where_clause(
        obj,
        &sel.cond,
        sel.after.as_deref().map(|a| (keys.as_slice(), a)),
    );
    let order: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{}{}",
                column_sql(obj, k.column),
                if k.desc { " DESC" } else { "" }
            )
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT {} OFFSET {}",
        select_list(obj),
        quote(&obj.table()),
        w.sql,
        order.join(", "),
        sel.limit,
        sel.offset
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(
            params_from_iter(w.params.iter().map(|v| SqlValue(v))),
            |r| read_record(obj, r),
        )
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

pub fn count(conn: &Connection, obj: &Object, sel: &Selection) -> Result<u64> {
    let w = where_clause(obj, &sel.cond, None);
    let sql = format!("SELECT count(*) FROM {}{}", quote(&obj.table()), w.sql);
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    stmt.query_row(
        params_from_iter(w.params.iter().map(|v| SqlValue(v))),
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(map_err)
}
