//! Bad input: each kind gets its 4xx and a machine-readable code, and changes nothing.

use crate::common::{spawn_app, spawn_app_with, ADMIN};
use serde_json::json;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

#[tokio::test]
async fn bad_record_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.setup_crm().await;
    app.admin("POST", RECS, Some(json!({"email": "taken@x"})))
        .await;

    let raw = |body: &'static str| {
        app.client
            .post(app.url(RECS))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in ["{", "{\"email\": }", "nul", "[1,2", "\u{0}"] {
        let resp = raw(body).await.unwrap();
        assert_eq!(resp.status(), 400, "{body:?}");
        let b: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(b["error"]["code"], "invalid_json");
        assert!(!b["error"]["message"].as_str().unwrap().is_empty());
    }
    let resp = raw("").await.unwrap();
    assert_eq!(resp.status(), 400);

    let cases = [
        (
            json!({"email": "a@x", "age": "thirty"}),
            422,
            "validation_failed",
            Some("age"),
        ),
        (json!({"age": 3}), 422, "required", Some("email")),
        (json!({"email": null}), 422, "required", Some("email")),
        (
            json!({"email": "a@x", "colour": "red"}),
            422,
            "unknown_field",
            Some("colour"),
        ),
        (
            json!({"email": "taken@x"}),
            409,
            "unique_violation",
            Some("email"),
        ),
        (
            json!(["not", "an", "object"]),
            422,
            "validation_failed",
            None,
        ),
        (json!("text"), 422, "validation_failed", None),
    ];
    for (body, status, code, field) in cases {
        let (s, b) = app.admin("POST", RECS, Some(body.clone())).await;
        assert_eq!(s, status, "{body}: {b}");
        assert_eq!(b["error"]["code"], code, "{body}");
        assert_eq!(b["error"]["field"].as_str(), field, "{body}");
    }
    let (_, b) = app
        .admin("POST", RECS, Some(json!({"email": "taken@x"})))
        .await;
    assert_eq!(b["error"]["message"], "email taken@x already exists");
    assert_eq!(app.count("crm", "contacts").await, 1);

    // A unique conflict on update leaves both records as they were.
    let (_, other) = app
        .admin("POST", RECS, Some(json!({"email": "other@x"})))
        .await;
    let id = other["id"].as_str().unwrap();
    let (s, _) = app
        .admin(
            "PATCH",
            &format!("{RECS}/{id}"),
            Some(json!({"email": "taken@x"})),
        )
        .await;
    assert_eq!(s, 409);
    let (_, again) = app.admin("GET", &format!("{RECS}/{id}"), None).await;
    assert_eq!(again, other);
}

