//! Object names → tables: the checked query's placeholders become this store's record tables, or
//! subqueries over them when the query sees objects through a view. On PostgreSQL an object shows
//! its id as text (as SQLite keeps it, so ids compare with text fields that hold them), and every
//! subquery in FROM gets a name (PostgreSQL 15 requires one). A window (an order, a page) wraps the
//! query as a subquery. The SQL sent is parsed back and must render the same, so what runs is what
//! was checked.

use super::sql::{quote, Flavor};
use crate::error::{Error, Result};
use crate::model::{CheckedQuery, Field, FieldType, Object, QueryView, ViewColumn, Window};
use crate::settings::QueryLimits;
use sqlparser::ast::{
    ObjectNamePart, SetExpr, Statement, TableAlias, TableFactor, VisitMut, VisitorMut,
};
use sqlparser::dialect::{Dialect, GenericDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Parser calls the rewrite may add beyond the checked query's own.
const REWRITE_LEVELS: usize = 8;

/// The SQL to run and the tables it reads.
pub struct Rewritten {
    pub sql: String,
    pub tables: Vec<String>,
}

pub fn rewrite(q: &CheckedQuery, flavor: Flavor, limits: &QueryLimits) -> Result<Rewritten> {
    let mut stmt = q.statement.clone();
    let mut r = Replacer {
        q,
        flavor,
        error: None,
        unnamed: 0,
    };
    if let ControlFlow::Break(()) = VisitMut::visit(&mut stmt, &mut r) {
        return Err(r
            .error
            .unwrap_or_else(|| Error::internal("the query could not be rewritten")));
    }
    let mut tables: Vec<String> = q.relations.iter().map(|r| r.object.table()).collect();
    tables.sort();
    tables.dedup();
    let sql = windowed(stmt.to_string(), &q.window);
    let dialect: &dyn Dialect = match flavor {
        Flavor::Sqlite => &SQLiteDialect {},
        Flavor::Postgres => &PostgreSqlDialect {},
    };
    // The rewrite adds a few levels of its own (an object as a subquery, a window around it).
    let reparsed = Parser::new(dialect)
        .with_recursion_limit(limits.parser_depth() + REWRITE_LEVELS)
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_statements());
    let same = reparsed.is_ok_and(|s| s.len() == 1 && s[0].to_string() == sql);
    if !same {
        return Err(Error::new(
            crate::error::ErrorCode::InvalidRequest,
            "the query cannot be run as written; simplify its literals",
        )
        .with_field("sql"));
    }
    Ok(Rewritten { sql, tables })
}

/// The query's rows, ordered by one of its result columns and paged, when its window says so.
fn windowed(sql: String, w: &Window) -> String {
    if *w == Window::default() {
        return sql;
    }
    let mut out = format!("SELECT * FROM ({sql}) AS page_of_rows");
    if let Some((column, desc)) = &w.order_by {
        let dir = if *desc { "DESC" } else { "ASC" };
        out.push_str(&format!(" ORDER BY {} {dir}", quote(column)));
    }
    if let Some((offset, limit)) = w.page {
        out.push_str(&format!(" LIMIT {limit} OFFSET {offset}"));
    }
    out
}

struct Replacer<'a> {
    q: &'a CheckedQuery,
    flavor: Flavor,
    error: Option<Error>,
    /// Subqueries named so far.
    unnamed: usize,
}

fn column_sql(c: &ViewColumn, obj: &Object, flavor: Flavor) -> String {
    match c {
        ViewColumn::Id if flavor == Flavor::Postgres => "id::text".into(),
        ViewColumn::Id => "id".into(),
        ViewColumn::CreatedAt => "created_at".into(),
        ViewColumn::UpdatedAt => "updated_at".into(),
        ViewColumn::CreatedBy => "created_by".into(),
        ViewColumn::UpdatedBy => "updated_by".into(),
        ViewColumn::FieldOrNull(f) if obj.field(f).is_some() => quote(f),
        ViewColumn::FieldOrNull(_) => "NULL".into(),
    }
}

