//! Record selections on SQLite: lists, in-place scans and counts (the SQL is built in `store::sql`).

use super::tx::map_err;
use super::value::{read_record, SqlValue};
use crate::error::{ErrorCode, Result};
use crate::model::{FieldType, Object, Record, RecordRef, Selection, ValueRef};
use crate::store::sql::{count_sql, list_sql, Flavor};
use rusqlite::{params_from_iter, Connection};
use std::time::{Duration, Instant};

pub fn list(conn: &Connection, obj: &Object, sel: &Selection) -> Result<Vec<Record>> {
    let keys = sel.keys();
    let (sql, params) = list_sql(Flavor::Sqlite, obj, sel, &keys);
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter().map(|v| SqlValue(v))), |r| {
            read_record(obj, r)
        })
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
}

/// Steps through the records `sel` selects, handing each to `row` borrowed from the statement.
pub fn scan(
    conn: &Connection,
    obj: &Object,
    sel: &Selection,
    row: &mut dyn FnMut(&RecordRef<'_>) -> Result<()>,
) -> Result<()> {
    let keys = sel.keys();
    let (sql, params) = list_sql(Flavor::Sqlite, obj, sel, &keys);
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let mut rows = stmt
        .query(params_from_iter(params.iter().map(|v| SqlValue(v))))
        .map_err(map_err)?;
    while let Some(r) = rows.next().map_err(map_err)? {
        let text = |i: usize| -> Result<&str> {
            r.get_ref(i).and_then(|v| Ok(v.as_str()?)).map_err(map_err)
        };
        let mut values = Vec::with_capacity(obj.fields.len());
        for (i, f) in obj.fields.iter().enumerate() {
            values.push(value_ref(r.get_ref(5 + i).map_err(map_err)?, f.ty).map_err(map_err)?);
        }
        row(&RecordRef {
            id: text(0)?,
            created_at: text(1)?,
            updated_at: text(2)?,
            created_by: text(3)?,
            updated_by: text(4)?,
            values: &values,
        })?;
    }
    Ok(())
}

fn value_ref(v: rusqlite::types::ValueRef<'_>, ty: FieldType) -> rusqlite::Result<ValueRef<'_>> {
    if v == rusqlite::types::ValueRef::Null {
        return Ok(ValueRef::Null);
    }
    Ok(match ty {
        FieldType::Text | FieldType::Relation => ValueRef::Text(v.as_str()?),
        FieldType::Date => ValueRef::Date(v.as_str()?),
        FieldType::Datetime => ValueRef::DateTime(v.as_str()?),
        FieldType::Json => ValueRef::Json(v.as_str()?),
        FieldType::Integer => ValueRef::Integer(v.as_i64()?),
        FieldType::Number => ValueRef::Number(v.as_f64()?),
        FieldType::Boolean => ValueRef::Boolean(v.as_i64()? != 0),
    })
}

/// Counts with a deadline: `None` when the count is interrupted at `within`.
pub fn count_within(
    conn: &Connection,
    obj: &Object,
    sel: &Selection,
    within: Duration,
) -> Result<Option<u64>> {
    let deadline = Instant::now() + within;
    let _ = conn.progress_handler(1000, Some(move || Instant::now() > deadline));
    let counted = count(conn, obj, sel);
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    match counted {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.code == ErrorCode::Timeout => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn count(conn: &Connection, obj: &Object, sel: &Selection) -> Result<u64> {
    let (sql, params) = count_sql(Flavor::Sqlite, obj, &sel.cond);
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    stmt.query_row(params_from_iter(params.iter().map(|v| SqlValue(v))), |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
    .map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CmpOp, Column, Cond, ObjectSpec, SortKey, Timestamp, Value};
    use crate::store::sql::quote;
    use serde_json::json;

    fn obj() -> Object {
        let spec: ObjectSpec = serde_json::from_value(json!({"name": "o", "fields": [
            {"name": "name", "type": "text"}, {"name": "age", "type": "integer"}
        ]}))
        .unwrap();
        Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap()
    }

    /// A filter on an indexed field reads the index, not the whole table.
    #[test]
    fn filters_on_indexed_fields_use_the_index() {
        let spec: ObjectSpec = serde_json::from_value(json!({"name": "o", "fields": [
            {"name": "name", "type": "text"}, {"name": "age", "type": "integer", "indexed": true}
        ]}))
        .unwrap();
        let o = Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap();
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::create_table(&conn, &o).unwrap();
        let plan = |cond: Cond, sort: Vec<SortKey>| {
            let sel = Selection {
                cond,
                sort,
                limit: 10,
                offset: 0,
                after: None,
            };
            let keys = sel.keys();
            let (sql, params) = list_sql(Flavor::Sqlite, &o, &sel, &keys);
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = stmt
                .query_map(params_from_iter(params.iter().map(|v| SqlValue(v))), |r| {
                    r.get::<_, String>(3)
                })
                .unwrap();
            rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
        };
        let by_age = plan(
            Cond::Cmp(Column::Field(1), CmpOp::Eq, Value::Integer(40)),
            vec![],
        );
        assert!(
            by_age.contains("USING INDEX") && by_age.contains("_i_age"),
            "{by_age}"
        );
        let by_name = plan(
            Cond::Cmp(Column::Field(0), CmpOp::Eq, Value::Text("x".into())),
            vec![],
        );
        assert!(
            by_name.contains("SCAN"),
            "an unindexed field scans: {by_name}"
        );
        let sorted = plan(
            Cond::Cmp(Column::Field(1), CmpOp::Gte, Value::Integer(40)),
            vec![SortKey {
                column: Column::Field(1),
                desc: true,
            }],
        );
        assert!(sorted.contains("_i_age"), "{sorted}");
    }

    /// The builder's SQL runs, and pages through rows with equal sort values without losing any.
    #[test]
    fn pages_cover_every_row_once() {
        let o = obj();
        let conn = Connection::open_in_memory().unwrap();
        super::super::schema::create_table(&conn, &o).unwrap();
        for i in 0..25 {
            conn.execute(
                &format!("INSERT INTO {} (id, created_at, updated_at, created_by, updated_by, \"name\", \"age\") VALUES (?1, 't', 't', 'u', 'u', ?2, ?3)", quote(&o.table())),
                rusqlite::params![format!("{i:03}"), format!("n{i}"), (i % 3 == 0).then_some(i % 4)],
            )
            .unwrap();
        }
        let mut sel = Selection {
            cond: Cond::True,
            sort: vec![SortKey {
                column: Column::Field(1),
                desc: false,
            }],
            limit: 4,
            offset: 0,
            after: None,
        };
        let mut seen = Vec::new();
        loop {
            let page = list(&conn, &o, &sel).unwrap();
            let Some(last) = page.last() else { break };
            sel.after = Some(vec![last.values[1].clone(), Value::Text(last.id.clone())]);
            seen.extend(page.into_iter().map(|r| r.id));
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!((seen.len(), sorted.len()), (25, 25));
        assert_eq!(count(&conn, &o, &sel).unwrap(), 25);
    }
}