#[tokio::test]
async fn unknown_apps_objects_records_and_routes() {
    let app = spawn_app().await;
    app.setup_crm().await;
    for (method, path) in [
        ("GET", "/v1/apps/nope"),
        ("GET", "/v1/apps/nope/objects/contacts/records"),
        ("GET", "/v1/apps/crm/objects/nope/records"),
        ("POST", "/v1/apps/crm/objects/nope/records"),
        (
            "GET",
            "/v1/apps/crm/objects/contacts/records/0192f0c4-0000-7000-8000-000000000000",
        ),
        ("GET", "/v1/apps/crm/objects/contacts/records/not-a-uuid"),
        ("GET", "/v1/nothing/here"),
    ] {
        let (s, b) = app
            .admin(
                method,
                path,
                if method == "POST" {
                    Some(json!({}))
                } else {
                    None
                },
            )
            .await;
        assert_eq!(s, 404, "{method} {path}: {b}");
        assert_eq!(b["error"]["code"], "not_found");
    }
    let (s, b) = app
        .admin("PUT", "/v1/apps/crm/objects", Some(json!({})))
        .await;
    assert_eq!(s, 405);
    assert_eq!(b["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app_with(|c| c.max_body_bytes = 1024).await;
    app.setup_crm().await;
    let big = "x".repeat(2000);
    let (s, b) = app.admin("POST", RECS, Some(json!({"email": big}))).await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["error"]["code"], "too_large");
    assert_eq!(app.count("crm", "contacts").await, 0);
    let (_, limits) = app.call("GET", "/v1/limits", None, None).await;
    assert_eq!(limits["max_body_bytes"], 1024);
}

#[tokio::test]
async fn bad_app_and_object_definitions() {
    let app = spawn_app().await;
    let cases = [
        ("/v1/apps", json!({"name": "bad name"}), 422),
        ("/v1/apps", json!({"name": "_sys"}), 422),
        ("/v1/apps", json!({"label": "no name"}), 422),
        ("/v1/apps", json!({"name": "ok", "colour": 1}), 422),
    ];
    for (path, body, status) in cases {
        let (s, b) = app.admin("POST", path, Some(body.clone())).await;
        assert_eq!(s, status, "{body}: {b}");
    }
    app.admin("POST", "/v1/apps", Some(json!({"name": "crm"})))
        .await;
    let (s, b) = app
        .admin("POST", "/v1/apps", Some(json!({"name": "crm"})))
        .await;
    assert_eq!(s, 409, "{b}");
    let objs = [
        json!({"name": "o", "fields": [{"name": "id", "type": "text"}]}),
        json!({"name": "o", "fields": [{"name": "x", "type": "blob"}]}),
        json!({"name": "o", "fields": [{"name": "x", "type": "text"}, {"name": "X", "type": "integer"}]}),
        json!({"name": "o", "fields": [{"name": "x", "type": "integer", "default": "zero"}]}),
        json!({"name": "o-1", "fields": []}),
    ];
    for body in objs {
        let (s, b) = app
            .admin("POST", "/v1/apps/crm/objects", Some(body.clone()))
            .await;
        assert_eq!(s, 422, "{body}: {b}");
    }
    let (_, b) = app.admin("GET", "/v1/apps/crm/objects", None).await;
    assert_eq!(b["objects"], json!([]));
}

#[tokio::test]
async fn edge_inputs_get_4xx_not_500() {
    let app = spawn_app().await;
    app.setup_crm().await;
    for i in 0..3 {
        app.admin("POST", RECS, Some(json!({"email": format!("e{i}@x")})))
            .await;
    }
    let (s, b) = app
        .admin("GET", &format!("{RECS}?offset=18446744073709551615"), None)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["field"].as_str()),
        (400, Some("offset")),
        "{b}"
    );
    let many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    let (s, b) = app
        .admin("GET", &format!("{RECS}?age[in]={}", many.join(",")), None)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (413, Some("limit_exceeded")),
        "{b}"
    );
    // A unique field whose default every existing record would share.
    let (s, b) = app
        .admin(
            "PATCH",
            "/v1/apps/crm/objects/contacts",
            Some(
                json!({"add": [{"name": "code", "type": "text", "unique": true, "default": "x"}]}),
            ),
        )
        .await;
    assert_eq!(
        (
            s.as_u16(),
            b["error"]["code"].as_str(),
            b["error"]["field"].as_str()
        ),
        (409, Some("conflict"), Some("code")),
        "{b}"
    );
    let (_, obj) = app
        .admin("GET", "/v1/apps/crm/objects/contacts", None)
        .await;
    assert_eq!(
        obj["fields"].as_array().unwrap().len(),
        3,
        "nothing changed"
    );
    let (s, _) = app
        .admin(
            "PATCH",
            "/v1/apps/crm/objects/contacts",
            Some(json!({"add": [{"name": "code", "type": "text", "unique": true}]})),
        )
        .await;
    assert_eq!(
        s, 200,
        "without a default the new values are all null, which may repeat"
    );
}

/// A read-after position that is not one is refused, naming the header, on every door that takes
/// it (a records call, a bulk request); a good one is taken without replicas too.
#[tokio::test]
async fn a_bad_read_after_position_is_refused() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let send = |path: &'static str, position: &'static str, body: Option<serde_json::Value>| {
        let req = match body {
            Some(b) => app.client.post(app.url(path)).json(&b),
            None => app.client.get(app.url(path)),
        };
        req.bearer_auth(ADMIN)
            .header("Sluice-Read-After", position)
            .send()
    };
    let bulk = json!({"operations": []});
    for position in ["soon", "-1", "1.5"] {
        for (path, body) in [(RECS, None), ("/v1/bulk", Some(bulk.clone()))] {
            let resp = send(path, position, body).await.unwrap();
            assert_eq!(resp.status(), 400, "{path} {position:?}");
            let b: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(b["error"]["code"], "invalid_request");
            assert_eq!(b["error"]["field"], "Sluice-Read-After");
        }
    }
    assert_eq!(send(RECS, "12345", None).await.unwrap().status(), 200);
}
