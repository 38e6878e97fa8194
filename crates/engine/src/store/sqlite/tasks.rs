//! Task SQL on SQLite: one writer, so a claim needs no row locks.

use super::tx::{map_err, SqliteTx};
use crate::error::Result;
use crate::store::tasks::{find_sql, Marks, TaskFind, TaskParam, TaskRow, TaskTx};
use rusqlite::types::{ToSqlOutput, Value as Sql};
use rusqlite::{params, params_from_iter, ToSql};

impl ToSql for TaskParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            TaskParam::Text(s) => ToSqlOutput::from(*s),
            TaskParam::App(id) => ToSqlOutput::Owned(Sql::Text(id.to_string())),
            TaskParam::Int(n) => ToSqlOutput::from(*n),
        })
    }
}

impl TaskTx for SqliteTx<'_> {
    fn put_task(&mut self, t: &TaskRow<'_>) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO _tasks
                 (kind, id, app_id, status, queue, callback, created_at, file_id, expired, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (kind, id) DO UPDATE SET status = excluded.status,
                 queue = excluded.queue, callback = excluded.callback, expired = excluded.expired,
                 doc = excluded.doc",
            )
            .and_then(|mut s| {
                s.execute(params![
                    t.kind.as_str(),
                    t.id,
                    t.app_id.to_string(),
                    t.status,
                    t.queue.as_str(),
                    t.callback,
                    t.created_at,
                    t.file_id,
                    t.expired,
                    t.doc
                ])
            })
            .map_err(map_err)?;
        Ok(())
    }

    fn find_tasks(&mut self, find: &TaskFind<'_>) -> Result<Vec<String>> {
        let (sql, params) = find_sql(find, Marks::Question, false);
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT doc FROM _tasks WHERE {sql}"))
            .map_err(map_err)?;
        let docs = stmt
            .query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(0))
            .map_err(map_err)?;
        docs.collect::<rusqlite::Result<_>>().map_err(map_err)
    }

    fn count_tasks(&mut self, find: &TaskFind<'_>) -> Result<u64> {
        let (sql, params) = find_sql(find, Marks::Question, true);
        self.conn
            .prepare_cached(&format!("SELECT count(*) FROM _tasks WHERE {sql}"))
            .and_then(|mut s| s.query_row(params_from_iter(params.iter()), |r| r.get::<_, i64>(0)))
            .map(|n| n.max(0) as u64)
            .map_err(map_err)
    }
}
