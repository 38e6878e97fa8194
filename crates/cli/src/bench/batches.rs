//! `sluice bench batches`: deleting 10,000 records as a batch (by ids, and by query) against raw
//! `DELETE … WHERE id IN (…)` over the same data.

use super::raw::{self, Key};
use super::{bench_record, rate, BenchServer, ADMIN};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn seed(server: &BenchServer, n: usize) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity(n);
    for start in (0..n).step_by(1000) {
        let ops: Vec<Value> = (start..(start + 1000).min(n))
            .map(|i| json!({"method": "POST", "url": "/v1/apps/bench/objects/people/records", "body": bench_record(i)}))
            .collect();
        let v = server.post("/v1/bulk", json!({"operations": ops})).await?;
        for r in v["results"].as_array().into_iter().flatten() {
            ids.push(r["body"]["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    Ok(ids)
}

/// Creates a started batch and waits for it to succeed; returns the time from creation to success.
async fn run_batch(server: &BenchServer, op: Value, n: usize) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let b = server
        .post(
            "/v1/apps/bench/batches",
            json!({"start": true, "operations": [op]}),
        )
        .await?;
    let url = server.url(&format!(
        "/v1/apps/bench/batches/{}",
        b["id"].as_str().unwrap_or_default()
    ));
    loop {
        let b: Value = server
            .client
            .get(&url)
            .bearer_auth(ADMIN)
            .send()
            .await?
            .json()
            .await?;
        if b["status"] == "success" {
            anyhow::ensure!(
                b["objects_success"].as_u64() == Some(n as u64),
                "batch: {b}"
            );
            return Ok(start.elapsed());
        }
        anyhow::ensure!(b["status"] == "running", "batch: {b}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub async fn run(n: usize) -> anyhow::Result<()> {
    // (a) raw: one DELETE … WHERE id IN (…) of the same rows, in one transaction.
    let dir = tempfile::tempdir()?;
    let mut conn = raw::open(&dir.path().join("raw.db"))?;
    raw::create(&conn, "id TEXT NOT NULL PRIMARY KEY")?;
    raw::insert(&mut conn, Key::UuidV7, &raw::rows(n), 1000)?;
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM people")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let marks = vec!["?"; ids.len()].join(",");
    let start = Instant::now();
    let tx = conn.transaction()?;
    let deleted = tx.execute(
        &format!("DELETE FROM people WHERE id IN ({marks})"),
        rusqlite::params_from_iter(ids.iter()),
    )?;
    tx.commit()?;
    let raw_rate = rate(deleted, start.elapsed());
    println!("## batch deletes: {n} records");
    println!(
        "{:<44} {raw_rate:>10.0} records/s",
        "(a) raw DELETE … WHERE id IN (…)"
    );

    let server = BenchServer::start(|c| c.max_batch_records = n as u64).await?;
    let ids = seed(&server, n).await?;
    let d = run_batch(
        &server,
        json!({"action": "delete", "object": "people", "ids": ids}),
        n,
    )
    .await?;
    let by_ids = rate(n, d);
    println!(
        "{:<44} {by_ids:>10.0} records/s  ratio {:.2}",
        "(b) sluice batch by ids",
        by_ids / raw_rate
    );
    seed(&server, n).await?;
    let d = run_batch(
        &server,
        json!({"action": "delete", "object": "people", "query": "SELECT id FROM people"}),
        n,
    )
    .await?;
    let by_query = rate(n, d);
    println!(
        "{:<44} {by_query:>10.0} records/s  ratio {:.2}",
        "(c) sluice batch by query",
        by_query / raw_rate
    );
    Ok(())
}
