//! `sluice bench pg`: sluice on PostgreSQL against raw PostgreSQL in the same run — an insert job
//! against `COPY … FROM STDIN (FORMAT binary)` of the same rows, an upsert job against `INSERT …
//! ON CONFLICT`, `/v1/bulk` against multi-row `INSERT`s — and one, two and three instances sharing
//! one database. Each run gets fresh databases, dropped at the end.

use super::jobs::{make_files, run_job, upload, JOB_ARGS};
use super::pg_raw::{raw_copy, raw_multi_row, raw_upsert, PER_REQUEST};
use super::{bench_record, rate, ChildServer, ADMIN};
use postgres::{Client, NoTls};
use serde_json::{json, Value};
use sluice_engine::store::postgres::with_database;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs blocking database work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f).await?
}

/// A fresh database named `name` on the server `base` names; returns its URL.
async fn fresh(base: &str, name: &'static str) -> anyhow::Result<String> {
    let url = base.to_owned();
    blocking(move || {
        let mut c = Client::connect(&url, NoTls)?;
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        c.batch_execute(&format!("CREATE DATABASE {name}"))?;
        Ok(with_database(&url, name))
    })
    .await
}

/// Flushes what earlier phases wrote (`CHECKPOINT`), so that PostgreSQL's own checkpoint of a
/// million rows does not land inside the next measurement.
async fn settle(base: &str) -> anyhow::Result<()> {
    let url = base.to_owned();
    blocking(move || {
        Client::connect(&url, NoTls)?.batch_execute("CHECKPOINT")?;
        Ok(())
    })
    .await
}

