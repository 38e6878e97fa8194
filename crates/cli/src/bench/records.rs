//! `sluice bench records`: the key layout (raw SQLite) and single-record creates over HTTP.

use super::raw::{self, Key};
use super::{bench_record, rate, BenchServer, ADMIN};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub async fn run(layout_rows: usize, single: usize, concurrency: usize) -> anyhow::Result<()> {
    println!("## key layout: raw rusqlite, {layout_rows} rows in 1,000-row transactions");
    for (name, key, def) in [
        (
            "INTEGER PRIMARY KEY",
            Key::Integer,
            "id INTEGER PRIMARY KEY",
        ),
        (
            "UUID v7 TEXT PRIMARY KEY (sluice)",
            Key::UuidV7,
            "id TEXT NOT NULL PRIMARY KEY",
        ),
        (
            "UUID v4 TEXT PRIMARY KEY",
            Key::UuidV4,
            "id TEXT NOT NULL PRIMARY KEY",
        ),
    ] {
        let dir = tempfile::tempdir()?;
        let mut conn = raw::open(&dir.path().join("raw.db"))?;
        raw::create(&conn, def)?;
        let d = raw::insert(&mut conn, key, &raw::rows(layout_rows), 1000)?;
        println!("{name:<36} {:>10.0} rows/s", rate(layout_rows, d));
    }

    println!("\n## single-record creates over HTTP (loopback)");
    let dir = tempfile::tempdir()?;
    let mut conn = raw::open(&dir.path().join("raw.db"))?;
    raw::create(&conn, "id TEXT NOT NULL PRIMARY KEY")?;
    let d = raw::insert(&mut conn, Key::UuidV7, &raw::rows(single), 1)?;
    let raw_rate = rate(single, d);
    println!(
        "{:<36} {raw_rate:>10.0} rows/s",
        "raw: one transaction per row"
    );

    let server = BenchServer::start(|_| {}).await?;
    let url = server.url("/v1/apps/bench/objects/people/records");
    let one = server.single_posts(0, single).await?;
    println!(
        "{:<36} {one:>10.0} req/s  ({:.0}% of raw)",
        "sluice, 1 client",
        100.0 * one / raw_rate
    );

    let total = single * 4;
    let next = Arc::new(AtomicUsize::new(single));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, next) = (server.client.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= single + total {
                    return Ok::<_, anyhow::Error>(());
                }
                let resp = client
                    .post(&url)
                    .bearer_auth(ADMIN)
                    .json(&bench_record(i))
                    .send()
                    .await?;
                anyhow::ensure!(resp.status() == 201, "create failed: {}", resp.status());
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let many = rate(total, start.elapsed());
    println!(
        "{:<36} {many:>10.0} req/s  ({:.0}% of raw)",
        format!("sluice, {concurrency} concurrent clients"),
        100.0 * many / raw_rate
    );
    Ok(())
}
