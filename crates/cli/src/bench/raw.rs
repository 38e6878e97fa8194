//! The raw baseline: plain rusqlite writing the same rows into the same table layout, with the
//! same pragmas as sluice's store.

use super::bench_record;
use rusqlite::{params, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;")?;
    Ok(conn)
}

/// Creates the bench table with the given primary key column definition.
pub fn create(conn: &Connection, key: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE people ({key}, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
           created_by TEXT NOT NULL, updated_by TEXT NOT NULL, email TEXT, first_name TEXT, last_name TEXT,
           age INTEGER, score REAL, active INTEGER, joined TEXT, notes TEXT) STRICT;
         CREATE UNIQUE INDEX people_email ON people (email);"
    ))
}

/// How record ids are made, for the key-layout comparison.
#[derive(Clone, Copy)]
pub enum Key {
    Integer,
    UuidV7,
    UuidV4,
}

/// Inserts rows `0..n` in transactions of `per_tx` rows with one prepared statement; returns the time.
pub fn insert(conn: &mut Connection, key: Key, n: usize, per_tx: usize) -> rusqlite::Result<Duration> {
    let start = Instant::now();
    let now = "2026-01-01T00:00:00.000Z";
    let mut i = 0;
    while i < n {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO people VALUES (?1, ?2, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for j in i..(i + per_tx).min(n) {
                let r = bench_record(j);
                let id: rusqlite::types::Value = match key {
                    Key::Integer => (j as i64).into(),
                    Key::UuidV7 => uuid::Uuid::now_v7().to_string().into(),
                    Key::UuidV4 => uuid::Uuid::new_v4().to_string().into(),
                };
                stmt.execute(params![
                    id,
                    now,
                    "bench",
                    r["email"].as_str(),
                    r["first_name"].as_str(),
                    r["last_name"].as_str(),
                    r["age"].as_i64(),
                    r["score"].as_f64(),
                    r["active"].as_bool(),
                    r["joined"].as_str(),
                    r["notes"].as_str(),
                ])?;
            }
        }
        tx.commit()?;
        i += per_tx;
    }
    Ok(start.elapsed())
}
