//! The raw PostgreSQL baselines of `sluice bench pg`: the bench object's rows written by hand
//! with `COPY … (FORMAT binary)`, `INSERT … ON CONFLICT` and multi-row `INSERT`s.

use super::bench_record;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Rows per `/v1/bulk` request, and per multi-row `INSERT` of its baseline.
pub const PER_REQUEST: usize = 1000;

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
pub fn raw_copy(url: &str, csv_path: &Path) -> anyhow::Result<Duration> {
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
pub fn raw_upsert(url: &str, csv_path: &Path) -> anyhow::Result<Duration> {
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
pub fn raw_multi_row(url: &str, rows: usize) -> anyhow::Result<Duration> {
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
