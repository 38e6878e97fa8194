//! `sluice bench salesforce`: Salesforce Bulk API 2.0 against the native API on one server process
//! in the same run (issue 23): an ingest job against a native insert job on the same CSV, then a
//! query job's results read page by page against a native CSV export of the same columns.

use super::jobs::{call, run_job, upload, write_csv, HEADER, JOB_ARGS};
use super::{bench_fields, rate, ChildServer, ADMIN};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The Bulk API 2.0 jobs path, at an API version Salesforce's current clients send.
const JOBS: &str = "/services/data/v59.0/jobs";
/// How often a job's state is polled, as `sluice bench jobs` polls its jobs.
const POLL: Duration = Duration::from_millis(20);
/// The bar for Salesforce over native, for ingest and for query.
const TARGET: f64 = 0.8;

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Native,
    Salesforce,
}

/// The two sides in round `round`'s order, so neither always goes first.
fn order(round: usize) -> [Side; 2] {
    if round % 2 == 0 {
        [Side::Native, Side::Salesforce]
    } else {
        [Side::Salesforce, Side::Native]
    }
}

/// What one side measured: its time end to end, its parts (for where the time goes) and the
/// server's peak RSS over it.
struct Run {
    total: Duration,
    parts: String,
    peak: f64,
}

/// Totals over the rounds, per side.
#[derive(Default)]
struct Totals {
    native: Duration,
    salesforce: Duration,
    peak: f64,
}

impl Totals {
    fn add(&mut self, side: Side, run: &Run) {
        match side {
            Side::Native => self.native += run.total,
            Side::Salesforce => self.salesforce += run.total,
        }
        self.peak = self.peak.max(run.peak);
    }

