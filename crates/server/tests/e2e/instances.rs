//! Several instances on one PostgreSQL database behave as one server: a job or a batch whose
//! instance is killed with SIGKILL is taken over by another and ends exactly, its callback
//! delivered once; instances writing conflicting values at once each get a clear answer. These run
//! only on PostgreSQL (`SLUICE_TEST_DATABASE`); on SQLite they return at once.

use crate::common::{poll, spawn_process, start_in_process, test_config, ChildServer, Receiver};
use crate::durability::{check_exactly_once, events};
use serde_json::{json, Value};

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

/// A database for the instances of one test, and the settings every instance starts with.
fn shared(
    extra: &[(&'static str, &'static str)],
) -> Option<(tempfile::TempDir, Vec<(&'static str, String)>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::pgdb::database_for(dir.path())?;
    let mut env = vec![
        ("SLUICE_DATABASE_URL", url),
        ("SLUICE_LEASE_MS", "2000".to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Some((dir, env))
}

fn instance(env: &[(&'static str, String)]) -> (tempfile::TempDir, ChildServer) {
    let dir = tempfile::tempdir().unwrap();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = spawn_process(dir.path(), &vars);
    (dir, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_outlives_the_instance_running_it() {
    let Some((_db, env)) = shared(&[
        ("SLUICE_CALLBACK_ALLOW", "127.0.0.0/8"),
        ("SLUICE_MAX_JOB_RECORDS", "300000"),
    ]) else {
        return;
    };
    const ROWS: usize = 300_000;
    let receiver = Receiver::start(0).await;
    let (_a_dir, a) = instance(&env);
    let app = a.app();
    let file = events(&app, ROWS).await;
    let (s, job) = app
        .admin(
            "POST",
            "/v1/apps/log/jobs",
            Some(
                json!({"operation": "insert", "object": "events", "file_id": file,
                        "callback": {"url": receiver.url}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/apps/log/jobs/{id}");
    let progress = |min: u64| {
        let (app, path) = (&app, &path);
        async move {
            let (_, j) = app.admin("GET", path, None).await;
            let done = j["progress"]["processed"].as_u64().unwrap_or(0);
            if done >= min {
                assert_eq!(j["status"], "running", "the job ended before the kill: {j}");
            }
            (done >= min).then_some(())
        }
    };
    // Instance A claims the job; B and C join; A dies mid-way.
    poll("instance A to start the job", || progress(1)).await;
    let (_b_dir, b) = instance(&env);
    let (_c_dir, c) = instance(&env);
    poll("the job to be well under way", || {
        progress(ROWS as u64 / 10)
    })
    .await;
    a.kill9();
    check_exactly_once(&b.app(), &id, ROWS).await;
    let job = poll("the callback to be recorded delivered", || async {
        let (_, j) = c.app().admin("GET", &path, None).await;
        (j["callback"]["status"] == "delivered").then_some(j)
    })
    .await;
    assert_eq!(job["callback"]["attempts"], 1, "{job}");
    assert_eq!(receiver.got.lock().unwrap().len(), 1, "one delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_outlives_the_instance_running_it() {
    let Some((_db, env)) = shared(&[
        ("SLUICE_MAX_BATCH_RECORDS", "100000"),
        ("SLUICE_BATCH_CHUNK_ROWS", "500"),
    ]) else {
        return;
    };
    const RECORDS: usize = 30_000;
    let (_a_dir, a) = instance(&env);
    let app = a.app();
    app.setup_crm().await;
    let ops: Vec<Value> = (0..RECORDS)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("m{i}@x"), "age": 1}}))
        .collect();
    for chunk in ops.chunks(1000) {
        let (s, _) = app
            .admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
        assert_eq!(s, 200);
    }
    let (_b_dir, b) = instance(&env);
    let (_c_dir, c) = instance(&env);
    let (s, batch) = app
        .admin("POST", "/v1/apps/crm/batches", Some(json!({"start": true, "operations": [
            {"action": "update", "object": "contacts", "query": "SELECT id FROM contacts", "set": {"age": 2}}
        ]})))
        .await;
    assert_eq!(s, 201, "{batch}");
    let path = format!("/v1/apps/crm/batches/{}", batch["id"].as_str().unwrap());
    poll("the batch to be under way", || async {
        let (_, b) = app.admin("GET", &path, None).await;
        let done = b["objects_success"].as_u64().unwrap_or(0);
        if done > 0 {
            assert_eq!(
                b["status"], "running",
                "the batch ended before the kill: {b}"
            );
        }
        (done > 0).then_some(())
    })
    .await;
    a.kill9();
    let other = b.app();
    let batch = poll("another instance to finish the batch", || async {
        let (_, b) = other.admin("GET", &path, None).await;
        (b["status"] != "running").then_some(b)
    })
    .await;
    assert_eq!(batch["status"], "success", "{batch}");
    assert_eq!(
        (
            batch["objects_total"].as_u64(),
            batch["objects_success"].as_u64(),
            batch["objects_failed"].as_u64()
        ),
        (Some(RECORDS as u64), Some(RECORDS as u64), Some(0)),
        "{batch}"
    );
    let (_, left) = c
        .app()
        .admin("GET", &format!("{RECS}?age=1&count=true&limit=1"), None)
        .await;
    assert_eq!(left["total"], 0, "every record updated: {left}");
}

/// Two instances run bulk requests at once whose creates collide on a unique field (in opposite
/// orders, so their transactions wait on each other), and whose updates touch the same records in
/// opposite orders (deadlocks, which the store retries): each value is created exactly once, the
/// loser gets `unique_violation`, and every update lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_bulk_into_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    if crate::pgdb::base().is_none() {
        return;
    }
    let url = crate::pgdb::database_for(dir.path());
    let other_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(other_dir.path());
    config.database_url = url;
    let one = start_in_process(test_config(dir.path())).await;
    let two = start_in_process(config).await;
    one.setup_crm().await;
    const N: usize = 300;
    for round in 0..3 {
        let creates = |rev: bool| {
            let mut ops: Vec<Value> = (0..N)
                .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("r{round}-{i}@x")}}))
                .collect();
            if rev {
                ops.reverse();
            }
            json!({ "operations": ops })
        };
        let (r1, r2) = tokio::join!(
            one.admin("POST", "/v1/bulk", Some(creates(false))),
            two.admin("POST", "/v1/bulk", Some(creates(true)))
        );
        assert_eq!(
            (r1.0.as_u16(), r2.0.as_u16()),
            (200, 200),
            "{} {}",
            r1.1,
            r2.1
        );
        let status = |b: &Value, i: usize| b["results"][i]["status"].as_u64().unwrap_or(0);
        let mut ids = Vec::new();
        for i in 0..N {
            let (a, b) = (status(&r1.1, i), status(&r2.1, N - 1 - i));
            let mut pair = [a, b];
            pair.sort();
            assert_eq!(pair, [201, 409], "email {i}: {a} and {b}");
            let winner = if a == 201 {
                &r1.1["results"][i]
            } else {
                &r2.1["results"][N - 1 - i]
            };
            ids.push(winner["body"]["id"].as_str().unwrap().to_owned());
        }
        let updates = |rev: bool, age: u64| {
            let mut ops: Vec<Value> = ids
                .iter()
                .map(|id| json!({"method": "PATCH", "url": format!("{RECS}/{id}"), "body": {"age": age}}))
                .collect();
            if rev {
                ops.reverse();
            }
            json!({ "operations": ops })
        };
        let (u1, u2) = tokio::join!(
            one.admin("POST", "/v1/bulk", Some(updates(false, 1))),
            two.admin("POST", "/v1/bulk", Some(updates(true, 2)))
        );
        for (s, b) in [&u1, &u2] {
            assert_eq!(s.as_u16(), 200, "{b}");
            for i in 0..N {
                assert_eq!(b["results"][i]["status"], 200, "{}", b["results"][i]);
            }
        }
    }
    assert_eq!(one.count("crm", "contacts").await, 3 * N as u64);
}

/// A token revoked through one instance is refused by the other at its very next call (no cache
/// on a shared database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_by_every_instance_at_once() {
    let dir = tempfile::tempdir().unwrap();
    if crate::pgdb::base().is_none() {
        return;
    }
    let url = crate::pgdb::database_for(dir.path());
    let other_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(other_dir.path());
    config.database_url = url;
    let one = start_in_process(test_config(dir.path())).await;
    let two = start_in_process(config).await;
    one.setup_crm().await;
    let (s, created) = one
        .admin(
            "POST",
            "/v1/apps/crm/tokens",
            Some(json!({"user": "bob", "role": "writer"})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    let body = || Some(json!({"email": "bob@x"}));
    let (s, b) = two.call("POST", RECS, Some(token), body()).await;
    assert_eq!(s, 201, "the token works on the other instance: {b}");
    let path = format!("/v1/apps/crm/tokens/{}", created["id"].as_str().unwrap());
    let (s, _) = one.admin("DELETE", &path, None).await;
    assert_eq!(s, 204);
    let (s, b) = two.call("GET", RECS, Some(token), None).await;
    assert_eq!(s, 401, "revoked on one, refused by the other: {b}");
}
