//! Properties of the decoders of untrusted input, over generated inputs: they never panic, refuse
//! bad input with a client error (never `internal`), and round-trip what they accept.

use crate::error::ErrorCode;
use crate::jobs::normalize::{normalize, Format};
use crate::model::{App, FieldType, Name, Object, ObjectSpec, SqlSyntax, Timestamp, Value};
use crate::query::prepare;
use crate::settings::Settings;
use proptest::prelude::*;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::Arc;

const TYPES: [FieldType; 7] = [
    FieldType::Text,
    FieldType::Integer,
    FieldType::Number,
    FieldType::Boolean,
    FieldType::Date,
    FieldType::Datetime,
    FieldType::Json,
];

fn app() -> App {
    let mut objects = BTreeMap::new();
    let spec: ObjectSpec = serde_json::from_value(serde_json::json!({
        "name": "contacts", "label": "Testing App",
        "fields": [{"name": "status", "type": "text"}, {"name": "n", "type": "integer"}]
    }))
    .unwrap();
    let obj = Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap();
    objects.insert("contacts".to_owned(), Arc::new(obj));
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_text_converts_or_is_refused(s in ".{0,40}") {
        for ty in TYPES {
            let _ = Value::from_text(ty, &s);
            let _ = Value::from_json(ty, &Json::String(s.clone()));
        }
    }

    #[test]
    fn numbers_and_text_round_trip(i in any::<i64>(), f in -1e12f64..1e12, s in ".{0,40}") {
        prop_assert_eq!(Value::from_text(FieldType::Integer, &i.to_string()), Ok(Value::Integer(i)));
        prop_assert_eq!(Value::from_json(FieldType::Number, &Json::from(f)), Ok(Value::Number(f)));
        prop_assert_eq!(Value::from_text(FieldType::Text, &s), Ok(Value::Text(s.clone())));
        let v = Value::from_json(FieldType::Text, &Json::String(s.clone())).unwrap();
        prop_assert_eq!(v.to_json(), Json::String(s));
    }

    #[test]
    fn any_upload_is_normalised_or_refused_cleanly(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        pick in 0usize..3,
    ) {
        let format = [Format::Csv, Format::Zip, Format::Ndjson][pick];
        let dir = tempfile::tempdir().unwrap();
        let (raw, out) = (dir.path().join("raw"), dir.path().join("out.csv"));
        std::fs::write(&raw, &bytes).unwrap();
        if let Err(e) = normalize(&raw, format, "u.csv", &out, &Settings::default().upload) {
            prop_assert_ne!(e.code, ErrorCode::Internal, "{}", e);
        }
    }

    #[test]
    fn csv_uploads_keep_every_cell(
        rows in proptest::collection::vec(proptest::collection::vec("[a-z0-9 ,;\"é]{1,8}", 3), 1..20),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (raw, out) = (dir.path().join("raw"), dir.path().join("out.csv"));
        let mut w = csv::Writer::from_path(&raw).unwrap();
        w.write_record(["a", "b", "c"]).unwrap();
        for r in &rows {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let n = normalize(&raw, Format::Csv, "u.csv", &out, &Settings::default().upload).unwrap();
        prop_assert_eq!(n.rows, rows.len() as u64);
        let back: Vec<Vec<String>> = csv::Reader::from_path(&out)
            .unwrap()
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        prop_assert_eq!(back, rows);
    }

    #[test]
    fn the_sql_guard_never_panics_and_reads_only_objects(sql in ".{0,120}") {
        let syntax = SqlSyntax {
            dialect: Box::new(sqlparser::dialect::SQLiteDialect {}),
            reserved_prefixes: &["_", "sqlite_", "o_"],
            functions: crate::model::ALLOWED_FUNCTIONS,
            table_functions: crate::model::TABLE_FUNCTIONS,
        };
        let app = app();
        if let Ok(q) = prepare(&app, &sql, &syntax, None, &Settings::default().query) {
            for r in &q.relations {
                prop_assert!(app.objects.values().any(|o| Arc::ptr_eq(o, &r.object)));
            }
        }
    }
}
