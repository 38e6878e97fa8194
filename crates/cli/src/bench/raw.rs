//! The raw baseline: plain rusqlite writing the same rows into the same table layout, with the
//! same pragmas as sluice's store.

use super::bench_record;
use rusqlite::{params, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;",
    )?;
    Ok(conn)
}

/// Creates the bench table with the given primary key column definition.
pub fn create(conn: &Connection, key: &str) -> rusqlite::Result<()> {
    create_with(conn, key, "")
}

/// Creates the bench table with `extra` column definitions after the bench fields (`, tags TEXT`).
pub fn create_with(conn: &Connection, key: &str, extra: &str) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE people ({key}, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
           created_by TEXT NOT NULL, updated_by TEXT NOT NULL, email TEXT, first_name TEXT, last_name TEXT,
           age INTEGER, score REAL, active INTEGER, joined TEXT, notes TEXT{extra}) STRICT;
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

/// One bench row, as the raw baseline binds it.
pub struct Row {
    email: String,
    first_name: String,
    last_name: String,
    age: i64,
    score: f64,
    active: bool,
    joined: String,
    notes: String,
    /// The JSON field's text, for the table made with a `tags` column.
    tags: Option<String>,
}

/// Rows `0..n`, made before any clock starts.
pub fn rows(n: usize) -> Vec<Row> {
    rows_of(n, bench_record)
}

/// Rows `0..n` of `record`, with its `tags` as JSON text when it has them.
pub fn rows_of(n: usize, record: impl Fn(usize) -> serde_json::Value) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let r = record(i);
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            Row {
                email: s("email"),
                first_name: s("first_name"),
                last_name: s("last_name"),
                age: r["age"].as_i64().unwrap_or_default(),
                score: r["score"].as_f64().unwrap_or_default(),
                active: r["active"].as_bool().unwrap_or_default(),
                joined: s("joined"),
                notes: s("notes"),
                tags: r.get("tags").map(|t| t.to_string()),
            }
        })
        .collect()
}

/// Inserts `rows` in transactions of `per_tx` rows with one prepared statement; returns the time.
pub fn insert(
    conn: &mut Connection,
    key: Key,
    rows: &[Row],
    per_tx: usize,
) -> rusqlite::Result<Duration> {
    let start = Instant::now();
    let now = "2026-01-01T00:00:00.000Z";
    for (c, chunk) in rows.chunks(per_tx).enumerate() {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(if rows.first().is_some_and(|r| r.tags.is_some()) {
                "INSERT INTO people VALUES (?1, ?2, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            } else {
                "INSERT INTO people VALUES (?1, ?2, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            })?;
            for (j, r) in chunk.iter().enumerate() {
                let id: rusqlite::types::Value = match key {
                    Key::Integer => ((c * per_tx + j) as i64).into(),
                    Key::UuidV7 => uuid::Uuid::now_v7().to_string().into(),
                    Key::UuidV4 => uuid::Uuid::new_v4().to_string().into(),
                };
                let fields = params![
                    id,
                    now,
                    "bench",
                    r.email,
                    r.first_name,
                    r.last_name,
                    r.age,
                    r.score,
                    r.active,
                    r.joined,
                    r.notes,
                ];
                match &r.tags {
                    Some(tags) => stmt.execute(rusqlite::params_from_iter(
                        fields.iter().copied().chain([tags as &dyn rusqlite::ToSql]),
                    ))?,
                    None => stmt.execute(fields)?,
                };
            }
        }
        tx.commit()?;
    }
    Ok(start.elapsed())
}
