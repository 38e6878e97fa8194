//! `sluice bench jobs --relations`: contacts whose CSV names each one's account by `account.email`
//! (looked up set-wise per chunk) against the same import with the account ids in the file, the
//! server's peak RSS during each, and a delete batch of accounts cascading to their contacts. The
//! server runs as a child process, started afresh before each import, so each peak is its own.

use super::jobs::{call, run_job, upload, zip_csv, HEADER, JOB_ARGS};
use super::{bench_fields, bench_record, rate, ChildServer, ADMIN};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Sizes of `sluice bench jobs --relations` (issue 22's by default).
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct Sizes {
    /// With --relations: contacts imported, once with account ids and once by `account.email`.
    #[arg(long, default_value_t = 1_000_000, requires = "relations")]
    pub contacts: usize,
    /// With --relations: accounts they point at (contact i points at account i % accounts).
    #[arg(long, default_value_t = 100_000, requires = "relations")]
    pub accounts: usize,
    /// With --relations: accounts one delete batch deletes, cascading to their contacts.
    #[arg(long, default_value_t = 10_000, requires = "relations")]
    pub delete_accounts: usize,
}

/// The relation field of both contacts objects.
fn account_field() -> Value {
    json!({"name": "account", "type": "relation", "object": "accounts", "on_delete": "cascade"})
}

fn account_email(i: usize) -> String {
    format!("account{i}@example.com")
}

/// Writes rows `0..n` (`row(i)` each) under `header` to `path`, then a ZIP of it; the ZIP's path.
fn write_zip(
    path: &Path,
    header: &[&str],
    n: usize,
    row: impl Fn(usize) -> Vec<String>,
) -> anyhow::Result<PathBuf> {
    let mut w = csv::Writer::from_writer(BufWriter::new(std::fs::File::create(path)?));
    w.write_record(header)?;
    for i in 0..n {
        w.write_record(row(i))?;
    }
    w.flush()?;
    drop(w);
    let zip = zip_csv(path)?;
    std::fs::remove_file(path)?;
    Ok(zip)
}

/// Contact `i`: the bench record's 8 cells, then its account (an id, or an email to look up).
fn contact(i: usize, account: String) -> Vec<String> {
    let r = bench_record(i);
    let mut cells: Vec<String> = HEADER
        .iter()
        .map(|h| match &r[*h] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    cells.push(account);
    cells
}

/// The bench app: `accounts` (email unique, `n` its number), and two objects of contacts pointing
/// at it, one per import (`contacts_by_id` for the ids, `contacts` for the lookups).
async fn make_objects(client: &Client, base: &str) -> anyhow::Result<()> {
    let post =
        |path: &str, body: Value| call(client, Method::POST, format!("{base}{path}"), Some(body));
    post("/v1/apps", json!({"name": "bench"})).await?;
    let accounts = json!([
        {"name": "email", "type": "text", "required": true, "unique": true},
        {"name": "name", "type": "text"},
        {"name": "n", "type": "integer"}
    ]);
    post(
        "/v1/apps/bench/objects",
        json!({"name": "accounts", "fields": accounts}),
    )
    .await?;
    for name in ["contacts_by_id", "contacts"] {
        let mut fields = bench_fields();
        if let Some(f) = fields.as_array_mut() {
            f.push(account_field());
        }
        post(
            "/v1/apps/bench/objects",
            json!({"name": name, "fields": fields}),
        )
        .await?;
    }
    Ok(())
}

/// The ids of the records a finished insert job added, in input order (from its result file's
/// `ID` and `ROW` columns).
async fn added_ids(
    client: &Client,
    base: &str,
    job: &Value,
    n: usize,
) -> anyhow::Result<Vec<String>> {
    let url = format!("{base}{}", job["result_url"].as_str().unwrap_or_default());
    let resp = client.get(url).bearer_auth(ADMIN).send().await?;
    anyhow::ensure!(resp.status().is_success(), "result: {}", resp.status());
    let bytes = resp.bytes().await?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let mut rdr = csv::Reader::from_reader(zip.by_index(0)?);
    let head = rdr.headers()?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("the result has no {name} column: {head:?}"))
    };
    let (id, row) = (col("ID")?, col("ROW")?);
    let mut ids = vec![String::new(); n];
    for rec in rdr.records() {
        let rec = rec?;
        let r: usize = rec[row].parse()?;
        let slot = r.checked_sub(1).and_then(|r| ids.get_mut(r));
        let slot = slot.ok_or_else(|| anyhow::anyhow!("result row {r} of {n}"))?;
        *slot = rec[id].to_owned();
    }
    anyhow::ensure!(ids.iter().all(|i| !i.is_empty()), "result lacks ids");
    Ok(ids)
}

/// A fresh server process over `data` (the old one stopped), so what it holds is the next step's.
async fn restart(server: ChildServer, data: &Path, args: &[&str]) -> anyhow::Result<ChildServer> {
    server.stop();
    ChildServer::start(data, args).await
}

/// An insert job of the uploaded `fid` into `object`, to its end, checking it added `n` records;
/// how long it took and the server's peak RSS (MiB) over it.
async fn import(
    client: &Client,
    server: &ChildServer,
    fid: &Value,
    object: &str,
    n: usize,
) -> anyhow::Result<(Duration, f64)> {
    println!(
        "{:<50} {:>10.0} MiB",
        "    server RSS before",
        server.rss_mib()
    );
    server.reset_peak();
    let body = json!({"operation": "insert", "object": object, "file_id": fid});
    let (job, d) = run_job(client, &server.base, body).await?;
    let peak = server.peak_rss_mib();
    anyhow::ensure!(
        job["progress"]["added"].as_u64() == Some(n as u64),
        "insert job into {object}: {job}"
    );
    Ok((d, peak))
}

