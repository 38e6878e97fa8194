//! Failover: two instances on a multi-host URL over a primary and its synchronous standby; the
//! primary stopped as a crash (`-m immediate`) mid-job and the standby promoted. Nothing
//! acknowledged is lost, the job ends exact with one callback, the outage answers 503 with
//! `Retry-After`, and both instances write again on their own.

use crate::common::{poll, spawn_process, ChildServer, Receiver, TestApp};
use crate::durability::{check_exactly_once, events};
use crate::pg_cluster::{ClusterOptions, PgCluster};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: usize = 300_000;
/// Creates per `/v1/bulk` request.
const PER_REQUEST: usize = 20;
/// Longer than any answer may take, outage or not: a request still open then hung.
const HANG: Duration = Duration::from_secs(30);

/// One `/v1/bulk` request of a stream and how it was answered.
struct Sent {
    at: Instant,
    /// The status, or why there was none (a hang, a dropped connection).
    status: Result<u16, String>,
    retry_after: Option<String>,
    body: Value,
    emails: Vec<String>,
}

type Log = Arc<Mutex<Vec<Sent>>>;

/// Sends `/v1/bulk` creates to `app` one request after another until `stop`, logging each.
fn stream(
    app: TestApp,
    name: &'static str,
    stop: Arc<AtomicBool>,
) -> (Log, tokio::task::JoinHandle<()>) {
    let log: Log = Arc::default();
    let l = log.clone();
    let client = reqwest::Client::builder().timeout(HANG).build().unwrap();
    let task = tokio::spawn(async move {
        for n in 0.. {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let emails: Vec<String> = (0..PER_REQUEST)
                .map(|i| format!("{name}-{n}-{i}@x"))
                .collect();
            let ops: Vec<Value> = emails
                .iter()
                .map(|e| json!({"method": "POST", "url": "/v1/apps/crm/objects/contacts/records", "body": {"email": e, "age": n}}))
                .collect();
            let at = Instant::now();
            let sent = client
                .post(app.url("/v1/bulk"))
                .bearer_auth(crate::common::ADMIN)
                .json(&json!({ "operations": ops }))
                .send()
                .await;
            let (status, retry_after, body) = match sent {
                Ok(r) => {
                    let retry = r
                        .headers()
                        .get("retry-after")
                        .map(|v| v.to_str().unwrap_or("?").to_owned());
                    let s = r.status().as_u16();
                    (Ok(s), retry, r.json().await.unwrap_or(Value::Null))
                }
                Err(e) => (Err(e.to_string()), None, Value::Null),
            };
            l.lock().unwrap().push(Sent {
                at,
                status,
                retry_after,
                body,
                emails,
            });
        }
    });
    (log, task)
}

fn instance(env: &[(&str, String)]) -> (tempfile::TempDir, ChildServer) {
    let dir = tempfile::tempdir().unwrap();
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = spawn_process(dir.path(), &vars);
    (dir, server)
}

