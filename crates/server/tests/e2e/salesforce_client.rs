//! simple-salesforce's Bulk API 2.0 client (`sf.bulk2`), unchanged, against sluice over TLS
//! (`tests/clients/simple_salesforce_bulk2.py`): insert, upsert by an external id with a
//! relationship column, results, query with locator paging, download, delete. It comes from
//! `target/pydeps`, where `.ci/run` installs it; without it the test says it is skipped, unless
//! `SLUICE_REQUIRE_PY_CLIENTS` is set, as CI does.

use crate::common::spawn_tls_app_with;
use crate::salesforce_common::setup;
use std::path::PathBuf;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_salesforce_runs_bulk_2_jobs_on_sluice_over_tls() {
    let Some(deps) = crate::common::python_deps("simple_salesforce", "simple-salesforce==1.12.10")
    else {
        return;
    };
    let (app, base, cert) = spawn_tls_app_with(|_| {}).await;
    setup(&app).await;
    let work = tempfile::tempdir().unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/simple_salesforce_bulk2.py");
    let dir = work.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([base.as_str(), "sforg", "sam", "password-1"])
            .arg(&dir)
            .env("PYTHONPATH", deps)
            .env("REQUESTS_CA_BUNDLE", cert)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("SIMPLE SALESFORCE OK"),
        "{stdout}\n{stderr}"
    );
    assert_eq!(app.count("sforg", "Account").await, 3);
    assert_eq!(app.count("sforg", "Contact").await, 0);
}