/// Deletes accounts `0..k` by one started batch (a query), to its end; the batch and its time.
async fn delete_batch(client: &Client, base: &str, k: usize) -> anyhow::Result<(Value, Duration)> {
    let start = Instant::now();
    let query = format!("SELECT id FROM accounts WHERE n < {k}");
    let op = json!({"action": "delete", "object": "accounts", "query": query});
    let b = call(
        client,
        Method::POST,
        format!("{base}/v1/apps/bench/batches"),
        Some(json!({"start": true, "operations": [op]})),
    )
    .await?;
    let url = format!(
        "{base}/v1/apps/bench/batches/{}",
        b["id"].as_str().unwrap_or_default()
    );
    loop {
        let b = call(client, Method::GET, url.clone(), None).await?;
        match b["status"].as_str() {
            Some("success") => return Ok((b, start.elapsed())),
            Some("pending" | "running") => tokio::time::sleep(Duration::from_millis(2)).await,
            _ => anyhow::bail!("batch ended {b}"),
        }
    }
}

fn mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1048576.0)
}

pub async fn run(sizes: Sizes) -> anyhow::Result<()> {
    let Sizes {
        contacts: n,
        accounts: m,
        delete_accounts: k,
    } = sizes;
    anyhow::ensure!(
        m > 0 && k <= m,
        "--delete-accounts must be at most --accounts (> 0)"
    );
    let dir = tempfile::tempdir()?;
    let accounts_zip = write_zip(
        &dir.path().join("accounts.csv"),
        &["email", "name", "n"],
        m,
        |i| vec![account_email(i), format!("Account {i}"), i.to_string()],
    )?;
    let data = dir.path().join("server");
    let max_batch = k.max(10_000).to_string();
    let mut args = JOB_ARGS.to_vec();
    args.extend(["--max-batch-records", max_batch.as_str()]);
    let server = ChildServer::start(&data, &args).await?;
    let client = Client::new();
    make_objects(&client, &server.base).await?;
    let (fid, _) = upload(&server.base, &accounts_zip).await?;
    let body = json!({"operation": "insert", "object": "accounts", "file_id": fid});
    let (job, d) = run_job(&client, &server.base, body).await?;
    anyhow::ensure!(
        job["progress"]["added"].as_u64() == Some(m as u64),
        "accounts: {job}"
    );
    let ids = added_ids(&client, &server.base, &job, m).await?;
    let mut header = HEADER.to_vec();
    header.push("account");
    let by_id = write_zip(&dir.path().join("contacts_ids.csv"), &header, n, |i| {
        contact(i, ids[i % m].clone())
    })?;
    header[HEADER.len()] = "account.email";
    let by_email = write_zip(&dir.path().join("contacts_emails.csv"), &header, n, |i| {
        contact(i, account_email(i % m))
    })?;
    println!(
        "## relations: {n} contacts pointing at {m} accounts (relation `account`, on_delete cascade); \
         CSV.zip {:.1} MiB with ids, {:.1} MiB with account.email",
        mib(&by_id),
        mib(&by_email)
    );
    println!(
        "{:<50} {:>10.0} rows/s",
        "accounts insert job (setup)",
        rate(m, d)
    );

    // Each import in a fresh process, after its upload, into an empty object of its own.
    let server = restart(server, &data, &args).await?;
    let (fid, _) = upload(&server.base, &by_id).await?;
    let (d, peak_ids) = import(&client, &server, &fid, "contacts_by_id", n).await?;
    let ids_rate = rate(n, d);
    println!(
        "{:<50} {ids_rate:>10.0} rows/s  peak RSS {peak_ids:.0} MiB",
        "(a) insert job, account ids in the file"
    );
    let server = restart(server, &data, &args).await?;
    let (fid, _) = upload(&server.base, &by_email).await?;
    let (d, peak) = import(&client, &server, &fid, "contacts", n).await?;
    let lookup_rate = rate(n, d);
    println!(
        "{:<50} {lookup_rate:>10.0} rows/s  ratio {:.2} (target >= 0.70)",
        "(b) insert job, account.email looked up",
        lookup_rate / ids_rate
    );
    println!(
        "{:<50} {:>10.0} MiB  ({:.0} MB; target <= 300 MB)",
        "    server peak RSS during (b) (VmHWM)",
        peak,
        peak * 1.048576
    );

    // Only `contacts` points at the accounts from here on, so the cascade reaches its rows alone.
    let start = Instant::now();
    let resp = client
        .delete(format!(
            "{}/v1/apps/bench/objects/contacts_by_id",
            server.base
        ))
        .bearer_auth(ADMIN)
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "drop: {}", resp.status());
    println!(
        "{:<50} {:>10.1} s",
        "drop object contacts_by_id (setup)",
        start.elapsed().as_secs_f64()
    );
    let expected = (n / m * k + (n % m).min(k)) as u64;
    let (b, d) = delete_batch(&client, &server.base, k).await?;
    anyhow::ensure!(
        b["objects_success"].as_u64() == Some(k as u64) && b["cascaded"].as_u64() == Some(expected),
        "delete batch (expected {k} deleted, {expected} cascaded): {b}"
    );
    println!(
        "{:<50} {:>10.2} s  ({:.0} accounts/s, {:.0} records/s with {expected} contacts)",
        format!("(c) delete batch, {k} accounts, cascading"),
        d.as_secs_f64(),
        rate(k, d),
        rate(k + expected as usize, d)
    );
    println!(
        "{:<50} {:>10.0} MiB  (child process /proc/<pid>/status, reset via clear_refs)",
        "server peak RSS over (b), the drop and (c)",
        server.peak_rss_mib()
    );
    Ok(())
}
