//! Idempotency keys on creating calls: a repeat replays the first answer (`Idempotent-Replayed`),
//! another body under the same key is refused, keys are the caller's own, and a crash between the
//! work's commit and the answer loses neither.

use crate::common::{spawn_app, spawn_process, TestApp, ADMIN};
use serde_json::{json, Value};

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

/// A call as the admin with an idempotency key: (status, replayed?, body).
async fn keyed(
    app: &TestApp,
    method: &str,
    path: &str,
    key: &str,
    body: Value,
) -> (u16, bool, Value) {
    let auth = format!("Bearer {ADMIN}");
    app.keyed(method, path, ("Authorization", &auth), key, &body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_replay_and_other_bodies_are_refused() {
    let app = spawn_app().await;
    app.setup_crm().await;
    // A record create: the repeat replays the first answer, byte for byte, and makes nothing.
    let body = json!({"email": "k@x", "age": 3});
    let (s1, r1, b1) = keyed(&app, "POST", RECS, "create-1", body.clone()).await;
    let (s2, r2, b2) = keyed(&app, "POST", RECS, "create-1", body.clone()).await;
    assert_eq!((s1, r1, s2, r2), (201, false, 201, true));
    assert_eq!(b1, b2);
    assert_eq!(app.count("crm", "contacts").await, 1);
    let (s, _, e) = keyed(&app, "POST", RECS, "create-1", json!({"email": "other@x"})).await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (422, &json!("idempotency_mismatch")),
        "{e}"
    );
    let (s, _, e) = keyed(
        &app,
        "POST",
        "/v1/apps/crm/objects/contacts/records?x=1",
        "create-1",
        body.clone(),
    )
    .await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (422, &json!("idempotency_mismatch")),
        "another path: {e}"
    );
    // Keys are the caller's own: another caller's same key is a new request.
    let token = app.token("crm", "bob", "writer").await;
    let resp = app
        .client
        .post(app.url(RECS))
        .bearer_auth(&token)
        .header("Idempotency-Key", "create-1")
        .json(&json!({"email": "bob@x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // An error answer is not kept: the retry runs again (and now succeeds).
    let (s, _, _) = keyed(&app, "POST", RECS, "dup", json!({"email": "k@x"})).await;
    assert_eq!(s, 409);
    app.admin(
        "DELETE",
        &format!("{RECS}/{}", b1["id"].as_str().unwrap()),
        None,
    )
    .await;
    let (s, r, _) = keyed(&app, "POST", RECS, "dup", json!({"email": "k@x"})).await;
    assert_eq!((s, r), (201, false));
    let (s, _, e) = keyed(&app, "POST", RECS, "", body.clone()).await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (400, &json!("invalid_request")),
        "{e}"
    );

    // /v1/bulk: applied once.
    let bulk = json!({"operations": [{"method": "POST", "url": RECS, "body": {"email": "b1@x"}},
                                     {"method": "POST", "url": RECS, "body": {"email": "b2@x"}}]});
    let (s1, _, b1) = keyed(&app, "POST", "/v1/bulk", "bulk-1", bulk.clone()).await;
    let (s2, r2, b2) = keyed(&app, "POST", "/v1/bulk", "bulk-1", bulk.clone()).await;
    assert_eq!((s1, s2, r2, b1 == b2), (200, 200, true, true), "{b1} {b2}");
    let (_, found) = app
        .admin(
            "GET",
            &format!("{RECS}?email[in]=b1@x,b2@x&count=true"),
            None,
        )
        .await;
    assert_eq!(found["total"], 2);
    // A long answer (kept compressed) replays byte for byte too.
    let ops: Vec<Value> = (0..200)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("long{i}@x")}}))
        .collect();
    let long = json!({ "operations": ops });
    let (_, _, b1) = keyed(&app, "POST", "/v1/bulk", "bulk-long", long.clone()).await;
    let (s2, r2, b2) = keyed(&app, "POST", "/v1/bulk", "bulk-long", long).await;
    assert_eq!((s2, r2), (200, true));
    assert!(b1.to_string().len() > 20_000 && b1 == b2, "{b2}");
    assert_eq!(app.count("crm", "contacts").await, 204);

    // An upload, a job and a batch.
    let csv = b"email,age\nj1@x,1\nj2@x,2\n".to_vec();
    let up = |key: &'static str| {
        let (app, csv) = (&app, csv.clone());
        async move {
            let resp = app
                .client
                .post(app.url("/v1/apps/crm/files?name=j.csv"))
                .bearer_auth(ADMIN)
                .header("content-type", "text/csv")
                .header("Idempotency-Key", key)
                .body(csv)
                .send()
                .await
                .unwrap();
            let replayed = resp.headers().contains_key("idempotent-replayed");
            (
                resp.status().as_u16(),
                replayed,
                resp.json::<Value>().await.unwrap(),
            )
        }
    };
    let ((s1, r1, f1), (s2, r2, f2)) = (up("file-1").await, up("file-1").await);
    assert_eq!(
        (s1, r1, s2, r2, &f1["file_id"]),
        (201, false, 201, true, &f2["file_id"])
    );
    let job = json!({"operation": "insert", "object": "contacts", "file_id": f1["file_id"]});
    let (s1, _, j1) = keyed(&app, "POST", "/v1/apps/crm/jobs", "job-1", job.clone()).await;
    let (s2, r2, j2) = keyed(&app, "POST", "/v1/apps/crm/jobs", "job-1", job.clone()).await;
    assert_eq!((s1, s2, r2, &j1["id"]), (201, 201, true, &j2["id"]));
    let (_, jobs) = app.admin("GET", "/v1/apps/crm/jobs", None).await;
    assert_eq!(jobs["jobs"].as_array().unwrap().len(), 1);
    let batch = json!({"start": false, "operations": [{"action": "delete", "object": "contacts", "ids": [b1["results"][0]["body"]["id"]]}]});
    let (s1, _, x1) = keyed(
        &app,
        "POST",
        "/v1/apps/crm/batches",
        "batch-1",
        batch.clone(),
    )
    .await;
    let (s2, r2, x2) = keyed(&app, "POST", "/v1/apps/crm/batches", "batch-1", batch).await;
    assert_eq!((s1, s2, r2, &x1["id"]), (201, 201, true, &x2["id"]));
    // Created and started in one transaction: the first answer is the running batch, and its
    // repeat replays it without a second batch.
    let started = json!({"start": true, "operations": [{"action": "delete", "object": "contacts",
        "query": "SELECT id FROM contacts WHERE email LIKE 'long1%'"}]});
    let (s1, _, x1) = keyed(&app, "POST", "/v1/apps/crm/batches", "b-2", started.clone()).await;
    assert_eq!((s1, &x1["status"]), (201, &json!("running")), "{x1}");
    let (s2, r2, x2) = keyed(&app, "POST", "/v1/apps/crm/batches", "b-2", started).await;
    assert_eq!((s2, r2, x1), (201, true, x2));
    let (_, all) = app.admin("GET", "/v1/apps/crm/batches", None).await;
    assert_eq!(all["batches"].as_array().map(Vec::len), Some(2), "{all}");
}

