//! Read replicas (`--read-database`): a primary and a streaming standby built by the test
//! (`pg_cluster`), servers reading from the standby. What proves a read went to the replica is
//! what only the replica can answer: with its replay paused, a caller who did not write sees the
//! records as they were, while the caller who wrote sees its write (read-your-writes), on this
//! instance and, carrying `Sluice-Read-After`, on another. The metrics count where reads went and
//! how many replicas are in use (the two tests here run one at a time: the metrics are the
//! process's).

use crate::common::{poll, spawn_app_with, TestApp};
use crate::pg_cluster::{ClusterOptions, PgCluster, PgNode};
use serde_json::{json, Value};
use sluice_server::duration::Span;
use std::time::Duration;

/// The tests share the process's metrics: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const RECORDS: &str = "/v1/apps/crm/objects/contacts/records";

async fn cluster() -> Option<PgCluster> {
    tokio::task::spawn_blocking(|| PgCluster::start(ClusterOptions::default()))
        .await
        .unwrap()
}

/// A server on the cluster's primary reading from its standby.
async fn server(cluster: &PgCluster, max_lag: Duration) -> TestApp {
    let (primary, standby) = (
        cluster.primary.url("postgres"),
        cluster.standby().url("postgres"),
    );
    spawn_app_with(move |c| {
        c.database_url = Some(primary);
        c.read_databases = vec![standby];
        c.max_replica_lag = Span(max_lag);
    })
    .await
}

/// App `crm` with `contacts`, and the tokens of two writers: alice, who writes, and bob, who
/// only reads; once the standby has all of it.
async fn setup(app: &TestApp, cluster: &PgCluster) -> (String, String) {
    app.setup_crm().await;
    for user in ["alice", "bob"] {
        app.create_user("crm", user, "writer").await;
    }
    let alice = app.token("crm", "alice", "writer").await;
    let bob = app.token("crm", "bob", "writer").await;
    caught_up(cluster).await;
    (alice, bob)
}

async fn blocking(node: &PgNode, f: impl FnOnce(&PgNode) + Send + 'static) {
    let node = node.clone();
    tokio::task::spawn_blocking(move || f(&node)).await.unwrap();
}

async fn caught_up(cluster: &PgCluster) {
    let primary = cluster.primary.clone();
    blocking(cluster.standby(), move |s| s.wait_caught_up(&primary)).await;
}

/// Pauses (or resumes) the standby's replay and waits until it is so.
async fn replay(cluster: &PgCluster, paused: bool) {
    blocking(cluster.standby(), move |s| {
        let (call, state) = match paused {
            true => ("pg_wal_replay_pause", "paused"),
            false => ("pg_wal_replay_resume", "not paused"),
        };
        s.sql(&format!("SELECT {call}()::text"));
        s.wait_for(&format!("replay {state}"), || {
            (s.sql("SELECT pg_get_wal_replay_pause_state()").as_deref() == Some(state))
                .then_some(())
        });
    })
    .await;
}

