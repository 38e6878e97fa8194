//! `sluice bench export`: exporting an object's records to CSV and NDJSON against raw rusqlite
//! reading the same rows (`SELECT … ORDER BY id`) and writing the same file with the `csv` crate
//! (or `serde_json` a line per row), in the same run; the server's peak RSS while it exports, at
//! 1M rows and at 5M.

use super::jobs::{call, make_files, raw_import, run_job, upload, JOB_ARGS};
use super::{rate, ChildServer, ADMIN};
use reqwest::{Client, Method};
use rusqlite::types::ValueRef;
use serde_json::{json, Map, Value};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The columns of a default export, as the raw baseline reads them.
const COLUMNS: [&str; 13] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "age",
    "score",
    "active",
    "joined",
    "notes",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
];

fn select() -> String {
    format!("SELECT {} FROM people ORDER BY id", COLUMNS.join(", "))
}

/// The raw baseline, CSV: one SELECT, each cell written by the `csv` crate.
fn raw_csv(db: &Path, out: &Path) -> anyhow::Result<Duration> {
    let conn = super::raw::open(db)?;
    let start = Instant::now();
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(
        1 << 16,
        std::fs::File::create(out)?,
    ));
    w.write_record(COLUMNS)?;
    let mut stmt = conn.prepare(&select())?;
    let mut rows = stmt.query([])?;
    let mut buf = String::new();
    while let Some(row) = rows.next()? {
        for (i, name) in COLUMNS.iter().enumerate() {
            match row.get_ref(i)? {
                ValueRef::Text(t) | ValueRef::Blob(t) => w.write_field(t)?,
                ValueRef::Integer(n) if *name == "active" => {
                    w.write_field(if n != 0 { "true" } else { "false" })?
                }
                ValueRef::Integer(n) => {
                    buf.clear();
                    std::fmt::Write::write_fmt(&mut buf, format_args!("{n}"))?;
                    w.write_field(&buf)?
                }
                ValueRef::Real(f) => {
                    buf.clear();
                    std::fmt::Write::write_fmt(&mut buf, format_args!("{f}"))?;
                    w.write_field(&buf)?
                }
                ValueRef::Null => w.write_field("")?,
            }
        }
        w.write_record(None::<&[u8]>)?;
    }
    w.flush()?;
    Ok(start.elapsed())
}

/// The raw baseline, NDJSON: one SELECT, each row a `serde_json` object on its line.
fn raw_ndjson(db: &Path, out: &Path) -> anyhow::Result<Duration> {
    let conn = super::raw::open(db)?;
    let start = Instant::now();
    let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(out)?);
    let mut stmt = conn.prepare(&select())?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let mut m = Map::with_capacity(COLUMNS.len());
        for (i, name) in COLUMNS.iter().enumerate() {
            let v = match row.get_ref(i)? {
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Integer(n) if *name == "active" => Value::Bool(n != 0),
                ValueRef::Integer(n) => json!(n),
                ValueRef::Real(f) => json!(f),
                _ => Value::Null,
            };
            m.insert((*name).to_owned(), v);
        }
        serde_json::to_writer(&mut w, &m)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(start.elapsed())
}

