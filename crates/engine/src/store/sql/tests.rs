//! The selection SQL as text, in both flavours.

use super::*;
use crate::model::{Column, ObjectSpec, Timestamp};
use serde_json::json;

fn obj() -> Object {
    let spec: ObjectSpec = serde_json::from_value(json!({"name": "o", "fields": [
        {"name": "name", "type": "text"}, {"name": "age", "type": "integer"}
    ]}))
    .unwrap();
    Object::from_spec(uuid::Uuid::nil(), spec, Timestamp::now()).unwrap()
}

fn sql_in(flavor: Flavor, cond: &Cond) -> (String, usize) {
    let o = obj();
    let w = where_clause(flavor, &o, cond, None);
    (w.sql, w.params.len())
}

fn sql(cond: &Cond) -> (String, usize) {
    sql_in(Flavor::Sqlite, cond)
}

fn nested() -> Cond {
    let name = Column::Field(0);
    let age = Column::Field(1);
    Cond::And(vec![
        Cond::Cmp(age, CmpOp::Gte, Value::Integer(30)),
        Cond::Or(vec![
            Cond::In(
                name,
                vec![Value::Text("a".into()), Value::Text("b".into())],
                false,
            ),
            Cond::IsNull(name, true),
        ]),
        Cond::Not(Box::new(Cond::Between(
            age,
            Value::Integer(1),
            Value::Integer(2),
        ))),
    ])
}

#[test]
fn conditions_bind_every_value() {
    assert_eq!(
        sql(&nested()),
        (
            " WHERE (\"age\" >= ? AND (\"name\" IN (?, ?) OR \"name\" IS NULL) AND NOT (\"age\" BETWEEN ? AND ?))"
                .to_owned(),
            5
        )
    );
    assert_eq!(
        sql_in(Flavor::Postgres, &nested()),
        (
            " WHERE (\"age\" >= $1 AND (\"name\" IN ($2, $3) OR \"name\" IS NULL) AND NOT (\"age\" BETWEEN $4 AND $5))"
                .to_owned(),
            5
        )
    );
}

#[test]
fn nulls_and_empty_lists_need_no_parameter() {
    let name = Column::Field(0);
    assert_eq!(
        sql(&Cond::Cmp(name, CmpOp::Eq, Value::Null)).0,
        " WHERE \"name\" IS NULL"
    );
    assert_eq!(
        sql(&Cond::Cmp(name, CmpOp::Ne, Value::Null)).0,
        " WHERE \"name\" IS NOT NULL"
    );
    assert_eq!(
        sql(&Cond::Cmp(name, CmpOp::Gt, Value::Null)),
        (" WHERE 0".to_owned(), 0)
    );
    assert_eq!(
        sql(&Cond::In(name, vec![], false)),
        (" WHERE 0".to_owned(), 0)
    );
    assert_eq!(
        sql(&Cond::In(name, vec![], true)),
        (" WHERE 1".to_owned(), 0)
    );
    assert_eq!(sql(&Cond::True).0, " WHERE 1");
    assert_eq!(
        sql_in(Flavor::Postgres, &Cond::In(name, vec![], false)).0,
        " WHERE FALSE"
    );
    assert_eq!(
        sql_in(
            Flavor::Postgres,
            &Cond::Cmp(name, CmpOp::Ne, Value::Integer(1))
        )
        .0,
        " WHERE \"name\" IS DISTINCT FROM $1"
    );
}

#[test]
fn text_matches_escape_wildcards() {
    let contains = Cond::Cmp(
        Column::Field(0),
        CmpOp::Contains,
        Value::Text("50%_off".into()),
    );
    let (s, n) = sql(&contains);
    assert_eq!(n, 1);
    assert!(
        s.contains("'%'||replace(replace(replace(CAST(? AS TEXT)"),
        "{s}"
    );
    assert!(s.ends_with(r"||'%' ESCAPE '\'"), "{s}");
    let (s, _) = sql_in(Flavor::Postgres, &contains);
    assert!(
        s.starts_with(" WHERE \"name\" ILIKE '%'||replace(replace(replace(CAST($1 AS TEXT)"),
        "{s}"
    );
    let on_number = Cond::Cmp(Column::Field(1), CmpOp::Like, Value::Text("4%".into()));
    assert_eq!(
        sql_in(Flavor::Postgres, &on_number).0,
        " WHERE CAST(\"age\" AS TEXT) ILIKE $1 ESCAPE ''"
    );
}

#[test]
fn keyset_paging_continues_after_the_last_row() {
    let o = obj();
    let keys = [
        SortKey {
            column: Column::Field(1),
            desc: true,
        },
        SortKey {
            column: Column::Id,
            desc: true,
        },
    ];
    let after = [Value::Integer(40), Value::Text("x".into())];
    let w = where_clause(Flavor::Sqlite, &o, &Cond::True, Some((&keys, &after)));
    assert_eq!(
        w.sql,
        " WHERE 1 AND (((\"age\" < ? OR \"age\" IS NULL)) OR (\"age\" IS ? AND (id < ? OR id IS NULL)))"
    );
    assert_eq!(w.params.len(), 3);
    let w = where_clause(Flavor::Postgres, &o, &Cond::True, Some((&keys, &after)));
    assert_eq!(
        w.sql,
        " WHERE TRUE AND (((\"age\" < $1 OR \"age\" IS NULL)) OR (\"age\" IS NOT DISTINCT FROM $2 AND (id < $3 OR id IS NULL)))"
    );
}

#[test]
fn postgres_orders_nulls_as_sqlite_does() {
    let o = obj();
    let sel = Selection {
        cond: Cond::True,
        sort: vec![SortKey {
            column: Column::Field(1),
            desc: true,
        }],
        limit: 10,
        offset: 0,
        after: None,
    };
    let keys = sel.keys();
    let (s, _) = list_sql(Flavor::Postgres, &o, &sel, &keys);
    assert!(
        s.contains("ORDER BY \"age\" DESC NULLS LAST, id DESC NULLS LAST"),
        "{s}"
    );
}

#[test]
fn a_search_matches_any_text_column_ignoring_case() {
    let name = Column::Field(0);
    let cond = Cond::Search(vec![name, Column::CreatedBy], Value::Text("a_b".into()));
    let (sqlite, n) = sql(&cond);
    assert_eq!(n, 2);
    assert!(
        sqlite.starts_with(" WHERE (\"name\" LIKE '%'||replace(")
            && sqlite.contains(" OR created_by LIKE "),
        "{sqlite}"
    );
    let (pg, _) = sql_in(Flavor::Postgres, &cond);
    assert!(pg.contains("\"name\" ILIKE") && pg.contains("$2"), "{pg}");
    assert_eq!(
        sql(&Cond::Search(vec![], Value::Text("x".into()))),
        (" WHERE 0".to_owned(), 0)
    );
}