/// A field as a query sees it: on PostgreSQL a relation is text, as ids are there.
fn field_sql(f: &Field, flavor: Flavor) -> String {
    let name = quote(f.name.as_str());
    match (f.ty, flavor) {
        (FieldType::Relation, Flavor::Postgres) => format!("{name}::text AS {name}"),
        _ => name,
    }
}

/// The relation an object becomes: its table, or a subquery showing the view's columns (or, on
/// PostgreSQL, the id as text).
fn relation_sql(obj: &Object, view: Option<&QueryView>, flavor: Flavor) -> String {
    let table = quote(&obj.table());
    match view {
        None if flavor == Flavor::Sqlite => format!("SELECT * FROM {table}"),
        None => {
            let mut cols = vec![
                "id::text AS id".to_owned(),
                "created_at, updated_at, created_by, updated_by".to_owned(),
            ];
            cols.extend(obj.fields.iter().map(|f| field_sql(f, flavor)));
            format!(
                "SELECT * FROM (SELECT {} FROM {table}) AS v",
                cols.join(", ")
            )
        }
        Some(v) => {
            let mut cols: Vec<String> = v
                .columns
                .iter()
                .map(|(alias, c)| format!("{} AS {}", column_sql(c, obj, flavor), quote(alias)))
                .collect();
            cols.extend(obj.fields.iter().map(|f| field_sql(f, flavor)));
            format!(
                "SELECT * FROM (SELECT {} FROM {table}) AS v",
                cols.join(", ")
            )
        }
    }
}

/// The `FROM` item of a generated `SELECT * FROM …`.
fn factor_of(sql: &str) -> Option<TableFactor> {
    let mut stmts = Parser::parse_sql(&GenericDialect {}, sql).ok()?;
    let Statement::Query(q) = stmts.pop()? else {
        return None;
    };
    let SetExpr::Select(select) = *q.body else {
        return None;
    };
    select.from.into_iter().next().map(|t| t.relation)
}

impl VisitorMut for Replacer<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived {
            alias: a @ None, ..
        } = t
        {
            if self.flavor == Flavor::Postgres {
                self.unnamed += 1;
                *a = Some(TableAlias {
                    explicit: true,
                    name: sqlparser::ast::Ident::new(format!("sub_{}", self.unnamed)),
                    columns: Vec::new(),
                    at: None,
                });
            }
        }
        let TableFactor::Table { name, alias, .. } = t else {
            return ControlFlow::Continue(());
        };
        let [ObjectNamePart::Identifier(ident)] = name.0.as_slice() else {
            return ControlFlow::Continue(());
        };
        let Some(rel) = self.q.relation(&ident.value) else {
            return ControlFlow::Continue(());
        };
        // Without an alias of its own, the relation keeps the object's name for column references
        // (and PostgreSQL needs a name for a subquery).
        let alias = alias.take().or_else(|| {
            Some(TableAlias {
                explicit: true,
                name: ident.clone(),
                columns: Vec::new(),
                at: None,
            })
        });
        let Some(mut factor) = factor_of(&relation_sql(
            &rel.object,
            self.q.view.as_ref(),
            self.flavor,
        )) else {
            self.error = Some(Error::internal("could not build an object's relation"));
            return ControlFlow::Break(());
        };
        match &mut factor {
            TableFactor::Table { alias: a, .. } | TableFactor::Derived { alias: a, .. } => {
                *a = alias
            }
            _ => {}
        }
        *t = factor;
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_wraps_the_query() {
        let w = Window {
            order_by: Some(("site \"a\"".into(), true)),
            page: Some((20, 10)),
        };
        let sql = windowed("SELECT site FROM t".into(), &w);
        assert_eq!(
            sql,
            "SELECT * FROM (SELECT site FROM t) AS page_of_rows ORDER BY \"site \"\"a\"\"\" DESC LIMIT 10 OFFSET 20"
        );
        for dialect in [
            Box::new(SQLiteDialect {}) as Box<dyn Dialect>,
            Box::new(PostgreSqlDialect {}),
        ] {
            let back = Parser::parse_sql(dialect.as_ref(), &sql).unwrap();
            assert_eq!(back[0].to_string(), sql);
        }
        assert_eq!(windowed("SELECT 1".into(), &Window::default()), "SELECT 1");
    }
}
