//! A full disk: uploads and writes fail with 507 and change nothing, reads keep working, and a job
//! that hit the full disk resumes exactly once space is back. The data dir lives on a small tmpfs
//! the test mounts (skipped, saying so, where mounting is not allowed).

use crate::common::{poll, start_in_process, test_config, TestApp};
use serde_json::{json, Value};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the disk with `filler`, then frees `free` bytes of it.
fn leave_free(filler: &Path, free: u64) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(filler)
        .unwrap();
    let block = vec![7u8; 64 << 10];
    while f.write_all(&block).is_ok() && f.flush().is_ok() {}
    let len = f.metadata().unwrap().len();
    f.set_len(len.saturating_sub(free)).unwrap();
}

async fn upload(app: &TestApp, rows: usize) -> (u16, Value) {
    let mut csv = String::from("email,age\n");
    for i in 0..rows {
        csv.push_str(&format!("user-{i:06}@example.com,{}\n", i % 90));
    }
    let (s, b) = app
        .upload("crm", "people.csv", "text/csv", csv.into_bytes())
        .await;
    (s.as_u16(), b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_cleanly_and_jobs_resume_once_space_is_back() {
    // The embedded store's disk; PostgreSQL keeps its data on the database server's.
    if crate::pgdb::on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(mnt) = Tmpfs::mount(&dir.path().join("small"), "48m") else {
        eprintln!("SKIPPED a_full_disk_fails_cleanly: a tmpfs cannot be mounted here (needs root)");
        return;
    };
    let data = mnt.0.join("data");
    let app = start_in_process(test_config(&data)).await;
    app.setup_crm().await;
    app.admin("POST", RECS, Some(json!({"email": "kept@x"})))
        .await;
    let filler = mnt.0.join("filler");

    leave_free(&filler, 128 << 10);
    let (s, b) = upload(&app, 50_000).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (507, Some("insufficient_storage")),
        "{b}"
    );
    let ops: Vec<Value> = (0..1000)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("{i}-{}@x", "p".repeat(900))}}))
        .collect();
    let (s, b) = app
        .admin("POST", "/v1/bulk", Some(json!({"operations": ops})))
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (507, Some("insufficient_storage")),
        "{b}"
    );
    let (s, b) = app.admin("GET", &format!("{RECS}?count=true"), None).await;
    assert_eq!(
        (s.as_u16(), b["total"].as_u64()),
        (200, Some(1)),
        "reads go on; nothing half-applied"
    );

    // A job that meets the full disk fails with its reason and resumes exactly once space is back.
    std::fs::remove_file(&filler).unwrap();
    let (s, file) = upload(&app, 5000).await;
    assert_eq!(s, 201, "{file}");
    let pause = app.engine().breakpoints().arm("job.claimed");
    let (_, job) = app
        .admin(
            "POST",
            "/v1/apps/crm/jobs",
            Some(json!({"operation": "insert", "object": "contacts", "file_id": file["file_id"]})),
        )
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    pause.reached().await;
    leave_free(&filler, 16 << 10);
    pause.release();
    let failed = app.wait_job("crm", &id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["error"].as_str().unwrap().contains("disk is full"),
        "{failed}"
    );
    std::fs::remove_file(&filler).unwrap();
    let (s, b) = app
        .admin("POST", &format!("/v1/apps/crm/jobs/{id}/retry"), None)
        .await;
    assert_eq!(
        (s.as_u16(), b["status"].as_str()),
        (200, Some("queued")),
        "{b}"
    );
    let done = poll("the retried job to finish", || async {
        let j = app.wait_job("crm", &id).await;
        (j["status"] != "queued").then_some(j)
    })
    .await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["progress"]["added"].as_u64(),
            done["progress"]["processed"].as_u64()
        ),
        (Some("completed"), Some(5000), Some(5000)),
        "{done}"
    );
    assert_eq!(app.count("crm", "contacts").await, 5001);
    app.stop().await;
}
