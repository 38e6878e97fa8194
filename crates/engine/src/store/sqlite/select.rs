//! Record selections as SQL: conditions with bound parameters, keyset paging, lists and counts.

use super::records::{column_sql, read_record, select_list, SqlValue};
use super::schema::quote;
use super::tx::map_err;
use crate::error::Result;
use crate::model::{CmpOp, Cond, Object, Record, Selection, SortKey, Value};
use rusqlite::{params_from_iter, Connection};

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
