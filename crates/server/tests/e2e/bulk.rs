//! `/v1/bulk`: mixed 1,000-op requests, limits, per-operation credentials, non-atomic and atomic
//! failure, references, malformed bodies, and bulk beside concurrent single writes.

use crate::common::{spawn_app, spawn_app_with, TestApp};
use serde_json::{json, Value};

const CONTACTS: &str = "/v1/apps/crm/objects/contacts/records";
const NOTES: &str = "/v1/apps/crm/objects/notes/records";

async fn setup(app: &TestApp) {
    app.setup_crm().await;
    let (s, _) = app
        .admin(
            "POST",
            "/v1/apps/crm/objects",
            Some(json!({"name": "notes", "fields": [{"name": "text", "type": "text", "required": true}, {"name": "author", "type": "text"}]})),
        )
        .await;
    assert_eq!(s, 201);
}

async fn bulk(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Value) {
    let (s, b) = app.call("POST", "/v1/bulk", token, Some(body)).await;
    (s.as_u16(), b)
}

fn statuses(b: &Value) -> Vec<u64> {
    b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn a_thousand_mixed_operations_across_two_objects() {
    let app = spawn_app().await;
    setup(&app).await;
    // Ten contacts to update, delete and read inside the bulk request.
    let mut ids = Vec::new();
    for i in 0..10 {
        let (_, r) = app
            .admin(
                "POST",
                CONTACTS,
                Some(json!({"email": format!("old{i}@x"), "age": i})),
            )
            .await;
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let mut ops = Vec::new();
    for i in 0..1000 {
        ops.push(match i % 10 {
            0..=3 => json!({"method": "POST", "url": CONTACTS, "body": {"email": format!("new{i}@x"), "age": i}}),
            4..=6 => json!({"method": "POST", "url": format!("http://example.com{NOTES}"), "body": {"text": format!("note {i}")}}),
            7 => json!({"method": "PATCH", "url": format!("{CONTACTS}/{}", ids[(i / 10) % 10]), "body": {"age": i}}),
            8 => json!({"url": format!("{CONTACTS}?email=new{}@x", i - 8)}),
            _ => json!({"method": "GET", "url": format!("{NOTES}?count=true&limit=1")}),
        });
    }
    ops[999] = json!({"method": "DELETE", "url": format!("{CONTACTS}/{}", ids[0])});
    let (s, b) = bulk(&app, Some(crate::common::ADMIN), json!({"operations": ops})).await;
    assert_eq!(s, 200);
    let results = b["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    for (i, r) in results.iter().enumerate() {
        let want = match i % 10 {
            _ if i == 999 => 204,
            0..=6 => 201,
            _ => 200,
        };
        assert_eq!(r["status"], want, "op {i}: {r}");
    }
    // Read-your-writes: the GET at i sees the create at i - 8; the count sees the notes so far.
    assert_eq!(results[8]["body"]["records"][0]["email"], "new0@x");
    assert_eq!(results[19]["body"]["total"], 6);
    assert_eq!(results[998]["body"]["records"][0]["age"], 990);
    assert_eq!(results[997]["body"]["age"], 997);
    assert_eq!(app.count("crm", "contacts").await, 10 + 400 - 1);
    assert_eq!(app.count("crm", "notes").await, 300);
}

#[tokio::test]
async fn over_the_limit_nothing_runs() {
    let app = spawn_app().await;
    setup(&app).await;
    let ops: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "POST", "url": NOTES, "body": {"text": format!("{i}")}}))
        .collect();
    let (s, b) = bulk(&app, Some(crate::common::ADMIN), json!({"operations": ops})).await;
    assert_eq!(s, 413, "{b}");
    assert_eq!(b["error"]["code"], "limit_exceeded");
    assert_eq!(app.count("crm", "notes").await, 0);

    let small = spawn_app_with(|c| c.max_bulk_ops = 3).await;
    setup(&small).await;
    let (_, limits) = small.call("GET", "/v1/limits", None, None).await;
    assert_eq!(limits["max_bulk_ops"], 3);
    let ops: Vec<Value> = (0..4)
        .map(|i| json!({"method": "POST", "url": NOTES, "body": {"text": format!("{i}")}}))
        .collect();
    let (s, _) = bulk(
        &small,
        Some(crate::common::ADMIN),
        json!({"operations": ops[..4]}),
    )
    .await;
    assert_eq!(s, 413);
    let (s, _) = bulk(
        &small,
        Some(crate::common::ADMIN),
        json!({"operations": ops[..3]}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(small.count("crm", "notes").await, 3);
}

#[tokio::test]
async fn each_operation_is_authorized_with_its_own_credentials() {
    let app = spawn_app().await;
    setup(&app).await;
    let writer = app.token("crm", "will", "writer").await;
    let reader = app.token("crm", "rita", "reader").await;
    let other_owner = {
        app.admin("POST", "/v1/apps", Some(json!({"name": "hr"})))
            .await;
        app.token("hr", "hank", "owner").await
    };
    let ops = json!([
        {"method": "POST", "url": NOTES, "body": {"text": "by will"}},
        {"method": "POST", "url": NOTES, "body": {"text": "by rita"}, "headers": {"Authorization": format!("Bearer {reader}")}},
        {"method": "POST", "url": NOTES, "body": {"text": "by hank"}, "headers": {"authorization": format!("Bearer {other_owner}")}},
        {"method": "POST", "url": NOTES, "body": {"text": "bad token"}, "headers": {"Authorization": "Bearer nope"}},
        {"method": "GET", "url": NOTES, "headers": {"Authorization": format!("Bearer {reader}")}},
        {"method": "POST", "url": "/v1/apps", "body": {"name": "sneaky"}}
    ]);
    let (s, b) = bulk(&app, Some(&writer), json!({"operations": ops})).await;
    assert_eq!(s, 200);
    assert_eq!(statuses(&b), [201, 403, 404, 401, 200, 403]);
    assert_eq!(b["results"][0]["body"]["created_by"], "will");
    assert_eq!(
        b["results"][4]["body"]["records"].as_array().unwrap().len(),
        1
    );
    assert_eq!(app.count("crm", "notes").await, 1);

    // The outer request needs valid credentials (or anonymous access per app).
    let (s, _) = bulk(&app, Some("nope"), json!({"operations": []})).await;
    assert_eq!(s, 401);
    let (s, b) = bulk(&app, None, json!({"operations": [{"url": NOTES}]})).await;
    assert_eq!((s, statuses(&b)), (200, vec![401]));
}

#[tokio::test]
async fn a_failure_does_not_stop_the_rest_unless_atomic() {
    let app = spawn_app().await;
    setup(&app).await;
    app.admin("POST", CONTACTS, Some(json!({"email": "taken@x"})))
        .await;
    let ops = json!([
        {"method": "POST", "url": CONTACTS, "body": {"email": "a@x"}},
        {"method": "POST", "url": CONTACTS, "body": {"email": "taken@x"}},
        {"method": "POST", "url": CONTACTS, "body": {"email": "b@x"}}
    ]);
    let (s, b) = bulk(&app, Some(crate::common::ADMIN), json!({"operations": ops})).await;
    assert_eq!(s, 200);
    assert_eq!(statuses(&b), [201, 409, 201]);
    assert_eq!(b["results"][1]["body"]["error"]["code"], "unique_violation");
    assert_eq!(app.count("crm", "contacts").await, 3);

    let ops = json!([
        {"method": "POST", "url": CONTACTS, "body": {"email": "c@x"}},
        {"method": "DELETE", "url": format!("{CONTACTS}/{}", b["results"][0]["body"]["id"].as_str().unwrap())},
        {"method": "POST", "url": CONTACTS, "body": {"email": "taken@x"}},
        {"method": "POST", "url": CONTACTS, "body": {"email": "d@x"}}
    ]);
    let (s, b) = bulk(
        &app,
        Some(crate::common::ADMIN),
        json!({"atomic": true, "operations": ops.clone()}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(statuses(&b), [424, 424, 409, 424]);
    assert_eq!(b["results"][2]["body"]["error"]["code"], "unique_violation");
    assert_eq!(b["results"][0]["body"]["error"]["code"], "not_applied");
    assert_eq!(
        app.count("crm", "contacts").await,
        3,
        "the atomic request left the store unchanged"
    );
    // `atomic` after the operations means the same.
    let (_, b) = bulk(
        &app,
        Some(crate::common::ADMIN),
        json!({"operations": ops, "atomic": true}),
    )
    .await;
    assert_eq!(statuses(&b), [424, 424, 409, 424]);
    assert_eq!(app.count("crm", "contacts").await, 3);
}

#[tokio::test]
async fn references_to_earlier_results() {
    let app = spawn_app().await;
    setup(&app).await;
    let ops = json!([
        {"id": "author", "method": "POST", "url": CONTACTS, "body": {"email": "poe@x", "age": 40}},
        {"id": "article", "method": "POST", "url": NOTES, "body": {"text": "The Raven by ${author.body.email}", "author": "${author.body.id}"}},
        {"method": "GET", "url": format!("{CONTACTS}/${{article.body.author}}")},
        {"method": "PATCH", "url": format!("{CONTACTS}/${{author.body.id}}"), "body": {"age": "${author.body.age}"}},
        {"method": "GET", "url": format!("{CONTACTS}/${{missing.body.id}}")},
        {"id": "bad", "method": "POST", "url": CONTACTS, "body": {"email": "poe@x"}},
        {"method": "GET", "url": format!("{CONTACTS}/${{bad.body.id}}")},
        {"method": "GET", "url": format!("{CONTACTS}/${{author.body.nothing}}")}
    ]);
    let (s, b) = bulk(&app, Some(crate::common::ADMIN), json!({"operations": ops})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(statuses(&b), [201, 201, 200, 200, 400, 409, 400, 400]);
    let author = &b["results"][0]["body"];
    assert_eq!(b["results"][0]["id"], "author");
    assert_eq!(b["results"][1]["body"]["author"], author["id"]);
    assert_eq!(b["results"][1]["body"]["text"], "The Raven by poe@x");
    assert_eq!(b["results"][2]["body"]["email"], "poe@x");
    assert_eq!(
        b["results"][3]["body"]["age"], 40,
        "a whole-string reference keeps its JSON type"
    );
    assert_eq!(
        b["results"][4]["body"]["error"]["code"],
        "invalid_reference"
    );
    assert!(b["results"][6]["body"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("failed"));
}

#[tokio::test]
async fn malformed_bulk_bodies() {
    let app = spawn_app().await;
    setup(&app).await;
    let raw = |body: &'static str| {
        app.client
            .post(app.url("/v1/bulk"))
            .bearer_auth(crate::common::ADMIN)
            .body(body)
            .send()
    };
    let cases = [
        ("", 400, "invalid_json"),
        ("{", 400, "invalid_json"),
        ("[]", 400, "invalid_request"),
        ("{}", 400, "invalid_request"),
        ("{\"operations\": {}}", 400, "invalid_request"),
        (
            "{\"operations\": [{\"method\": \"GET\"}]}",
            400,
            "invalid_request",
        ),
        ("{\"operations\": [], \"extra\": 1}", 400, "invalid_request"),
        (
            "{\"operations\": [{\"url\": \"/v1/apps\", \"colour\": 1}]}",
            400,
            "invalid_request",
        ),
    ];
    for (body, status, code) in cases {
        let resp = raw(body).await.unwrap();
        assert_eq!(resp.status(), status, "{body:?}");
        let b: Value = resp.json().await.unwrap();
        assert_eq!(b["error"]["code"], code, "{body:?}");
    }
    // Bad JSON after valid entries: nothing is kept.
    let resp = raw("{\"operations\": [{\"method\": \"POST\", \"url\": \"/v1/apps/crm/objects/notes/records\", \"body\": {\"text\": \"x\"}}, {\"url\": ")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(app.count("crm", "notes").await, 0);

    let ops = json!([
        {"method": "POST", "url": NOTES},
        {"method": "POST", "url": NOTES, "body": {"text": 5}},
        {"method": "POST", "url": "/v1/bulk", "body": {"operations": []}},
        {"method": "BREW", "url": NOTES},
        {"url": "/v1/unknown"},
        {"method": "post", "url": NOTES, "body": {"text": "fine"}}
    ]);
    let (s, b) = bulk(&app, Some(crate::common::ADMIN), json!({"operations": ops})).await;
    assert_eq!(s, 200);
    assert_eq!(statuses(&b), [400, 422, 400, 405, 404, 201]);
    assert!(b["results"][2]["body"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nested"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_beside_concurrent_single_writes() {
    let app = std::sync::Arc::new(spawn_app().await);
    setup(&app).await;
    let (_, counter) = app
        .admin(
            "POST",
            CONTACTS,
            Some(json!({"email": "counter@x", "age": 0})),
        )
        .await;
    let id = counter["id"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for t in 0..4 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut codes = Vec::new();
            for i in 0..25 {
                let ops: Vec<Value> = (0..40)
                    .map(|j| json!({"method": "POST", "url": NOTES, "body": {"text": format!("b{t}-{i}-{j}")}}))
                    .collect();
                let (s, b) = bulk(&app, Some(crate::common::ADMIN), json!({"operations": ops})).await;
                codes.push(s);
                assert!(statuses(&b).iter().all(|s| *s == 201), "{b}");
            }
            codes
        }));
    }
    for t in 0..4 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut codes = Vec::new();
            for i in 0..50 {
                let (s, _) = app
                    .admin("POST", NOTES, Some(json!({"text": format!("s{t}-{i}")})))
                    .await;
                codes.push(s.as_u16());
            }
            codes
        }));
    }
    for r in futures_join(tasks).await {
        assert!(
            r.iter().all(|s| *s == 200 || *s == 201),
            "no busy errors reach a client: {r:?}"
        );
    }
    assert_eq!(app.count("crm", "notes").await, 4 * 25 * 40 + 4 * 50);

    // Merges of different fields by bulk and by single calls, interleaved: neither is lost.
    let bulk_side = {
        let (app, id) = (app.clone(), id.clone());
        tokio::spawn(async move {
            for age in 1..=50 {
                let ops = json!([{"method": "PATCH", "url": format!("{CONTACTS}/{id}"), "body": {"age": age}}]);
                let (s, b) = bulk(
                    &app,
                    Some(crate::common::ADMIN),
                    json!({"atomic": true, "operations": ops}),
                )
                .await;
                assert_eq!((s, statuses(&b)), (200, vec![200]));
            }
            vec![]
        })
    };
    let single_side = {
        let (app, id) = (app.clone(), id.clone());
        tokio::spawn(async move {
            for i in 0..50 {
                let (s, _) = app
                    .admin(
                        "PATCH",
                        &format!("{CONTACTS}/{id}"),
                        Some(json!({"vip": i % 2 == 0})),
                    )
                    .await;
                assert_eq!(s, 200);
            }
            vec![]
        })
    };
    futures_join(vec![bulk_side, single_side]).await;
    let (_, rec) = app.admin("GET", &format!("{CONTACTS}/{id}"), None).await;
    assert_eq!(
        (rec["age"].as_i64(), rec["vip"].as_bool()),
        (Some(50), Some(false))
    );
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<Vec<u16>>>) -> Vec<Vec<u16>> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
