//! Catalog SQL on PostgreSQL (app and object documents), and the document helpers the other
//! system tables share.

use super::tx::{Params, PgTx};
use crate::error::{Error, Result};
use crate::model::{App, Catalog, Object};
use std::sync::Arc;
use uuid::Uuid;

/// Documents of `table` whose rows match `sql` (a WHERE clause, ordering and limit).
pub fn docs_where<T: serde::de::DeserializeOwned>(
    tx: &mut PgTx<'_>,
    table: &str,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<T>> {
    tx.query(&format!("SELECT doc FROM {table} WHERE {sql}"), params)?
        .iter()
        .map(|r| {
            let doc: &str = r.try_get(0).map_err(Error::internal)?;
            serde_json::from_str(doc).map_err(Error::internal)
        })
        .collect()
}

pub fn to_doc<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

pub fn load_catalog(tx: &mut PgTx<'_>) -> Result<Catalog> {
    let mut apps: Vec<App> = docs_where(tx, "_apps", "TRUE", &[])?;
    let objects: Vec<Object> = docs_where(tx, "_objects", "TRUE", &[])?;
    for obj in objects {
        if let Some(app) = apps.iter_mut().find(|a| a.id == obj.app_id) {
            app.objects.insert(obj.name.to_string(), Arc::new(obj));
        }
    }
    let mut catalog = Catalog::default();
    for app in apps {
        catalog.put_app(app);
    }
    Ok(catalog)
}

pub fn put_app(tx: &mut PgTx<'_>, app: &App) -> Result<()> {
    let doc = to_doc(app)?;
    tx.execute(
        "INSERT INTO _apps (id, name, doc) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, doc = excluded.doc",
        &[&app.id, &app.name.as_str(), &doc],
    )?;
    Ok(())
}

pub fn delete_app(tx: &mut PgTx<'_>, id: Uuid) -> Result<()> {
    for sql in [
        "DELETE FROM _objects WHERE app_id = $1",
        "DELETE FROM _tokens WHERE app_id = $1",
        "DELETE FROM _users WHERE app_id = $1",
        "DELETE FROM _uploads WHERE id IN (SELECT id FROM _files WHERE app_id = $1)",
        "DELETE FROM _files WHERE app_id = $1",
        "DELETE FROM _results WHERE job_id IN (SELECT id FROM _tasks WHERE app_id = $1)",
        "DELETE FROM _batch_ids WHERE batch_id IN (SELECT id FROM _tasks WHERE app_id = $1)",
        "DELETE FROM _tasks WHERE app_id = $1",
        "DELETE FROM _apps WHERE id = $1",
    ] {
        tx.execute(sql, &[&id])?;
    }
    Ok(())
}

pub fn put_object(tx: &mut PgTx<'_>, obj: &Object) -> Result<()> {
    let doc = to_doc(obj)?;
    tx.execute(
        "INSERT INTO _objects (id, app_id, name, doc) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, doc = excluded.doc",
        &[&obj.id, &obj.app_id, &obj.name.as_str(), &doc],
    )?;
    Ok(())
}

pub fn delete_object(tx: &mut PgTx<'_>, id: Uuid) -> Result<()> {
    tx.execute("DELETE FROM _objects WHERE id = $1", &[&id])?;
    Ok(())
}
