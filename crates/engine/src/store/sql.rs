//! SQL text both backends share: quoted identifiers, record columns, and record selections
//! (conditions with bound parameters, keyset paging, orders), written in either backend's flavour.

use crate::model::{CmpOp, Column, Cond, FieldType, Object, Selection, SortKey, Value};
use std::fmt::Write;

/// Where the two SQL dialects differ for selections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Sqlite,
    Postgres,
}

impl Flavor {
    fn truth(self, b: bool) -> &'static str {
        match (self, b) {
            (Flavor::Sqlite, true) => "1",
            (Flavor::Sqlite, false) => "0",
            (Flavor::Postgres, true) => "TRUE",
            (Flavor::Postgres, false) => "FALSE",
        }
    }

    /// Null-safe equality and its negation.
    fn is(self, negate: bool) -> &'static str {
        match (self, negate) {
            (Flavor::Sqlite, false) => "IS",
            (Flavor::Sqlite, true) => "IS NOT",
            (Flavor::Postgres, false) => "IS NOT DISTINCT FROM",
            (Flavor::Postgres, true) => "IS DISTINCT FROM",
        }
    }

    /// SQLite's LIKE ignores ASCII case; PostgreSQL needs ILIKE for the same matches.
    fn like(self) -> &'static str {
        match self {
            Flavor::Sqlite => "LIKE",
            Flavor::Postgres => "ILIKE",
        }
    }
}

/// Quotes an identifier; names are already checked identifiers, this is defence in depth.
pub fn quote(ident: &str) -> String {
    let mut s = String::with_capacity(ident.len() + 2);
    push_ident(&mut s, ident);
    s
}

/// Appends `"ident"` to `sql` without allocating.
pub fn push_ident(sql: &mut String, ident: &str) {
    sql.push('"');
    if !ident.contains('"') {
        sql.push_str(ident);
        sql.push('"');
        return;
    }
    for c in ident.chars() {
        if c == '"' {
            sql.push('"');
        }
        sql.push(c);
    }
    sql.push('"');
}

pub fn column_sql(obj: &Object, c: Column) -> String {
    match c {
        Column::Field(i) => quote(obj.fields[i].name.as_str()),
        other => other.name(obj).to_owned(),
    }
}

/// Whether a column holds text in the store (LIKE applies to it as it is).
fn is_text(obj: &Object, c: Column) -> bool {
    match c {
        Column::Field(i) => obj.fields[i].ty == FieldType::Text,
        Column::CreatedBy | Column::UpdatedBy => true,
        _ => false,
    }
}

/// The system columns, then the object's fields, in field order.
pub fn select_list(obj: &Object) -> String {
    let mut s = String::from("id, created_at, updated_at, created_by, updated_by");
    for f in &obj.fields {
        s.push_str(", ");
        push_ident(&mut s, f.name.as_str());
    }
    s
}

/// Builds SQL conditions with bound parameters.
pub struct Where<'a> {
    flavor: Flavor,
    obj: &'a Object,
    pub sql: String,
    pub params: Vec<&'a Value>,
}

impl<'a> Where<'a> {
    fn push(&mut self, v: &'a Value) {
        self.params.push(v);
        match self.flavor {
            Flavor::Sqlite => self.sql.push('?'),
            Flavor::Postgres => {
                let _ = write!(self.sql, "${}", self.params.len());
            }
        }
    }

    fn truth(&mut self, b: bool) {
        self.sql.push_str(self.flavor.truth(b));
    }

