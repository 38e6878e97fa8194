//! Tests of the SOQL translator: lexing and parsing, names, each operator and literal, date
//! literals, and hostile input; every translated query also goes through the engine's guard for
//! both stores' grammars.

mod dates;
mod hostile;
mod names;
mod operators;
mod syntax;

use super::{translate, translate_within, Bounds, SoqlError, Translated};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value as Json};
use sluice_engine::model::{
    App, Object, ObjectSpec, SqlSyntax, Timestamp, ALLOWED_FUNCTIONS, PG_FUNCTIONS,
    PG_TABLE_FUNCTIONS, TABLE_FUNCTIONS,
};
use sluice_engine::settings::Settings;
use std::sync::Arc;

/// SQLite's grammar, as the embedded store gives it.
pub fn sqlite() -> SqlSyntax {
    SqlSyntax {
        dialect: Box::new(sqlparser::dialect::SQLiteDialect {}),
        reserved_prefixes: &["_", "sqlite_", "o_"],
        functions: ALLOWED_FUNCTIONS,
        table_functions: TABLE_FUNCTIONS,
    }
}

/// PostgreSQL's grammar, as the shared store gives it.
pub fn postgres() -> SqlSyntax {
    SqlSyntax {
        dialect: Box::new(sqlparser::dialect::PostgreSqlDialect {}),
        reserved_prefixes: &["_", "pg_", "o_", "information_schema"],
        functions: PG_FUNCTIONS,
        table_functions: PG_TABLE_FUNCTIONS,
    }
}

/// Wednesday 2024-05-15, 13:30 UTC.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 15, 13, 30, 0).unwrap()
}

fn object(id: u8, spec: Json) -> Arc<Object> {
    let spec: ObjectSpec = serde_json::from_value(spec).unwrap();
    let mut obj = Object::from_spec(
        serde_json::from_value(json!(app_id())).unwrap(),
        spec,
        Timestamp::now(),
    )
    .unwrap();
    obj.id = serde_json::from_value(json!(format!("00000000-0000-0000-0000-0000000000{id:02}")))
        .unwrap();
    Arc::new(obj)
}

fn app_id() -> &'static str {
    "00000000-0000-0000-0000-000000000001"
}

/// App `crm`: `Account` (labelled "Customers") and `Contact`, whose `AccountId` points at an
/// account and `Owner__c` at a `person`; every field type on both.
pub fn app() -> App {
    let mut app: App = serde_json::from_value(json!({
        "id": app_id(), "name": "crm", "label": "CRM", "anonymous_role": null, "secret": "",
        "created_at": Timestamp::now(), "updated_at": Timestamp::now()
    }))
    .unwrap();
    let objects = [
        object(
            2,
            json!({"name": "Account", "label": "Customers", "fields": [
                {"name": "Name", "type": "text"}, {"name": "Rating", "type": "integer"},
                {"name": "Active", "type": "boolean"}, {"name": "Founded", "type": "date"},
                {"name": "Extra", "type": "json"}
            ]}),
        ),
        object(
            3,
            json!({"name": "Contact", "fields": [
                {"name": "LastName", "type": "text"}, {"name": "Email", "type": "text"},
                {"name": "Age", "type": "integer"}, {"name": "Score", "type": "number"},
                {"name": "Vip", "type": "boolean"}, {"name": "Birthdate", "type": "date"},
                {"name": "LastSeen", "type": "datetime"}, {"name": "Data", "type": "json"},
                {"name": "AccountId", "type": "relation", "object": "Account"},
                {"name": "Owner__c", "type": "relation", "object": "person"}
            ]}),
        ),
        object(
            4,
            json!({"name": "person", "fields": [{"name": "Name", "type": "text"}]}),
        ),
    ];
    for o in objects {
        app.objects.insert(o.name.to_string(), o);
    }
    app
}

/// The query translated for SQLite, checked by the guard for both stores.
pub fn ok(soql: &str) -> Translated {
    let a = app();
    let t = translate(soql, &a, sqlite(), now()).unwrap_or_else(|e| panic!("{soql}: {e}"));
    guarded(&a, &t, &sqlite());
    let pg = translate(soql, &a, postgres(), now()).unwrap_or_else(|e| panic!("{soql}: {e}"));
    guarded(&a, &pg, &postgres());
    assert_eq!(pg.params, t.params, "{soql}");
    assert_eq!(pg.headers, t.headers, "{soql}");
    t
}

/// `t` passes the engine's query guard in `syntax`, with a placeholder for each parameter.
pub fn guarded(app: &App, t: &Translated, syntax: &SqlSyntax) {
    sluice_engine::query::prepare(app, &t.sql, syntax, None, &Settings::default().query)
        .unwrap_or_else(|e| panic!("{}: {}", t.sql, e.message));
    let placeholders = t.sql.matches('?').count() + t.sql.matches('$').count();
    assert_eq!(placeholders, t.params.len(), "{}", t.sql);
}

/// The query's WHERE clause (what follows `WHERE`, before ORDER BY or LIMIT) and its params.
pub fn filter(soql: &str) -> (String, Vec<Json>) {
    let t = ok(soql);
    let after = t.sql.split(" WHERE ").nth(1).unwrap_or_default();
    let clause = after.split(" ORDER BY ").next().unwrap_or_default();
    (clause.to_owned(), t.params)
}

/// The refusal of `soql`.
pub fn refused(soql: &str) -> SoqlError {
    match translate(soql, &app(), sqlite(), now()) {
        Ok(t) => panic!("{soql} was translated: {}", t.sql),
        Err(e) => e,
    }
}

/// The refusal of `soql` within `bounds`.
pub fn refused_within(soql: &str, bounds: &Bounds) -> SoqlError {
    match translate_within(soql, &app(), &sqlite(), now(), bounds) {
        Ok(t) => panic!("translated: {} characters of SQL", t.sql.len()),
        Err(e) => e,
    }
}
