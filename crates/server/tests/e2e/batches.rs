//! Batches: delete by query and by ids, update by ids, refusals, pending then started, live
//! counters, cancel.

use crate::common::{poll, spawn_app_with, TestApp};
use serde_json::{json, Value};

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

async fn seed(app: &TestApp, n: usize) -> Vec<String> {
    let ops: Vec<Value> = (0..n)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("p{i}@x"), "age": i % 100}}))
        .collect();
    let mut ids = Vec::new();
    for chunk in ops.chunks(1000) {
        let (s, b) = app
            .admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
        assert_eq!(s, 200);
        ids.extend(
            b["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["body"]["id"].as_str().unwrap().to_owned()),
        );
    }
    ids
}

async fn wait_batch(app: &TestApp, id: &str) -> Value {
    let path = format!("/v1/apps/crm/batches/{id}");
    poll(&format!("batch {id} to finish"), || async {
        let (_, b) = app.admin("GET", &path, None).await;
        ["success", "failed", "canceled"]
            .contains(&b["status"].as_str().unwrap_or_default())
            .then_some(b)
    })
    .await
}

/// Where a running batch can be held: right after a chunk commits.
const AFTER_CHUNK: &str = "batch.chunk.after_commit";

#[tokio::test]
async fn delete_by_query_and_ids_update_by_ids() {
    let app = spawn_app_with(|_| {}).await;
    app.setup_crm().await;
    let ids = seed(&app, 300).await;
    let writer = app.token("crm", "will", "writer").await;
    let (s, b) = app
        .call(
            "POST",
            "/v1/apps/crm/batches",
            Some(&writer),
            Some(json!({"start": true, "operations": [{"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts WHERE age < 10"}]})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["created_by"], "will");
    let b = wait_batch(&app, b["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            b["status"].as_str(),
            b["objects_total"].as_u64(),
            b["objects_success"].as_u64()
        ),
        (Some("success"), Some(30), Some(30)),
        "{b}"
    );
    assert!(b["started_at"].is_string() && b["completed_at"].is_string());
    assert_eq!(app.count("crm", "contacts").await, 270);

    // Several operations run in order: update some by ids, delete others by ids (one already gone).
    let upd: Vec<&String> = ids[50..60].iter().collect();
    let del: Vec<&String> = ids[0..1].iter().chain(ids[60..70].iter()).collect();
    let (s, b) = app
        .admin(
            "POST",
            "/v1/apps/crm/batches",
            Some(json!({"start": true, "operations": [
                {"action": "update", "object": "contacts", "ids": upd, "set": {"age": 999}},
                {"action": "delete", "object": "contacts", "ids": del}
            ]})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let b = wait_batch(&app, b["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            b["objects_total"].as_u64(),
            b["objects_success"].as_u64(),
            b["objects_failed"].as_u64()
        ),
        (Some(21), Some(20), Some(1)),
        "{b}"
    );
    let (_, r) = app
        .admin("GET", &format!("{RECS}?age=999&count=true&limit=1"), None)
        .await;
    assert_eq!(r["total"], 10);
    assert_eq!(app.count("crm", "contacts").await, 260);
}

#[tokio::test]
async fn bad_batches_are_refused_before_anything_changes() {
    let app = spawn_app_with(|c| c.max_batch_records = 50).await;
    app.setup_crm().await;
    let ids = seed(&app, 100).await;
    let reader = app.token("crm", "r", "reader").await;
    let op = |extra: Value| {
        let mut o = json!({"action": "delete", "object": "contacts"});
        o.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"operations": [o]})
    };
    let cases = vec![
        (
            op(json!({"query": "SELECT id FROM contacts", "ids": [ids[0]]})),
            400,
            "invalid_request",
            Some("ids"),
        ),
        (op(json!({})), 422, "required", Some("query")),
        (
            op(json!({"query": "SELECT email FROM contacts"})),
            422,
            "validation_failed",
            Some("query"),
        ),
        (
            op(json!({"query": "DELETE FROM contacts"})),
            400,
            "invalid_request",
            Some("query"),
        ),
        (
            op(json!({"query": "SELECT id FROM nowhere"})),
            400,
            "invalid_request",
            Some("query"),
        ),
        (
            op(json!({"ids": ids[..51].to_vec()})),
            413,
            "limit_exceeded",
            Some("ids"),
        ),
        (
            json!({"operations": [{"action": "update", "object": "contacts", "ids": [ids[0]]}]}),
            422,
            "required",
            Some("set"),
        ),
        (
            json!({"operations": [{"action": "update", "object": "contacts", "ids": [ids[0]], "set": {"colour": 1}}]}),
            422,
            "unknown_field",
            Some("colour"),
        ),
        (
            json!({"operations": [{"action": "delete", "object": "nope", "ids": [ids[0]]}]}),
            404,
            "not_found",
            Some("object"),
        ),
        (
            json!({"operations": [{"action": "truncate", "object": "contacts", "ids": [ids[0]]}]}),
            422,
            "validation_failed",
            None,
        ),
        (
            json!({"operations": []}),
            422,
            "required",
            Some("operations"),
        ),
    ];
    for (body, status, code, field) in cases {
        let (s, b) = app
            .admin("POST", "/v1/apps/crm/batches", Some(body.clone()))
            .await;
        assert_eq!(
            (s.as_u16(), b["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {b}"
        );
        assert_eq!(b["error"]["field"].as_str(), field, "{body}: {b}");
    }
    let (s, _) = app
        .call(
            "POST",
            "/v1/apps/crm/batches",
            Some(&reader),
            Some(op(json!({"ids": [ids[0]]}))),
        )
        .await;
    assert_eq!(s, 403);
    // A query selecting more than the limit: refused when started, the batch failed, nothing changed.
    let (s, b) = app
        .admin(
            "POST",
            "/v1/apps/crm/batches",
            Some(op(json!({"query": "SELECT id FROM contacts"}))),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["status"].as_str()),
        (201, Some("pending")),
        "{b}"
    );
    let id = b["id"].as_str().unwrap();
    let (s, e) = app
        .admin("POST", &format!("/v1/apps/crm/batches/{id}/start"), None)
        .await;
    assert_eq!(
        (s.as_u16(), e["error"]["code"].as_str()),
        (413, Some("limit_exceeded")),
        "{e}"
    );
    let (_, b) = app
        .admin("GET", &format!("/v1/apps/crm/batches/{id}"), None)
        .await;
    assert_eq!(b["status"], "failed");
    assert!(b["error"].as_str().unwrap().contains("nothing was changed"));
    assert_eq!(app.count("crm", "contacts").await, 100);
}

#[tokio::test]
async fn a_pending_batch_starts_later_and_counters_move() {
    let app = spawn_app_with(|c| c.batch_chunk_rows = 100).await;
    app.setup_crm().await;
    seed(&app, 2000).await;
    let (s, b) = app
        .admin("POST", "/v1/apps/crm/batches", Some(json!({"start": false, "operations": [{"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts"}]})))
        .await;
    assert_eq!(
        (
            s.as_u16(),
            b["status"].as_str(),
            b["objects_total"].as_u64()
        ),
        (201, Some("pending"), Some(0))
    );
    let id = b["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.count("crm", "contacts").await,
        2000,
        "a pending batch does nothing"
    );
    // Hold the batch after its first chunk, to see the counters part-way.
    let pause = app.engine().breakpoints().arm(AFTER_CHUNK);
    let (s, b) = app
        .admin("POST", &format!("/v1/apps/crm/batches/{id}/start"), None)
        .await;
    assert_eq!(
        (
            s.as_u16(),
            b["status"].as_str(),
            b["objects_total"].as_u64()
        ),
        (200, Some("running"), Some(2000)),
        "{b}"
    );
    pause.reached().await;
    let (_, b) = app
        .admin("GET", &format!("/v1/apps/crm/batches/{id}"), None)
        .await;
    assert_eq!(
        (b["status"].as_str(), b["objects_success"].as_u64()),
        (Some("running"), Some(100)),
        "the counters move with each chunk: {b}"
    );
    assert_eq!(app.count("crm", "contacts").await, 1900);
    pause.release();
    let b = wait_batch(&app, &id).await;
    assert_eq!(
        (b["status"].as_str(), b["objects_success"].as_u64()),
        (Some("success"), Some(2000))
    );
    assert_eq!(app.count("crm", "contacts").await, 0);
    let (s, _) = app
        .admin("POST", &format!("/v1/apps/crm/batches/{id}/start"), None)
        .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn a_running_batch_can_be_canceled() {
    let app = spawn_app_with(|c| c.batch_chunk_rows = 50).await;
    app.setup_crm().await;
    seed(&app, 1000).await;
    let pause = app.engine().breakpoints().arm(AFTER_CHUNK);
    let (_, b) = app
        .admin("POST", "/v1/apps/crm/batches", Some(json!({"start": true, "operations": [{"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts"}]})))
        .await;
    let id = b["id"].as_str().unwrap().to_owned();
    pause.reached().await;
    let (s, _) = app
        .admin("POST", &format!("/v1/apps/crm/batches/{id}/cancel"), None)
        .await;
    assert_eq!(s, 200);
    pause.release();
    let b = wait_batch(&app, &id).await;
    assert_eq!(b["status"], "canceled");
    assert_eq!(
        b["objects_success"].as_u64(),
        Some(50),
        "the batch stops before its next chunk: {b}"
    );
    assert_eq!(app.count("crm", "contacts").await, 950);
}

/// A dry run resolves the selection and says how much it holds, with a sample; nothing is made
/// or changed, and bad requests are refused as a real batch's are.
#[tokio::test]
async fn a_dry_run_counts_and_changes_nothing() {
    let app = spawn_app_with(|c| c.max_batch_records = 150).await;
    app.setup_crm().await;
    let ids = seed(&app, 200).await;
    let dry = |ops: Value| json!({"dry_run": true, "start": true, "operations": ops});
    let (s, d) = app
        .admin(
            "POST",
            "/v1/apps/crm/batches",
            Some(dry(json!([{"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts WHERE age < 10"}]))),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (&d["dry_run"], &d["count"], &d["over_limit"]),
        (&json!(true), &json!(20), &json!(false))
    );
    let sample = d["sample_ids"].as_array().unwrap();
    assert_eq!(sample.len(), 20);
    assert!(sample
        .iter()
        .all(|id| ids.contains(&id.as_str().unwrap().to_owned())));
    // Given ids count the records they name; a query over the limit says so.
    let given = json!([ids[0], ids[1], "01a00000-0000-7000-8000-000000000000"]);
    let (_, d) = app
        .admin("POST", "/v1/apps/crm/batches", Some(dry(json!([{"action": "update", "object": "contacts", "ids": given, "set": {"age": 1}}]))))
        .await;
    assert_eq!(
        (&d["count"], d["sample_ids"].as_array().map(Vec::len)),
        (&json!(2), Some(2)),
        "{d}"
    );
    let (_, d) = app
        .admin("POST", "/v1/apps/crm/batches", Some(dry(json!([{"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts"}]))))
        .await;
    // Counted exactly, however far past the limit, with a sample still.
    assert_eq!(
        (&d["over_limit"], &d["limit"], &d["count"]),
        (&json!(true), &json!(150), &json!(200)),
        "{d}"
    );
    assert_eq!(d["sample_ids"].as_array().map(Vec::len), Some(20), "{d}");
    let (s, e) = app
        .admin("POST", "/v1/apps/crm/batches", Some(dry(json!([{"action": "delete", "object": "contacts", "query": "SELECT email FROM contacts"}]))))
        .await;
    assert_eq!(s, 422, "no id column: {e}");
    let (_, list) = app.admin("GET", "/v1/apps/crm/batches", None).await;
    assert_eq!(list["batches"], json!([]), "no batch was made");
    assert_eq!(app.count("crm", "contacts").await, 200, "nothing changed");
}
