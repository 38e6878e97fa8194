//! Schema changes through the API: fields added, renamed and dropped as DDL on the object's table.

use crate::common::spawn_app;
use serde_json::json;

const OBJ: &str = "/v1/apps/crm/objects/contacts";
const RECS: &str = "/v1/apps/crm/objects/contacts/records";

#[tokio::test]
async fn add_rename_and_drop_fields() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let (_, rec) = app
        .admin("POST", RECS, Some(json!({"email": "a@x", "age": 40})))
        .await;
    let id = rec["id"].as_str().unwrap().to_owned();

    let patch = json!({"add": [{"name": "city", "type": "text", "default": "Paris"}, {"name": "code", "type": "text", "unique": true}]});
    let (s, obj) = app.admin("PATCH", OBJ, Some(patch)).await;
    assert_eq!(s, 200, "{obj}");
    let (_, got) = app.admin("GET", &format!("{RECS}/{id}"), None).await;
    assert_eq!(got["city"], "Paris", "existing records take the default");
    app.admin(
        "PATCH",
        &format!("{RECS}/{id}"),
        Some(json!({"code": "A1"})),
    )
    .await;
    let (s, b) = app
        .admin("POST", RECS, Some(json!({"email": "b@x", "code": "A1"})))
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (409, Some("unique_violation")),
        "new unique field is enforced"
    );

    let (s, _) = app
        .admin(
            "PATCH",
            OBJ,
            Some(json!({"rename": {"age": "years", "code": "ref"}})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, got) = app.admin("GET", &format!("{RECS}/{id}"), None).await;
    assert_eq!((got["years"].as_i64(), got.get("age")), (Some(40), None));
    let (s, _) = app
        .admin("POST", RECS, Some(json!({"email": "c@x", "ref": "A1"})))
        .await;
    assert_eq!(s, 409, "uniqueness follows the rename");

    let (s, _) = app
        .admin("PATCH", OBJ, Some(json!({"drop": ["ref", "city"]})))
        .await;
    assert_eq!(s, 200);
    let (_, got) = app.admin("GET", &format!("{RECS}/{id}"), None).await;
    assert!(
        got.get("ref").is_none() && got.get("city").is_none(),
        "{got}"
    );
    let (s, _) = app
        .admin("POST", RECS, Some(json!({"email": "d@x", "ref": "A1"})))
        .await;
    assert_eq!(s, 422);

    // A change that fails part-way changes nothing.
    let (s, b) = app
        .admin(
            "PATCH",
            OBJ,
            Some(json!({"add": [{"name": "zip", "type": "text"}], "drop": ["nope"]})),
        )
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["error"]["field"], "nope");
    let (_, obj) = app.admin("GET", OBJ, None).await;
    let names: Vec<&str> = obj["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["email", "years", "vip"]);
    // A required field without default cannot be added to an object that has records.
    let (s, _) = app
        .admin(
            "PATCH",
            OBJ,
            Some(json!({"add": [{"name": "must", "type": "text", "required": true}]})),
        )
        .await;
    assert_eq!(s, 422);
    let (s, _) = app
        .admin("PATCH", OBJ, Some(json!({"rename": {"email": "years"}})))
        .await;
    assert_eq!(s, 409);
}

/// An existing field's rules change in place (required, unique, default), checked against the
/// records there are; its type does not.
#[tokio::test]
async fn existing_fields_change_required_unique_and_default() {
    let app = spawn_app().await;
    app.setup_crm().await;
    for (email, age) in [("a@x", json!(30)), ("b@x", json!(30)), ("c@x", json!(null))] {
        app.admin("POST", RECS, Some(json!({"email": email, "age": age})))
            .await;
    }
    let change = |c: serde_json::Value| json!({ "change": { "age": c } });
    let (s, b) = app
        .admin("PATCH", OBJ, Some(change(json!({"required": true}))))
        .await;
    assert_eq!(
        (s.as_u16(), &b["error"]["field"]),
        (422, &json!("age")),
        "{b}"
    );
    let (s, b) = app
        .admin("PATCH", OBJ, Some(change(json!({"unique": true}))))
        .await;
    assert_eq!(
        (s.as_u16(), &b["error"]["field"]),
        (409, &json!("age")),
        "two records share 30: {b}"
    );
    let (s, b) = app
        .admin("PATCH", OBJ, Some(change(json!({"type": "text"}))))
        .await;
    assert_eq!(s, 422, "{b}");
    let (s, b) = app
        .admin("PATCH", OBJ, Some(change(json!({"default": "old"}))))
        .await;
    assert_eq!(s, 422, "a default of the wrong type: {b}");
    let (s, b) = app
        .admin(
            "PATCH",
            OBJ,
            Some(change(json!({"default": 18, "type": "integer"}))),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, rec) = app.admin("POST", RECS, Some(json!({"email": "d@x"}))).await;
    assert_eq!(rec["age"], 18, "the new default applies");
    // The email field becomes not unique, then unique again (no duplicates yet).
    let off = json!({"change": {"email": {"unique": false}}});
    let (s, b) = app.admin("PATCH", OBJ, Some(off)).await;
    assert_eq!(
        (s.as_u16(), &b["fields"][0]["unique"]),
        (200, &json!(false)),
        "{b}"
    );
    let (s, _) = app.admin("POST", RECS, Some(json!({"email": "a@x"}))).await;
    assert_eq!(s, 201, "duplicates allowed now");
    let on = json!({"change": {"email": {"unique": true, "required": true}}});
    let (s, b) = app.admin("PATCH", OBJ, Some(on)).await;
    assert_eq!(
        (s.as_u16(), &b["error"]["code"]),
        (409, &json!("conflict")),
        "{b}"
    );
    let (s, b) = app
        .admin(
            "PATCH",
            OBJ,
            Some(json!({"change": {"nope": {"required": true}}})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), &b["error"]["field"]),
        (422, &json!("nope")),
        "{b}"
    );
}

#[tokio::test]
async fn delete_object_and_app() {
    let app = spawn_app().await;
    app.setup_crm().await;
    app.admin("POST", RECS, Some(json!({"email": "a@x"}))).await;
    let (s, _) = app.admin("DELETE", OBJ, None).await;
    assert_eq!(s, 204);
    let (s, _) = app.admin("GET", RECS, None).await;
    assert_eq!(s, 404);
    // The name is free again, with an empty table.
    app.setup_crm_object_only().await;
    assert_eq!(app.count("crm", "contacts").await, 0);
    let (s, _) = app.admin("DELETE", "/v1/apps/crm", None).await;
    assert_eq!(s, 204);
    let (s, _) = app.admin("GET", "/v1/apps/crm", None).await;
    assert_eq!(s, 404);
}

impl crate::common::TestApp {
    async fn setup_crm_object_only(&self) {
        let (s, b) = self
            .admin(
                "POST",
                "/v1/apps/crm/objects",
                Some(json!({"name": "contacts", "fields": [{"name": "email", "type": "text"}]})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
    }
}
