//! `sluice bench pg`: sluice on PostgreSQL against raw PostgreSQL in the same run — an insert job
//! against `COPY … FROM STDIN (FORMAT binary)` of the same rows, an upsert job against `INSERT …
//! ON CONFLICT`, `/v1/bulk` against multi-row `INSERT`s — and one, two and three instances sharing
//! one database. Each run gets fresh databases, dropped at the end.

use super::jobs::{make_files, run_job, upload, JOB_ARGS};
use super::{bench_record, rate, ChildServer, ADMIN};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};
use serde_json::{json, Value};
use sluice_engine::store::postgres::with_database;
use std::path::Path;
use std::time::{Duration, Instant};

const PER_REQUEST: usize = 1000;

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

/// The table sluice makes for the bench object, made by hand.
const TABLE: &str = "CREATE TABLE people (id uuid NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, created_by text NOT NULL,
    updated_by text NOT NULL, email text COLLATE \"C\", first_name text COLLATE \"C\",
    last_name text COLLATE \"C\", age bigint, score double precision, active boolean, joined date,
    notes text COLLATE \"C\");
    CREATE UNIQUE INDEX people_email ON people (email);";

/// One CSV row as typed columns.
struct Typed {
    text: [String; 4],
    age: i64,
    score: f64,
    active: bool,
    joined: chrono::NaiveDate,
}

fn typed(r: &csv::StringRecord) -> anyhow::Result<Typed> {
    Ok(Typed {
        text: [r[0].into(), r[1].into(), r[2].into(), r[7].into()],
        age: r[3].parse()?,
        score: r[4].parse()?,
        active: &r[5] == "true",
        joined: chrono::NaiveDate::parse_from_str(&r[6], "%Y-%m-%d")?,
    })
}

/// The baseline for insert jobs: parse the CSV and `COPY` it in binary, in one transaction.
fn raw_copy(url: &str, csv_path: &Path) -> anyhow::Result<Duration> {
    let mut c = Client::connect(url, NoTls)?;
    c.batch_execute(TABLE)?;
    let start = Instant::now();
    let now = chrono::Utc::now();
    let mut tx = c.transaction()?;
    let sink = tx.copy_in("COPY people FROM STDIN (FORMAT binary)")?;
    let types = [
        Type::UUID,
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::FLOAT8,
        Type::BOOL,
        Type::DATE,
        Type::TEXT,
    ];
    let mut w = BinaryCopyInWriter::new(sink, &types);
    let mut rdr = csv::Reader::from_path(csv_path)?;
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec)? {
        let t = typed(&rec)?;
        let id = uuid::Uuid::now_v7();
        let [email, first, last, notes] = &t.text;
        w.write(&[
            &id, &now, &now, &"bench", &"bench", email, first, last, &t.age, &t.score, &t.active,
            &t.joined, notes,
        ])?;
    }
    w.finish()?;
    tx.commit()?;
    Ok(start.elapsed())
}