/// The emails of the contacts `token` lists.
async fn emails(app: &TestApp, token: &str) -> Vec<String> {
    let (s, b) = app.call("GET", RECORDS, Some(token), None).await;
    assert_eq!(s, 200, "{b}");
    let mut out: Vec<String> = b["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

async fn create(app: &TestApp, token: &str, email: &str) -> (String, Option<String>) {
    let resp = app
        .client
        .post(app.url(RECORDS))
        .bearer_auth(token)
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let position = resp
        .headers()
        .get("sluice-read-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let b: Value = resp.json().await.unwrap();
    (b["id"].as_str().unwrap().to_owned(), position)
}

async fn total(app: &TestApp, token: &str) -> u64 {
    let path = format!("{RECORDS}?count=true&limit=1");
    let (s, b) = app.call("GET", &path, Some(token), None).await;
    assert_eq!(s, 200, "{b}");
    b["total"].as_u64().unwrap()
}

async fn query_count(app: &TestApp, token: &str) -> Value {
    let sql = json!({"sql": "SELECT count(*) AS n FROM contacts"});
    let (s, b) = app
        .call("POST", "/v1/apps/crm/query", Some(token), Some(sql))
        .await;
    assert_eq!(s, 200, "{b}");
    b["rows"][0][0].clone()
}

/// A sample of this process's metrics.
async fn metric(app: &TestApp, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
            prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

async fn served(app: &TestApp, by: &str) -> f64 {
    metric(app, "sluice_reads_total", &[("served_by", by)]).await
}

async fn usable(app: &TestApp, n: f64) {
    poll(&format!("{n} usable read replicas"), || async {
        (metric(app, "sluice_read_replicas_usable", &[]).await == n).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_serves_reads_and_callers_read_their_writes() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(cluster) = cluster().await else {
        return;
    };
    let hour = Duration::from_secs(3600);
    let app = server(&cluster, hour).await;
    let (alice, bob) = setup(&app, &cluster).await;
    let (_, position) = create(&app, &alice, "before@x").await;
    assert!(position.is_some(), "a write's answer carries its position");
    caught_up(&cluster).await;
    usable(&app, 1.0).await;
    let from_replica = served(&app, "replica").await;
    assert_eq!(emails(&app, &bob).await, ["before@x"]);
    assert!(
        served(&app, "replica").await > from_replica,
        "bob's list came from the replica"
    );
    // A second instance, its replica in use before replay stops (an instance that starts while
    // a replica is behind cannot tell its lag, and skips it).
    let other = server(&cluster, hour).await;
    poll("the other instance to read from the replica", || async {
        let before = served(&other, "replica").await;
        emails(&other, &bob).await;
        (served(&other, "replica").await > before).then_some(())
    })
    .await;

    // The standby stops replaying: what alice writes now is on the primary alone.
    replay(&cluster, true).await;
    let (id, position) = create(&app, &alice, "after@x").await;
    // Alice reads her write at once, whichever way she reads it.
    let (s, b) = app
        .call("GET", &format!("{RECORDS}/{id}"), Some(&alice), None)
        .await;
    assert_eq!((s.as_u16(), b["email"].as_str()), (200, Some("after@x")));
    assert_eq!(emails(&app, &alice).await, ["after@x", "before@x"]);
    assert_eq!(total(&app, &alice).await, 2);
    assert_eq!(query_count(&app, &alice).await, 2);
    // Bob, who did not write, is served by the paused replica: he does not see it yet.
    assert_eq!(emails(&app, &bob).await, ["before@x"]);
    assert_eq!(total(&app, &bob).await, 1);
    assert_eq!(query_count(&app, &bob).await, 1);

    // Another instance knows nothing of alice's write, until her client says where it is.
    let get = |token: String, header: Option<String>| {
        let req = other
            .client
            .get(other.url(&format!("{RECORDS}/{id}")))
            .bearer_auth(token);
        async move {
            match header {
                Some(h) => req.header("Sluice-Read-After", h),
                None => req,
            }
            .send()
            .await
            .unwrap()
            .status()
        }
    };
    assert_eq!(
        get(alice.clone(), None).await,
        404,
        "the replica has not replayed it"
    );
    assert_eq!(get(alice.clone(), position).await, 200);
    // … and from then on this instance holds her reads to it.
    assert_eq!(get(alice.clone(), None).await, 200);

    // Replay resumes: bob sees it too.
    replay(&cluster, false).await;
    poll("bob to see alice's write once replayed", || async {
        (emails(&app, &bob).await.len() == 2).then_some(())
    })
    .await;
    other.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lagging_or_stopped_replicas_are_skipped_until_well() {
    let _one = ONE_AT_A_TIME.lock().await;
    let Some(cluster) = cluster().await else {
        return;
    };
    let app = server(&cluster, Duration::from_millis(400)).await;
    let (alice, bob) = setup(&app, &cluster).await;
    usable(&app, 1.0).await;
    let before = served(&app, "replica").await;
    assert!(emails(&app, &bob).await.is_empty());
    assert!(served(&app, "replica").await > before);

    // Replay paused while the primary writes: past the lag allowed, the replica is skipped and
    // bob reads from the primary.
    replay(&cluster, true).await;
    create(&app, &alice, "a@x").await;
    usable(&app, 0.0).await;
    let before = served(&app, "primary").await;
    assert_eq!(emails(&app, &bob).await, ["a@x"]);
    assert_eq!(total(&app, &bob).await, 1);
    assert!(served(&app, "primary").await >= before + 2.0);

    // Caught up again, it serves again.
    replay(&cluster, false).await;
    usable(&app, 1.0).await;
    let before = served(&app, "replica").await;
    assert_eq!(emails(&app, &bob).await, ["a@x"]);
    assert!(served(&app, "replica").await > before);

    // Stopped: skipped, and every read still answers; started again: used again.
    blocking(cluster.standby(), |s| s.stop_immediate()).await;
    for _ in 0..3 {
        assert_eq!(emails(&app, &bob).await, ["a@x"]);
        assert_eq!(query_count(&app, &bob).await, 1);
    }
    usable(&app, 0.0).await;
    create(&app, &alice, "b@x").await;
    assert_eq!(emails(&app, &bob).await, ["a@x", "b@x"]);
    blocking(cluster.standby(), |s| s.start()).await;
    caught_up(&cluster).await;
    usable(&app, 1.0).await;
    let before = served(&app, "replica").await;
    assert_eq!(emails(&app, &bob).await, ["a@x", "b@x"]);
    assert!(served(&app, "replica").await > before);
    app.stop().await;
}
