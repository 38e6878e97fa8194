//! `sluice bench jobs`: a 1M-row CSV.zip imported by an insert job and then an upsert job, against
//! raw rusqlite parsing the same CSV and inserting in 1,000-row transactions. The server runs as a
//! child process so its peak RSS can be read.

use super::raw;
use super::{bench_record, rate, ChildServer, ADMIN};
use reqwest::Client;
use serde_json::{json, Value};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The bench object's columns, as the CSV names them.
pub const HEADER: [&str; 8] = [
    "email",
    "first_name",
    "last_name",
    "age",
    "score",
    "active",
    "joined",
    "notes",
];

/// Writes the CSV of rows `0..n`, then a ZIP holding it; returns the CSV's and the ZIP's paths.
pub fn make_files(
    dir: &Path,
    n: usize,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    let csv_path = dir.join("people.csv");
    write_csv(&csv_path, n)?;
    let zip_path = zip_csv(&csv_path)?;
    Ok((csv_path, zip_path))
}

/// Writes rows `0..n` of the bench data set under `HEADER` to `csv_path`.
pub fn write_csv(csv_path: &Path, n: usize) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(BufWriter::new(std::fs::File::create(csv_path)?));
    w.write_record(HEADER)?;
    for i in 0..n {
        let r = bench_record(i);
        w.write_record(HEADER.iter().map(|h| match &r[*h] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `<name>.zip` beside `<name>.csv`, holding it (deflated); returns the ZIP's path.
pub fn zip_csv(csv_path: &Path) -> anyhow::Result<std::path::PathBuf> {
    let zip_path = csv_path.with_extension("zip");
    let entry = csv_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("data.csv");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path)?);
    z.start_file(
        entry,
        zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true),
    )?;
    std::io::copy(&mut std::fs::File::open(csv_path)?, &mut z)?;
    z.finish()?.flush()?;
    Ok(zip_path)
}

/// The raw baseline: parse the CSV and insert with one prepared statement, 1,000 rows a transaction.
pub fn raw_import(csv_path: &Path, db: &Path) -> anyhow::Result<Duration> {
    let mut conn = raw::open(db)?;
    raw::create(&conn, "id TEXT NOT NULL PRIMARY KEY")?;
    let start = Instant::now();
    let mut rdr = csv::Reader::from_path(csv_path)?;
    let mut rec = csv::StringRecord::new();
    let now = "2026-01-01T00:00:00.000Z";
    let mut more = true;
    while more {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO people VALUES (?1, ?2, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for _ in 0..1000 {
                if !rdr.read_record(&mut rec)? {
                    more = false;
                    break;
                }
                let age: i64 = rec[3].parse()?;
                let score: f64 = rec[4].parse()?;
                let active = &rec[5] == "true";
                let id = uuid::Uuid::now_v7().to_string();
                stmt.execute(rusqlite::params![
                    id, now, "bench", &rec[0], &rec[1], &rec[2], age, score, active, &rec[6],
                    &rec[7]
                ])?;
            }
        }
        tx.commit()?;
    }
    Ok(start.elapsed())
}

pub async fn call(
    client: &Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut req = client.request(method, url).bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let v: Value = resp.json().await?;
    anyhow::ensure!(status.is_success(), "{status}: {v}");
    Ok(v)
}

