//! `sluice bench bulk`: what a user's bulk client sees — `sluice serve` started as shipped, in a
//! process of its own, and 1,000-insert `/v1/bulk` requests (records with and without a JSON field),
//! Backand `/1/bulk` and single creates from this process — against raw rusqlite writing the same
//! rows (in one transaction for bulk, one transaction per row for single creates) in the same run.

use super::raw::{self, Key};
use super::served::{json_record, Served};
use super::{bench_record, rate, ADMIN};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PER_REQUEST: usize = 1000;
const PEOPLE: &str = "/v1/apps/bench/objects/people/records";
const PEOPLE_JSON: &str = "/v1/apps/bench/objects/people_json/records";
/// Clients for the concurrent single creates.
const SINGLE_CLIENTS: usize = 16;

/// The request bodies for `requests` bulk requests of 1,000 inserts into `url` starting at row
/// `from`, made before any clock starts: making the data is the client's work, not sluice's.
fn bodies(
    url: &str,
    record: fn(usize) -> Value,
    from: usize,
    requests: usize,
) -> anyhow::Result<Vec<Vec<u8>>> {
    (0..requests)
        .map(|r| {
            let start = from + r * PER_REQUEST;
            let ops: Vec<Value> = (start..start + PER_REQUEST)
                .map(|i| json!({"method": "POST", "url": url, "body": record(i)}))
                .collect();
            Ok(serde_json::to_vec(&json!({"operations": ops}))?)
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

/// Sends prepared bulk requests, each with an `Idempotency-Key` of its own (`<prefix>-<n>`) when
/// given a prefix; returns each latency. Success is checked by counting the `ok_status` statuses in
/// the answer, which costs the client far less than parsing it whole.
async fn send(
    served: &Served,
    path: &str,
    bodies: Vec<Vec<u8>>,
    ok_status: &str,
    keys: Option<&str>,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(bodies.len());
    let url = served.url(path);
    for (n, body) in bodies.into_iter().enumerate() {
        let t = Instant::now();
        let mut req = served
            .client
            .post(&url)
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
    memchr::memmem::find_iter(haystack, needle).count()
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn report(name: &str, rate: f64, floor: f64, mut lat: Vec<Duration>) {
    lat.sort();
    println!(
        "{name:<40} {rate:>10.0} rows/s  ratio {:.2}  p50 {:.1} ms  p99 {:.1} ms",
        rate / floor,
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
}

/// `clients` clients sending their share of `requests` prepared bodies at once; rows per second.
async fn concurrent(
    served: &Arc<Served>,
    clients: usize,
    requests: usize,
    from: usize,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let per_client = (requests / clients).max(1);
    let prepared = (0..clients)
        .map(|c| {
            bodies(
                PEOPLE,
                bench_record,
                from + c * per_client * PER_REQUEST,
                per_client,
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for bodies in prepared {
        let served = served.clone();
        tasks.push(tokio::spawn(async move {
            send(&served, "/v1/bulk", bodies, "201", None).await
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    Ok((
        rate(per_client * clients * PER_REQUEST, start.elapsed()),
        lat,
    ))
}

/// With and without an `Idempotency-Key` per request, in alternating rounds whose order flips every
/// round, so drift in the machine's speed touches both alike; the median of the rounds' ratios
/// counts.
async fn keyed_overhead(served: &Served, requests: usize, from: usize) -> anyhow::Result<()> {
    const ROUNDS: usize = 10;
    let per_round = (requests / ROUNDS).max(1);
    let (mut ratios, mut rates) = (Vec::new(), (0.0, 0.0));
    for round in 0..ROUNDS {
        let start = from + 2 * round * per_round * PER_REQUEST;
        let one = |keys: Option<String>, start: usize| async move {
            let bodies = bodies(PEOPLE, bench_record, start, per_round)?;
            let t = Instant::now();
            send(served, "/v1/bulk", bodies, "201", keys.as_deref()).await?;
            anyhow::Ok(rate(per_round * PER_REQUEST, t.elapsed()))
        };
        let keyed_from = start + per_round * PER_REQUEST;
        let (p, k) = if round % 2 == 0 {
            let p = one(None, start).await?;
            (p, one(Some(format!("round{round}")), keyed_from).await?)
        } else {
            let k = one(Some(format!("round{round}")), keyed_from).await?;
            (one(None, start).await?, k)
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

/// Single creates from `clients` clients until `total` are made, starting at row `from`.
async fn single_creates(
    served: &Arc<Served>,
    clients: usize,
    total: usize,
    from: usize,
) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicUsize::new(from));
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (from..from + total)
            .map(|i| serde_json::to_vec(&bench_record(i)))
            .collect::<Result<_, _>>()?,
    );
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (served, next, bodies) = (served.clone(), next.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let url = served.url(PEOPLE);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i - from) else {
                    return anyhow::Ok(());
                };
                let resp = served
                    .client
                    .post(&url)
                    .bearer_auth(ADMIN)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                anyhow::ensure!(resp.status() == 201, "create failed: {}", resp.status());
                resp.bytes().await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(rate(total, start.elapsed()))
}

/// Raw rusqlite: `rows` of `record` in one transaction, and `singles` rows one transaction each.
fn floors(rows: usize, singles: usize) -> anyhow::Result<(f64, f64, f64)> {
    let dir = tempfile::tempdir()?;
    let mut conn = raw::open(&dir.path().join("raw.db"))?;
    raw::create(&conn, "id TEXT NOT NULL PRIMARY KEY")?;
    let bulk = rate(
        rows,
        raw::insert(&mut conn, Key::UuidV7, &raw::rows(rows), rows)?,
    );
    let mut conn = raw::open(&dir.path().join("raw-json.db"))?;
    raw::create_with(&conn, "id TEXT NOT NULL PRIMARY KEY", ", tags TEXT")?;
    let with_json = raw::rows_of(rows, json_record);
    let json = rate(rows, raw::insert(&mut conn, Key::UuidV7, &with_json, rows)?);
    let mut conn = raw::open(&dir.path().join("raw-single.db"))?;
    raw::create(&conn, "id TEXT NOT NULL PRIMARY KEY")?;
    let single = rate(
        singles,
        raw::insert(&mut conn, Key::UuidV7, &raw::rows(singles), 1)?,
    );
    Ok((bulk, json, single))
}

pub async fn run(rows: usize, singles: usize, server: Option<PathBuf>) -> anyhow::Result<()> {
    let requests = (rows / PER_REQUEST).max(1);
    let rows = requests * PER_REQUEST;
    // Each scenario writes its own range of rows (emails are unique), wide enough for 4 clients.
    let span = requests.max(4) * PER_REQUEST;
    let (raw_bulk, raw_json, raw_single) = floors(rows, singles)?;
    println!("## bulk inserts: {rows} rows, {PER_REQUEST} per request; `sluice serve` as shipped, in its own process");
    println!(
        "{:<40} {raw_bulk:>10.0} rows/s",
        "(a) raw rusqlite, one transaction"
    );
    println!(
        "{:<40} {raw_json:>10.0} rows/s",
        "(a) raw, with a JSON field"
    );
    println!(
        "{:<40} {raw_single:>10.0} rows/s",
        "(a) raw, one transaction per row"
    );

    let dir = tempfile::tempdir()?;
    let served = Arc::new(Served::start(server, dir.path(), "bulk").await?);
    let t = Instant::now();
    let lat = send(
        &served,
        "/v1/bulk",
        bodies(PEOPLE, bench_record, 0, requests)?,
        "201",
        None,
    )
    .await?;
    report(
        "(b) /v1/bulk, 1 client",
        rate(rows, t.elapsed()),
        raw_bulk,
        lat,
    );

    let t = Instant::now();
    let json_bodies = bodies(PEOPLE_JSON, json_record, 0, requests)?;
    let lat = send(&served, "/v1/bulk", json_bodies, "201", None).await?;
    report(
        "(b) /v1/bulk, JSON field, 1 client",
        rate(rows, t.elapsed()),
        raw_json,
        lat,
    );

    let (four, lat) = concurrent(&served, 4, requests, span).await?;
    report("(b) /v1/bulk, 4 clients", four, raw_bulk, lat);

    let t = Instant::now();
    let lat = send(
        &served,
        "/1/bulk",
        backand_bodies(2 * span, requests)?,
        "200",
        None,
    )
    .await?;
    report(
        "(d) Backand /1/bulk, 1 client",
        rate(rows, t.elapsed()),
        raw_bulk,
        lat,
    );

    keyed_overhead(&served, requests, 3 * span).await?;

    let single_from = 5 * span + 20 * PER_REQUEST;
    let one = single_creates(&served, 1, singles, single_from).await?;
    println!(
        "{:<40} {one:>10.0} req/s   ratio {:.2} (of one transaction per row)",
        "(c) single creates, 1 client",
        one / raw_single
    );
    let many = single_creates(&served, SINGLE_CLIENTS, 4 * singles, single_from + singles).await?;
    println!(
        "{:<40} {many:>10.0} req/s   ratio {:.2} (of one transaction per row)",
        format!("(c) single creates, {SINGLE_CLIENTS} clients"),
        many / raw_single
    );
    // Last: counting stays on for the rest of the process once it starts.
    let counted = sluice_server::budget::measure().await?;
    for (name, c) in [
        ("1,000-row /v1/bulk", counted.bulk),
        ("single create", counted.single),
    ] {
        println!(
            "(f) cost of one {name:<22} {} allocations, {} hand-offs, {} SQL statements",
            c.allocations, c.handoffs, c.statements
        );
    }
    Ok(())
}
