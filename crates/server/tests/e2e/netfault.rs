//! An instance whose link to PostgreSQL drops mid-job (a proxy stops forwarding, its sockets left
//! open) loses its lease and its locks: PostgreSQL ends its session within half the lease, another
//! instance takes the job over and finishes it exactly, with one callback, and once the link is
//! back the cut-off instance writes nothing more for it. PostgreSQL only (`SLUICE_TEST_DATABASE`).

use crate::common::{start_in_process, test_config, Receiver, TestApp};
use crate::durability::{check_exactly_once, events};
use crate::netproxy::{through, Proxy};
use serde_json::{json, Value};

const ROWS: usize = 10_000;

/// The shared database's URL, a proxy in front of it, and instance A's configuration (through the
/// proxy): a short lease, chunks of 1,000 rows, one job worker.
async fn setup(dir: &std::path::Path) -> Option<(String, Proxy, sluice_server::Config)> {
    let url = crate::pgdb::database_for(dir)?;
    let (_, target) = through(&url, "127.0.0.1:1".parse().unwrap())?;
    let proxy = Proxy::start(target).await;
    let (proxied, _) = through(&url, proxy.addr)?;
    let mut a = test_config(dir);
    a.database_url = Some(proxied);
    a.lease_ms = 2000;
    a.job_chunk_rows = 1000;
    a.job_workers = 1;
    a.callback_allow = "127.0.0.0/8".into();
    Some((url, proxy, a))
}

/// Instance B, straight on the database.
async fn direct(url: &str, dir: &std::path::Path) -> TestApp {
    let mut b = test_config(dir);
    b.database_url = Some(url.to_owned());
    b.lease_ms = 2000;
    b.callback_allow = "127.0.0.0/8".into();
    start_in_process(b).await
}

async fn insert_job(app: &TestApp, file: &str, callback: &str) -> String {
    let (s, job) = app
        .admin(
            "POST",
            "/v1/apps/log/jobs",
            Some(json!({"operation": "insert", "object": "events", "file_id": file,
                        "callback": {"url": callback}})),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    job["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cut_off_from_the_database_is_finished_elsewhere_once() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let Some((url, proxy, config)) = setup(a_dir.path()).await else {
        eprintln!("skipped: needs SLUICE_TEST_DATABASE (one host over TCP)");
        return;
    };
    let receiver = Receiver::start(0).await;
    let a = start_in_process(config).await;
    let file = events(&a, ROWS).await;
    // Held before the commit of its first chunk, then of a later one: the second hold is where A
    // has written a chunk's rows and result lines, and holds the job's row, when its link drops.
    const BEFORE_COMMIT: &str = "job.chunk.before_commit";
    let first = a.engine().breakpoints().arm(BEFORE_COMMIT);
    let id = insert_job(&a, &file, &receiver.url).await;
    first.reached().await;
    let held = a.engine().breakpoints().arm(BEFORE_COMMIT);
    first.release();
    held.reached().await;
    let path = format!("/v1/apps/log/jobs/{id}");
    let (_, job) = a.admin("GET", &path, None).await;
    assert_eq!(job["progress"]["processed"], 1000, "one chunk committed: {job}");
    proxy.freeze();
    held.release();

    // B takes the job over once A's lease runs out, which it can only do once PostgreSQL ended
    // A's session (its transaction holds the job's row), and finishes it exactly.
    let b = direct(&url, b_dir.path()).await;
    check_exactly_once(&b, &id, ROWS).await;
    let job = crate::common::poll("the callback to be recorded delivered", || async {
        let (_, j) = b.admin("GET", &path, None).await;
        (j["callback"]["status"] == "delivered").then_some(j)
    })
    .await;
    assert_eq!(job["callback"]["attempts"], 1, "{job}");
    assert_eq!(receiver.got.lock().unwrap().len(), 1, "one delivery");
    let result = b.download(job["result_url"].as_str().unwrap()).await.1;
    b.stop().await;

    // The link comes back. A's one job worker takes a new job only once its run of the old one
    // ended: by then it has done all it would for it.
    let claimed = a.engine().breakpoints().arm("job.claimed");
    proxy.thaw();
    let next = insert_job(&a, &file, &receiver.url).await;
    claimed.reached().await;
    let (_, after) = a.admin("GET", &path, None).await;
    assert_eq!(after, job, "A wrote nothing more to the job");
    assert_eq!(a.count("log", "events").await, ROWS as u64);
    let again = a.download(job["result_url"].as_str().unwrap()).await.1;
    assert!(again == result, "the result file is as B left it");
    assert_eq!(receiver.got.lock().unwrap().len(), 1, "no second callback");
    claimed.release();
    let done: Value = a.wait_job("log", &next).await;
    assert_eq!(done["status"], "completed", "A works again: {done}");
    assert_eq!(a.count("log", "events").await, 2 * ROWS as u64);
    crate::common::poll("the second job's callback", || async {
        (receiver.got.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(receiver.got.lock().unwrap().len(), 2, "one callback per job");
    a.stop().await;
}
