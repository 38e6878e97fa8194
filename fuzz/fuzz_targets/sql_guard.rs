//! The SQL guard: any text is refused or checked; what is accepted reads only the app's objects.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_engine::model::{App, Name, Object, ObjectSpec, SqlSyntax, Timestamp};
use sluice_engine::query::prepare;
use std::collections::BTreeMap;
use std::sync::Arc;

fn app() -> App {
    let mut objects = BTreeMap::new();
    for (name, label) in [("contacts", "Testing App"), ("deals", "Deals")] {
        let spec: ObjectSpec = serde_json::from_value(serde_json::json!({
            "name": name, "label": label,
            "fields": [{"name": "status", "type": "text"}, {"name": "n", "type": "integer"}]
        }))
        .unwrap();
        let obj = Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap();
        objects.insert(name.to_owned(), Arc::new(obj));
    }
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
        objects,
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the store's grammar: SQLite's or PostgreSQL's.
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    let Ok(sql) = std::str::from_utf8(rest) else {
        return;
    };
    let syntax = if which % 2 == 0 {
        SqlSyntax {
            dialect: Box::new(sqlparser::dialect::SQLiteDialect {}),
            reserved_prefixes: &["_", "sqlite_", "o_"],
            functions: sluice_engine::model::ALLOWED_FUNCTIONS,
            table_functions: sluice_engine::model::TABLE_FUNCTIONS,
        }
    } else {
        SqlSyntax {
            dialect: Box::new(sqlparser::dialect::PostgreSqlDialect {}),
            reserved_prefixes: &["_", "pg_", "o_", "information_schema"],
            functions: sluice_engine::model::PG_FUNCTIONS,
            table_functions: sluice_engine::model::PG_TABLE_FUNCTIONS,
        }
    };
    let app = app();
    if let Ok(q) = prepare(&app, sql, &syntax, None, &sluice_engine::settings::Settings::default().query) {
        for r in &q.relations {
            assert!(app.objects.values().any(|o| Arc::ptr_eq(o, &r.object)));
        }
        for cte in &q.ctes {
            assert!(
                !cte.starts_with('_')
                    && !cte.starts_with("o_")
                    && !cte.starts_with("sqlite_")
                    && !cte.starts_with("pg_")
            );
        }
    }
});
