//! System-table SQL: app and object documents, tokens and users.

use super::tx::map_err;
use crate::auth::{Role, TokenKind};
use crate::batches::Batch;
use crate::error::{Error, Result};
use crate::jobs::{FileRow, Job};
use crate::model::{App, Catalog, Object};
use crate::store::{TokenRow, UserRow};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::sync::Arc;
use uuid::Uuid;

pub fn load_catalog(conn: &Connection) -> Result<Catalog> {
    let mut catalog = Catalog::default();
    let mut apps = Vec::new();
    let mut stmt = conn.prepare("SELECT doc FROM _apps").map_err(map_err)?;
    for doc in stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(map_err)?
    {
        let app: App = serde_json::from_str(&doc.map_err(map_err)?).map_err(Error::internal)?;
        apps.push(app);
    }
    let mut stmt = conn.prepare("SELECT doc FROM _objects").map_err(map_err)?;
    for doc in stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(map_err)?
    {
        let obj: Object = serde_json::from_str(&doc.map_err(map_err)?).map_err(Error::internal)?;
        if let Some(app) = apps.iter_mut().find(|a| a.id == obj.app_id) {
            app.objects.insert(obj.name.to_string(), Arc::new(obj));
        }
    }
    for app in apps {
        catalog.put_app(app);
    }
    Ok(catalog)
}

pub fn put_app(conn: &Connection, app: &App) -> Result<()> {
    let doc = serde_json::to_string(app).map_err(Error::internal)?;
    conn.prepare_cached(
        "INSERT INTO _apps (id, name, doc) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, doc = excluded.doc",
    )
    .and_then(|mut s| s.execute(params![app.id.to_string(), app.name.as_str(), doc]))
    .map_err(map_err)?;
    Ok(())
}

pub fn delete_app(conn: &Connection, id: Uuid) -> Result<()> {
    let id = id.to_string();
    for sql in [
        "DELETE FROM _objects WHERE app_id = ?1",
        "DELETE FROM _tokens WHERE app_id = ?1",
        "DELETE FROM _users WHERE app_id = ?1",
        "DELETE FROM _files WHERE app_id = ?1",
        "DELETE FROM _jobs WHERE app_id = ?1",
        "DELETE FROM _batch_ids WHERE batch_id IN (SELECT id FROM _batches WHERE app_id = ?1)",
        "DELETE FROM _batches WHERE app_id = ?1",
        "DELETE FROM _apps WHERE id = ?1",
    ] {
        conn.execute(sql, [&id]).map_err(map_err)?;
    }
    Ok(())
}

pub fn put_object(conn: &Connection, obj: &Object) -> Result<()> {
    let doc = serde_json::to_string(obj).map_err(Error::internal)?;
    conn.prepare_cached(
        "INSERT INTO _objects (id, app_id, name, doc) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, doc = excluded.doc",
    )
    .and_then(|mut s| {
        s.execute(params![
            obj.id.to_string(),
            obj.app_id.to_string(),
            obj.name.as_str(),
            doc
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub fn delete_object(conn: &Connection, id: Uuid) -> Result<()> {
    conn.execute("DELETE FROM _objects WHERE id = ?1", [id.to_string()])
        .map_err(map_err)?;
    Ok(())
}

const TOKEN_COLS: &str = "id, app_id, user, user_id, role, kind, expires_at, created_at";

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    let app_id: Option<String> = r.get(1)?;
    let role: Option<String> = r.get(4)?;
    let kind: String = r.get(5)?;
    Ok(TokenRow {
        id: r.get(0)?,
        app_id: app_id.and_then(|s| Uuid::parse_str(&s).ok()),
        user: r.get(2)?,
        user_id: r.get(3)?,
        role: role.and_then(|s| Role::parse(&s).ok()),
        kind: TokenKind::parse(&kind).unwrap_or(TokenKind::Access),
        expires_at: r.get(6)?,
        created_at: r.get(7)?,
    })
}

pub fn insert_token(conn: &Connection, t: &TokenRow, hash: &str) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO _tokens ({TOKEN_COLS}, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            t.id,
            t.app_id.map(|u| u.to_string()),
            t.user,
            t.user_id,
            t.role.map(Role::as_str),
            t.kind.as_str(),
            t.expires_at,
            t.created_at,
            hash
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub fn find_token(conn: &Connection, hash: &str) -> Result<Option<TokenRow>> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLS} FROM _tokens WHERE hash = ?1"))
        .and_then(|mut s| s.query_row([hash], token_row).optional())
        .map_err(map_err)
}

pub fn list_tokens(conn: &Connection, app_id: Uuid) -> Result<Vec<TokenRow>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLS} FROM _tokens WHERE app_id = ?1 AND kind = 'key' ORDER BY created_at, id"
        ))
        .map_err(map_err)?;
    let rows = stmt
        .query_map([app_id.to_string()], token_row)
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(map_err)
}