/// Runs a job to its end; returns the job and how long it took from creation.
pub async fn run_job(
    client: &Client,
    base: &str,
    body: Value,
) -> anyhow::Result<(Value, Duration)> {
    let start = Instant::now();
    let job = call(
        client,
        reqwest::Method::POST,
        format!("{base}/v1/apps/bench/jobs"),
        Some(body),
    )
    .await?;
    let url = format!(
        "{base}/v1/apps/bench/jobs/{}",
        job["id"].as_str().unwrap_or_default()
    );
    loop {
        let job = call(client, reqwest::Method::GET, url.clone(), None).await?;
        if job["status"] != "queued" && job["status"] != "running" {
            anyhow::ensure!(job["status"] == "completed", "job ended {}", job);
            return Ok((job, start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Limits lifted so one job can take the whole file.
pub const JOB_ARGS: [&str; 6] = [
    "--max-job-records",
    "100000000",
    "--max-upload-bytes",
    "100000000000",
    "--max-unzipped-bytes",
    "100000000000",
];

/// Streams the ZIP (or a plain CSV) up as a file of app `bench` (named as on disk); returns its id
/// and how long that took.
pub async fn upload(base: &str, zip_path: &Path) -> anyhow::Result<(Value, Duration)> {
    let start = Instant::now();
    let name = zip_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("data.zip");
    let content_type = if name.ends_with(".csv") {
        "text/csv"
    } else {
        "application/zip"
    };
    let file = tokio::fs::File::open(zip_path).await?;
    let resp = Client::new()
        .post(format!("{base}/v1/apps/bench/files?name={name}"))
        .bearer_auth(ADMIN)
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(
            tokio_util::io::ReaderStream::new(file),
        ))
        .send()
        .await?;
    anyhow::ensure!(resp.status() == 201, "upload failed: {}", resp.status());
    let file: Value = resp.json().await?;
    Ok((file["file_id"].clone(), start.elapsed()))
}

pub async fn run(rows: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (csv_path, zip_path) = make_files(dir.path(), rows)?;
    let zip_size = std::fs::metadata(&zip_path)?.len();
    println!(
        "## bulk-write jobs: {rows} rows, 8 columns (email unique), CSV.zip of {:.1} MiB",
        zip_size as f64 / 1048576.0
    );
    let d = raw_import(&csv_path, &dir.path().join("raw.db"))?;
    let raw_rate = rate(rows, d);
    println!(
        "{:<44} {raw_rate:>10.0} rows/s",
        "(a) raw: parse CSV + rusqlite, 1,000-row txs"
    );

    let data = dir.path().join("server");
    let server = ChildServer::start(&data, &JOB_ARGS).await?;
    let client = Client::new();
    let base = server.base.clone();
    call(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/apps"),
        Some(json!({"name": "bench"})),
    )
    .await?;
    call(
        &client,
        reqwest::Method::POST,
        format!("{base}/v1/apps/bench/objects"),
        Some(json!({"name": "people", "fields": super::bench_fields()})),
    )
    .await?;
    let (fid, upload) = upload(&base, &zip_path).await?;
    println!(
        "{:<44} {:>10.0} rows/s  ({:.1} s: stream, unzip, check, normalise)",
        "upload",
        rate(rows, upload),
        upload.as_secs_f64()
    );

    let (job, d) = run_job(
        &client,
        &base,
        json!({"operation": "insert", "object": "people", "file_id": fid}),
    )
    .await?;
    anyhow::ensure!(
        job["progress"]["added"].as_u64() == Some(rows as u64),
        "insert job: {job}"
    );
    let insert = rate(rows, d);
    println!(
        "{:<44} {insert:>10.0} rows/s  ratio {:.2}",
        "(b) insert job",
        insert / raw_rate
    );
    let end_to_end = rate(rows, d + upload);
    println!(
        "{:<44} {end_to_end:>10.0} rows/s  ratio {:.2}",
        "    upload + insert job",
        end_to_end / raw_rate
    );

    let (job, d) = run_job(
        &client,
        &base,
        json!({"operation": "upsert", "object": "people", "file_id": fid, "find_by": "email"}),
    )
    .await?;
    anyhow::ensure!(
        job["progress"]["updated"].as_u64() == Some(rows as u64),
        "upsert job: {job}"
    );
    let upsert = rate(rows, d);
    println!(
        "{:<44} {upsert:>10.0} rows/s  ratio {:.2}",
        "(c) upsert job over the existing rows",
        upsert / raw_rate
    );

    let start = Instant::now();
    let resp = client
        .get(format!(
            "{base}{}",
            job["result_url"].as_str().unwrap_or_default()
        ))
        .bearer_auth(ADMIN)
        .send()
        .await?;
    let bytes = resp.bytes().await?.len();
    println!(
        "{:<44} {:>10.1} s  ({:.1} MiB)",
        "result ZIP download",
        start.elapsed().as_secs_f64(),
        bytes as f64 / 1048576.0
    );
    println!(
        "{:<44} {:>10.1} MiB",
        "server peak RSS (VmHWM)",
        server.peak_rss_mib()
    );
    Ok(())
}
