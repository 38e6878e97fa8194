//! SQLite schema: the system tables (migrated by `user_version`) and the DDL for object tables.

use super::tx::map_err;
use super::value::SqlValue;
use crate::error::{Error, Result};
use crate::model::{Field, FieldType, Object};
use crate::store::sql::quote;
use crate::store::SchemaChange;
use rusqlite::Connection;

/// Each entry migrates from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE _apps (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL) STRICT;
    CREATE TABLE _objects (
        id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL,
        UNIQUE (app_id, name)) STRICT;
    CREATE TABLE _tokens (
        id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, app_id TEXT, user TEXT NOT NULL,
        user_id TEXT NOT NULL, role TEXT, kind TEXT NOT NULL, expires_at INTEGER,
        created_at TEXT NOT NULL) STRICT;
    CREATE INDEX _tokens_app ON _tokens (app_id, kind);
    CREATE TABLE _users (
        id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, password_hash TEXT NOT NULL,
        role TEXT NOT NULL, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (app_id, name)) STRICT;
",
    "
    CREATE TABLE _files (id TEXT PRIMARY KEY, app_id TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
    CREATE TABLE _jobs (
        id TEXT PRIMARY KEY, app_id TEXT NOT NULL, status TEXT NOT NULL, callback TEXT,
        created_at TEXT NOT NULL, doc TEXT NOT NULL) STRICT;
    CREATE INDEX _jobs_status ON _jobs (status, created_at);
    CREATE INDEX _jobs_callback ON _jobs (callback) WHERE callback IS NOT NULL;
    CREATE INDEX _jobs_app ON _jobs (app_id, created_at);
",
    "
    CREATE TABLE _batches (
        id TEXT PRIMARY KEY, app_id TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
        doc TEXT NOT NULL) STRICT;
    CREATE INDEX _batches_app ON _batches (app_id, created_at);
    CREATE INDEX _batches_status ON _batches (status);
    CREATE TABLE _batch_ids (
        batch_id TEXT NOT NULL, seq INTEGER NOT NULL, op INTEGER NOT NULL, record_id TEXT NOT NULL,
        PRIMARY KEY (batch_id, seq)) STRICT, WITHOUT ROWID;
",
    "
    CREATE TABLE _aliases (
        num INTEGER PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, UNIQUE (kind, id)) STRICT;
    CREATE TABLE _idempotency (
        scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
        body BLOB NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (scope, key)) STRICT;
    CREATE INDEX _idempotency_expiry ON _idempotency (expires_at);
",
    "
    CREATE TABLE _exports (
        id TEXT PRIMARY KEY, app_id TEXT NOT NULL, status TEXT NOT NULL, callback TEXT,
        created_at TEXT NOT NULL, expired INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL) STRICT;
    CREATE INDEX _exports_app ON _exports (app_id, created_at);
    CREATE INDEX _exports_status ON _exports (status, created_at);
    CREATE INDEX _exports_callback ON _exports (callback) WHERE callback IS NOT NULL;
    ALTER TABLE _jobs ADD COLUMN file_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE _jobs ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
    UPDATE _jobs SET file_id = coalesce(json_extract(doc, '$.file_id'), '');
    CREATE INDEX _jobs_file ON _jobs (file_id, expired);
    CREATE INDEX _jobs_expiry ON _jobs (expired, created_at);
    ALTER TABLE _files ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
    UPDATE _files SET created_at = coalesce(json_extract(doc, '$.created_at'), '');
    CREATE INDEX _files_created ON _files (created_at);
",
    // Jobs, exports and batches become tasks of one queue (see `store::tasks`).
    "
    CREATE TABLE _tasks (
        kind TEXT NOT NULL, id TEXT NOT NULL, app_id TEXT NOT NULL, status TEXT NOT NULL,
        queue TEXT NOT NULL, callback TEXT, created_at TEXT NOT NULL,
        file_id TEXT NOT NULL DEFAULT '', expired INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL,
        PRIMARY KEY (kind, id)) STRICT;
    INSERT INTO _tasks
        SELECT 'job', id, app_id, status,
            CASE status WHEN 'queued' THEN 'waiting' WHEN 'running' THEN 'held' ELSE 'out' END,
            callback, created_at, file_id, expired, doc FROM _jobs;
    INSERT INTO _tasks
        SELECT 'export', id, app_id, status,
            CASE status WHEN 'queued' THEN 'waiting' WHEN 'running' THEN 'held' ELSE 'out' END,
            callback, created_at, '', expired, doc FROM _exports;
    INSERT INTO _tasks
        SELECT 'batch', id, app_id, status,
            CASE WHEN status <> 'running' THEN 'out'
                 WHEN json_extract(doc, '$.lease') IS NULL THEN 'waiting' ELSE 'held' END,
            NULL, created_at, '', 0, doc FROM _batches;
    DROP TABLE _jobs;
    DROP TABLE _exports;
    DROP TABLE _batches;
    CREATE INDEX _tasks_queue ON _tasks (kind, queue, created_at, id);
    CREATE INDEX _tasks_status ON _tasks (kind, status, created_at, id);
    CREATE INDEX _tasks_app ON _tasks (kind, app_id, created_at);
    CREATE INDEX _tasks_callback ON _tasks (kind, callback) WHERE callback IS NOT NULL;
    CREATE INDEX _tasks_file ON _tasks (file_id, expired);
    CREATE INDEX _tasks_expiry ON _tasks (kind, expired, created_at);
",
];

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(Error::internal)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(Error::internal)?;
        tx.execute_batch(sql).map_err(Error::internal)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(Error::internal)?;
        tx.commit().map_err(Error::internal)?;
    }
    Ok(())
}

fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Integer | FieldType::Boolean => "INTEGER",
        FieldType::Number => "REAL",
        FieldType::Text
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::Json
        | FieldType::Relation => "TEXT",
    }
}

fn index_name(obj: &Object, field: &str) -> String {
    quote(&format!("{}_u_{}", obj.table(), field))
}

fn plain_index_name(obj: &Object, field: &str) -> String {
    quote(&format!("{}_i_{}", obj.table(), field))
}

/// A field's non-unique index. It ends with `id`, as every list's order does (the id breaks ties),
/// so a filtered, sorted page reads only its own rows from the index instead of sorting all matches.
fn plain_index(obj: &Object, field: &str) -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} ({}, id);",
        plain_index_name(obj, field),
        quote(&obj.table()),
        quote(field)
    )
}

/// The DDL that drops every index of a field.
fn drop_indexes(obj: &Object, field: &str) -> String {
    format!(
        "DROP INDEX IF EXISTS {}; DROP INDEX IF EXISTS {};",
        index_name(obj, field),
        plain_index_name(obj, field)
    )
}

/// The DDL that makes a field's indexes.
fn indexes_of(obj: &Object, f: &Field) -> String {
    let mut sql = String::new();
    if f.unique {
        sql.push_str(&unique_index(obj, f));
    }
    if f.indexed {
        sql.push_str(&plain_index(obj, f.name.as_str()));
    }
    sql
}

/// The record table: `id` is a time-ordered UUID v7, so inserts append at the end of its index.
/// Required-ness is enforced by the engine (clear errors, cheap schema changes); uniqueness by
/// real unique indexes, so concurrent writers cannot both win.
pub fn create_table(conn: &Connection, obj: &Object) -> Result<()> {
    let mut sql = format!(
        "CREATE TABLE {} (id TEXT NOT NULL PRIMARY KEY, created_at TEXT NOT NULL, \
         updated_at TEXT NOT NULL, created_by TEXT NOT NULL, updated_by TEXT NOT NULL",
        quote(&obj.table())
    );
    for f in &obj.fields {
        sql.push_str(&format!(", {} {}", quote(f.name.as_str()), sql_type(f.ty)));
    }
    sql.push_str(") STRICT;");
    for f in &obj.fields {
        sql.push_str(&indexes_of(obj, f));
    }
    conn.execute_batch(&sql).map_err(Error::internal)
}

