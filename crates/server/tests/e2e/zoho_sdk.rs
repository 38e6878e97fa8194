//! Zoho's own CRM SDK for Python (`zohocrmsdk8-0`), unchanged, against sluice
//! (`tests/clients/zoho_crm_sdk.py`): Bulk Write jobs, then a Bulk Read job to its downloaded file. It comes from `target/pydeps`, where `.ci/run` installs it;
//! without it the test says it is skipped, unless `SLUICE_REQUIRE_PY_CLIENTS` is set, as CI does.

use crate::common::spawn_app;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zohos_crm_sdk_runs_bulk_write_and_read_jobs_on_sluice() {
    let Some(deps) = crate::common::python_deps("zohocrmsdk", "zohocrmsdk8-0==7.0.0") else {
        return;
    };
    let app = spawn_app().await;
    app.create_app("acme").await;
    let fields = json!([
        {"name": "Last_Name", "type": "text", "required": true},
        {"name": "Email", "type": "text", "unique": true},
        {"name": "Company", "type": "text"},
        {"name": "Lead_Source", "type": "text"}
    ]);
    app.create_object("acme", "Leads", fields).await;
    // A writer may read in bulk as well (Bulk Read needs read access).
    let token = app.token("acme", "sdk", "writer").await;
    let (_, a) = app.admin("GET", "/v1/apps/acme", None).await;
    let org = a["org_id"].as_str().unwrap().to_owned();
    let work = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/zoho_crm_sdk.py");
    let base = app.url("");
    let dir = work.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([base.as_str(), token.as_str(), org.as_str()])
            .arg(&dir)
            .env("PYTHONPATH", deps)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ZOHO CRM SDK OK"),
        "{stdout}\n{stderr}"
    );
    let (_, recs) = app
        .admin(
            "GET",
            "/v1/apps/acme/objects/Leads/records?count=true",
            None,
        )
        .await;
    assert_eq!(recs["total"], 2, "{recs}");
}
