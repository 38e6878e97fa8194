//! Parsing, checking and rewriting one read-only query. Pure: no store, no I/O.

use crate::error::{Error, ErrorCode, Result};
use crate::model::{App, Object};
use sqlparser::ast::{
    Expr, ObjectName, ObjectNamePart, Query, Select, SetExpr, Statement, TableFactor, Visit,
    VisitMut, Visitor, VisitorMut,
};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use std::collections::HashSet;
use std::ops::ControlFlow;

/// How objects appear to the query: as native records, or with Fulcrum's system columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Native,
    Fulcrum,
}

/// A checked query: the SQL to run, the tables it may read, and its CTE names (which SQLite also
/// reports as reads: a recursive CTE reads itself).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedQuery {
    pub sql: String,
    pub tables: Vec<String>,
    pub ctes: Vec<String>,
}

/// Functions a query may call (lower case). No file, extension, blob-making or formatting
/// functions: nothing that reaches outside the database or allocates without bound.
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "total",
    "avg",
    "min",
    "max",
    "group_concat",
    "string_agg",
    "abs",
    "coalesce",
    "ifnull",
    "iif",
    "nullif",
    "lower",
    "upper",
    "length",
    "octet_length",
    "substr",
    "substring",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "instr",
    "like",
    "glob",
    "round",
    "sign",
    "ceil",
    "ceiling",
    "floor",
    "trunc",
    "mod",
    "pow",
    "power",
    "sqrt",
    "exp",
    "ln",
    "log",
    "log10",
    "log2",
    "typeof",
    "unicode",
    "char",
    "hex",
    "quote",
    "date",
    "time",
    "datetime",
    "julianday",
    "strftime",
    "unixepoch",
    "json",
    "json_extract",
    "json_array_length",
    "json_type",
    "json_valid",
    "json_object",
    "json_array",
    "json_quote",
    "json_group_array",
    "json_group_object",
    "concat",
    "concat_ws",
    "likely",
    "unlikely",
    "likelihood",
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// Table-valued functions a query may read from.
pub const TABLE_FUNCTIONS: &[&str] = &["json_each", "json_tree"];

fn refused(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidRequest, msg).with_field("sql")
}

/// Deepest nesting the parser accepts (sqlparser's own guard against stack exhaustion).
const MAX_DEPTH: usize = 40;

/// Parses `sql`, refuses anything but one read-only SELECT over `app`'s objects, and rewrites
/// object names (or labels) to their tables.
pub fn prepare(app: &App, sql: &str, flavor: Flavor, max_len: usize) -> Result<CheckedQuery> {
    if sql.len() > max_len {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!("the query is longer than {max_len} characters"),
        )
        .with_field("sql"));
    }
    let dialect = SQLiteDialect {};
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(MAX_DEPTH)
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
    let mut ctes = Ctes::default();
    if let ControlFlow::Break(name) = Visit::visit(&stmt, &mut ctes) {
        return Err(refused(format!("the CTE name {name} is reserved")));
    }
    let mut rewriter = Rewriter {
        app,
        flavor,
        scopes: Vec::new(),
        tables: Vec::new(),
        statements: 0,
        error: None,
    };
    if let ControlFlow::Break(()) = VisitMut::visit(&mut stmt, &mut rewriter) {
        return Err(rewriter
            .error
            .unwrap_or_else(|| refused("the query is not allowed")));
    }
    let mut tables = rewriter.tables;
    tables.sort();
    tables.dedup();
    Ok(CheckedQuery {
        sql: stmt.to_string(),
        tables,
        ctes: ctes.0.into_iter().collect(),
    })
}

/// Every CTE name in the statement (the authorizer lets a query read its own CTEs). A CTE may not
/// be named like any table the store has (`_…`, `sqlite_…`, `o_…`), so a CTE name can never stand
/// for a real table, whatever its scope.
#[derive(Default)]
struct Ctes(HashSet<String>);

/// Prefixes of the store's own table names.
const RESERVED_PREFIXES: [&str; 3] = ["_", "sqlite_", "o_"];

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
            if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) {
                return ControlFlow::Break(name);
            }
            self.0.insert(name);
        }
        ControlFlow::Continue(())
    }
}

struct Rewriter<'a> {
    app: &'a App,
    flavor: Flavor,
    /// CTE names in scope: one entry per enclosing query.
    scopes: Vec<Vec<String>>,
    tables: Vec<String>,
    statements: usize,
    error: Option<Error>,
}

impl Rewriter<'_> {
    fn stop(&mut self, e: Error) -> ControlFlow<()> {
        self.error = Some(e);
        ControlFlow::Break(())
    }
}

