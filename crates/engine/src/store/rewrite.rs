//! Object names → tables: the checked query's placeholders become this store's record tables, or
//! subqueries over them when the query sees objects through a view.

use super::sql::quote;
use crate::error::{Error, Result};
use crate::model::{CheckedQuery, Object, QueryView, ViewColumn};
use sqlparser::ast::{
    ObjectNamePart, SetExpr, Statement, TableAlias, TableFactor, VisitMut, VisitorMut,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// The SQL to run and the tables it reads.
pub struct Rewritten {
    pub sql: String,
    pub tables: Vec<String>,
}

pub fn rewrite(q: &CheckedQuery) -> Result<Rewritten> {
    let mut stmt = q.statement.clone();
    let mut r = Replacer { q, error: None };
    if let ControlFlow::Break(()) = VisitMut::visit(&mut stmt, &mut r) {
        return Err(r
            .error
            .unwrap_or_else(|| Error::internal("the query could not be rewritten")));
    }
    let mut tables: Vec<String> = q.relations.iter().map(|r| r.object.table()).collect();
    tables.sort();
    tables.dedup();
    Ok(Rewritten {
        sql: stmt.to_string(),
        tables,
    })
}

struct Replacer<'a> {
    q: &'a CheckedQuery,
    error: Option<Error>,
}

fn column_sql(c: &ViewColumn, obj: &Object) -> String {
    match c {
        ViewColumn::Id => "id".into(),
        ViewColumn::CreatedAt => "created_at".into(),
        ViewColumn::UpdatedAt => "updated_at".into(),
        ViewColumn::CreatedBy => "created_by".into(),
        ViewColumn::UpdatedBy => "updated_by".into(),
        ViewColumn::FieldOrNull(f) if obj.field(f).is_some() => quote(f),
        ViewColumn::FieldOrNull(_) => "NULL".into(),
    }
}

/// The relation an object becomes: its table, or a subquery showing the view's columns.
fn relation_sql(obj: &Object, view: Option<&QueryView>) -> String {
    let table = quote(&obj.table());
    match view {
        None => format!("SELECT * FROM {table}"),
        Some(v) => {
            let mut cols: Vec<String> = v
                .columns
                .iter()
                .map(|(alias, c)| format!("{} AS {}", column_sql(c, obj), quote(alias)))
                .collect();
            cols.extend(obj.fields.iter().map(|f| quote(f.name.as_str())));
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
        let Some(mut factor) = factor_of(&relation_sql(&rel.object, self.q.view.as_ref())) else {
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
