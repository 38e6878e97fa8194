//! An instance whose link to PostgreSQL drops mid-job (a proxy stops forwarding, its sockets left
//! open) loses its lease and its locks: PostgreSQL ends its session within half the lease, another
//! instance takes the job over and finishes it exactly, with one callback, and once the link is
//! back the cut-off instance writes nothing more for it. PostgreSQL only (`SLUICE_TEST_DATABASE`).

use crate::common::{poll, start_in_process, test_config, Receiver, TestApp};
use crate::durability::{check_exactly_once, events};
use crate::netproxy::{through, Proxy};
use serde_json::{json, Value};
use sluice_engine::background::testing::Pause;
use std::future::Future;
use std::sync::Arc;

const ROWS: usize = 10_000;

/// The shared database's URL, a proxy in front of it, and instance A's configuration (through the
/// proxy): a short lease, chunks of 1,000 rows (500 for batches), one worker of each kind.
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
    a.batch_workers = 1;
    a.batch_chunk_rows = 500;
    a.max_batch_records = 100_000;
    a.export_workers = 1;
    a.export_chunk_rows = 1000;
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
            Some(
                json!({"operation": "insert", "object": "events", "file_id": file,
                        "callback": {"url": callback}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{job}");
    job["id"].as_str().unwrap().to_owned()
}

/// Starts work on A with `start` and holds A at `point` in the transaction of the work's second
/// chunk (the first committed): there A holds the task's row and has written a chunk, uncommitted.
/// Returns the work's id and the hold.
async fn hold_second_chunk<F: Future<Output = String>>(
    a: &TestApp,
    point: &str,
    start: F,
) -> (String, Arc<Pause>) {
    let first = a.engine().breakpoints().arm(point);
    let id = start.await;
    first.reached().await;
    let held = a.engine().breakpoints().arm(point);
    first.release();
    held.reached().await;
    (id, held)
}

/// Thaws A's link and waits until A's one worker of `kind` has ended its run of the work it lost:
/// it takes new work (`next`) only then. Returns the new work's id, and the hold it waits at.
async fn thaw_until_done<F: Future<Output = String>>(
    a: &TestApp,
    proxy: &Proxy,
    kind: &str,
    next: F,
) -> (String, Arc<Pause>) {
    let claimed = a.engine().breakpoints().arm(&format!("{kind}.claimed"));
    proxy.thaw();
    let id = next.await;
    claimed.reached().await;
    (id, claimed)
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
    let (id, held) = hold_second_chunk(
        &a,
        "job.chunk.before_commit",
        insert_job(&a, &file, &receiver.url),
    )
    .await;
    let path = format!("/v1/apps/log/jobs/{id}");
    let (_, job) = a.admin("GET", &path, None).await;
    assert_eq!(
        job["progress"]["processed"], 1000,
        "one chunk committed: {job}"
    );
    proxy.freeze();
    held.release();

    // B takes the job over once A's lease runs out, which it can only do once PostgreSQL ended
    // A's session (its transaction holds the job's row), and finishes it exactly.
    let b = direct(&url, b_dir.path()).await;
    check_exactly_once(&b, &id, ROWS).await;
    let job = poll("the callback to be recorded delivered", || async {
        let (_, j) = b.admin("GET", &path, None).await;
        (j["callback"]["status"] == "delivered").then_some(j)
    })
    .await;
    assert_eq!(job["callback"]["attempts"], 1, "{job}");
    assert_eq!(receiver.got.lock().unwrap().len(), 1, "one delivery");
    let result = b.download(job["result_url"].as_str().unwrap()).await.1;
    b.stop().await;

    // The link comes back; A's run of the job ends.
    let (next, claimed) =
        thaw_until_done(&a, &proxy, "job", insert_job(&a, &file, &receiver.url)).await;
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
    poll("the second job's callback", || async {
        (receiver.got.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        2,
        "one callback per job"
    );
    a.stop().await;
}

const RECS: &str = "/v1/apps/crm/objects/contacts/records";
const BATCHES: &str = "/v1/apps/crm/batches";

async fn update_all(app: &TestApp, age: u64) -> String {
    let (s, batch) = app
        .admin(
            "POST",
            BATCHES,
            Some(json!({"start": true, "operations": [
                {"action": "update", "object": "contacts", "query": "SELECT id FROM contacts",
                 "set": {"age": age}}
            ]})),
        )
        .await;
    assert_eq!(s, 201, "{batch}");
    batch["id"].as_str().unwrap().to_owned()
}

async fn wait_batch(app: &TestApp, path: &str) -> Value {
    poll("the batch to end", || async {
        let (_, b) = app.admin("GET", path, None).await;
        (b["status"] != "running" && b["status"] != "queued").then_some(b)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_cut_off_from_the_database_is_finished_elsewhere_once() {
    const RECORDS: usize = 3000;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let Some((url, proxy, config)) = setup(a_dir.path()).await else {
        eprintln!("skipped: needs SLUICE_TEST_DATABASE (one host over TCP)");
        return;
    };
    let a = start_in_process(config).await;
    a.setup_crm().await;
    let ops: Vec<Value> = (0..RECORDS)
        .map(|i| json!({"method": "POST", "url": RECS, "body": {"email": format!("m{i}@x"), "age": 1}}))
        .collect();
    for chunk in ops.chunks(1000) {
        let (s, _) = a
            .admin("POST", "/v1/bulk", Some(json!({"operations": chunk})))
            .await;
        assert_eq!(s, 200);
    }
    let (id, held) = hold_second_chunk(&a, "batch.chunk.before_commit", update_all(&a, 2)).await;
    let path = format!("{BATCHES}/{id}");
    let (_, batch) = a.admin("GET", &path, None).await;
    assert_eq!(
        batch["objects_success"], 500,
        "one chunk committed: {batch}"
    );
    proxy.freeze();
    held.release();

    let b = direct(&url, b_dir.path()).await;
    let batch = wait_batch(&b, &path).await;
    assert_eq!(batch["status"], "success", "{batch}");
    assert_eq!(
        (
            batch["objects_success"].as_u64(),
            batch["objects_failed"].as_u64()
        ),
        (Some(RECORDS as u64), Some(0)),
        "{batch}"
    );
    b.stop().await;

    let (next, claimed) = thaw_until_done(&a, &proxy, "batch", update_all(&a, 3)).await;
    let (_, after) = a.admin("GET", &path, None).await;
    assert_eq!(after, batch, "A wrote nothing more to the batch");
    let (_, left) = a
        .admin("GET", &format!("{RECS}?age=2&count=true&limit=1"), None)
        .await;
    assert_eq!(left["total"], RECORDS, "every record as B left it: {left}");
    claimed.release();
    let done = wait_batch(&a, &format!("{BATCHES}/{next}")).await;
    assert_eq!(done["objects_success"], RECORDS, "A works again: {done}");
    a.stop().await;
}

const EXPORTS: &str = "/v1/apps/log/exports";

async fn export_events(app: &TestApp, callback: &str) -> String {
    let (s, e) = app
        .admin(
            "POST",
            EXPORTS,
            Some(json!({"object": "events", "fields": ["n", "id"], "callback": {"url": callback}})),
        )
        .await;
    assert_eq!(s, 201, "{e}");
    e["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_cut_off_from_the_database_is_finished_elsewhere_once() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let Some((url, proxy, config)) = setup(a_dir.path()).await else {
        eprintln!("skipped: needs SLUICE_TEST_DATABASE (one host over TCP)");
        return;
    };
    let receiver = Receiver::start(0).await;
    let a = start_in_process(config).await;
    let file = events(&a, ROWS).await;
    let job = insert_job(&a, &file, &receiver.url).await;
    assert_eq!(a.wait_job("log", &job).await["status"], "completed");
    let hook = Receiver::start(0).await;
    let (id, held) = hold_second_chunk(
        &a,
        "export.chunk.before_commit",
        export_events(&a, &hook.url),
    )
    .await;
    let path = format!("{EXPORTS}/{id}");
    let (_, e) = a.admin("GET", &path, None).await;
    assert_eq!(e["rows"], 1000, "one chunk committed: {e}");
    proxy.freeze();
    held.release();

    let b = direct(&url, b_dir.path()).await;
    let e = poll("the export's callback to be recorded delivered", || async {
        let (_, e) = b.admin("GET", &path, None).await;
        (e["callback"]["status"] == "delivered").then_some(e)
    })
    .await;
    assert_eq!(
        (e["status"].as_str(), e["rows"].as_u64()),
        (Some("completed"), Some(ROWS as u64)),
        "{e}"
    );
    let (s, csv) = b.download(&format!("{path}/result")).await;
    assert_eq!(s, 200);
    let text = String::from_utf8(csv.clone()).unwrap();
    let mut seen = std::collections::HashSet::new();
    for rec in csv::Reader::from_reader(text.as_bytes()).records() {
        let n: usize = rec.unwrap()[0].parse().unwrap();
        assert!(n < ROWS && seen.insert(n), "record {n} once");
    }
    assert_eq!(seen.len(), ROWS, "every record once");
    assert_eq!(hook.got.lock().unwrap().len(), 1, "one delivery");
    b.stop().await;

    let (next, claimed) = thaw_until_done(&a, &proxy, "export", export_events(&a, &hook.url)).await;
    let (_, after) = a.admin("GET", &path, None).await;
    assert_eq!(after, e, "A wrote nothing more to the export");
    let (_, again) = a.download(&format!("{path}/result")).await;
    assert!(again == csv, "the file is as B left it");
    assert_eq!(hook.got.lock().unwrap().len(), 1, "no second callback");
    claimed.release();
    let path = format!("{EXPORTS}/{next}");
    let done = poll("the second export to end", || async {
        let (_, e) = a.admin("GET", &path, None).await;
        (e["status"] == "completed").then_some(e)
    })
    .await;
    assert_eq!(done["rows"], ROWS, "A works again: {done}");
    a.stop().await;
}
