//! Record selections as SQL: conditions with bound parameters, keyset paging, lists and counts.

use super::records::{column_sql, read_record, select_list, SqlValue};
use super::schema::quote;
use super::tx::map_err;
use crate::error::{ErrorCode, Result};
use crate::model::{CmpOp, Cond, Object, Record, Selection, SortKey, Value};
use rusqlite::{params_from_iter, Connection};
use std::time::{Duration, Instant};

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

/// The SQL of a list (the selection's page, in its order) and its parameters.
fn list_sql<'a>(
    obj: &'a Object,
    sel: &'a Selection,
    keys: &'a [SortKey],
) -> (String, Vec<&'a Value>) {
    let w = where_clause(obj, &sel.cond, sel.after.as_deref().map(|a| (keys, a)));
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
    (sql, w.params)
}

pub fn list(conn: &Connection, obj: &Object, sel: &Selection) -> Result<Vec<Record>> {
    let keys = sel.keys();
    let (sql, params) = list_sql(obj, sel, &keys);
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter().map(|v| SqlValue(v))), |r| {
            read_record(obj, r)
        })
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(map_err)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, ObjectSpec, Timestamp};
    use serde_json::json;

    fn obj() -> Object {
        let spec: ObjectSpec = serde_json::from_value(json!({"name": "o", "fields": [
            {"name": "name", "type": "text"}, {"name": "age", "type": "integer"}
        ]}))
        .unwrap();
        Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap()
    }

    fn sql(cond: &Cond) -> (String, usize) {
        let o = obj();
        let w = where_clause(&o, cond, None);
        (w.sql, w.params.len())
    }

    #[test]
    fn conditions_bind_every_value() {
        let name = Column::Field(0);
        let age = Column::Field(1);
        let c = Cond::And(vec![
            Cond::Cmp(age, CmpOp::Gte, Value::Integer(30)),
            Cond::Or(vec![
                Cond::In(
                    name,
                    vec![Value::Text("a".into()), Value::Text("b".into())],
                    false,
                ),
                Cond::IsNull(name, true),
            ]),
            Cond::Not(Box::new(Cond::Between(
                age,
                Value::Integer(1),
                Value::Integer(2),
            ))),
        ]);
        assert_eq!(
            sql(&c),
            (
                " WHERE (\"age\" >= ? AND (\"name\" IN (?, ?) OR \"name\" IS NULL) AND NOT (\"age\" BETWEEN ? AND ?))"
                    .to_owned(),
                5
            )
        );
    }

    #[test]
    fn nulls_and_empty_lists_need_no_parameter() {
        let name = Column::Field(0);
        assert_eq!(
            sql(&Cond::Cmp(name, CmpOp::Eq, Value::Null)).0,
            " WHERE \"name\" IS NULL"
        );
        assert_eq!(
            sql(&Cond::Cmp(name, CmpOp::Ne, Value::Null)).0,
            " WHERE \"name\" IS NOT NULL"
        );
        assert_eq!(
            sql(&Cond::Cmp(name, CmpOp::Gt, Value::Null)),
            (" WHERE 0".to_owned(), 0)
        );
        assert_eq!(
            sql(&Cond::In(name, vec![], false)),
            (" WHERE 0".to_owned(), 0)
        );
        assert_eq!(
            sql(&Cond::In(name, vec![], true)),
            (" WHERE 1".to_owned(), 0)
        );
        assert_eq!(sql(&Cond::True).0, " WHERE 1");
    }

    #[test]
    fn text_matches_escape_wildcards() {
        let (s, n) = sql(&Cond::Cmp(
            Column::Field(0),
            CmpOp::Contains,
            Value::Text("50%_off".into()),
        ));
        assert_eq!(n, 1);
        assert!(
            s.contains("'%'||replace(replace(replace(CAST(? AS TEXT)"),
            "{s}"
        );
        assert!(s.ends_with(r"||'%' ESCAPE '\'"), "{s}");
    }

    #[test]
    fn keyset_paging_continues_after_the_last_row() {
        let o = obj();
        let keys = [
            SortKey {
                column: Column::Field(1),
                desc: true,
            },
            SortKey {
                column: Column::Id,
                desc: true,
            },
        ];
        let after = [Value::Integer(40), Value::Text("x".into())];
        let w = where_clause(&o, &Cond::True, Some((&keys, &after)));
        assert_eq!(
            w.sql,
            " WHERE 1 AND (((\"age\" < ? OR \"age\" IS NULL)) OR (\"age\" IS ? AND (id < ? OR id IS NULL)))"
        );
        assert_eq!(w.params.len(), 3);
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
            let (sql, params) = list_sql(&o, &sel, &keys);
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
