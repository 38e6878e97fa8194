//! The query bounds against the stack they are measured for: the largest queries each bound lets
//! through are checked, rewritten for both stores, cloned, rendered and dropped on a thread with a
//! production worker's stack; queries past each bound are refused by name, on the same stack.

use super::bounds::measure;
use super::check::prepare;
use crate::error::ErrorCode;
use crate::model::{
    App, Name, Object, ObjectSpec, SqlSyntax, Timestamp, ALLOWED_FUNCTIONS, PG_FUNCTIONS,
    PG_TABLE_FUNCTIONS, TABLE_FUNCTIONS,
};
use crate::settings::defaults::THREAD_STACK_BYTES;
use crate::settings::Settings;
use crate::store::rewrite::rewrite;
use crate::store::sql::Flavor;
use std::collections::BTreeMap;
use std::sync::Arc;

fn app() -> App {
    let spec: ObjectSpec = serde_json::from_value(serde_json::json!({
        "name": "contacts", "fields": [{"name": "n", "type": "integer"}]
    }))
    .expect("spec");
    let obj = Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).expect("object");
    App {
        id: uuid::Uuid::nil(),
        name: Name::parse("crm", "app").expect("name"),
        label: "CRM".into(),
        anonymous_role: None,
        secret: String::new(),
        anonymous_token: String::new(),
        signup_token: String::new(),
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        objects: BTreeMap::from([("contacts".to_owned(), Arc::new(obj))]),
    }
}

fn syntaxes() -> [(SqlSyntax, Flavor); 2] {
    [
        (
            SqlSyntax {
                dialect: Box::new(sqlparser::dialect::SQLiteDialect {}),
                reserved_prefixes: &["_", "sqlite_", "o_"],
                functions: ALLOWED_FUNCTIONS,
                table_functions: TABLE_FUNCTIONS,
            },
            Flavor::Sqlite,
        ),
        (
            SqlSyntax {
                dialect: Box::new(sqlparser::dialect::PostgreSqlDialect {}),
                reserved_prefixes: &["_", "pg_", "o_", "information_schema"],
                functions: PG_FUNCTIONS,
                table_functions: PG_TABLE_FUNCTIONS,
            },
            Flavor::Postgres,
        ),
    ]
}

/// Runs `f` on a thread with a production worker's stack.
fn on_worker_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(THREAD_STACK_BYTES)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no panic, no overflow");
}

/// The longest `SELECT n FROM contacts WHERE <term> <op> <term> …` within the expression bound.
fn longest_chain(op: &str, term: &str) -> String {
    let max = Settings::default().query.max_expression_terms;
    let mut terms = vec![term; 2];
    let sql = |terms: &[&str]| format!("SELECT n FROM contacts WHERE {}", terms.join(op));
    let dialect = sqlparser::dialect::GenericDialect {};
    while measure(&sql(&[terms.as_slice(), &[term]].concat()), &dialect)
        .expect("measured")
        .expression_terms
        <= max
    {
        terms.push(term);
    }
    sql(&terms)
}

#[test]
fn the_largest_queries_within_the_bounds_fit_the_worker_stack() {
    let max = Settings::default().query;
    let nested = format!(
        "SELECT n FROM contacts WHERE n = {}1{}",
        "(1 + ".repeat(max.max_nesting),
        ")".repeat(max.max_nesting)
    );
    let compound =
        vec!["SELECT 1 WHERE 1 = 1 OR 1 = 2"; max.max_compound_terms].join(" UNION ALL ");
    let queries = [
        longest_chain(" OR ", "n = 1"),
        longest_chain(" + ", "n"),
        longest_chain(" AND ", "NOT n IS NULL"),
        nested,
        compound,
    ];
    on_worker_stack(move || {
        let app = app();
        for (syntax, flavor) in syntaxes() {
            for sql in &queries {
                let checked = prepare(&app, sql, &syntax, None, &max)
                    .unwrap_or_else(|e| panic!("{e}: {}", &sql[..80]));
                let copy = checked.clone();
                let rewritten = rewrite(&copy, flavor, &max).expect("rewritten");
                assert!(rewritten.sql.len() >= sql.len() / 2);
                assert_eq!(copy.statement.to_string(), checked.statement.to_string());
            }
        }
    });
}

#[test]
fn queries_past_each_bound_are_refused_by_name_on_the_worker_stack() {
    let union = vec!["SELECT 1"; 600].join(" UNION ALL ");
    let minus = vec!["SELECT 1, 1"; 600].join(" MINUS ");
    let or_chain = format!("SELECT 1 WHERE {}", vec!["1 = 1"; 10_000].join(" OR "));
    let ctes = format!(
        "WITH {} SELECT 1",
        (0..2000)
            .map(|i| format!("c{i} AS (SELECT 1)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let columns = format!("SELECT {} FROM contacts", vec!["n"; 3000].join(", "));
    let arrays = format!("SELECT 1 WHERE {}", vec!["[1, 1] = [1]"; 5000].join(" OR "));
    let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    let cases = [
        (union, "query_max_compound_terms"),
        (minus, "query_max_compound_terms"),
        (or_chain, "query_max_expression_terms"),
        (ctes, "query_max_tables"),
        (columns, "query_max_result_columns"),
        (arrays, "query_max_expression_terms"),
        (deep, "query_max_nesting"),
    ];
    on_worker_stack(move || {
        let app = app();
        let limits = Settings::default().query;
        for (syntax, _) in syntaxes() {
            for (sql, limit) in &cases {
                let e = prepare(&app, sql, &syntax, None, &limits).expect_err(limit);
                assert_eq!(e.code, ErrorCode::LimitExceeded, "{limit}: {e}");
                assert!(e.message.contains(limit), "{limit}: {}", e.message);
            }
        }
    });
}