/// The first row of a read-only query as `app`'s admin.
async fn query(app: &TestApp, app_name: &str, sql: &str) -> Value {
    let (s, b) = app
        .admin(
            "POST",
            &format!("/v1/apps/{app_name}/query"),
            Some(json!({ "sql": sql })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    b["rows"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_standby_takes_over_mid_job_and_nothing_acknowledged_is_lost() {
    let cluster = tokio::task::spawn_blocking(|| {
        PgCluster::start(ClusterOptions {
            standbys: 1,
            synchronous: true,
        })
    })
    .await
    .unwrap();
    let Some(cluster) = cluster else {
        return;
    };
    assert!(cluster.primary.sql("CREATE DATABASE sluice").is_none());
    let env = [
        ("SLUICE_DATABASE_URL", cluster.url("sluice")),
        ("SLUICE_LEASE_MS", "2000".to_owned()),
        ("SLUICE_CALLBACK_ALLOW", "127.0.0.0/8".to_owned()),
        ("SLUICE_MAX_JOB_RECORDS", ROWS.to_string()),
    ];
    let (_a_dir, a) = instance(&env);
    let (_b_dir, b) = instance(&env);
    let app = a.app();
    app.setup_crm().await;
    let file = events(&app, ROWS).await;
    let receiver = Receiver::start(0).await;
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
    let stop = Arc::new(AtomicBool::new(false));
    let (log_a, task_a) = stream(a.app(), "a", stop.clone());
    let (log_b, task_b) = stream(b.app(), "b", stop.clone());

    poll("the job to be under way", || async {
        let (_, j) = app.admin("GET", &path, None).await;
        let done = j["progress"]["processed"].as_u64().unwrap_or(0);
        if done > 0 {
            assert_eq!(
                j["status"], "running",
                "the job ended before the failover: {j}"
            );
        }
        (done >= ROWS as u64 / 10).then_some(())
    })
    .await;
    let (primary, standby) = (cluster.primary.clone(), cluster.standby().clone());
    let outage = Instant::now();
    let promoted = tokio::task::spawn_blocking(move || {
        primary.stop_immediate();
        standby.promote();
        Instant::now()
    })
    .await
    .unwrap();
    eprintln!(
        "outage: primary stopped and standby promoted in {:?}",
        promoted - outage
    );

    // Both instances write again on their own.
    for (name, log) in [("a", &log_a), ("b", &log_b)] {
        let back = poll(
            &format!("instance {name} to write after the promote"),
            || async {
                log.lock()
                    .unwrap()
                    .iter()
                    .find(|s| s.at >= promoted && s.status.as_ref().is_ok_and(|s| *s == 200))
                    .map(|s| s.at)
            },
        )
        .await;
        eprintln!(
            "instance {name} wrote again {:?} after the promote",
            back.saturating_duration_since(promoted)
        );
    }

    check_exactly_once(&b.app(), &id, ROWS).await;
    assert_eq!(
        query(
            &b.app(),
            "log",
            "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM events"
        )
        .await,
        json!([[ROWS, ROWS, 0, ROWS - 1]])
    );
    let job = poll("the callback to be recorded delivered", || async {
        let (_, j) = b.app().admin("GET", &path, None).await;
        (j["callback"]["status"] == "delivered").then_some(j)
    })
    .await;
    assert_eq!(job["callback"]["attempts"], 1, "{job}");
    assert_eq!(receiver.got.lock().unwrap().len(), 1, "one delivery");

    stop.store(true, Ordering::SeqCst);
    task_a.await.unwrap();
    task_b.await.unwrap();
    let mut stored = std::collections::HashSet::new();
    for page in 0.. {
        let sql = format!(
            "SELECT email FROM contacts ORDER BY email LIMIT 10000 OFFSET {}",
            page * 10000
        );
        let rows = query(&b.app(), "crm", &sql).await;
        let rows = rows.as_array().unwrap();
        stored.extend(rows.iter().map(|r| r[0].as_str().unwrap().to_owned()));
        if rows.len() < 10000 {
            break;
        }
    }
    let (mut acknowledged, mut refused) = (0, 0);
    for sent in log_a
        .lock()
        .unwrap()
        .iter()
        .chain(log_b.lock().unwrap().iter())
    {
        match &sent.status {
            Ok(200) => {
                acknowledged += 1;
                for (r, email) in sent.body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(&sent.emails)
                {
                    assert_eq!(r["status"], 201, "{}", sent.body);
                    assert!(
                        stored.contains(email.as_str()),
                        "{email} was acknowledged and lost"
                    );
                }
            }
            Ok(503) => {
                refused += 1;
                assert!(
                    sent.retry_after.is_some(),
                    "a 503 without Retry-After: {}",
                    sent.body
                );
            }
            other => panic!("a /v1/bulk request answered {other:?}: {}", sent.body),
        }
    }
    eprintln!(
        "/v1/bulk: {acknowledged} requests acknowledged, {refused} answered 503 during the outage"
    );
    assert!(acknowledged > 0 && stored.len() >= acknowledged * PER_REQUEST);
}
