//! Parsing and checking one read-only query (pure: no store, no I/O): one SELECT over the app's
//! objects, vetted functions only; each object reference becomes a placeholder the store replaces
//! with its table.

use super::bounds::{self, over};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, CheckedQuery, QueryView, Relation, SqlSyntax, Window};
use crate::settings::QueryLimits;
use sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableAlias,
    TableFactor, Visit, VisitMut, Visitor, VisitorMut,
};
use sqlparser::parser::Parser;
use std::collections::HashSet;
use std::ops::ControlFlow;

fn refused(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidRequest, msg).with_field("sql")
}

/// Parses `sql` in the store's grammar, refuses anything but one read-only SELECT over `app`'s
/// objects (by name or label), and puts a placeholder in place of each object it reads. The query's
/// size and shape are bounded by `limits` before any tree is built, and its tables and result
/// columns before it can reach the store.
pub fn prepare(
    app: &App,
    sql: &str,
    syntax: &SqlSyntax,
    view: Option<QueryView>,
    limits: &QueryLimits,
) -> Result<CheckedQuery> {
    if sql.len() > limits.max_sql_len {
        return Err(over(
            "query_max_sql_len",
            format!("the query is longer than {} characters", limits.max_sql_len),
        ));
    }
    bounds::check(sql, syntax.dialect.as_ref(), limits)?;
    let mut statements = Parser::new(syntax.dialect.as_ref())
        .with_recursion_limit(limits.parser_depth())
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| refused(format!("the query could not be parsed: {e}")))?;
    if statements.len() != 1 {
        return Err(refused("send exactly one statement"));
    }
    let mut stmt = statements.remove(0);
    if !matches!(stmt, Statement::Query(_)) {
        return Err(refused("only SELECT queries are allowed"));
    }
    let mut ctes = Ctes {
        names: HashSet::new(),
        reserved: syntax.reserved_prefixes,
    };
    if let ControlFlow::Break(name) = Visit::visit(&stmt, &mut ctes) {
        return Err(refused(format!("the CTE name {name} is reserved")));
    }
    let mut checker = Checker {
        app,
        limits,
        tables: 0,
        scopes: Vec::new(),
        relations: Vec::new(),
        statements: 0,
        error: None,
        functions: syntax.functions,
        table_functions: syntax.table_functions,
    };
    if let ControlFlow::Break(()) = VisitMut::visit(&mut stmt, &mut checker) {
        return Err(checker
            .error
            .unwrap_or_else(|| refused("the query is not allowed")));
    }
    Ok(CheckedQuery {
        statement: stmt,
        relations: checker.relations,
        view,
        ctes: ctes.names.into_iter().collect(),
        window: Window::default(),
    })
}

/// Every CTE name in the statement (a store may let a query read its own CTEs). A CTE may not be
/// named like any table the store has (its reserved prefixes), so a CTE name can never stand for a
/// real table, whatever its scope.
struct Ctes {
    names: HashSet<String>,
    reserved: &'static [&'static str],
}

fn cte_names(q: &Query) -> Vec<String> {
    q.with
        .iter()
        .flat_map(|w| {
            w.cte_tables
                .iter()
                .map(|c| c.alias.name.value.to_ascii_lowercase())
        })
        .collect()
}

impl Visitor for Ctes {
    type Break = String;
    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<String> {
        for name in cte_names(q) {
            if self.reserved.iter().any(|p| name.starts_with(p)) {
                return ControlFlow::Break(name);
            }
            self.names.insert(name);
        }
        ControlFlow::Continue(())
    }
}

struct Checker<'a> {
    app: &'a App,
    limits: &'a QueryLimits,
    /// Tables, subqueries and CTEs the query has named so far.
    tables: usize,
    /// CTE names in scope: one entry per enclosing query.
    scopes: Vec<Vec<String>>,
    relations: Vec<Relation>,
    statements: usize,
    error: Option<Error>,
    functions: &'static [&'static str],
    table_functions: &'static [&'static str],
}