    fn cond(&mut self, c: &'a Cond) {
        match c {
            Cond::True => self.truth(true),
            Cond::And(cs) | Cond::Or(cs) if cs.is_empty() => self.truth(true),
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
            Cond::Cmp(col, op, v) => self.cmp(*col, *op, v),
            Cond::Search(cols, _) if cols.is_empty() => self.truth(false),
            Cond::Search(cols, v) => {
                self.sql.push('(');
                for (i, col) in cols.iter().enumerate() {
                    if i > 0 {
                        self.sql.push_str(" OR ");
                    }
                    self.cmp(*col, CmpOp::Contains, v);
                }
                self.sql.push(')');
            }
            Cond::In(col, vs, negate) => {
                let col = column_sql(self.obj, *col);
                if vs.is_empty() {
                    self.truth(*negate);
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
            Cond::Related(field, target, c) => {
                let _ = write!(
                    self.sql,
                    "{} IN (SELECT id FROM {} WHERE ",
                    column_sql(self.obj, Column::Field(*field)),
                    quote(&target.table())
                );
                let outer = std::mem::replace(&mut self.obj, target);
                self.cond(c);
                self.obj = outer;
                self.sql.push(')');
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

    fn cmp(&mut self, column: Column, op: CmpOp, v: &'a Value) {
        let col = column_sql(self.obj, column);
        if v.is_null() {
            match op {
                CmpOp::Ne => self.sql.push_str(&format!("{col} IS NOT NULL")),
                CmpOp::Eq => self.sql.push_str(&format!("{col} IS NULL")),
                _ => self.truth(false),
            }
            return;
        }
        let like = match op {
            CmpOp::Eq => None,
            CmpOp::Ne => {
                self.sql
                    .push_str(&format!("{col} {} ", self.flavor.is(true)));
                self.push(v);
                return;
            }
            CmpOp::Gt | CmpOp::Gte | CmpOp::Lt | CmpOp::Lte => None,
            CmpOp::Like => Some(None),
            CmpOp::StartsWith => Some(Some(("", "||'%'"))),
            CmpOp::EndsWith => Some(Some(("'%'||", ""))),
            CmpOp::Contains => Some(Some(("'%'||", "||'%'"))),
        };
        let Some(affixes) = like else {
            let sign = match op {
                CmpOp::Gt => ">",
                CmpOp::Gte => ">=",
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                _ => "=",
            };
            self.sql.push_str(&format!("{col} {sign} "));
            self.push(v);
            return;
        };
        // PostgreSQL matches only text: other columns are matched as their text.
        if self.flavor == Flavor::Postgres && !is_text(self.obj, column) {
            self.sql.push_str(&format!("CAST({col} AS TEXT)"));
        } else {
            self.sql.push_str(&col);
        }
        self.sql.push_str(&format!(" {} ", self.flavor.like()));
        match affixes {
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
            // A client's own pattern; like SQLite's, PostgreSQL's has no escape character then.
            None => {
                self.push(v);
                if self.flavor == Flavor::Postgres {
                    self.sql.push_str(" ESCAPE ''");
                }
            }
        }
    }

    /// Rows strictly after `after` in the order of `keys` (NULLs sort first ascending, last
    /// descending, on both backends).
    fn after(&mut self, keys: &[SortKey], after: &'a [Value]) {
        self.sql.push_str(" AND (");
        for i in 0..keys.len() {
            if i > 0 {
                self.sql.push_str(" OR ");
            }
            self.sql.push('(');
            for (k, v) in keys.iter().zip(after).take(i) {
                let col = column_sql(self.obj, k.column);
                self.sql
                    .push_str(&format!("{col} {} ", self.flavor.is(false)));
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
                (true, true) => self.truth(false),
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

pub fn where_clause<'a>(
    flavor: Flavor,
    obj: &'a Object,
    cond: &'a Cond,
    after: Option<(&'a [SortKey], &'a [Value])>,
) -> Where<'a> {
    let mut w = Where {
        flavor,
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
pub fn list_sql<'a>(
    flavor: Flavor,
    obj: &'a Object,
    sel: &'a Selection,
    keys: &'a [SortKey],
) -> (String, Vec<&'a Value>) {
    let w = where_clause(
        flavor,
        obj,
        &sel.cond,
        sel.after.as_deref().map(|a| (keys, a)),
    );
    let nulls = |desc: bool| match (flavor, desc) {
        (Flavor::Sqlite, _) => "",
        (Flavor::Postgres, false) => " NULLS FIRST",
        (Flavor::Postgres, true) => " NULLS LAST",
    };
    let order: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "{}{}{}",
                column_sql(obj, k.column),
                if k.desc { " DESC" } else { "" },
                nulls(k.desc)
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

/// The SQL counting a selection's records, and its parameters.
pub fn count_sql<'a>(flavor: Flavor, obj: &'a Object, cond: &'a Cond) -> (String, Vec<&'a Value>) {
    let w = where_clause(flavor, obj, cond, None);
    let sql = format!("SELECT count(*) FROM {}{}", quote(&obj.table()), w.sql);
    (sql, w.params)
}

#[cfg(test)]
mod tests;
