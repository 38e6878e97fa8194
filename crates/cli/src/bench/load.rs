//! `sluice bench load`: many clients mixing bulk writes, single writes, lists with an indexed
//! filter and a count, gets and queries against a child server for a while; reports requests/s
//! (overall and per window, to see whether throughput holds), p50/p99 per kind, errors by kind, the
//! server's peak and idle memory, and the largest write-ahead log seen.

use super::{bench_fields, bench_record, ChildServer, ADMIN};
use reqwest::Client;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const APP: &str = "/v1/apps/bench";
const RECS: &str = "/v1/apps/bench/objects/people/records";
/// Throughput is reported per window of this length.
const WINDOW: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Bulk,
    Create,
    List,
    Get,
    Query,
}

/// The mix each client draws from, in tenths.
const MIX: [Kind; 10] = [
    Kind::Bulk,
    Kind::Create,
    Kind::Create,
    Kind::List,
    Kind::List,
    Kind::List,
    Kind::Get,
    Kind::Get,
    Kind::Get,
    Kind::Query,
];

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<Kind, Vec<Duration>>,
    errors: BTreeMap<String, usize>,
    windows: Vec<usize>,
}

/// A record the load writes: ages 100–189, so the lists' and queries' matches (ages 0–89, seeded)
/// stay the same size while the table grows, and throughput over time shows the server, not the
/// data growing.
fn written(n: usize) -> Value {
    let mut r = bench_record(n);
    r["age"] = json!(100 + n % 90);
    r
}

async fn send(
    client: &Client,
    base: &str,
    kind: Kind,
    n: usize,
    ids: &[String],
) -> Result<(), String> {
    let req = match kind {
        Kind::Bulk => {
            let ops: Vec<Value> = (0..100)
                .map(|j| json!({"method": "POST", "url": RECS, "body": written(n * 100 + j)}))
                .collect();
            client
                .post(format!("{base}/v1/bulk"))
                .json(&json!({"operations": ops}))
        }
        Kind::Create => client.post(format!("{base}{RECS}")).json(&bench_record(n)),
        Kind::List => client.get(format!(
            "{base}{RECS}?age={}&count=true&limit=20&sort=-age",
            n % 90
        )),
        Kind::Get => client.get(format!("{base}{RECS}/{}", ids[n % ids.len()])),
        Kind::Query => client.post(format!("{base}{APP}/query")).json(
            &json!({"sql": format!("SELECT count(*) AS n FROM people WHERE age = {}", n % 90)}),
        ),
    };
    let resp = req
        .bearer_auth(ADMIN)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        ));
    }
    if kind == Kind::Bulk && body.windows(12).any(|w| w == b"\"status\":409") {
        return Err("a bulk entry failed".into());
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn wal_mib(data: &Path) -> f64 {
    std::fs::metadata(data.join("sluice.db-wal")).map_or(0.0, |m| m.len() as f64 / 1048576.0)
}

pub async fn run(
    clients: usize,
    seconds: u64,
    rows: usize,
    server_bin: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("server");
    let server = ChildServer::start_bin(server_bin, &data, &[]).await?;
    let base = server.base.clone();
    let client = Client::builder().pool_max_idle_per_host(clients).build()?;
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
    };
    post("/v1/apps", json!({"name": "bench"})).await?;
    post(
        &format!("{APP}/objects"),
        json!({"name": "people", "fields": bench_fields()}),
    )
    .await?;
    client
        .patch(format!("{base}{APP}/objects/people"))
        .bearer_auth(ADMIN)
        .json(&json!({"index": ["age"]}))
        .send()
        .await?;
    let mut ids = Vec::with_capacity(rows);
    for start in (0..rows).step_by(1000) {
        let ops: Vec<Value> = (start..(start + 1000).min(rows))
            .map(|i| json!({"method": "POST", "url": RECS, "body": bench_record(10_000_000 + i)}))
            .collect();
        let v: Value = post("/v1/bulk", json!({"operations": ops}))
            .await?
            .json()
            .await?;
        ids.extend(
            v["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["body"]["id"].as_str().map(str::to_owned)),
        );
    }
    let idle_before = server.rss_mib();
    println!("## load: {clients} clients for {seconds} s over {rows} records (age indexed)");
    println!("server RSS after seeding                         {idle_before:>8.1} MiB");

    let tally = Arc::new(Mutex::new(Tally::default()));
    let ids = Arc::new(ids);
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (client, base, tally, ids) = (client.clone(), base.clone(), tally.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 20_000_000 + c * 1_000_000;
            while Instant::now() < until {
                let kind = MIX[n % MIX.len()];
                let t = Instant::now();
                let result = send(&client, &base, kind, n, &ids).await;
                let took = t.elapsed();
                let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
                let window = (t.duration_since(start).as_secs() / WINDOW.as_secs()) as usize;
                if tally.windows.len() <= window {
                    tally.windows.resize(window + 1, 0);
                }
                tally.windows[window] += 1;
                match result {
                    Ok(()) => tally.latencies.entry(kind).or_default().push(took),
                    Err(e) => *tally.errors.entry(format!("{kind:?} {e}")).or_default() += 1,
                }
                n += 1;
            }
        }));
    }
    let (mut peak_wal, mut peak_rss) = (0.0f64, 0.0f64);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_wal = peak_wal.max(wal_mib(&data));
        peak_rss = peak_rss.max(server.rss_mib());
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed();
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    let total: usize = tally.latencies.values().map(Vec::len).sum::<usize>()
        + tally.errors.values().sum::<usize>();
    println!(
        "requests/s                                       {:>8.0}",
        total as f64 / elapsed.as_secs_f64()
    );
    let per_window: Vec<String> = tally
        .windows
        .iter()
        .take(seconds as usize / WINDOW.as_secs() as usize)
        .map(|n| format!("{:.0}", *n as f64 / WINDOW.as_secs_f64()))
        .collect();
    println!(
        "requests/s per {} s window                     {}",
        WINDOW.as_secs(),
        per_window.join(" ")
    );
    for (kind, mut lat) in tally.latencies {
        lat.sort();
        println!(
            "{:<8} {:>7} ok   p50 {:>7.1} ms   p99 {:>7.1} ms",
            format!("{kind:?}"),
            lat.len(),
            percentile(&lat, 0.5),
            percentile(&lat, 0.99)
        );
    }
    let errors: usize = tally.errors.values().sum();
    println!("errors                                           {errors:>8}");
    for (what, n) in tally.errors.iter().take(10) {
        println!("  {n:>6} × {what}");
    }
    println!(
        "server peak RSS (VmHWM)                          {:>8.1} MiB",
        server.peak_rss_mib().max(peak_rss)
    );
    println!("largest WAL seen                                 {peak_wal:>8.1} MiB");
    // Idle readers close after 10 s; memory should fall back near where it was.
    tokio::time::sleep(Duration::from_secs(15)).await;
    println!(
        "server RSS 15 s after the load                   {:>8.1} MiB",
        server.rss_mib()
    );
    println!(
        "WAL 15 s after the load                          {:>8.1} MiB",
        wal_mib(&data)
    );
    Ok(())
}
