//! What a new user meets in a first import and cleanup: a file past Zoho's 25,000 rows imports
//! through the native door (and Zoho's keeps its own cap), a tab-delimited file reads, a job whose
//! every row failed says so, uploads no job uses go within the hour, a dry run counts exactly past
//! the batch limit, a 401 names its scheme, and every counter is in the first scrape.

use crate::common::{spawn_app, spawn_app_with, spawn_process, zip_of, TestApp, ADMIN};
use serde_json::{json, Value};
use std::time::Duration;

fn csv(rows: usize, delimiter: char) -> Vec<u8> {
    let mut s = format!("email{delimiter}age\n");
    for i in 0..rows {
        s.push_str(&format!("u{i}@x{delimiter}{}\n", i % 90));
    }
    s.into_bytes()
}

async fn job(app: &TestApp, file: &Value) -> Value {
    let (s, j) = app
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"]})),
        )
        .await;
    assert_eq!(s, 201, "{j}");
    app.wait_job("crm", j["id"].as_str().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_tab_delimited_file_imports_and_zoho_keeps_its_cap() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let (s, f) = app
        .upload("crm", "contacts.tsv", "text/csv", csv(30_000, '\t'))
        .await;
    assert_eq!(s, 201, "{f}");
    let j = job(&app, &f).await;
    assert_eq!(
        (j["status"].as_str(), j["progress"]["added"].as_u64()),
        (Some("completed"), Some(30_000)),
        "{j}"
    );
    // Zoho's dialect keeps Zoho's 25,000 a job, and says whose limit it is.
    let token = app.token("crm", "zoe", "writer").await;
    let zoho = format!("Zoho-oauthtoken {token}");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(zip_of(&[("c.csv", &csv(25_001, ','))])).file_name("c.zip"),
    );
    let resp = app
        .client
        .post(app.url("/crm/v8/upload"))
        .header("Authorization", &zoho)
        .header("feature", "bulk-write")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let up: Value = resp.json().await.unwrap();
    let body = json!({"operation": "insert", "resource": [{"type": "data",
        "module": {"api_name": "contacts"}, "file_id": up["details"]["file_id"]}]});
    let (s, e) = app
        .send(
            "POST",
            "/crm/bulk/v8/write",
            &[("Authorization", &zoho)],
            Some(body),
        )
        .await;
    assert!(s.is_client_error(), "{e}");
    assert!(
        e.to_string()
            .contains("Zoho Bulk Write takes at most 25000"),
        "{e}"
    );
    // The native limit's refusal names the setting to change.
    let small = spawn_app_with(|c| c.max_job_records = 10).await;
    small.setup_crm().await;
    let (_, f) = small.upload("crm", "c.csv", "text/csv", csv(11, ',')).await;
    let (s, e) = small
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": f["file_id"]})),
        )
        .await;
    assert_eq!(s, 413, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-job-records"),
        "{e}"
    );
}

#[tokio::test]
async fn a_job_whose_every_row_failed_says_so() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let bad = b"email,age\na@x,old\nb@x,older\n".to_vec();
    let (_, f) = app.upload("crm", "bad.csv", "text/csv", bad).await;
    let j = job(&app, &f).await;
    assert_eq!(j["status"], "completed", "{j}");
    assert!(
        j["warning"]
            .as_str()
            .unwrap()
            .contains("every one of the job's 2 rows failed"),
        "{j}"
    );
    let (_, f) = app.upload("crm", "ok.csv", "text/csv", csv(3, ',')).await;
    assert!(
        job(&app, &f).await["warning"].is_null(),
        "no warning when rows went in"
    );
}

#[tokio::test]
async fn uploads_no_job_uses_go_within_the_hour() {
    let app = spawn_app().await;
    app.setup_crm().await;
    let (_, unused) = app.upload("crm", "a.csv", "text/csv", csv(3, ',')).await;
    let (_, used) = app.upload("crm", "b.csv", "text/csv", csv(3, ',')).await;
    job(&app, &used).await;
    app.clock.advance(Duration::from_secs(3601));
    let swept = app.engine().sweep_results().await.unwrap();
    assert_eq!(swept.uploads, 1, "only the unused upload");
    let again = json!({"operation": "insert", "object": "contacts", "file_id": unused["file_id"]});
    let (s, _) = app.admin("POST", "/v1/apps/crm/jobs", Some(again)).await;
    assert_eq!(s, 404, "the unused upload is gone");
    let again = json!({"operation": "insert", "object": "contacts", "file_id": used["file_id"]});
    let (s, e) = app.admin("POST", "/v1/apps/crm/jobs", Some(again)).await;
    assert_eq!(
        s, 201,
        "the upload a job with a kept result reads stays: {e}"
    );
}

#[tokio::test]
async fn a_401_names_its_scheme() {
    let app = spawn_app().await;
    for token in [None, Some("wrong")] {
        let mut req = app.client.get(app.url("/v1/apps"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(
            resp.headers()["www-authenticate"],
            "Bearer realm=\"sluice\""
        );
    }
    let resp = app
        .client
        .get(app.url("/v1/apps"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("www-authenticate").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_counter_is_in_the_first_scrape() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_process(dir.path(), &[]);
    let text = server
        .app()
        .client
        .get(server.app().url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "sluice_bulk_operations_total{outcome=\"ok\"} 0",
        "sluice_callback_deliveries_total{outcome=\"delivered\"} 0",
        "sluice_internal_errors_total 0",
        "sluice_job_rows_per_second 0",
    ] {
        assert!(text.contains(series), "{series} in\n{text}");
    }
    assert!(!text.contains(" -0\n"), "no negative zero: {text}");
}
