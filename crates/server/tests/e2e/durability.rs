//! Durability: acknowledged writes survive a kill -9 and a restart on the same data dir.

use crate::common::{poll, spawn_process, ADMIN};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    app.setup_crm().await;

    // Writers keep going while the process is killed; every write that was answered 201 must survive.
    let answered = Arc::new(AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (app, answered) = (server.app(), answered.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                let body = json!({"email": format!("w{w}-{i}@x")});
                let resp = app
                    .client
                    .post(app.url(RECS))
                    .bearer_auth(ADMIN)
                    .json(&body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 201 => {
                        acked.push(body["email"].as_str().unwrap().to_owned());
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    poll("the writers to make progress", || {
        let n = answered.load(Ordering::SeqCst);
        async move { (n > 200).then_some(()) }
    })
    .await;
    server.kill9();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() > 20,
        "writers made progress before the kill ({})",
        acked.len()
    );

    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    let total = app.count("crm", "contacts").await as usize;
    // At most one write per writer can be committed yet unanswered when the process dies.
    assert!(
        total >= acked.len() && total <= acked.len() + 4,
        "total {total}, acknowledged {}",
        acked.len()
    );
    for email in acked.iter().step_by(7) {
        let (s, b) = app
            .admin("GET", &format!("{RECS}?email={email}"), None)
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            b["records"].as_array().unwrap().len(),
            1,
            "{email} survived"
        );
    }
    server.kill9();
}

/// App `log` with object `events` (no unique field, so a chunk applied twice would show as extra
/// records) and a 10,000-row file; returns the file id.
pub async fn events(app: &crate::common::TestApp, rows: usize) -> String {
    app.admin("POST", "/v1/apps", Some(json!({"name": "log"})))
        .await;
    let (s, _) = app
        .admin("POST", "/v1/apps/log/objects", Some(json!({"name": "events", "fields": [{"name": "n", "type": "integer"}, {"name": "what", "type": "text"}]})))
        .await;
    assert_eq!(s, 201);
    let mut csv = String::from("n,what\n");
    for i in 0..rows {
        csv.push_str(&format!("{i},event {i}\n"));
    }
    let (s, file) = app
        .upload("log", "events.csv", "text/csv", csv.into_bytes())
        .await;
    assert_eq!(s, 201, "{file}");
    file["file_id"].as_str().unwrap().to_owned()
}

/// After a restart: the job completes with every row applied exactly once, and its result file
/// lists each row once, in order, with the ids of the records that exist.
pub async fn check_exactly_once(app: &crate::common::TestApp, job: &str, rows: usize) {
    let job = app.wait_job("log", job).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(
        job["progress"]["added"].as_u64(),
        Some(rows as u64),
        "{job}"
    );
    assert_eq!(
        app.count("log", "events").await,
        rows as u64,
        "no row lost, none applied twice"
    );
    let (_, zip) = app.download(job["result_url"].as_str().unwrap()).await;
    let text = crate::common::unzip(&zip).remove(0).1;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut ids = std::collections::HashSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.unwrap();
        assert_eq!(
            (&rec[0], &rec[3]),
            (i.to_string().as_str(), "added"),
            "row {i}"
        );
        assert!(ids.insert(rec[2].to_owned()), "row {i}'s id appears twice");
    }
    assert_eq!(ids.len(), rows);
    let (_, last) = app
        .admin("GET", "/v1/apps/log/objects/events/records?n=9999", None)
        .await;
    assert!(ids.contains(last["records"][0]["id"].as_str().unwrap()));
}

async fn wait_exit(child: &mut std::process::Child) {
    poll("the server to die at its fail-point", || {
        let exited = child.try_wait().unwrap().is_some();
        async move { exited.then_some(()) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_crashing_around_a_commit_resumes_exactly() {
    // Dies after writing chunk 3's result rows but before its commit; then right after chunk 2's commit.
    for failpoint in ["job.chunk.before_commit:3", "job.chunk.after_commit:2"] {
        let dir = tempfile::tempdir().unwrap();
        let mut server = spawn_process(dir.path(), &[("SLUICE_FAILPOINTS", failpoint)]);
        let app = server.app();
        let file = events(&app, 10_000).await;
        let (s, job) = app
            .admin(
                "POST",
                "/v1/apps/log/jobs",
                Some(json!({"operation": "insert", "object": "events", "file_id": file})),
            )
            .await;
        assert_eq!(s, 201);
        wait_exit(&mut server.child).await;
        let server = spawn_process(dir.path(), &[]);
        check_exactly_once(&server.app(), job["id"].as_str().unwrap(), 10_000).await;
        server.kill9();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_with_sigkill_mid_way_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    let file = events(&app, 24_000).await;
    let (_, job) = app
        .admin(
            "POST",
            "/v1/apps/log/jobs",
            Some(json!({"operation": "insert", "object": "events", "file_id": file})),
        )
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/apps/log/jobs/{id}");
    poll("the job to commit a chunk", || async {
        let (_, j) = app.admin("GET", &path, None).await;
        let started = j["progress"]["processed"].as_u64().unwrap_or(0) > 0;
        if started {
            assert_ne!(
                j["status"], "completed",
                "the job finished before it could be killed"
            );
        }
        started.then_some(())
    })
    .await;
    server.kill9();
    let server = spawn_process(dir.path(), &[]);
    check_exactly_once(&server.app(), &id, 24_000).await;
    server.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_interrupted_by_kill_9_ends_truthfully_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn_process(
        dir.path(),
        &[("SLUICE_FAILPOINTS", "batch.chunk.after_commit:3")],
    );
    let app = server.app();
    app.setup_crm().await;
    let ops: Vec<serde_json::Value> = (0..5000)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("k{i}@x")}}))
        .collect();
    for chunk in ops.chunks(1000) {
        let (s, _) = app
            .admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
        assert_eq!(s, 200);
    }
    let (s, b) = app
        .admin("POST", "/v1/apps/crm/batches", Some(json!({"start": true, "operations": [{"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts"}]})))
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    wait_exit(&mut server.child).await;
    let server = spawn_process(dir.path(), &[]);
    let app = server.app();
    let path = format!("/v1/apps/crm/batches/{id}");
    let batch = poll("the resumed batch to end", || async {
        let (_, b) = app.admin("GET", &path, None).await;
        (b["status"] != "running").then_some(b)
    })
    .await;
    assert_eq!(
        (
            batch["status"].as_str(),
            batch["objects_total"].as_u64(),
            batch["objects_success"].as_u64(),
            batch["objects_failed"].as_u64()
        ),
        (Some("success"), Some(5000), Some(5000), Some(0)),
        "{batch}"
    );
    assert_eq!(app.count("crm", "contacts").await, 0);
    server.kill9();
}
