//! System tables that keep a JSON document per row beside a few indexed columns.

use super::tx::map_err;
use crate::error::{Error, Result};
use rusqlite::Connection;

/// Documents of `table` whose rows match `sql` (a WHERE clause, ordering and limit).
pub fn docs_where<T: serde::de::DeserializeOwned>(
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

pub fn to_doc<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}