/// `requests` bulk requests of 1,000 creates from `clients` clients, spread over `servers`.
async fn bulk_over(
    servers: &[ChildServer],
    clients: usize,
    requests: usize,
    from: usize,
) -> anyhow::Result<Duration> {
    let bodies: Vec<Vec<u8>> = (0..requests)
        .map(|r| {
            let start = from + r * PER_REQUEST;
            let ops: Vec<Value> = (start..start + PER_REQUEST)
                .map(|i| json!({"method": "POST", "url": "/v1/apps/bench/objects/people/records", "body": bench_record(i)}))
                .collect();
            serde_json::to_vec(&json!({ "operations": ops })).map_err(anyhow::Error::from)
        })
        .collect::<anyhow::Result<_>>()?;
    let mut per_client: Vec<Vec<(String, Vec<u8>)>> = vec![Vec::new(); clients];
    for (i, body) in bodies.into_iter().enumerate() {
        let c = i % clients;
        per_client[c].push((format!("{}/v1/bulk", servers[c % servers.len()].base), body));
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for work in per_client {
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for (url, body) in work {
                let resp = client
                    .post(url)
                    .bearer_auth(ADMIN)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                anyhow::ensure!(resp.status() == 200, "bulk failed: {}", resp.status());
                let text = resp.text().await?;
                anyhow::ensure!(
                    text.matches("\"status\":201").count() == PER_REQUEST,
                    "a bulk insert failed"
                );
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed())
}

async fn post(base: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let resp = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await?;
    let status = resp.status();
    let v: Value = resp.json().await?;
    anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
    Ok(v)
}

/// `n` instances on fresh database `name`, with the bench app and objects made.
async fn instances(
    base: &str,
    name: &'static str,
    n: usize,
    dir: &Path,
) -> anyhow::Result<Vec<ChildServer>> {
    let url = fresh(base, name).await?;
    let mut servers = Vec::new();
    for i in 0..n {
        let mut args: Vec<&str> = JOB_ARGS.to_vec();
        args.extend(["--database", &url]);
        servers.push(ChildServer::start(&dir.join(format!("{name}-{i}")), &args).await?);
    }
    let first = &servers[0].base;
    post(first, "/v1/apps", json!({"name": "bench"})).await?;
    post(
        first,
        "/v1/apps/bench/objects",
        json!({"name": "people", "fields": super::bench_fields()}),
    )
    .await?;
    let mut log = super::bench_fields();
    if let Some(email) = log.get_mut(0) {
        email["unique"] = json!(false);
    }
    post(
        first,
        "/v1/apps/bench/objects",
        json!({"name": "log", "fields": log}),
    )
    .await?;
    Ok(servers)
}

pub async fn run(
    base: &str,
    rows: usize,
    bulk_rows: usize,
    max_instances: usize,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (csv_path, zip_path) = make_files(dir.path(), rows)?;
    println!("## PostgreSQL: {rows}-row jobs, {bulk_rows} rows of /v1/bulk");
    let raw = fresh(base, "sluice_bench_raw").await?;
    let (u, p) = (raw.clone(), csv_path.clone());
    settle(base).await?;
    let copy = rate(rows, blocking(move || raw_copy(&u, &p)).await?);
    println!(
        "{:<46} {copy:>10.0} rows/s",
        "(a) raw COPY … (FORMAT binary), one tx"
    );
    let (u, p) = (raw.clone(), csv_path.clone());
    settle(base).await?;
    let upsert_raw = rate(rows, blocking(move || raw_upsert(&u, &p)).await?);
    println!(
        "{:<46} {upsert_raw:>10.0} rows/s",
        "(a) raw INSERT … ON CONFLICT, 2,000-row txs"
    );

    let one = instances(base, "sluice_bench_one", 1, dir.path()).await?;
    let server = &one[0];
    let (fid, up) = upload(&server.base, &zip_path).await?;
    println!(
        "{:<46} {:>10.0} rows/s  ({:.1} s)",
        "upload (stored in the database)",
        rate(rows, up),
        up.as_secs_f64()
    );
    settle(base).await?;
    let (job, d) = run_job(
        &reqwest::Client::new(),
        &server.base,
        json!({"operation": "insert", "object": "people", "file_id": fid}),
    )
    .await?;
    anyhow::ensure!(
        job["progress"]["added"].as_u64() == Some(rows as u64),
        "insert job: {job}"
    );
    let insert = rate(rows, d);
    println!(
        "{:<46} {insert:>10.0} rows/s  ratio {:.2}",
        "(b) insert job",
        insert / copy
    );
    settle(base).await?;
    let (job, d) = run_job(
        &reqwest::Client::new(),
        &server.base,
        json!({"operation": "upsert", "object": "people", "file_id": fid, "find_by": "email"}),
    )
    .await?;
    anyhow::ensure!(
        job["progress"]["updated"].as_u64() == Some(rows as u64),
        "upsert job: {job}"
    );
    let upsert = rate(rows, d);
    println!(
        "{:<46} {upsert:>10.0} rows/s  ratio {:.2}",
        "(c) upsert job over the existing rows",
        upsert / upsert_raw
    );
    drop(one);

    let raw_bulk = fresh(base, "sluice_bench_raw_bulk").await?;
    settle(base).await?;
    let multi = rate(
        bulk_rows,
        blocking(move || raw_multi_row(&raw_bulk, bulk_rows)).await?,
    );
    println!(
        "{:<46} {multi:>10.0} rows/s",
        "(a) raw multi-row INSERT, 1,000 a tx"
    );
    let one = instances(base, "sluice_bench_bulk", 1, dir.path()).await?;
    settle(base).await?;
    let d = bulk_over(&one, 1, bulk_rows / PER_REQUEST, 0).await?;
    let bulk = rate(bulk_rows, d);
    println!(
        "{:<46} {bulk:>10.0} rows/s  ratio {:.2}",
        "(d) /v1/bulk 1,000 inserts, 1 client",
        bulk / multi
    );
    drop(one);

    println!("\n## instances sharing one database: 16 clients, and jobs from one queue");
    let jobs = 6;
    let job_rows = rows;
    let mut first_bulk = 0.0;
    let mut first_jobs = 0.0;
    for n in 1..=max_instances.max(1) {
        let name: &'static str = [
            "sluice_bench_i1",
            "sluice_bench_i2",
            "sluice_bench_i3",
            "sluice_bench_i4",
        ][(n - 1).min(3)];
        let servers = instances(base, name, n, dir.path()).await?;
        settle(base).await?;
        let d = bulk_over(&servers, 16, bulk_rows / PER_REQUEST, 0).await?;
        let bulk = rate(bulk_rows, d);
        let (fid, _) = upload(&servers[0].base, &zip_path).await?;
        settle(base).await?;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for j in 0..jobs {
            let base = servers[j % n].base.clone();
            let fid = fid.clone();
            tasks.push(tokio::spawn(async move {
                run_job(
                    &reqwest::Client::new(),
                    &base,
                    json!({"operation": "insert", "object": "log", "file_id": fid}),
                )
                .await
            }));
        }
        for t in tasks {
            t.await??;
        }
        let job_rate = rate(jobs * job_rows, start.elapsed());
        if n == 1 {
            (first_bulk, first_jobs) = (bulk, job_rate);
        }
        println!(
            "{n} instance(s): /v1/bulk {bulk:>9.0} rows/s (x{:.2})   {jobs} jobs {job_rate:>9.0} rows/s (x{:.2})",
            bulk / first_bulk,
            job_rate / first_jobs
        );
    }
    let base = base.to_owned();
    blocking(move || {
        let mut c = Client::connect(&base, NoTls)?;
        for name in [
            "sluice_bench_raw",
            "sluice_bench_one",
            "sluice_bench_raw_bulk",
            "sluice_bench_bulk",
            "sluice_bench_i1",
            "sluice_bench_i2",
            "sluice_bench_i3",
            "sluice_bench_i4",
        ] {
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        }
        Ok(())
    })
    .await
}
