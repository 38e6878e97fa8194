//! Task SQL on PostgreSQL: a write transaction locks the task it reads by id (`FOR UPDATE`), and
//! the queue is claimed with `FOR UPDATE SKIP LOCKED`, so instances never take the same task.

use super::tx::{Params, PgTx};
use crate::error::{Error, Result};
use crate::store::tasks::{find_sql, Marks, TaskFind, TaskParam, TaskRow, TaskTx};
use postgres::types::ToSql;

fn bound<'p>(params: &'p [TaskParam<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            TaskParam::Text(s) => s as &(dyn ToSql + Sync),
            TaskParam::App(id) => id,
            TaskParam::Int(n) => n,
        })
        .collect()
}

impl PgTx<'_> {
    /// `SELECT doc` of the tasks `find` matches, or (`counting`) `SELECT count(*)`.
    fn task_query(&mut self, find: &TaskFind<'_>, counting: bool) -> Result<Vec<postgres::Row>> {
        let select = if counting { "count(*)" } else { "doc" };
        let (sql, params) = find_sql(find, Marks::Dollar, counting);
        let lock = match (find.skip_locked, find.id) {
            (true, _) => " FOR UPDATE SKIP LOCKED",
            (false, Some(_)) => self.for_update(),
            (false, None) => "",
        };
        let params: &Params<'_> = &bound(&params);
        self.query(
            &format!("SELECT {select} FROM _tasks WHERE {sql}{lock}"),
            params,
        )
    }
}

impl TaskTx for PgTx<'_> {
    fn put_task(&mut self, t: &TaskRow<'_>) -> Result<()> {
        self.execute(
            "INSERT INTO _tasks
             (kind, id, app_id, status, queue, callback, created_at, file_id, expired, doc)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (kind, id) DO UPDATE SET status = excluded.status,
             queue = excluded.queue, callback = excluded.callback, expired = excluded.expired,
             doc = excluded.doc",
            &[
                &t.kind.as_str(),
                &t.id,
                &t.app_id,
                &t.status,
                &t.queue.as_str(),
                &t.callback,
                &t.created_at,
                &t.file_id,
                &t.expired,
                &t.doc,
            ],
        )?;
        Ok(())
    }

    fn find_tasks(&mut self, find: &TaskFind<'_>) -> Result<Vec<String>> {
        self.task_query(find, false)?
            .iter()
            .map(|r| r.try_get(0).map_err(Error::internal))
            .collect()
    }

    fn count_tasks(&mut self, find: &TaskFind<'_>) -> Result<u64> {
        let rows = self.task_query(find, true)?;
        let n: i64 = match rows.first() {
            Some(r) => r.try_get(0).map_err(Error::internal)?,
            None => 0,
        };
        Ok(n.max(0) as u64)
    }
}
