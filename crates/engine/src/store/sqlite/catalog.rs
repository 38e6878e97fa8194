//! Catalog SQL: app and object documents.

use super::tx::map_err;
use crate::error::{Error, Result};
use crate::model::{App, Catalog, Object};
use rusqlite::{params, Connection};
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
        "DELETE FROM _batch_ids WHERE batch_id IN (SELECT id FROM _tasks WHERE app_id = ?1)",
        "DELETE FROM _tasks WHERE app_id = ?1",
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