/// The baseline for upsert jobs: `INSERT … ON CONFLICT (email) DO UPDATE` over the rows `COPY`
/// made, 2,000 rows a statement (spread with `unnest`), a transaction each.
fn raw_upsert(url: &str, csv_path: &Path) -> anyhow::Result<Duration> {
    let mut c = Client::connect(url, NoTls)?;
    let stmt = c.prepare(
        "INSERT INTO people SELECT u.id, $2, $2, 'bench', 'bench', u.e, u.f, u.l, u.a, u.s, u.ac, u.j, u.n
         FROM unnest($1::uuid[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::float8[],
                     $8::bool[], $9::date[], $10::text[]) AS u(id, e, f, l, a, s, ac, j, n)
         ON CONFLICT (email) DO UPDATE SET updated_at = excluded.updated_at,
           updated_by = excluded.updated_by, first_name = excluded.first_name,
           last_name = excluded.last_name, age = excluded.age, score = excluded.score,
           active = excluded.active, joined = excluded.joined, notes = excluded.notes",
    )?;
    let start = Instant::now();
    let now = chrono::Utc::now();
    let mut rdr = csv::Reader::from_path(csv_path)?;
    let mut rec = csv::StringRecord::new();
    let mut more = true;
    while more {
        let mut rows = Vec::with_capacity(2000);
        while rows.len() < 2000 {
            if !rdr.read_record(&mut rec)? {
                more = false;
                break;
            }
            rows.push(typed(&rec)?);
        }
        if rows.is_empty() {
            break;
        }
        let ids: Vec<uuid::Uuid> = rows.iter().map(|_| uuid::Uuid::now_v7()).collect();
        let col = |i: usize| rows.iter().map(|r| r.text[i].as_str()).collect::<Vec<_>>();
        let (e, f, l, n) = (col(0), col(1), col(2), col(3));
        let a: Vec<i64> = rows.iter().map(|r| r.age).collect();
        let s: Vec<f64> = rows.iter().map(|r| r.score).collect();
        let ac: Vec<bool> = rows.iter().map(|r| r.active).collect();
        let j: Vec<chrono::NaiveDate> = rows.iter().map(|r| r.joined).collect();
        let mut tx = c.transaction()?;
        tx.execute(&stmt, &[&ids, &now, &e, &f, &l, &a, &s, &ac, &j, &n])?;
        tx.commit()?;
    }
    Ok(start.elapsed())
}

/// The baseline for `/v1/bulk`: the same rows as multi-row `INSERT … VALUES`, 1,000 a statement,
/// a transaction each (as each bulk request is one).
fn raw_multi_row(url: &str, rows: usize) -> anyhow::Result<Duration> {
    let mut c = Client::connect(url, NoTls)?;
    c.batch_execute(TABLE)?;
    let mut sql = String::from("INSERT INTO people VALUES ");
    for r in 0..PER_REQUEST {
        let b = r * 9;
        sql.push_str(&format!(
            "{}(${}, $9001, $9001, 'bench', 'bench', ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            if r == 0 { "" } else { ", " },
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9
        ));
    }
    let stmt = c.prepare(&sql)?;
    let records: Vec<Value> = (0..rows).map(bench_record).collect();
    let now = chrono::Utc::now();
    let start = Instant::now();
    for chunk in records.chunks(PER_REQUEST) {
        let owned: Vec<(uuid::Uuid, [String; 4], i64, f64, bool, chrono::NaiveDate)> = chunk
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                (
                    uuid::Uuid::now_v7(),
                    [s("email"), s("first_name"), s("last_name"), s("notes")],
                    r["age"].as_i64().unwrap_or_default(),
                    r["score"].as_f64().unwrap_or_default(),
                    r["active"].as_bool().unwrap_or_default(),
                    chrono::NaiveDate::parse_from_str(&s("joined"), "%Y-%m-%d").unwrap_or_default(),
                )
            })
            .collect();
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(9001);
        for (id, text, age, score, active, joined) in &owned {
            params.extend([
                id as &(dyn ToSql + Sync),
                &text[0],
                &text[1],
                &text[2],
                age,
                score,
                active,
                joined,
                &text[3],
            ]);
        }
        params.push(&now);
        let mut tx = c.transaction()?;
        tx.execute(&stmt, &params)?;
        tx.commit()?;
    }
    Ok(start.elapsed())
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
    let copy = rate(rows, blocking(move || raw_copy(&u, &p)).await?);
    println!(
        "{:<46} {copy:>10.0} rows/s",
        "(a) raw COPY … (FORMAT binary), one tx"
    );
    let (u, p) = (raw.clone(), csv_path.clone());
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
    let multi = rate(
        bulk_rows,
        blocking(move || raw_multi_row(&raw_bulk, bulk_rows)).await?,
    );
    println!(
        "{:<46} {multi:>10.0} rows/s",
        "(a) raw multi-row INSERT, 1,000 a tx"
    );
    let one = instances(base, "sluice_bench_bulk", 1, dir.path()).await?;
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
        let d = bulk_over(&servers, 16, bulk_rows / PER_REQUEST, 0).await?;
        let bulk = rate(bulk_rows, d);
        let (fid, _) = upload(&servers[0].base, &zip_path).await?;
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