fn unique_index(obj: &Object, f: &Field) -> String {
    format!(
        "CREATE UNIQUE INDEX {} ON {} ({});",
        index_name(obj, f.name.as_str()),
        quote(&obj.table()),
        quote(f.name.as_str())
    )
}

/// Applies one field change. SQLite cannot drop an indexed column, so a field's indexes go first.
/// An index is built in one statement over the existing records (SQLite has no concurrent build).
pub fn alter_table(conn: &Connection, obj: &Object, change: &SchemaChange) -> Result<()> {
    let table = quote(&obj.table());
    let sql = match change {
        SchemaChange::Add(f) => {
            let column = quote(f.name.as_str());
            let exec = |sql: &str| conn.execute_batch(sql).map_err(map_err);
            exec(&format!(
                "ALTER TABLE {table} ADD COLUMN {column} {};",
                sql_type(f.ty)
            ))?;
            if let Some(d) = f.default_value() {
                // Existing records take the new field's default.
                conn.execute(&format!("UPDATE {table} SET {column} = ?1"), [SqlValue(&d)])
                    .map_err(Error::internal)?;
            }
            return exec(&indexes_of(obj, f));
        }
        SchemaChange::Rename { from, to } => {
            let mut s = format!(
                "ALTER TABLE {table} RENAME COLUMN {} TO {};",
                quote(from),
                quote(to)
            );
            // Index names carry the field's name: rebuild them under the new one.
            if let Some((_, f)) = obj.field(to).filter(|(_, f)| f.unique || f.indexed) {
                s.push_str(&drop_indexes(obj, from));
                s.push_str(&indexes_of(obj, f));
            }
            s
        }
        SchemaChange::Drop(f) => format!(
            "{} ALTER TABLE {table} DROP COLUMN {};",
            drop_indexes(obj, f.name.as_str()),
            quote(f.name.as_str())
        ),
        SchemaChange::Index(field) => plain_index(obj, field),
        SchemaChange::Unindex(field) => {
            format!("DROP INDEX IF EXISTS {};", plain_index_name(obj, field))
        }
        SchemaChange::Unique(field) => match obj.field(field) {
            Some((_, f)) => unique_index(obj, f),
            None => return Ok(()),
        },
        SchemaChange::NotUnique(field) => {
            format!("DROP INDEX IF EXISTS {};", index_name(obj, field))
        }
    };
    conn.execute_batch(&sql).map_err(map_err)
}

pub fn drop_table(conn: &Connection, obj: &Object) -> Result<()> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {};", quote(&obj.table())))
        .map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs, exports and batches stored before the task queue move into it, each in its place.
    #[test]
    fn jobs_exports_and_batches_move_into_the_task_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before = MIGRATIONS.len() - 1;
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before as i64)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO _jobs (id, app_id, status, callback, created_at, file_id, expired, doc)
                 VALUES ('j1', 'a', 'queued', NULL, '1', 'f1', 0, '{}'),
                        ('j2', 'a', 'completed', 'pending', '2', 'f2', 1, '{}');
             INSERT INTO _exports (id, app_id, status, callback, created_at, expired, doc)
                 VALUES ('e1', 'a', 'running', NULL, '3', 0, '{}');
             INSERT INTO _batches (id, app_id, status, created_at, doc)
                 VALUES ('b1', 'a', 'running', '4', '{\"lease\":null}'),
                        ('b2', 'a', 'running', '5', '{\"lease\":{\"owner\":\"x\",\"until\":\"9\"}}'),
                        ('b3', 'a', 'pending', '6', '{}');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT kind, id, status, queue, callback, file_id, expired FROM _tasks ORDER BY created_at")
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                let cb: Option<String> = r.get(4)?;
                Ok(format!(
                    "{} {} {} {} {} {} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    cb.unwrap_or_default(),
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                "job j1 queued waiting  f1 0",
                "job j2 completed out pending f2 1",
                "export e1 running held   0",
                "batch b1 running waiting   0",
                "batch b2 running held   0",
                "batch b3 pending out   0",
            ]
        );
        let old: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('_jobs', '_exports', '_batches')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0);
    }
}
