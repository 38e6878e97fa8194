//! The parsed query → SQL over the app's objects, as the query guard reads it: tables and columns
//! are quoted names from the catalog, every literal is a parameter (`?` on SQLite, `$n` on
//! PostgreSQL), and each comparison means what Salesforce's does on both stores:
//! - strings compare without regard to case (SOQL and SOSL Reference, "Comparison Operators"),
//!   ASCII letters folded as SQLite's `lower` and PostgreSQL's under `COLLATE "C"` both fold them;
//! - a comparison is true or false, never unknown: a record whose field is null matches `!=`,
//!   `NOT IN` and a `NOT`, as Salesforce returns it (a negation is pushed down to the comparisons
//!   and each negated comparison admits nulls);
//! - a boolean's null is false (Salesforce's booleans are never null; "Use null in WHERE":
//!   `= null` on a boolean is `= false`);
//! - a date literal is a range of days: `=` within it, `<` before it, `>` after it;
//! - LIKE's `%` and `_` are wildcards and `\%`, `\_` the characters, without regard to case.

use super::ast::{Cmp, Cond, Op, Query, Value};
use super::resolve::{quote, Column, Kind, Scope, BASE};
use super::{located, SoqlError, Translated, INVALID_FIELD, MALFORMED_QUERY};
use chrono::NaiveDate;
use serde_json::{json, Value as Json};
use sluice_engine::model::{App, SqlSyntax};
use sqlparser::dialect::{Dialect, PostgreSqlDialect};

pub(super) struct Sql<'a> {
    soql: &'a str,
    scope: Scope<'a>,
    pub(super) today: NaiveDate,
    /// Placeholders are numbered (`$1`, PostgreSQL's) rather than `?` (SQLite's).
    numbered: bool,
    params: Vec<Json>,
}

pub fn sql(
    soql: &str,
    q: &Query,
    app: &App,
    syntax: &SqlSyntax,
    today: NaiveDate,
) -> Result<Translated, SoqlError> {
    let dialect: &dyn Dialect = syntax.dialect.as_ref();
    let mut s = Sql {
        soql,
        scope: Scope::new(soql, app, &q.object, q.object_at, q.alias.clone())?,
        today,
        numbered: dialect.is::<PostgreSqlDialect>(),
        params: Vec::new(),
    };
    let mut items = Vec::with_capacity(q.fields.len());
    let mut named: Vec<String> = Vec::with_capacity(q.fields.len());
    for path in &q.fields {
        let col = s.scope.column(path)?;
        // A field named twice (in any case) is Salesforce's error (SOQL and SOSL Reference,
        // "FIELDS()"); two names of one column (`LastModifiedDate`, `SystemModstamp`) are not.
        let name = path.text().to_ascii_lowercase();
        if named.contains(&name) {
            return Err(SoqlError::new(
                INVALID_FIELD,
                format!("duplicate field selected: {}", path.text()),
            ));
        }
        items.push(format!("{} AS {}", s.shown(&col), quote(&path.text())));
        named.push(name);
    }
    let filter = match &q.filter {
        Some(c) => Some(s.cond(c, false)?.0),
        None => None,
    };
    let mut order = Vec::with_capacity(q.order.len());
    for o in &q.order {
        let col = s.scope.column(&o.field)?;
        order.push(format!(
            "{} {} NULLS {}",
            col.sql,
            if o.desc { "DESC" } else { "ASC" },
            if o.nulls_first { "FIRST" } else { "LAST" }
        ));
    }
    let limit = q.limit.map(|n| s.param(json!(n)));
    let mut sql = format!(
        "SELECT {} FROM {} AS {}",
        items.join(", "),
        quote(s.scope.base.name.as_str()),
        quote(BASE)
    );
    for j in &s.scope.joins {
        sql.push_str(&format!(
            " LEFT JOIN {} AS {a} ON {a}.{} = {}.{}",
            quote(j.target.name.as_str()),
            quote("id"),
            quote(BASE),
            quote(&j.field),
            a = quote(&j.alias),
        ));
    }
    if let Some(f) = filter {
        sql.push_str(&format!(" WHERE {f}"));
    }
    if !order.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    }
    if let Some(p) = limit {
        sql.push_str(&format!(" LIMIT {p}"));
    }
    Ok(Translated {
        object: s.scope.base.name.to_string(),
        sql,
        params: s.params,
        headers: q.fields.iter().map(|p| p.text()).collect(),
    })
}

/// The comparison `op` (`!=` and `NOT IN` are negations of `=` and `IN` by now) and the one that
/// matches exactly the other records that are not null.
fn operators(op: Op) -> (&'static str, &'static str) {
    match op {
        Op::Eq | Op::Ne => ("=", "<>"),
        Op::Lt => ("<", ">="),
        Op::Le => ("<=", ">"),
        Op::Gt => (">", "<="),
        Op::Ge => (">=", "<"),
        Op::Like => ("LIKE", "NOT LIKE"),
        Op::In | Op::NotIn => ("IN", "NOT IN"),
    }
}