/// Two requests with one key at once: never both applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_repeats_apply_once() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let body = json!({"email": "c@x"});
    let (a, b) = tokio::join!(
        keyed(&app, "POST", RECS, "same", body.clone()),
        keyed(&app, "POST", RECS, "same", body.clone())
    );
    let mut outcomes = [(a.0, a.1), (b.0, b.1)];
    outcomes.sort();
    assert!(
        outcomes == [(201, false), (201, true)] || outcomes == [(201, false), (409, false)],
        "{outcomes:?}"
    );
    assert_eq!(app.count("crm", "contacts").await, 1);
}

/// The server dies after the work and its key commit, before the answer is sent; the retry with
/// the same key gets the original answer, and the work was applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_answer_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = spawn_process(dir.path(), &[]);
    first.app().setup_crm().await;
    drop(first);
    let server = spawn_process(
        dir.path(),
        &[("SLUICE_FAILPOINTS", "idempotency.after_commit:1")],
    );
    let app = server.app();
    let body =
        json!({"operations": [{"method": "POST", "url": RECS, "body": {"email": "once@x"}}]});
    let sent = app
        .client
        .post(app.url("/v1/bulk"))
        .bearer_auth(ADMIN)
        .header("Idempotency-Key", "crash-1")
        .json(&body)
        .send()
        .await;
    assert!(sent.is_err(), "the server died before answering");
    drop(server);
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    let (s, replayed, b) = keyed(&app, "POST", "/v1/bulk", "crash-1", body).await;
    assert_eq!((s, replayed), (200, true), "{b}");
    assert_eq!(b["results"][0]["status"], 201);
    let (_, found) = app
        .admin("GET", &format!("{RECS}?email=once@x&count=true"), None)
        .await;
    assert_eq!(found["total"], 1, "applied once");
    assert_eq!(
        found["records"][0]["id"], b["results"][0]["body"]["id"],
        "the original answer"
    );
}

/// A key lasts `--idempotency-ttl`: past it, the same key is a new request.
#[tokio::test]
async fn keys_expire() {
    let app = crate::common::spawn_app_with(|c| c.idempotency_ttl = 60).await;
    app.setup_crm().await;
    let (s, _, first) = keyed(&app, "POST", RECS, "short", json!({"email": "t1@x"})).await;
    assert_eq!(s, 201);
    let (_, replayed, again) = keyed(&app, "POST", RECS, "short", json!({"email": "t1@x"})).await;
    assert!(replayed && again == first);
    app.clock.advance(std::time::Duration::from_secs(61));
    let (s, replayed, _) = keyed(&app, "POST", RECS, "short", json!({"email": "t2@x"})).await;
    assert_eq!(
        (s, replayed),
        (201, false),
        "an expired key takes a new request"
    );
}
