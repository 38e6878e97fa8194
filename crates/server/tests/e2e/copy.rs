//! Moving up: a whole SQLite instance copied into PostgreSQL (`sluice copy`) serves the same
//! records, users, tokens and job results. Runs only with `SLUICE_TEST_DATABASE`.

use crate::common::{start_in_process, test_config, unzip, TestApp};
use serde_json::{json, Value};
use sluice_engine::model::AliasKind;
use sluice_engine::{Engine, ErrorCode, Settings};

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

/// Everything the copy must carry, as the API shows it.
async fn snapshot(app: &TestApp, job: &str, token: &str) -> Value {
    let (_, first) = app
        .admin("GET", &format!("{RECS}?sort=email&limit=3"), None)
        .await;
    let (s, _) = app.call("GET", RECS, Some(token), None).await;
    let (_, login) = app
        .call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"app": "crm", "username": "ann", "password": "password-1"})),
        )
        .await;
    let (_, job) = app
        .admin("GET", &format!("/v1/apps/crm/jobs/{job}"), None)
        .await;
    let (_, zip) = app.download(job["result_url"].as_str().unwrap()).await;
    let (_, batches) = app.admin("GET", "/v1/apps/crm/batches", None).await;
    json!({
        "count": app.count("crm", "contacts").await,
        "first": first["records"],
        "token": s.as_u16(),
        "login": login["user"],
        "job": [job["status"], job["progress"]],
        "result": unzip(&zip),
        "batches": batches,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_moves_from_sqlite_to_postgres() {
    if crate::pgdb::base().is_none() {
        return;
    }
    let lite_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(lite_dir.path());
    config.database_url = None;
    let lite = start_in_process(config).await;
    lite.setup_crm().await;
    let ops: Vec<Value> = (0..12_000)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("c{i}@x"), "age": i % 90}}))
        .collect();
    for chunk in ops.chunks(1000) {
        let (s, _) = lite
            .admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
        assert_eq!(s, 200);
    }
    lite.create_user("crm", "ann", "writer").await;
    let token = lite.token("crm", "bob", "reader").await;
    let csv = "email,age\nc1@x,5\nnew@x,old\nnew2@x,7\n";
    let (_, file) = lite
        .upload("crm", "up.csv", "text/csv", csv.as_bytes().to_vec())
        .await;
    let (s, job) = lite
        .admin("POST", "/v1/apps/crm/jobs", Some(json!({"operation": "upsert", "object": "contacts", "file_id": file["file_id"], "find_by": "email"})))
        .await;
    assert_eq!(s, 201, "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();
    lite.wait_job("crm", &job_id).await;
    let (s, b) = lite
        .admin("POST", "/v1/apps/crm/batches", Some(json!({"start": true, "operations": [
            {"action": "delete", "object": "contacts", "query": "SELECT id FROM contacts WHERE age = 89"}]})))
        .await;
    assert_eq!(s, 201, "{b}");
    crate::common::poll("the batch to end", || async {
        let (_, b) = lite.admin("GET", "/v1/apps/crm/batches", None).await;
        (b["batches"][0]["status"] == "success").then_some(())
    })
    .await;
    let before = snapshot(&lite, &job_id, &token).await;
    assert_eq!(
        before["first"].as_array().map(Vec::len),
        Some(3),
        "{before}"
    );
    assert_eq!(
        (before["token"].as_u64(), before["login"].as_str()),
        (Some(200), Some("ann"))
    );
    assert_eq!(
        before["result"][0][1].as_str().map(|r| r.lines().count()),
        Some(4),
        "{before}"
    );
    assert_eq!(
        before["batches"]["batches"][0]["status"], "success",
        "{before}"
    );
    lite.stop().await;

    let pg_dir = tempfile::tempdir().unwrap();
    let url = crate::pgdb::database_for(pg_dir.path()).unwrap();
    let source = Engine::open(None, lite_dir.path(), Settings::default()).unwrap();
    // Numbers that integer-id clients (Zoho's, Fulcrum's) hold for records must survive the move.
    let ids: Vec<String> = before["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let numbers = source
        .aliases()
        .numbers(AliasKind::Record, ids.clone())
        .await
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let target = Engine::open(Some(&url), scratch.path(), Settings::default()).unwrap();
    let copied = std::sync::atomic::AtomicU64::new(0);
    let report = source
        .copy_into(&target, &|p| {
            if let sluice_engine::copy::CopyProgress::Records(n) = p {
                copied.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .await
        .unwrap();
    for c in report.iter().filter(|c| c.checked) {
        assert_eq!(c.source, c.target, "{c:?}");
    }
    assert_eq!(copied.into_inner(), before["count"].as_u64().unwrap());
    // A second copy into the same database is refused: it already holds apps.
    let again = source.copy_into(&target, &|_| {}).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
    for (n, id) in numbers.iter().zip(&ids) {
        let found = target.aliases().id_of(AliasKind::Record, *n).await.unwrap();
        assert_eq!(found.as_deref(), Some(id.as_str()));
    }
    let next = target
        .aliases()
        .number(AliasKind::Record, "a-new-id")
        .await
        .unwrap();
    assert!(numbers.iter().all(|n| next > *n), "{next} {numbers:?}");
    source.shutdown(std::time::Duration::from_secs(5)).await;
    target.shutdown(std::time::Duration::from_secs(5)).await;

    let mut config = test_config(pg_dir.path());
    config.database_url = Some(url);
    let pg = start_in_process(config).await;
    assert_eq!(snapshot(&pg, &job_id, &token).await, before);
}
