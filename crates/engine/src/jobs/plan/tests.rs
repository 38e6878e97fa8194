//! The job planner's refusals and the jobs it plans.

use super::*;
use crate::model::ObjectSpec;
use serde_json::json;

fn obj() -> Object {
    let spec: ObjectSpec = serde_json::from_value(json!({"name": "contacts", "fields": [
        {"name": "email", "type": "text", "required": true, "unique": true},
        {"name": "name", "type": "text"},
        {"name": "age", "type": "integer"},
        {"name": "vip", "type": "boolean", "required": true, "default": false}
    ]}))
    .unwrap();
    Object::from_spec(Uuid::nil(), spec, Timestamp::now()).unwrap()
}

fn file(header: &[&str], rows: u64) -> FileRow {
    FileRow {
        id: Uuid::nil().to_string(),
        app_id: Uuid::nil(),
        name: "c.csv".into(),
        size: 1,
        content_type: "text/csv".into(),
        header: header.iter().map(|h| h.to_string()).collect(),
        rows,
        created_at: Timestamp::now(),
        created_by: "u".into(),
        assembly: None,
    }
}

fn plan(req: Json, header: &[&str], rows: u64) -> Result<Job> {
    let mut req = req;
    req["file_id"] = json!(Uuid::nil().to_string());
    req["object"] = json!("contacts");
    let owner = Owner {
        app_id: Uuid::nil(),
        app: "crm",
        user: "u",
        user_id: "u1",
        now: Timestamp::now(),
        tag: "t".into(),
        max_records: 10,
    };
    plan_job(
        serde_json::from_value(req).unwrap(),
        &obj(),
        &file(header, rows),
        owner,
    )
}

fn refusal(req: Json, header: &[&str]) -> (ErrorCode, Option<String>) {
    let e = plan(req, header, 1).unwrap_err();
    (e.code, e.field)
}

#[test]
fn the_header_names_fields_without_mappings() {
    let job = plan(json!({"operation": "insert"}), &["email", "age", "x"], 3);
    assert_eq!(
        job.unwrap_err().field.as_deref(),
        Some("x"),
        "an unknown column is refused"
    );
    let job = plan(
        json!({"operation": "insert"}),
        &["email", "name", "age", "vip"],
        3,
    )
    .unwrap();
    assert_eq!(job.mappings.len(), 4);
    assert_eq!(
        job.result_columns,
        vec![0, 1, 2],
        "the first three mapped columns"
    );
    assert_eq!(job.result_headers, vec!["email", "name", "age"]);
    assert_eq!((job.progress.total, job.tag.as_str()), (3, "t"));
}

#[test]
fn keys_must_be_given_unique_and_mapped() {
    let h = &["email", "age"];
    for op in ["update", "upsert", "delete"] {
        assert_eq!(
            refusal(json!({"operation": op}), h),
            (ErrorCode::Required, Some("find_by".into())),
            "{op}"
        );
    }
    assert_eq!(
        refusal(json!({"operation": "update", "find_by": "age"}), h).0,
        ErrorCode::ValidationFailed
    );
    assert_eq!(
        refusal(json!({"operation": "update", "find_by": "nope"}), h),
        (ErrorCode::UnknownField, Some("find_by".into()))
    );
    let unmapped = json!({"operation": "update", "find_by": "email",
        "field_mappings": [{"field": "age", "column": "age"}]});
    assert_eq!(
        refusal(unmapped, h),
        (ErrorCode::Required, Some("find_by".into()))
    );
    assert!(plan(
        json!({"operation": "update", "find_by": "id"}),
        &["id", "age"],
        1
    )
    .is_ok());
}

#[test]
fn mappings_are_checked_against_the_file_and_the_object() {
    let h = &["E-mail", "Age"];
    let m = |maps: Json| json!({"operation": "insert", "field_mappings": maps});
    let ok = plan(
        m(
            json!([{"field": "email", "column": "E-mail"}, {"field": "age", "index": 1},
                 {"field": "name", "default": "n/a"}]),
        ),
        h,
        1,
    )
    .unwrap();
    assert_eq!(ok.mappings[1].column, Some(1));
    assert_eq!(ok.mappings[2].column, None);
    for (maps, field) in [
        (json!([{"field": "email", "column": "Mail"}]), "column"),
        (json!([{"field": "email", "index": 2}]), "index"),
        (
            json!([{"field": "email", "index": 0, "column": "Age"}]),
            "email",
        ),
        (json!([{"field": "email"}]), "email"),
        (
            json!([{"field": "email", "index": 0}, {"field": "email", "index": 1}]),
            "email",
        ),
        (
            json!([{"field": "email", "index": 0}, {"field": "age", "default": "x"}]),
            "age",
        ),
    ] {
        assert_eq!(
            refusal(m(maps.clone()), h).1.as_deref(),
            Some(field),
            "{maps}"
        );
    }
    assert_eq!(
        refusal(m(json!([{"field": "nope", "index": 0}])), h).0,
        ErrorCode::UnknownField
    );
    // A required field without a default must be mapped for inserts (vip has a default).
    assert_eq!(
        refusal(m(json!([{"field": "age", "index": 1}])), h),
        (ErrorCode::Required, Some("email".into()))
    );
}

#[test]
fn limits_and_callbacks() {
    let e = plan(json!({"operation": "insert"}), &["email"], 11).unwrap_err();
    assert_eq!(
        (e.code, e.field.as_deref()),
        (ErrorCode::LimitExceeded, Some("file_id"))
    );
    let cb = |c: Json| json!({"operation": "insert", "callback": c});
    let job = plan(cb(json!({"url": "https://x.example/h"})), &["email"], 1).unwrap();
    let c = job.callback.unwrap();
    assert_eq!(
        (c.method.as_str(), c.status),
        ("post", CallbackStatus::Waiting)
    );
    assert!(plan(
        cb(json!({"url": "https://x.example/h", "method": "get"})),
        &["email"],
        1
    )
    .is_err());
    assert!(plan(cb(json!({"url": "ftp://x.example/h"})), &["email"], 1).is_err());
}