impl Checker<'_> {
    fn stop(&mut self, e: Error) -> ControlFlow<()> {
        self.error = Some(e);
        ControlFlow::Break(())
    }

    /// Counts `n` more tables; a stop once past the limit (each table is planned by the store, and
    /// a planner's time grows faster than the tables it joins).
    fn count_tables(&mut self, n: usize) -> Option<ControlFlow<()>> {
        self.tables += n;
        let max = self.limits.max_tables;
        (self.tables > max).then(|| {
            self.stop(over(
                "query_max_tables",
                format!("the query names more than {max} tables, subqueries and CTEs"),
            ))
        })
    }
}

fn single_name(name: &ObjectName) -> Option<&Ident> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Some(id),
        _ => None,
    }
}

impl VisitorMut for Checker<'_> {
    type Break = ();

    fn pre_visit_statement(&mut self, _s: &mut Statement) -> ControlFlow<()> {
        self.statements += 1;
        if self.statements > 1 {
            return self.stop(refused(
                "statements inside a query (writes in CTEs, …) are not allowed",
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        if !matches!(
            *q.body,
            SetExpr::Select(_)
                | SetExpr::Query(_)
                | SetExpr::SetOperation { .. }
                | SetExpr::Values(_)
        ) {
            return self.stop(refused("only SELECT queries are allowed"));
        }
        if !q.locks.is_empty() {
            return self.stop(refused("locking clauses are not allowed"));
        }
        let ctes = cte_names(q);
        if let Some(stop) = self.count_tables(ctes.len()) {
            return stop;
        }
        self.scopes.push(ctes);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &mut Query) -> ControlFlow<()> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &mut Select) -> ControlFlow<()> {
        if s.into.is_some() {
            return self.stop(refused("SELECT INTO is not allowed"));
        }
        let max = self.limits.max_result_columns;
        if s.projection.len() > max {
            return self.stop(over(
                "query_max_result_columns",
                format!(
                    "a SELECT of the query lists {} columns; at most {max} are allowed",
                    s.projection.len()
                ),
            ));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = single_name(&f.name).map(|i| i.value.to_ascii_lowercase());
            match name {
                Some(n) if self.functions.contains(&n.as_str()) => {}
                _ => return self.stop(refused(format!("the function {} is not allowed", f.name))),
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
        if let Some(stop) = self.count_tables(1) {
            return stop;
        }
        let TableFactor::Table {
            name, alias, args, ..
        } = t
        else {
            return match t {
                TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                    ControlFlow::Continue(())
                }
                _ => self.stop(refused("this kind of FROM item is not allowed")),
            };
        };
        let Some(ident) = single_name(name).cloned() else {
            return self.stop(refused(format!("{name} is not an object of this app")));
        };
        let lower = ident.value.to_ascii_lowercase();
        if args.is_some() {
            if self.table_functions.contains(&lower.as_str()) {
                return ControlFlow::Continue(());
            }
            return self.stop(refused(format!("the table function {name} is not allowed")));
        }
        if self.scopes.iter().any(|s| s.contains(&lower)) {
            return ControlFlow::Continue(());
        }
        // An object is named by its name or label, or by its id (as clients that know objects
        // by id address them).
        let found = self
            .app
            .object_by_name_or_label(&ident.value)
            .or_else(|| self.app.object_by_id(&ident.value));
        let Some(obj) = found.cloned() else {
            return self.stop(refused(format!(
                "{} is not an object of this app",
                ident.value
            )));
        };
        let placeholder = format!("{}{}", CheckedQuery::PLACEHOLDER, self.relations.len());
        self.relations.push(Relation {
            placeholder: placeholder.clone(),
            object: obj,
        });
        if alias.is_none() {
            *alias = Some(TableAlias {
                explicit: true,
                name: ident,
                columns: Vec::new(),
                at: None,
            });
        }
        *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(placeholder))]);
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Object, ObjectSpec, Timestamp};
    use crate::model::{ALLOWED_FUNCTIONS, TABLE_FUNCTIONS};
    use crate::settings::Settings;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn app() -> App {
        let mut objects = BTreeMap::new();
        for (name, label) in [("contacts", "Testing App"), ("deals", "Deals")] {
            let spec: ObjectSpec = serde_json::from_value(
                serde_json::json!({"name": name, "label": label, "fields": [
                    {"name": "status", "type": "text"}, {"name": "n", "type": "integer"}
                ]}),
            )
            .unwrap();
            let obj = Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap();
            objects.insert(name.to_owned(), Arc::new(obj));
        }
        App {
            id: uuid::Uuid::nil(),
            name: crate::model::Name::parse("crm", "app").unwrap(),
            label: "CRM".into(),
            anonymous_role: None,
            secret: String::new(),
            anonymous_token: String::new(),
            signup_token: String::new(),
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            objects,
        }
    }

    /// A store whose own tables start with `_` or `t_`.
    fn syntax() -> SqlSyntax {
        SqlSyntax {
            dialect: Box::new(sqlparser::dialect::GenericDialect {}),
            reserved_prefixes: &["_", "t_"],
            functions: ALLOWED_FUNCTIONS,
            table_functions: TABLE_FUNCTIONS,
        }
    }

    fn check(a: &App, sql: &str) -> Result<CheckedQuery> {
        prepare(a, sql, &syntax(), None, &Settings::default().query)
    }

    #[test]
    fn resolves_names_and_labels_to_placeholders() {
        let a = app();
        let p = check(&a, "SELECT id FROM \"Testing App\" WHERE status = 'old'").unwrap();
        assert_eq!(p.relations.len(), 1);
        assert_eq!(p.relations[0].object.name.as_str(), "contacts");
        let sql = p.statement.to_string();
        assert!(sql.contains(&p.relations[0].placeholder), "{sql}");
        assert!(sql.contains("AS \"Testing App\""), "{sql}");
        let p = check(
            &a,
            "WITH x AS (SELECT id FROM deals) SELECT * FROM x JOIN contacts c ON c.id = x.id",
        )
        .unwrap();
        assert_eq!(p.relations.len(), 2);
        assert_eq!(p.ctes, vec!["x".to_owned()]);
        assert!(check(&a, "SELECT * FROM __sluice_rel_0").is_err());
    }

    #[test]
    fn objects_are_found_by_id() {
        let a = app();
        let id = a.objects["deals"].id.to_string();
        let p = check(&a, &format!("SELECT n FROM \"{id}\" ORDER BY n")).unwrap();
        assert_eq!(p.relations[0].object.name.as_str(), "deals");
        assert!(check(&a, "SELECT n FROM \"00000000-0000-0000-0000-000000000000\"").is_err());
    }

    #[test]
    fn refuses_what_is_not_a_read() {
        let a = app();
        for sql in [
            "DELETE FROM contacts",
            "SELECT 1; SELECT 2",
            "PRAGMA table_info(contacts)",
            "SELECT * FROM t_master",
            "SELECT load_extension('x')",
            "SELECT * FROM main.contacts",
            "SELECT * FROM pragma_table_info('contacts')",
            "SELECT printf('%.*c', 1000000000, 'x')",
            "SELECT * FROM o_00000000000000000000000000000000",
            "SELECT name, doc FROM _apps, (WITH _apps AS (SELECT 1) SELECT 1)",
            "SELECT * FROM x, (WITH x AS (SELECT 1) SELECT 1)",
            "WITH t_master AS (SELECT 1) SELECT * FROM t_master",
            "WITH _x AS (SELECT 1) SELECT * FROM _x",
        ] {
            assert!(check(&a, sql).is_err(), "{sql}");
        }
        let short = QueryLimits {
            max_sql_len: 3,
            ..Settings::default().query
        };
        assert_eq!(
            prepare(&a, "SELECT 1", &syntax(), None, &short)
                .unwrap_err()
                .code,
            ErrorCode::LimitExceeded
        );
    }
}