pub fn delete_token(conn: &Connection, app_id: Uuid, id: &str) -> Result<bool> {
    conn.execute(
        "DELETE FROM _tokens WHERE app_id = ?1 AND id = ?2",
        params![app_id.to_string(), id],
    )
    .map(|n| n > 0)
    .map_err(map_err)
}

pub fn purge_tokens(conn: &Connection, now: i64) -> Result<()> {
    conn.execute(
        "DELETE FROM _tokens WHERE expires_at IS NOT NULL AND expires_at < ?1",
        [now],
    )
    .map_err(map_err)?;
    Ok(())
}

const USER_COLS: &str =
    "id, app_id, name, password_hash, role, first_name, last_name, created_at, updated_at";

fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    let app_id: String = r.get(1)?;
    let role: String = r.get(4)?;
    Ok(UserRow {
        id: r.get(0)?,
        app_id: Uuid::parse_str(&app_id).unwrap_or_default(),
        name: r.get(2)?,
        password_hash: r.get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Reader),
        first_name: r.get(5)?,
        last_name: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

pub fn insert_user(conn: &Connection, u: &UserRow) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO _users ({USER_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            u.id,
            u.app_id.to_string(),
            u.name,
            u.password_hash,
            u.role.as_str(),
            u.first_name,
            u.last_name,
            u.created_at,
            u.updated_at
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub fn update_user(conn: &Connection, u: &UserRow) -> Result<()> {
    conn.prepare_cached(
        "UPDATE _users SET password_hash = ?2, role = ?3, first_name = ?4, last_name = ?5, updated_at = ?6
         WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![u.id, u.password_hash, u.role.as_str(), u.first_name, u.last_name, u.updated_at])
    })
    .map_err(map_err)?;
    // A changed role or password takes effect at once: the user's login tokens go.
    conn.execute(
        "DELETE FROM _tokens WHERE user_id = ?1 AND kind IN ('access', 'refresh')",
        [&u.id],
    )
    .map_err(map_err)?;
    Ok(())
}

pub fn get_user(conn: &Connection, app_id: Uuid, name: &str) -> Result<Option<UserRow>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLS} FROM _users WHERE app_id = ?1 AND name = ?2"
    ))
    .and_then(|mut s| {
        s.query_row(params![app_id.to_string(), name], user_row)
            .optional()
    })
    .map_err(map_err)
}

pub fn list_users(conn: &Connection, app_id: Uuid) -> Result<Vec<UserRow>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLS} FROM _users WHERE app_id = ?1 ORDER BY name"
        ))
        .map_err(map_err)?;
    let rows = stmt
        .query_map([app_id.to_string()], user_row)
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(map_err)
}

pub fn delete_user(conn: &Connection, app_id: Uuid, name: &str) -> Result<bool> {
    let user = get_user(conn, app_id, name)?;
    let Some(user) = user else { return Ok(false) };
    conn.execute("DELETE FROM _tokens WHERE user_id = ?1", [&user.id])
        .map_err(map_err)?;
    conn.execute("DELETE FROM _users WHERE id = ?1", [&user.id])
        .map_err(map_err)?;
    Ok(true)
}

pub fn put_file(conn: &Connection, f: &FileRow) -> Result<()> {
    let doc = serde_json::to_string(f).map_err(Error::internal)?;
    conn.prepare_cached("INSERT OR REPLACE INTO _files (id, app_id, doc) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![f.id, f.app_id.to_string(), doc]))
        .map_err(map_err)?;
    Ok(())
}

pub fn get_file(conn: &Connection, app_id: Uuid, id: &str) -> Result<Option<FileRow>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM _files WHERE id = ?1 AND app_id = ?2")
        .and_then(|mut s| {
            s.query_row(params![id, app_id.to_string()], |r| r.get(0))
                .optional()
        })
        .map_err(map_err)?;
    doc.map(|d| serde_json::from_str(&d).map_err(Error::internal))
        .transpose()
}

