//! Relations in the bulk paths: delete batches that cascade two levels or are refused in part,
//! import jobs that look accounts up by email, delete jobs that count their cascades, exports with
//! related columns, and a crash in the middle of a cascading chunk.

use crate::common::{poll, spawn_app, spawn_process, TestApp};
use crate::relations_common::{create, recs, seed, setup, APP};
use serde_json::{json, Value};

async fn wait_batch(app: &TestApp, id: &str) -> Value {
    let path = format!("/v1/apps/{APP}/batches/{id}");
    poll(&format!("batch {id} to end"), || async {
        let (_, b) = app.admin("GET", &path, None).await;
        ["success", "failed", "canceled"]
            .contains(&b["status"].as_str().unwrap_or_default())
            .then_some(b)
    })
    .await
}

async fn delete_batch(app: &TestApp, query: &str) -> Value {
    let body = json!({"start": true, "operations": [{"action": "delete", "object": "accounts", "query": query}]});
    let (s, b) = app
        .admin("POST", &format!("/v1/apps/{APP}/batches"), Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
    wait_batch(app, b["id"].as_str().unwrap()).await
}

fn counters(b: &Value) -> (Option<&str>, Option<u64>, Option<u64>, Option<u64>) {
    (
        b["status"].as_str(),
        b["objects_success"].as_u64(),
        b["objects_failed"].as_u64(),
        b["cascaded"].as_u64(),
    )
}

#[tokio::test]
async fn delete_batches_cascade_two_levels_and_restrict_refuses_part() {
    let app = spawn_app().await;
    setup(&app, "cascade").await;
    seed(&app, 30, 3).await;
    // Accounts → contacts → notes: 10 accounts take 30 contacts and their 30 notes.
    let b = delete_batch(&app, "SELECT id FROM accounts WHERE name < 'A18'").await;
    let gone = (0..30).filter(|i| format!("A{i}").as_str() < "A18").count() as u64;
    assert_eq!(
        counters(&b),
        (Some("success"), Some(gone), Some(0), Some(gone * 6)),
        "{b}"
    );
    assert_eq!(app.count(APP, "contacts").await, (30 - gone) * 3);
    assert_eq!(app.count(APP, "notes").await, (30 - gone) * 3);
    // A task pointing at a contact is cleared, not deleted; a deal under restrict keeps its account.
    let objects = format!("/v1/apps/{APP}/objects");
    app.create_object(
        APP,
        "deals",
        json!([{"name": "account", "type": "relation", "object": "accounts"}]),
    )
    .await;
    let (_, page) = app
        .admin("GET", &format!("{}?email=a20%40x", recs("accounts")), None)
        .await;
    let a20 = page["records"][0]["id"].as_str().unwrap().to_owned();
    create(&app, "deals", json!({"account": a20})).await;
    let (_, page) = app
        .admin(
            "GET",
            &format!("{}?email=c21-0%40x", recs("contacts")),
            None,
        )
        .await;
    let c21 = page["records"][0]["id"].as_str().unwrap().to_owned();
    let task = create(&app, "tasks", json!({"title": "t", "contact": c21})).await;
    let left = 30 - gone;
    let b = delete_batch(&app, "SELECT id FROM accounts").await;
    assert_eq!(
        counters(&b),
        (
            Some("success"),
            Some(left - 1),
            Some(1),
            Some((left - 1) * 6)
        ),
        "{b}"
    );
    assert_eq!(
        (
            app.count(APP, "accounts").await,
            app.count(APP, "contacts").await
        ),
        (1, 3)
    );
    let (_, t) = app
        .admin("GET", &format!("{}/{task}", recs("tasks")), None)
        .await;
    assert_eq!(t["contact"], json!(null), "{t}");
    let (s, _) = app.admin("DELETE", &format!("{objects}/deals"), None).await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn import_jobs_look_accounts_up_and_delete_jobs_count_cascades() {
    let app = spawn_app().await;
    setup(&app, "cascade").await;
    let accounts = seed(&app, 3, 0).await;
    // Without mappings, `account.email` looks the account up; a miss fails its row alone.
    let csv = "email,account.email\nx1@x,a0@x\nx2@x,a2@x\nx3@x,nobody@x\nx4@x,\n";
    let (s, f) = app.upload(APP, "c.csv", "text/csv", csv.into()).await;
    assert_eq!(s, 201, "{f}");
    let job = run_job(
        &app,
        json!({"operation": "insert", "object": "contacts", "file_id": f["file_id"]}),
    )
    .await;
    assert_eq!(
        (
            job["progress"]["added"].as_u64(),
            job["progress"]["failed"].as_u64()
        ),
        (Some(3), Some(1)),
        "{job}"
    );
    let (_, zip) = app.download(job["result_url"].as_str().unwrap()).await;
    let (_, result) = crate::common::unzip(&zip).remove(0);
    assert!(
        result.contains("failed,account: no accounts has email nobody@x"),
        "{result}"
    );
    let (_, b) = app
        .admin(
            "GET",
            &format!("{}?account={}", recs("contacts"), accounts[2]),
            None,
        )
        .await;
    assert_eq!(b["records"][0]["email"], "x2@x", "{b}");
    // With a mapping's lookup, and ids checked.
    let csv =
        "Email,Account Email,Account\ny1@x,a1@x,\ny2@x,,0190a000-0000-7000-8000-000000000000\n";
    let (_, f) = app.upload(APP, "d.csv", "text/csv", csv.into()).await;
    let maps = json!([{"field": "email", "column": "Email"}, {"field": "account", "column": "Account Email", "lookup": "email"}]);
    let job = run_job(&app, json!({"operation": "insert", "object": "contacts", "file_id": f["file_id"], "field_mappings": maps})).await;
    assert_eq!(job["progress"]["added"].as_u64(), Some(2), "{job}");
    let maps =
        json!([{"field": "email", "column": "Email"}, {"field": "account", "column": "Account"}]);
    let (_, f) = app
        .upload(
            APP,
            "e.csv",
            "text/csv",
            csv.replace("y1@x", "z1@x").replace("y2@x", "z2@x").into(),
        )
        .await;
    let job = run_job(&app, json!({"operation": "insert", "object": "contacts", "file_id": f["file_id"], "field_mappings": maps})).await;
    assert_eq!(
        (
            job["progress"]["added"].as_u64(),
            job["progress"]["failed"].as_u64()
        ),
        (Some(1), Some(1)),
        "{job}"
    );
    let bad = json!([{"field": "account", "column": "Email", "lookup": "name"}]);
    let (s, b) = app.admin("POST", &format!("/v1/apps/{APP}/jobs"), Some(json!({"operation": "insert", "object": "contacts", "file_id": f["file_id"], "field_mappings": bad}))).await;
    assert_eq!(
        (s.as_u16(), b["error"]["field"].as_str()),
        (422, Some("account")),
        "{b}"
    );
    // A delete job counts what its rows cascaded to.
    let csv = format!("id\n{}\n{}\n", accounts[0], accounts[1]);
    let (_, f) = app.upload(APP, "del.csv", "text/csv", csv.into()).await;
    let job = run_job(
        &app,
        json!({"operation": "delete", "object": "accounts", "file_id": f["file_id"], "find_by": "id"}),
    )
    .await;
    let p = &job["progress"];
    assert_eq!(
        (p["deleted"].as_u64(), p["cascaded"].as_u64()),
        (Some(2), Some(2)),
        "{job}"
    );
}

async fn run_job(app: &TestApp, body: Value) -> Value {
    let (s, job) = app
        .admin("POST", &format!("/v1/apps/{APP}/jobs"), Some(body))
        .await;
    assert_eq!(s, 201, "{job}");
    app.wait_job(APP, job["id"].as_str().unwrap()).await
}

#[tokio::test]
async fn exports_name_related_fields_and_expand() {
    let app = spawn_app().await;
    setup(&app, "restrict").await;
    seed(&app, 2, 2).await;
    create(&app, "contacts", json!({"email": "lone@x"})).await;
    let body = json!({"object": "contacts", "fields": ["email", "account.email", "account.name"], "sort": "email"});
    let (s, e) = app
        .admin("POST", &format!("/v1/apps/{APP}/exports"), Some(body))
        .await;
    assert_eq!(s, 201, "{e}");
    let e = wait_export(&app, e["id"].as_str().unwrap()).await;
    let (_, csv) = app.download(e["result_url"].as_str().unwrap()).await;
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "email,account.email,account.name\nc0-0@x,a0@x,A0\nc0-1@x,a0@x,A0\nc1-0@x,a1@x,A1\nc1-1@x,a1@x,A1\nlone@x,,\n"
    );
    let body = json!({"object": "notes", "fields": ["contact"], "expand": "contact.account", "format": "ndjson"});
    let (_, e) = app
        .admin("POST", &format!("/v1/apps/{APP}/exports"), Some(body))
        .await;
    let e = wait_export(&app, e["id"].as_str().unwrap()).await;
    let (_, nd) = app.download(e["result_url"].as_str().unwrap()).await;
    let first: Value = serde_json::from_slice(nd.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert!(
        first["contact"]["account"]["email"]
            .as_str()
            .unwrap()
            .starts_with('a'),
        "{first}"
    );
    let bad = json!({"object": "contacts", "fields": ["account.nope"]});
    let (s, _) = app
        .admin("POST", &format!("/v1/apps/{APP}/exports"), Some(bad))
        .await;
    assert_eq!(s, 422);
}

async fn wait_export(app: &TestApp, id: &str) -> Value {
    let path = format!("/v1/apps/{APP}/exports/{id}");
    poll("the export to end", || async {
        let (_, e) = app.admin("GET", &path, None).await;
        (e["status"] == "completed" || e["status"] == "failed").then_some(e)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_inside_a_cascading_chunk_leaves_nothing_half_deleted() {
    let dir = tempfile::tempdir().unwrap();
    // Dies in the second chunk after its cascades, before its accounts are deleted.
    let env = [
        ("SLUICE_FAILPOINTS", "relations.cascade.before_roots:2"),
        ("SLUICE_BATCH_CHUNK_ROWS", "20"),
    ];
    let mut server = spawn_process(dir.path(), &env);
    let app = server.app();
    setup(&app, "cascade").await;
    seed(&app, 60, 2).await;
    let body = json!({"start": true, "operations": [{"action": "delete", "object": "accounts", "query": "SELECT id FROM accounts"}]});
    let (s, b) = app
        .admin("POST", &format!("/v1/apps/{APP}/batches"), Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    poll("the server to die at its fail-point", || {
        let exited = server.child.try_wait().unwrap().is_some();
        async move { exited.then_some(()) }
    })
    .await;
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    // The first chunk's 20 accounts went with their 40 contacts and 40 notes; the second chunk
    // left nothing behind, so every cascade is counted once, when it ran again.
    let b = wait_batch(&app, &id).await;
    assert_eq!(
        counters(&b),
        (Some("success"), Some(60), Some(0), Some(240)),
        "{b}"
    );
    let left: Vec<u64> = counts(&app).await;
    assert_eq!(left, vec![0, 0, 0]);
    server.kill9();
}

async fn counts(app: &TestApp) -> Vec<u64> {
    let mut out = Vec::new();
    for o in ["accounts", "contacts", "notes"] {
        out.push(app.count(APP, o).await);
    }
    out
}