    /// Prints each side's rate over all rounds (`rows` in all), and the ratio.
    fn print(&self, what: &str, rows: usize) {
        let (n, s) = (rate(rows, self.native), rate(rows, self.salesforce));
        println!("{:<48} {n:>10.0} rows/s", format!("{what}, native"));
        let verdict = if s / n >= TARGET { "met" } else { "NOT met" };
        println!(
            "{:<48} {s:>10.0} rows/s  ratio {:.2} (target >= {TARGET}: {verdict})",
            format!("{what}, salesforce"),
            s / n
        );
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// `POST {base}{path}` with a JSON body, as the admin; the answer.
async fn post(client: &Client, base: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    call(client, Method::POST, format!("{base}{path}"), Some(body)).await
}

/// Native: the CSV uploaded as a file, then an insert job of it into `object`.
async fn native_ingest(
    client: &Client,
    base: &str,
    csv: &Path,
    object: &str,
    rows: usize,
) -> anyhow::Result<(Duration, String)> {
    let start = Instant::now();
    let (fid, up) = upload(base, csv).await?;
    let body = json!({"operation": "insert", "object": object, "file_id": fid});
    let (job, d) = run_job(client, base, body).await?;
    anyhow::ensure!(
        job["progress"]["added"].as_u64() == Some(rows as u64),
        "native insert job: {job}"
    );
    Ok((
        start.elapsed(),
        format!("upload {}, job {}", secs(up), secs(d)),
    ))
}

/// Salesforce: create an ingest job, PUT the CSV as its one batch, close it, poll it to its end.
async fn salesforce_ingest(
    client: &Client,
    base: &str,
    csv: &Path,
    object: &str,
    rows: usize,
) -> anyhow::Result<(Duration, String)> {
    let start = Instant::now();
    let body = json!({"object": object, "operation": "insert", "contentType": "CSV",
        "lineEnding": "LF", "columnDelimiter": "COMMA"});
    let job = post(client, base, &format!("{JOBS}/ingest"), body).await?;
    let url = format!(
        "{base}{JOBS}/ingest/{}",
        job["id"].as_str().unwrap_or_default()
    );
    let file = tokio::fs::File::open(csv).await?;
    let resp = client
        .put(format!("{url}/batches"))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(
            tokio_util::io::ReaderStream::new(file),
        ))
        .send()
        .await?;
    let status = resp.status();
    anyhow::ensure!(
        status == 201,
        "PUT batches: {status} {}",
        resp.text().await?
    );
    let put = start.elapsed();
    let closed = json!({"state": "UploadComplete"});
    call(client, Method::PATCH, url.clone(), Some(closed)).await?;
    let close = start.elapsed() - put;
    let info = poll(client, &url).await?;
    anyhow::ensure!(
        info["numberRecordsProcessed"].as_u64() == Some(rows as u64)
            && info["numberRecordsFailed"].as_u64() == Some(0),
        "ingest job: {info}"
    );
    let total = start.elapsed();
    Ok((
        total,
        format!(
            "create + PUT {}, UploadComplete {}, job {}",
            secs(put),
            secs(close),
            secs(total - put - close)
        ),
    ))
}

/// Polls a Bulk API 2.0 job until it is `JobComplete`; its info. `Failed` or `Aborted` fail.
async fn poll(client: &Client, url: &str) -> anyhow::Result<Value> {
    loop {
        let info = call(client, Method::GET, url.to_owned(), None).await?;
        match info["state"].as_str() {
            Some("JobComplete") => return Ok(info),
            Some("Failed" | "Aborted") | None => anyhow::bail!("the job ended {info}"),
            Some(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// Reads a response's body to its end; its bytes.
async fn drain(mut resp: reqwest::Response) -> anyhow::Result<u64> {
    let mut n = 0u64;
    while let Some(piece) = resp.chunk().await? {
        n += piece.len() as u64;
    }
    Ok(n)
}

/// Native: a CSV export of `object`'s id and bench fields, polled to its end, then downloaded.
async fn native_query(
    client: &Client,
    base: &str,
    object: &str,
    rows: usize,
) -> anyhow::Result<(Duration, String)> {
    let start = Instant::now();
    let mut fields = vec!["id"];
    fields.extend(HEADER);
    let body = json!({"object": object, "format": "csv", "fields": fields});
    let e = post(client, base, "/v1/apps/bench/exports", body).await?;
    let url = format!(
        "{base}/v1/apps/bench/exports/{}",
        e["id"].as_str().unwrap_or_default()
    );
    let e = loop {
        let e = call(client, Method::GET, url.clone(), None).await?;
        match e["status"].as_str() {
            Some("completed") => break e,
            Some("queued" | "running") => tokio::time::sleep(POLL).await,
            _ => anyhow::bail!("export ended {e}"),
        }
    };
    anyhow::ensure!(e["rows"].as_u64() == Some(rows as u64), "export: {e}");
    let ready = start.elapsed();
    let file = format!("{base}{}", e["result_url"].as_str().unwrap_or_default());
    let resp = client.get(file).bearer_auth(ADMIN).send().await?;
    anyhow::ensure!(resp.status().is_success(), "download: {}", resp.status());
    let bytes = drain(resp).await?;
    anyhow::ensure!(
        Some(bytes) == e["bytes"].as_u64(),
        "downloaded {bytes}: {e}"
    );
    let total = start.elapsed();
    Ok((
        total,
        format!(
            "export {}, download {} ({:.1} MiB)",
            secs(ready),
            secs(total - ready),
            bytes as f64 / 1048576.0
        ),
    ))
}

/// Salesforce: a query job of `object`'s Id and bench fields, polled to `JobComplete`, then every
/// results page of `page` records, following `Sforce-Locator` until it is the literal `null`.
async fn salesforce_query(
    client: &Client,
    base: &str,
    object: &str,
    rows: usize,
    page: usize,
) -> anyhow::Result<(Duration, String)> {
    let start = Instant::now();
    let soql = format!("SELECT Id, {} FROM {object}", HEADER.join(", "));
    let body = json!({"operation": "query", "query": soql});
    let job = post(client, base, &format!("{JOBS}/query"), body).await?;
    let url = format!(
        "{base}{JOBS}/query/{}",
        job["id"].as_str().unwrap_or_default()
    );
    poll(client, &url).await?;
    let ready = start.elapsed();
    let (mut locator, mut records, mut bytes, mut pages) = (None::<String>, 0u64, 0u64, 0usize);
    loop {
        let mut req = client
            .get(format!("{url}/results"))
            .bearer_auth(ADMIN)
            .query(&[("maxRecords", page.to_string())]);
        if let Some(l) = &locator {
            req = req.query(&[("locator", l)]);
        }
        let resp = req.send().await?;
        anyhow::ensure!(resp.status().is_success(), "results: {}", resp.status());
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let next = header("sforce-locator");
        let n = header("sforce-numberofrecords").and_then(|n| n.parse::<u64>().ok());
        records += n.ok_or_else(|| anyhow::anyhow!("a page without Sforce-NumberOfRecords"))?;
        bytes += drain(resp).await?;
        pages += 1;
        match next.as_deref() {
            Some("null") => break,
            Some(l) => locator = Some(l.to_owned()),
            None => anyhow::bail!("a page without Sforce-Locator"),
        }
    }
    anyhow::ensure!(records == rows as u64, "{records} records read of {rows}");
    let total = start.elapsed();
    Ok((
        total,
        format!(
            "job {}, {pages} pages {} ({:.1} MiB)",
            secs(ready),
            secs(total - ready),
            bytes as f64 / 1048576.0
        ),
    ))
}

fn line(what: &str, rows: usize, run: &Run) {
    println!(
        "{what:<48} {:>10.0} rows/s  {} ({})  peak RSS {:.0} MiB",
        rate(rows, run.total),
        secs(run.total),
        run.parts,
        run.peak
    );
}

/// Measures `step` with the server's peak RSS reset before it.
async fn measured(
    server: &ChildServer,
    step: impl std::future::Future<Output = anyhow::Result<(Duration, String)>>,
) -> anyhow::Result<Run> {
    server.reset_peak();
    let (total, parts) = step.await?;
    Ok(Run {
        total,
        parts,
        peak: server.peak_rss_mib(),
    })
}

pub async fn run(rows: usize, rounds: usize, page: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        rows > 0 && rounds > 0 && page > 0,
        "--rows, --rounds and --page must be > 0"
    );
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("people.csv");
    write_csv(&csv, rows)?;
    let size = std::fs::metadata(&csv)?.len() as f64 / 1048576.0;
    println!(
        "## salesforce: Bulk API 2.0 against the native API, {rows} rows, 8 columns (email \
         unique), CSV of {size:.1} MiB, {rounds} round(s) in alternating order, one server process"
    );
    // An admin token names no app: the Salesforce routes act in the default app.
    let mut args = JOB_ARGS.to_vec();
    args.extend(["--default-app", "bench"]);
    let server = ChildServer::start(&dir.path().join("server"), &args).await?;
    let (client, base) = (Client::new(), server.base.clone());
    post(&client, &base, "/v1/apps", json!({"name": "bench"})).await?;

    let mut ingest = Totals::default();
    for round in 0..rounds {
        for side in order(round) {
            let object = match side {
                Side::Native => format!("native_{round}"),
                Side::Salesforce => format!("salesforce_{round}"),
            };
            let fields = json!({"name": object, "fields": bench_fields()});
            post(&client, &base, "/v1/apps/bench/objects", fields).await?;
            let (what, run) = match side {
                Side::Native => {
                    let step = native_ingest(&client, &base, &csv, &object, rows);
                    ("upload + insert job", measured(&server, step).await?)
                }
                Side::Salesforce => {
                    let step = salesforce_ingest(&client, &base, &csv, &object, rows);
                    (
                        "ingest job (PUT CSV, UploadComplete)",
                        measured(&server, step).await?,
                    )
                }
            };
            line(&format!("round {round}: {what}"), rows, &run);
            ingest.add(side, &run);
        }
    }
    ingest.print("(a) ingest", rows * rounds);

    // Both sides read the same object (the one the native job filled), the same 9 columns.
    let mut query = Totals::default();
    for round in 0..rounds {
        let object = format!("native_{round}");
        for side in order(round) {
            let (what, run) = match side {
                Side::Native => {
                    let step = native_query(&client, &base, &object, rows);
                    ("CSV export + download", measured(&server, step).await?)
                }
                Side::Salesforce => {
                    let step = salesforce_query(&client, &base, &object, rows, page);
                    ("query job + results pages", measured(&server, step).await?)
                }
            };
            line(&format!("round {round}: {what}"), rows, &run);
            query.add(side, &run);
        }
    }
    query.print("(b) query", rows * rounds);
    println!(
        "{:<48} {:>10.0} MiB",
        "server peak RSS (VmHWM, reset per step)",
        ingest.peak.max(query.peak)
    );
    server.stop();
    Ok(())
}
