//! Bounds under load and hostile input: readers and expensive calls take turns (503 with
//! `Retry-After` past a bounded wait), queries end in time whatever one step costs, slow or silent
//! clients cannot hold the server, rates are limited, and a full disk fails cleanly.

use crate::common::{poll, spawn_app_with, start_in_process, test_config, ADMIN};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RECS: &str = "/v1/apps/crm/objects/contacts/records";
const QUERY: &str = "/v1/apps/crm/query";
/// A query that counts for as long as it is allowed to.
const ENDLESS: &str =
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000000) SELECT count(*) FROM r";

/// A guard for tests that wait on the server: generous, and only a bound on a hang.
const HANG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_beyond_the_pool_wait_then_get_503() {
    let app = spawn_app_with(|c| {
        c.max_readers = 1;
        c.read_wait_ms = 50;
        c.query_timeout_ms = 3000;
        c.max_expensive = 4;
    })
    .await;
    app.setup_crm().await;
    let slow = {
        let (client, url) = (app.client.clone(), app.url(QUERY));
        tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(ADMIN)
                .json(&json!({"sql": ENDLESS}))
                .send()
                .await
                .unwrap();
            resp.status()
        })
    };
    let busy = poll("a read refused while the only reader is taken", || async {
        let resp = app
            .client
            .get(app.url(RECS))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        (resp.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(resp)
    })
    .await;
    assert_eq!(busy.headers()["retry-after"], "1");
    let body: Value = busy.json().await.unwrap();
    assert_eq!(body["error"]["code"], "busy", "{body}");
    assert_eq!(
        slow.await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the slow query timed out"
    );
    let (s, _) = app.admin("GET", RECS, None).await;
    assert_eq!(s, 200, "reads go on once the reader is free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expensive_calls_take_turns() {
    let app = spawn_app_with(|c| {
        c.max_expensive = 1;
        c.query_timeout_ms = 3000;
    })
    .await;
    app.setup_crm().await;
    let slow = {
        let (client, url) = (app.client.clone(), app.url(QUERY));
        tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(ADMIN)
                .json(&json!({"sql": ENDLESS}))
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    poll("a count refused while the only turn is taken", || async {
        let (s, b) = app.admin("GET", &format!("{RECS}?count=true"), None).await;
        (s == 503).then(|| assert_eq!(b["error"]["code"], "busy", "{b}"))
    })
    .await;
    let (s, _) = app.admin("GET", RECS, None).await;
    assert_eq!(s, 200, "cheap reads do not wait for a turn");
    slow.await.unwrap();
}

/// The exact queries that used to run for seconds past their deadline or take a gigabyte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_bounded_whatever_one_step_costs() {
    let app = spawn_app_with(|c| c.query_timeout_ms = 300).await;
    app.setup_crm().await;
    let grow = |limit: usize| {
        format!("WITH RECURSIVE b(s) AS (SELECT 'a' UNION ALL SELECT s || s FROM b WHERE length(s) < {limit}) ")
    };
    let refused = [
        format!("{}SELECT max(s) LIKE '%{}b' FROM b", grow(2_000_000), "a".repeat(5000)),
        format!("{}SELECT max(s) GLOB '*{}b' FROM b", grow(2_000_000), "a".repeat(5000)),
        format!("{}SELECT max(s) LIKE '%{}b' FROM b", grow(4_000_000), "a".repeat(4000)),
        format!(
            "{}, n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) SELECT count(DISTINCT s || i) FROM b, n WHERE length(s) > 8000000",
            grow(16_000_000)
        ),
    ];
    for sql in refused {
        let (s, b) = app.admin("POST", QUERY, Some(json!({"sql": sql}))).await;
        assert!(s.is_client_error(), "{s} {b}");
    }
    // A pattern within bounds over a long string, many times: the deadline stops it.
    let sql = format!(
        "{}, n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) SELECT count(*) FROM n, (SELECT max(s) AS m FROM b) WHERE m LIKE '%' || substr('{}', 1, 80 + i % 10) || 'b'",
        grow(2_000_000),
        "a".repeat(90)
    );
    let (s, b) = app.admin("POST", QUERY, Some(json!({"sql": sql}))).await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("timeout")),
        "{b}"
    );
    let (s, _) = app
        .admin("POST", QUERY, Some(json!({"sql": "SELECT 1 AS one"})))
        .await;
    assert_eq!(s, 200, "the connection is usable afterwards");
}

/// SIGTERM while a client has sent 15 bytes of a 100 kB body: shutdown still ends at its deadline,
/// and the unfinished request is never applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_does_not_hold_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.shutdown_timeout = 1;
    let app = start_in_process(config).await;
    app.setup_crm().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {RECS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"email\": \"x@y\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let stopped = tokio::time::timeout(HANG, app.stop()).await;
    assert!(stopped.is_ok(), "shutdown waited for the stalled client");
    let app = start_in_process(test_config(dir.path())).await;
    assert_eq!(app.count("crm", "contacts").await, 0);
}

/// A client that sends nothing is closed after the read timeout; one whose body stalls gets 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_stalling_clients_are_cut_off() {
    let app = spawn_app_with(|c| c.read_timeout = 1).await;
    app.setup_crm().await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(HANG, silent.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the silent connection was closed");
    let mut stalling = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {RECS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\nContent-Length: 100000\r\n\r\n{{\"email\""
    );
    stalling.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(HANG, stalling.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(app.count("crm", "contacts").await, 0);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = spawn_app_with(|c| c.rate_limit = 1).await;
    let get = |token: &'static str| {
        app.client
            .get(app.url("/v1/apps"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(get(ADMIN).await.unwrap().status(), 200);
    assert_eq!(
        get(ADMIN).await.unwrap().status(),
        200,
        "a burst of twice the rate"
    );
    let third = get(ADMIN).await.unwrap();
    assert_eq!(third.status(), 429);
    assert_eq!(third.headers()["retry-after"], "1");
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(
        get("another").await.unwrap().status(),
        401,
        "other credentials have their own rate"
    );
    // Credentials in Backand's query string are limited like headers.
    let backand = || {
        app.client
            .get(app.url("/1/objects/contacts?AnonymousToken=guess"))
            .send()
    };
    let statuses = [
        backand().await.unwrap().status(),
        backand().await.unwrap().status(),
        backand().await.unwrap().status(),
    ];
    assert_eq!(statuses[2], 429, "{statuses:?}");
}
