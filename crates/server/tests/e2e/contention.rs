//! Many writers on the same unique values, on PostgreSQL: two instances take `/v1/bulk` requests
//! from eight clients whose creates collide on a unique field in random orders, while an upsert
//! job and a batch touch the same records. Every request answers 200 with 201 or 409 per entry,
//! the table holds each value once, and no request is refused for waiting on a lock (the bound on
//! a lock wait is small here, so a wait that is not ordered shows as a refusal). These run only on
//! PostgreSQL (`SLUICE_TEST_DATABASE`); on SQLite they return at once.

use crate::common::{start_in_process, test_config, TestApp};
use crate::jobs_common::create_job;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Instant;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";
const CLIENTS: usize = 8;
const REQUESTS: usize = 4;
const CREATES: usize = 150;
const VALUES: u64 = 1_200;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn email(&mut self) -> String {
        format!("v{}@x", self.next() % VALUES)
    }
}

/// Two in-process instances on one database, with a small bound on lock waits and small job and
/// batch chunks (so they commit many times while the bulk requests run).
async fn two_instances() -> Option<(TestApp, TestApp, Vec<tempfile::TempDir>)> {
    crate::pgdb::base()?;
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let tweak = |c: &mut sluice_server::Config| {
        c.lock_timeout_ms = 300;
        c.job_chunk_rows = 100;
        c.batch_chunk_rows = 100;
    };
    let mut a = test_config(a_dir.path());
    tweak(&mut a);
    let mut b = test_config(b_dir.path());
    b.database_url = a.database_url.clone();
    tweak(&mut b);
    let one = start_in_process(a).await;
    let two = start_in_process(b).await;
    one.setup_crm().await;
    Some((one, two, vec![a_dir, b_dir]))
}

/// One client's requests, one after another: each answers 200, every entry 201 or 409 on
/// `email`. Returns the emails it created.
async fn client(app: &TestApp, seed: u64) -> Vec<String> {
    let mut draw = Draw(seed);
    let mut created = Vec::new();
    for _ in 0..REQUESTS {
        let emails: Vec<String> = (0..CREATES).map(|_| draw.email()).collect();
        let ops: Vec<Value> = emails
            .iter()
            .map(|e| json!({"method": "POST", "url": RECS, "body": {"email": e, "age": 1}}))
            .collect();
        let (s, b) = app
            .admin("POST", "/v1/bulk", Some(json!({ "operations": ops })))
            .await;
        assert_eq!(s.as_u16(), 200, "{b}");
        for (i, email) in emails.into_iter().enumerate() {
            let r = &b["results"][i];
            match r["status"].as_u64() {
                Some(201) => created.push(email),
                Some(409) => assert_eq!(r["body"]["error"]["field"], "email", "{r}"),
                _ => panic!("entry {i} answered {r}"),
            }
        }
    }
    created
}

/// An upsert job by email over every value, in a shuffled order.
async fn start_upsert(app: &TestApp) -> String {
    let mut draw = Draw(0x5eed);
    let mut order: Vec<u64> = (0..VALUES).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (draw.next() % (i as u64 + 1)) as usize);
    }
    let mut csv = String::from("email,age\n");
    for v in order {
        csv.push_str(&format!("v{v}@x,2\n"));
    }
    let (s, file) = app
        .upload("crm", "up.csv", "text/csv", csv.into_bytes())
        .await;
    assert_eq!(s, 201, "{file}");
    let (s, job) = create_job(
        app,
        json!({"operation": "upsert", "object": "contacts", "file_id": file["file_id"], "find_by": "email"}),
    )
    .await;
    assert_eq!(s, 201, "{job}");
    job["id"].as_str().unwrap().to_owned()
}

/// The retries the instances' stores made, by reason, from `/metrics` (one recorder serves every
/// in-process server).
async fn retries(app: &TestApp) -> Vec<String> {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("sluice_write_retries_total"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_requests_jobs_and_batches_on_the_same_values_all_answer() {
    let Some((one, two, _dirs)) = two_instances().await else {
        return;
    };
    // Some records exist before the batch selects them.
    let seeded = client(&one, 0x1234).await;
    let started = Instant::now();
    let job = start_upsert(&two).await;
    let (s, batch) = one
        .admin("POST", "/v1/apps/crm/batches", Some(json!({"start": true, "operations": [
            {"action": "update", "object": "contacts", "query": "SELECT id FROM contacts", "set": {"age": 3}}
        ]})))
        .await;
    assert_eq!(s, 201, "{batch}");
    let clients = (0..CLIENTS).map(|c| {
        let app = if c % 2 == 0 { &one } else { &two };
        client(app, 0x9e37_79b9 + c as u64 * 7919)
    });
    let created: Vec<String> = futures_util::future::join_all(clients)
        .await
        .into_iter()
        .flatten()
        .chain(seeded)
        .collect();
    let bulk_secs = started.elapsed().as_secs_f64();
    let job = two.wait_job("crm", &job).await;
    let batch_path = format!("/v1/apps/crm/batches/{}", batch["id"].as_str().unwrap());
    let batch = crate::common::poll("the batch to end", || async {
        let (_, b) = one.admin("GET", &batch_path, None).await;
        (b["status"] != "running" && b["status"] != "pending").then_some(b)
    })
    .await;
    println!(
        "contention: {} bulk requests of {CREATES} creates from {CLIENTS} clients in {bulk_secs:.2} s; \
         all work done in {:.2} s; {:?}",
        CLIENTS * REQUESTS,
        started.elapsed().as_secs_f64(),
        retries(&one).await
    );
    assert_eq!(job["status"], "completed", "{job}");
    let p = &job["progress"];
    assert_eq!(
        (p["processed"].as_u64(), p["failed"].as_u64()),
        (Some(VALUES), Some(0)),
        "{job}"
    );
    assert_eq!(batch["status"], "success", "{batch}");
    assert_eq!(batch["objects_failed"], 0, "{batch}");

    // Each email answered 201 once at most, and the table holds those and the job's additions.
    let mut unique = HashSet::new();
    for e in &created {
        assert!(unique.insert(e.as_str()), "{e} was created twice");
    }
    let (s, rows) = one
        .admin(
            "POST",
            "/v1/apps/crm/query",
            Some(json!({"sql": "SELECT email FROM contacts"})),
        )
        .await;
    assert_eq!(s, 200, "{rows}");
    let table: Vec<&str> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    let in_table: HashSet<&str> = table.iter().copied().collect();
    assert_eq!(
        in_table.len(),
        table.len(),
        "an email is in the table twice"
    );
    assert!(unique.is_subset(&in_table), "a created email is missing");
    assert_eq!(
        table.len() as u64,
        unique.len() as u64 + p["added"].as_u64().unwrap(),
        "the table holds the bulk requests' and the job's creates: {job}"
    );
}
