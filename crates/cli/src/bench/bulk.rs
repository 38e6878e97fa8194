//! `sluice bench bulk`: 1,000-insert bulk requests over HTTP against raw rusqlite inserting the
//! same rows in one transaction with a prepared statement.

use super::raw::{self, Key};
use super::{bench_record, rate, BenchServer, ADMIN};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PER_REQUEST: usize = 1000;

fn bulk_body(url: &str, from: usize) -> Value {
    let ops: Vec<Value> = (from..from + PER_REQUEST)
        .map(|i| json!({"method": "POST", "url": url, "body": bench_record(i)}))
        .collect();
    json!({"operations": ops})
}

/// Builds the request bodies for `requests` bulk requests of 1,000 inserts starting at row `from`,
/// before any clock starts: making the data is the client's work, not sluice's.
fn bodies(from: usize, requests: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    (0..requests)
        .map(|r| {
            Ok(serde_json::to_vec(&bulk_body(
                "/v1/apps/bench/objects/people/records",
                from + r * PER_REQUEST,
            ))?)
        })
        .collect()
}

/// The same inserts as Backand `/1/bulk` commands.
fn backand_bodies(from: usize, requests: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    (0..requests)
        .map(|r| {
            let start = from + r * PER_REQUEST;
            let cmds: Vec<Value> = (start..start + PER_REQUEST)
                .map(|i| json!({"method": "POST", "url": "https://api.backand.com/1/objects/people", "data": bench_record(i)}))
                .collect();
            Ok(serde_json::to_vec(&cmds)?)
        })
        .collect()
}

/// Sends prepared bulk requests; returns each latency. Success is checked by counting the
/// `ok_status` statuses in the answer, which costs the client far less than parsing it whole.
async fn send(
    server: &BenchServer,
    path: &str,
    bodies: Vec<Vec<u8>>,
    ok_status: &str,
) -> anyhow::Result<Vec<Duration>> {
    send_keyed(server, path, bodies, ok_status, None).await
}

/// `send`, each request with an `Idempotency-Key` of its own (`<prefix>-<n>`) when given a prefix.
async fn send_keyed(
    server: &BenchServer,
    path: &str,
    bodies: Vec<Vec<u8>>,
    ok_status: &str,
    keys: Option<&str>,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(bodies.len());
    for (n, body) in bodies.into_iter().enumerate() {
        let t = Instant::now();
        let mut req = server
            .client
            .post(server.url(path))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .header("AppName", "bench");
        if let Some(prefix) = keys {
            req = req.header("Idempotency-Key", format!("{prefix}-{n}"));
        }
        let resp = req.body(body).send().await?;
        anyhow::ensure!(resp.status() == 200, "bulk failed: {}", resp.status());
        let bytes = resp.bytes().await?;
        latencies.push(t.elapsed());
        let ok = count(&bytes, format!("\"status\":{ok_status}").as_bytes());
        anyhow::ensure!(
            ok == PER_REQUEST,
            "only {ok} of {PER_REQUEST} inserts succeeded"
        );
    }
    Ok(latencies)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// With and without an `Idempotency-Key` per request, on one fresh server each, in alternating
/// rounds whose order flips every round, so drift in the machine's speed touches both alike; the
/// median of the rounds' rate ratios counts.
async fn keyed_overhead(requests: usize) -> anyhow::Result<()> {
    const ROUNDS: usize = 10;
    let (plain, keyed) = (
        BenchServer::start(|_| {}).await?,
        BenchServer::start(|_| {}).await?,
    );
    let per_round = (requests / ROUNDS).max(1);
    let (mut ratios, mut rates) = (Vec::new(), (0.0, 0.0));
    for round in 0..ROUNDS {
        let from = round * per_round * PER_REQUEST;
        let prefix = format!("round{round}");
        let one = |keys: Option<String>| {
            let server = if keys.is_some() { &keyed } else { &plain };
            let bodies = bodies(from, per_round);
            async move {
                let t = Instant::now();
                send_keyed(server, "/v1/bulk", bodies?, "201", keys.as_deref()).await?;
                anyhow::Ok(rate(per_round * PER_REQUEST, t.elapsed()))
            }
        };
        let (p, k) = if round % 2 == 0 {
            let p = one(None).await?;
            (p, one(Some(prefix)).await?)
        } else {
            let k = one(Some(prefix)).await?;
            (one(None).await?, k)
        };
        ratios.push(k / p);
        rates = (rates.0 + p / ROUNDS as f64, rates.1 + k / ROUNDS as f64);
    }
    ratios.sort_by(f64::total_cmp);
    let median = (ratios[ROUNDS / 2 - 1] + ratios[ROUNDS / 2]) / 2.0;
    println!(
        "{:<40} {:>10.0} rows/s  vs {:.0} without: overhead {:.1}% (median of {ROUNDS} rounds)",
        "(e) /v1/bulk with Idempotency-Key",
        rates.1,
        rates.0,
        (1.0 - median) * 100.0
    );
    Ok(())
}

pub async fn run(rows: usize) -> anyhow::Result<()> {
    let requests = rows / PER_REQUEST;
    let dir = tempfile::tempdir()?;
    let mut conn = raw::open(&dir.path().join("raw.db"))?;
    raw::create(&conn, "id TEXT NOT NULL PRIMARY KEY")?;
    let d = raw::insert(&mut conn, Key::UuidV7, &raw::rows(rows), rows)?;
    let raw_rate = rate(rows, d);
    println!("## bulk inserts: {rows} rows, {PER_REQUEST} per request");
    println!(
        "{:<40} {raw_rate:>10.0} rows/s",
        "(a) raw rusqlite, one transaction"
    );

    let server = BenchServer::start(|_| {}).await?;
    let prepared = bodies(0, requests)?;
    let start = Instant::now();
    let mut lat = send(&server, "/v1/bulk", prepared, "201").await?;
    let one = rate(rows, start.elapsed());
    lat.sort();
    println!(
        "{:<40} {one:>10.0} rows/s  ratio {:.2}  p50 {:.1} ms  p99 {:.1} ms",
        "(b) sluice /v1/bulk, 1 client",
        one / raw_rate,
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );

    keyed_overhead(requests).await?;

    let server = std::sync::Arc::new(BenchServer::start(|_| {}).await?);
    let prepared = (0..4)
        .map(|c| bodies(c * rows, requests / 4))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for bodies in prepared {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            send(&server, "/v1/bulk", bodies, "201").await
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let four = rate(requests / 4 * 4 * PER_REQUEST, start.elapsed());
    lat.sort();
    println!(
        "{:<40} {four:>10.0} rows/s  ratio {:.2}  p50 {:.1} ms  p99 {:.1} ms",
        "(b) sluice /v1/bulk, 4 clients",
        four / raw_rate,
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );

    let server = BenchServer::start(|_| {}).await?;
    let prepared = backand_bodies(0, requests)?;
    let start = Instant::now();
    let mut lat = send(&server, "/1/bulk", prepared, "200").await?;
    let backand = rate(rows, start.elapsed());
    lat.sort();
    println!(
        "{:<40} {backand:>10.0} rows/s  ratio {:.2}  p50 {:.1} ms  p99 {:.1} ms",
        "(d) Backand /1/bulk, 1 client",
        backand / raw_rate,
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );

    let server = BenchServer::start(|_| {}).await?;
    let single = server.single_posts(0, PER_REQUEST).await?;
    println!(
        "{:<40} {single:>10.0} rows/s  ratio {:.2}",
        "(c) 1,000 single POSTs, 1 client",
        single / raw_rate
    );
    Ok(())
}
