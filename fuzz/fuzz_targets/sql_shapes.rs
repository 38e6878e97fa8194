//! Deep and long SQL grown from a recipe (operator chains, prefix chains, nesting, set operations,
//! CTEs, columns, arrays, subqueries), checked and rewritten for both stores on a thread with a
//! production worker's stack: refused by a named limit, or taken through every walk — never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_engine::model::{App, Name, Object, ObjectSpec, SqlSyntax, Timestamp};
use sluice_engine::query::prepare;
use sluice_engine::settings::defaults::THREAD_STACK_BYTES;
use sluice_engine::settings::Settings;
use sluice_engine::store::rewrite::rewrite;
use sluice_engine::store::sql::Flavor;
use std::collections::BTreeMap;
use std::sync::Arc;

fn app() -> App {
    let spec: ObjectSpec = serde_json::from_value(serde_json::json!({
        "name": "contacts", "fields": [{"name": "n", "type": "integer"}]
    }))
    .unwrap();
    let obj = Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap();
    App {
        id: uuid::Uuid::nil(),
        name: Name::parse("crm", "app").unwrap(),
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

/// Repeats `part` `n` times, joined by `sep`.
fn chain(part: &str, sep: &str, n: usize) -> String {
    vec![part; n.max(1)].join(sep)
}

/// Grows one query from `data`: each pair of bytes picks a shape and how large it is (up to
/// about 25,000 repetitions), each wrapping or extending what came before.
fn grow(data: &[u8]) -> String {
    let mut expr = "n".to_owned();
    let mut query: Option<String> = None;
    for pair in data.chunks(2) {
        let (shape, size) = (pair[0] % 12, pair.get(1).map_or(1, |b| *b as usize) * 100 + 1);
        match shape {
            0 => expr = format!("{expr} OR {}", chain("n = 1", " OR ", size)),
            1 => expr = format!("{expr} + {}", chain("n", " + ", size)),
            2 => expr = format!("{}{expr}", "NOT ".repeat(size)),
            3 => expr = format!("{}{expr}{}", "(".repeat(size), ")".repeat(size)),
            4 => expr = format!("{}{expr}{}", "abs(".repeat(size), ")".repeat(size)),
            5 => expr = format!("{expr} OR {}", chain("[1, 1] = [1]", " OR ", size)),
            6 => expr = format!("{}{expr}{}", "CASE WHEN n THEN ".repeat(size), " END".repeat(size)),
            7 => expr = format!("{}{expr}{}", "(SELECT ".repeat(size), ")".repeat(size)),
            8 => {
                let one = format!("SELECT {expr} FROM contacts");
                query = Some(format!("{} UNION ALL {one}", chain(&one, " UNION ALL ", size)));
            }
            9 => {
                let one = format!("SELECT {expr}, 1");
                query = Some(chain(&one, " MINUS ", size));
            }
            10 => {
                let ctes = (0..size).map(|i| format!("c{i} AS (SELECT {expr})"));
                query = Some(format!("WITH {} SELECT 1", ctes.collect::<Vec<_>>().join(", ")));
            }
            _ => query = Some(format!("SELECT {} FROM contacts", chain(&expr, ", ", size))),
        }
        if expr.len() > 400_000 {
            break;
        }
    }
    query.unwrap_or_else(|| format!("SELECT {expr} FROM contacts"))
}

fuzz_target!(|data: &[u8]| {
    let sql = grow(data);
    std::thread::Builder::new()
        .stack_size(THREAD_STACK_BYTES)
        .spawn(move || {
            let app = app();
            let limits = Settings::default().query;
            for (syntax, flavor) in [
                (
                    SqlSyntax {
                        dialect: Box::new(sqlparser::dialect::SQLiteDialect {}),
                        reserved_prefixes: &["_", "sqlite_", "o_"],
                        functions: sluice_engine::model::ALLOWED_FUNCTIONS,
                        table_functions: sluice_engine::model::TABLE_FUNCTIONS,
                    },
                    Flavor::Sqlite,
                ),
                (
                    SqlSyntax {
                        dialect: Box::new(sqlparser::dialect::PostgreSqlDialect {}),
                        reserved_prefixes: &["_", "pg_", "o_", "information_schema"],
                        functions: sluice_engine::model::PG_FUNCTIONS,
                        table_functions: sluice_engine::model::PG_TABLE_FUNCTIONS,
                    },
                    Flavor::Postgres,
                ),
            ] {
                // Longer than the length limit is refused before anything else: grow within it.
                if let Ok(q) = prepare(&app, &sql, &syntax, None, &limits) {
                    let copy = q.clone();
                    let _ = rewrite(&copy, flavor, &limits);
                    assert_eq!(copy.statement.to_string(), q.statement.to_string());
                }
            }
        })
        .unwrap()
        .join()
        .unwrap();
});