pub fn put_job(conn: &Connection, job: &Job) -> Result<()> {
    let doc = serde_json::to_string(job).map_err(Error::internal)?;
    let callback = job
        .callback
        .as_ref()
        .map(|c| serde_json::to_value(c.status).ok())
        .and_then(|v| v?.as_str().map(str::to_owned));
    conn.prepare_cached(
        "INSERT INTO _jobs (id, app_id, status, callback, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, callback = excluded.callback, doc = excluded.doc",
    )
    .and_then(|mut s| {
        s.execute(params![job.id, job.app_id.to_string(), job.status.as_str(), callback, job.created_at.as_str(), doc])
    })
    .map_err(map_err)?;
    Ok(())
}

/// Documents (JSON rows) of a system table matching `sql`.
fn docs_where<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    table: &str,
    sql: &str,
    p: &[&dyn rusqlite::ToSql],
) -> Result<Vec<T>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT doc FROM {table} WHERE {sql}"))
        .map_err(map_err)?;
    let docs = stmt
        .query_map(p, |r| r.get::<_, String>(0))
        .map_err(map_err)?;
    docs.map(|d| serde_json::from_str(&d.map_err(map_err)?).map_err(Error::internal))
        .collect()
}

fn jobs_where(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Job>> {
    docs_where(conn, "_jobs", sql, p)
}

pub fn get_job(conn: &Connection, id: &str) -> Result<Option<Job>> {
    Ok(jobs_where(conn, "id = ?1", &[&id])?.pop())
}

pub fn list_jobs(conn: &Connection, app_id: Uuid, limit: usize) -> Result<Vec<Job>> {
    let app = app_id.to_string();
    let limit = limit as i64;
    jobs_where(
        conn,
        "app_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
        &[&app, &limit],
    )
}

pub fn jobs_by_status(conn: &Connection, status: &str, limit: usize) -> Result<Vec<Job>> {
    let limit = limit as i64;
    jobs_where(
        conn,
        "status = ?1 ORDER BY created_at, id LIMIT ?2",
        &[&status, &limit],
    )
}

pub fn jobs_with_callback(conn: &Connection, status: &str) -> Result<Vec<Job>> {
    jobs_where(conn, "callback = ?1 ORDER BY created_at", &[&status])
}

pub fn put_batch(conn: &Connection, b: &Batch) -> Result<()> {
    let doc = serde_json::to_string(b).map_err(Error::internal)?;
    conn.prepare_cached(
        "INSERT INTO _batches (id, app_id, status, created_at, doc) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
    )
    .and_then(|mut s| {
        s.execute(params![
            b.id,
            b.app_id.to_string(),
            b.status.as_str(),
            b.created_at.as_str(),
            doc
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

fn batches_where(conn: &Connection, sql: &str, p: &[&dyn rusqlite::ToSql]) -> Result<Vec<Batch>> {
    docs_where(conn, "_batches", sql, p)
}

pub fn get_batch(conn: &Connection, id: &str) -> Result<Option<Batch>> {
    Ok(batches_where(conn, "id = ?1", &[&id])?.pop())
}

pub fn list_batches(conn: &Connection, app_id: Uuid, limit: usize) -> Result<Vec<Batch>> {
    let (app, limit) = (app_id.to_string(), limit as i64);
    batches_where(
        conn,
        "app_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
        &[&app, &limit],
    )
}

pub fn batches_by_status(conn: &Connection, status: &str) -> Result<Vec<Batch>> {
    batches_where(conn, "status = ?1 ORDER BY created_at", &[&status])
}

pub fn put_batch_ids(conn: &Connection, batch: &str, ids: &[(u64, u32, String)]) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO _batch_ids (batch_id, seq, op, record_id) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(map_err)?;
    for (seq, op, id) in ids {
        stmt.execute(params![batch, *seq as i64, op, id])
            .map_err(map_err)?;
    }
    Ok(())
}

pub fn batch_ids(
    conn: &Connection,
    batch: &str,
    from: u64,
    limit: usize,
) -> Result<Vec<(u64, u32, String)>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, op, record_id FROM _batch_ids WHERE batch_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT ?3")
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params![batch, from as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
        })
        .map_err(map_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(map_err)
}

pub fn delete_batch_ids(conn: &Connection, batch: &str) -> Result<()> {
    conn.execute("DELETE FROM _batch_ids WHERE batch_id = ?1", [batch])
        .map_err(map_err)?;
    Ok(())
}