impl Sql<'_> {
    pub(super) fn param(&mut self, v: Json) -> String {
        self.params.push(v);
        if self.numbered {
            format!("${}", self.params.len())
        } else {
            "?".to_owned()
        }
    }

    /// A selected column as the result CSV shows it.
    fn shown(&self, col: &Column) -> String {
        match (col.kind, col.join) {
            (Kind::Boolean, None) => format!("CASE WHEN {} THEN 'true' ELSE 'false' END", col.sql),
            (Kind::Boolean, Some(j)) => format!(
                "CASE WHEN {}.{} IS NULL THEN NULL WHEN {} THEN 'true' ELSE 'false' END",
                quote(&self.scope.joins[j].alias),
                quote("id"),
                col.sql
            ),
            (Kind::Json, _) => format!("CAST({} AS TEXT)", col.sql),
            _ => col.sql.clone(),
        }
    }

    /// `c` as SQL, negated if `negate`, and whether it is a list of conditions (which the
    /// condition around it puts in parentheses; a comparison comes in its own).
    fn cond(&mut self, c: &Cond, negate: bool) -> Result<(String, bool), SoqlError> {
        let (items, all) = match c {
            Cond::Cmp(cmp) => return Ok((self.leaf(cmp, negate)?, false)),
            Cond::Not(inner) => return self.cond(inner, !negate),
            Cond::All(items) => (items, true),
            Cond::Any(items) => (items, false),
        };
        let mut parts = Vec::with_capacity(items.len());
        for item in items {
            let (sql, group) = self.cond(item, negate)?;
            parts.push(if group { format!("({sql})") } else { sql });
        }
        let joiner = if all != negate { " AND " } else { " OR " };
        Ok((parts.join(joiner), true))
    }

    pub(super) fn error_at(&self, code: &'static str, at: usize, text: &str) -> SoqlError {
        SoqlError::new(code, located(self.soql, at, text))
    }

    /// One comparison, in parentheses.
    fn leaf(&mut self, c: &Cmp, negate: bool) -> Result<String, SoqlError> {
        let col = self.scope.column(&c.field)?;
        if col.kind == Kind::Json {
            return Err(self.error_at(
                INVALID_FIELD,
                c.field.at,
                &format!("field '{}' can not be filtered in query call", col.written),
            ));
        }
        let raw = col.sql.clone();
        let folded = if col.kind == Kind::Text {
            format!("LOWER({raw})")
        } else {
            raw.clone()
        };
        // `!=` and `NOT IN` are the negations of `=` and `IN`, null fields included.
        let (kind, negate) = match c.op {
            Op::Ne => (Op::Eq, !negate),
            Op::NotIn => (Op::In, !negate),
            op => (op, negate),
        };
        let (op, other) = operators(kind);
        match &c.value {
            Value::List(items) => self.in_list(&col, &folded, items, !negate),
            Value::Str { pattern, .. } if kind == Op::Like => {
                if col.kind != Kind::Text {
                    return Err(self.error_at(
                        INVALID_FIELD,
                        c.field.at,
                        &format!(
                            "invalid operator on field '{}': LIKE compares strings",
                            col.written
                        ),
                    ));
                }
                let p = self.param(json!(pattern.to_ascii_lowercase()));
                Ok(if negate {
                    format!("({raw} IS NULL OR {folded} NOT LIKE {p} ESCAPE '\\')")
                } else {
                    format!("({folded} LIKE {p} ESCAPE '\\')")
                })
            }
            _ if kind == Op::Like => Err(self.wrong_type(&col, c.value_at)),
            _ if kind != Op::Eq && matches!(c.value, Value::Null | Value::Bool(_)) => {
                Err(self.only_equality(&col, c))
            }
            Value::Null | Value::Bool(_) if col.kind == Kind::Boolean => {
                let truth = matches!(c.value, Value::Bool(true));
                let p = self.param(json!(true));
                Ok(if truth != negate {
                    format!("({raw} = {p})")
                } else {
                    format!("({raw} IS NULL OR {raw} <> {p})")
                })
            }
            Value::Null if negate => Ok(format!("({raw} IS NOT NULL)")),
            Value::Null => Ok(format!("({raw} IS NULL)")),
            Value::Relative { name, n } => self.relative(&col, kind, c, name, n.as_deref(), negate),
            v => {
                let p = self.placeholder(&col, v, c.value_at)?;
                Ok(if negate {
                    format!("({raw} IS NULL OR {folded} {other} {p})")
                } else {
                    format!("({folded} {op} {p})")
                })
            }
        }
    }

    fn only_equality(&self, col: &Column, c: &Cmp) -> SoqlError {
        self.error_at(
            MALFORMED_QUERY,
            c.value_at,
            &format!(
                "invalid operator on field '{}': only = and != compare with this value",
                col.written
            ),
        )
    }

    /// `IN (…)` when `positive`, else `NOT IN (…)`; a null in the list matches a null field.
    fn in_list(
        &mut self,
        col: &Column,
        folded: &str,
        items: &[(Value, usize)],
        positive: bool,
    ) -> Result<String, SoqlError> {
        let raw = &col.sql;
        if col.kind == Kind::Boolean {
            return Err(self.error_at(
                MALFORMED_QUERY,
                items.first().map_or(0, |i| i.1),
                &format!(
                    "invalid operator on boolean field '{}': use = or !=",
                    col.written
                ),
            ));
        }
        let mut values = Vec::with_capacity(items.len());
        let mut null = false;
        for (v, at) in items {
            match v {
                Value::Null => null = true,
                v => values.push(self.placeholder(col, v, *at)?),
            }
        }
        let list = values.join(", ");
        Ok(match (positive, values.is_empty(), null) {
            (true, false, false) => format!("({folded} IN ({list}))"),
            (true, false, true) => format!("({folded} IN ({list}) OR {raw} IS NULL)"),
            (true, true, _) => format!("({raw} IS NULL)"),
            (false, false, false) => format!("({raw} IS NULL OR {folded} NOT IN ({list}))"),
            (false, false, true) => format!("({raw} IS NOT NULL AND {folded} NOT IN ({list}))"),
            (false, true, _) => format!("({raw} IS NOT NULL)"),
        })
    }
}