fn single_name(name: &ObjectName) -> Option<&sqlparser::ast::Ident> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Some(id),
        _ => None,
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The relation an object becomes: its table, or for Fulcrum a subquery adding Fulcrum's
/// system columns (`_record_id`, `_status`, …) in place of sluice's.
fn relation_sql(obj: &Object, flavor: Flavor, alias: &str) -> String {
    let table = quote(&obj.table());
    match flavor {
        Flavor::Native => format!("SELECT * FROM {table} AS {}", quote(alias)),
        Flavor::Fulcrum => {
            let status = if obj.field("status").is_some() {
                "\"status\""
            } else {
                "NULL"
            };
            let mut cols = format!(
                "id AS _record_id, {status} AS _status, created_at AS _created_at, updated_at AS _updated_at, \
                 created_by AS _created_by, created_by AS _created_by_id, updated_by AS _updated_by, \
                 updated_by AS _updated_by_id"
            );
            for f in &obj.fields {
                cols.push_str(", ");
                cols.push_str(&quote(f.name.as_str()));
            }
            format!(
                "SELECT * FROM (SELECT {cols} FROM {table}) AS {}",
                quote(alias)
            )
        }
    }
}

/// The `FROM` item of a generated `SELECT * FROM …`.
fn factor_of(sql: &str) -> Option<TableFactor> {
    let mut stmts = Parser::parse_sql(&SQLiteDialect {}, sql).ok()?;
    let Statement::Query(q) = stmts.pop()? else {
        return None;
    };
    let SetExpr::Select(select) = *q.body else {
        return None;
    };
    select.from.into_iter().next().map(|t| t.relation)
}

impl VisitorMut for Rewriter<'_> {
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
        self.scopes.push(cte_names(q));
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
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = single_name(&f.name).map(|i| i.value.to_ascii_lowercase());
            match name {
                Some(n) if ALLOWED_FUNCTIONS.contains(&n.as_str()) => {}
                _ => return self.stop(refused(format!("the function {} is not allowed", f.name))),
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
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
            if TABLE_FUNCTIONS.contains(&lower.as_str()) {
                return ControlFlow::Continue(());
            }
            return self.stop(refused(format!("the table function {name} is not allowed")));
        }
        // CTEs, and the tables this rewrite put in place (visited after their replacement).
        if self.scopes.iter().any(|s| s.contains(&lower)) || self.tables.contains(&ident.value) {
            return ControlFlow::Continue(());
        }
        let Some(obj) = self.app.object_by_name_or_label(&ident.value).cloned() else {
            return self.stop(refused(format!(
                "{} is not an object of this app",
                ident.value
            )));
        };
        self.tables.push(obj.table());
        let alias_name = alias
            .as_ref()
            .map_or(ident.value.clone(), |a| a.name.value.clone());
        let user_alias = alias.take();
        let Some(mut factor) = factor_of(&relation_sql(&obj, self.flavor, &alias_name)) else {
            return self.stop(Error::internal("could not build the object's relation"));
        };
        if let Some(ua) = user_alias {
            match &mut factor {
                TableFactor::Table { alias, .. } | TableFactor::Derived { alias, .. } => {
                    *alias = Some(ua)
                }
                _ => {}
            }
        }
        *t = factor;
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ObjectSpec, Timestamp};
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
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            objects,
        }
    }

    #[test]
    fn rewrites_names_and_labels() {
        let a = app();
        let p = prepare(
            &a,
            "SELECT id FROM \"Testing App\" WHERE status = 'old'",
            Flavor::Native,
            10_000,
        )
        .unwrap();
        assert!(p.sql.contains(&a.objects["contacts"].table()), "{}", p.sql);
        assert_eq!(p.tables.len(), 1);
        let p = prepare(
            &a,
            "SELECT _record_id AS id FROM \"Testing App\" t WHERE t._status = 'x'",
            Flavor::Fulcrum,
            10_000,
        )
        .unwrap();
        assert!(p.sql.contains("_record_id"), "{}", p.sql);
        let p = prepare(
            &a,
            "WITH x AS (SELECT id FROM deals) SELECT * FROM x JOIN contacts c ON c.id = x.id",
            Flavor::Native,
            10_000,
        )
        .unwrap();
        assert_eq!(p.tables.len(), 2);
    }

    #[test]
    fn refuses_what_is_not_a_read() {
        let a = app();
        for sql in [
            "DELETE FROM contacts",
            "SELECT 1; SELECT 2",
            "PRAGMA table_info(contacts)",
            "SELECT * FROM sqlite_master",
            "SELECT load_extension('x')",
            "SELECT * FROM main.contacts",
            "SELECT * FROM pragma_table_info('contacts')",
            "SELECT printf('%.*c', 1000000000, 'x')",
            "SELECT * FROM o_00000000000000000000000000000000",
            "SELECT name, doc FROM _apps, (WITH _apps AS (SELECT 1) SELECT 1)",
            "SELECT * FROM x, (WITH x AS (SELECT 1) SELECT 1)",
            "WITH sqlite_master AS (SELECT 1) SELECT * FROM sqlite_master",
            "WITH o_x AS (SELECT 1) SELECT * FROM o_x",
        ] {
            assert!(prepare(&a, sql, Flavor::Native, 10_000).is_err(), "{sql}");
        }
        assert_eq!(
            prepare(&a, "SELECT 1", Flavor::Native, 3).unwrap_err().code,
            ErrorCode::LimitExceeded
        );
    }
}