/// Runs an export to its end; its document and how long it took from creation.
async fn export(client: &Client, base: &str, body: Value) -> anyhow::Result<(Value, Duration)> {
    let start = Instant::now();
    let e = call(
        client,
        Method::POST,
        format!("{base}/v1/apps/bench/exports"),
        Some(body),
    )
    .await?;
    let url = format!(
        "{base}/v1/apps/bench/exports/{}",
        e["id"].as_str().unwrap_or_default()
    );
    loop {
        let e = call(client, Method::GET, url.clone(), None).await?;
        if e["status"] != "queued" && e["status"] != "running" {
            anyhow::ensure!(e["status"] == "completed", "export ended {e}");
            return Ok((e, start.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Downloads a finished export's file to `out`; how long that took.
async fn download(client: &Client, base: &str, e: &Value, out: &Path) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let url = format!("{base}{}", e["result_url"].as_str().unwrap_or_default());
    let mut resp = client.get(url).bearer_auth(ADMIN).send().await?;
    let mut f = BufWriter::new(std::fs::File::create(out)?);
    let mut n = 0u64;
    while let Some(piece) = resp.chunk().await? {
        n += piece.len() as u64;
        f.write_all(&piece)?;
    }
    f.flush()?;
    anyhow::ensure!(
        Some(n) == e["bytes"].as_u64(),
        "downloaded {n} bytes of {}",
        e["bytes"]
    );
    Ok(start.elapsed())
}

fn line(what: &str, rows: usize, d: Duration, raw: Option<f64>, rss: Option<f64>) {
    let r = rate(rows, d);
    let ratio = raw
        .map(|raw| format!("  ratio {:.2}", r / raw))
        .unwrap_or_default();
    let rss = rss
        .map(|m| format!("  peak RSS {m:.0} MiB"))
        .unwrap_or_default();
    println!("{what:<46} {r:>10.0} rows/s{ratio}{rss}");
}

pub async fn run(rows: usize, big: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (csv_path, zip_path) = make_files(dir.path(), rows)?;
    let db = dir.path().join("raw.db");
    raw_import(&csv_path, &db)?;
    println!("## exports: {rows} rows, 13 columns (id, 8 fields, 4 system fields)");
    let raw_c = rate(rows, raw_csv(&db, &dir.path().join("raw.csv"))?);
    let raw_n = rate(rows, raw_ndjson(&db, &dir.path().join("raw.ndjson"))?);
    println!(
        "{:<46} {raw_c:>10.0} rows/s",
        "(a) raw rusqlite SELECT + csv"
    );
    println!(
        "{:<46} {raw_n:>10.0} rows/s",
        "(a) raw rusqlite SELECT + serde_json lines"
    );

    let data = dir.path().join("server");
    let server = ChildServer::start(&data, &JOB_ARGS).await?;
    let (client, base) = (Client::new(), server.base.clone());
    call(
        &client,
        Method::POST,
        format!("{base}/v1/apps"),
        Some(json!({"name": "bench"})),
    )
    .await?;
    for (name, unique) in [("people", true), ("many", false)] {
        let mut fields = super::bench_fields();
        fields[0]["unique"] = json!(unique);
        let body = json!({"name": name, "fields": fields});
        call(
            &client,
            Method::POST,
            format!("{base}/v1/apps/bench/objects"),
            Some(body),
        )
        .await?;
    }
    let (fid, _) = upload(&base, &zip_path).await?;
    run_job(
        &client,
        &base,
        json!({"operation": "insert", "object": "people", "file_id": fid}),
    )
    .await?;
    // A fresh process over the data, so the memory measured is the export's, not what the
    // import left in the writer's page cache.
    server.stop();
    let server = ChildServer::start(&data, &JOB_ARGS).await?;
    let base = server.base.clone();
    // Once more now the server runs beside it, keeping the better of the two.
    let raw_c = raw_c.max(rate(rows, raw_csv(&db, &dir.path().join("raw2.csv"))?));
    for (format, raw) in [("csv", raw_c), ("ndjson", raw_n), ("zip", raw_c)] {
        println!(
            "{:<46} {:>10.0} MiB",
            "    server RSS before",
            server.rss_mib()
        );
        server.reset_peak();
        let (e, d) = export(
            &client,
            &base,
            json!({"object": "people", "format": format}),
        )
        .await?;
        let peak = server.peak_rss_mib();
        line(
            &format!("(b) object export, {format}"),
            rows,
            d,
            Some(raw),
            Some(peak),
        );
        let out = dir.path().join(format!("export.{format}"));
        let got = download(&client, &base, &e, &out).await?;
        let size = e["bytes"].as_u64().unwrap_or(0) as f64 / 1048576.0;
        println!(
            "{:<46} {:>10.1} s  ({size:.1} MiB)",
            "    download",
            got.as_secs_f64()
        );
        let _ = std::fs::remove_file(out);
    }
    server.reset_peak();
    let q = json!({"query": select(), "format": "csv"});
    let (_, d) = export(&client, &base, q).await?;
    line(
        "(c) query export, csv",
        rows,
        d,
        Some(raw_c),
        Some(server.peak_rss_mib()),
    );

    if big > rows {
        let times = big.div_ceil(rows);
        for _ in 0..times {
            run_job(
                &client,
                &base,
                json!({"operation": "insert", "object": "many", "file_id": fid}),
            )
            .await?;
        }
        server.stop();
        let server = ChildServer::start(&data, &JOB_ARGS).await?;
        let base = server.base.clone();
        println!(
            "{:<46} {:>10.0} MiB",
            "    server RSS before",
            server.rss_mib()
        );
        server.reset_peak();
        let (_, d) = export(&client, &base, json!({"object": "many", "format": "csv"})).await?;
        line(
            &format!("(d) object export, csv, {} rows", times * rows),
            times * rows,
            d,
            None,
            Some(server.peak_rss_mib()),
        );
    }
    Ok(())
}
