//! Running a checked query on SQLite: behind an authorizer that allows reading only the query's
//! own tables and calling only vetted functions (a second line of defence behind the parser), with
//! a deadline (a progress handler between steps, and a watchdog that interrupts a long step), a row
//! cap, and limits that bound what one step can cost (string length, LIKE/GLOB pattern length).

use super::tx::{map_err, SqliteTx};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{CheckedQuery, QueryResult};
use crate::model::{ALLOWED_FUNCTIONS, TABLE_FUNCTIONS};
use crate::settings::QueryLimits;
use crate::store::rewrite::rewrite;
use crate::store::QueryTx;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;
use serde_json::Value as Json;
use std::collections::HashSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest string or blob a query may build or read (SQLite's own default is 1 GB).
const MAX_LENGTH: i32 = 4 << 20;
/// Longest LIKE or GLOB pattern (SQLite's default is 50,000): a match costs up to the string's
/// length times the pattern's, so both are bounded.
const MAX_LIKE_PATTERN: i32 = 100;
/// Deepest expression tree.
const MAX_EXPR_DEPTH: i32 = 200;

fn param(v: &Json) -> SqlValue {
    match v {
        Json::Null => SqlValue::Null,
        Json::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Json::Number(n) => n.as_i64().map_or_else(
            || SqlValue::Real(n.as_f64().unwrap_or(0.0)),
            SqlValue::Integer,
        ),
        Json::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

fn json_of(v: ValueRef<'_>) -> Json {
    match v {
        ValueRef::Null => Json::Null,
        ValueRef::Integer(i) => Json::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        ValueRef::Text(t) => Json::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Json::String(hex::encode(b)),
    }
}

fn type_of(decl: Option<&str>, sample: Option<&Json>) -> &'static str {
    match decl.map(str::to_ascii_uppercase).as_deref() {
        Some("INTEGER") => "integer",
        Some("REAL") => "double",
        Some("TEXT") => "string",
        _ => match sample {
            Some(Json::Number(n)) if n.is_i64() => "integer",
            Some(Json::Number(_)) => "double",
            _ => "string",
        },
    }
}

impl QueryTx for SqliteTx<'_> {
    fn query(
        &mut self,
        q: &CheckedQuery,
        params: &[Json],
        limits: &QueryLimits,
    ) -> Result<QueryResult> {
        guarded(self.conn, q, limits, |conn, sql| {
            execute(conn, sql, params, limits)
        })
    }

    fn query_each(
        &mut self,
        q: &CheckedQuery,
        params: &[Json],
        limits: &QueryLimits,
        row: &mut dyn FnMut(Vec<Json>) -> Result<()>,
    ) -> Result<Vec<String>> {
        guarded(self.conn, q, limits, |conn, sql| {
            stream(conn, sql, params, row).map(|(columns, _)| columns)
        })
    }

    fn query_columns(&mut self, q: &CheckedQuery, limits: &QueryLimits) -> Result<Vec<String>> {
        guarded(self.conn, q, limits, |conn, sql| {
            let stmt = conn.prepare(sql).map_err(query_error)?;
            Ok(stmt.column_names().into_iter().map(str::to_owned).collect())
        })
    }
}

/// Runs `f` on the query rewritten to this store's tables, behind `guard`.
fn guarded<R>(
    conn: &Connection,
    q: &CheckedQuery,
    limits: &QueryLimits,
    f: impl FnOnce(&Connection, &str) -> Result<R>,
) -> Result<R> {
    let rewritten = rewrite(q, crate::store::sql::Flavor::Sqlite, limits)?;
    guard(conn, &rewritten.sql, rewritten.tables, &q.ctes, limits, f)
}

/// Runs `f` on `sql` with the authorizer (reads of `tables` and `ctes` only, vetted functions),
/// the deadline and the limits in place, and takes them away again whatever happens.
fn guard<R>(
    conn: &Connection,
    sql: &str,
    tables: Vec<String>,
    ctes: &[String],
    limits: &QueryLimits,
    f: impl FnOnce(&Connection, &str) -> Result<R>,
) -> Result<R> {
    let tables: HashSet<String> = tables.into_iter().collect();
    let ctes: HashSet<String> = ctes.iter().map(|c| c.to_ascii_lowercase()).collect();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| match ctx.action {
        AuthAction::Select | AuthAction::Recursive => Authorization::Allow,
        AuthAction::Read { table_name, .. }
            if tables.contains(table_name)
                || ctes.contains(&table_name.to_ascii_lowercase())
                || TABLE_FUNCTIONS.contains(&table_name.to_ascii_lowercase().as_str()) =>
        {
            Authorization::Allow
        }
        AuthAction::Function { function_name }
            if ALLOWED_FUNCTIONS.contains(&function_name.to_ascii_lowercase().as_str()) =>
        {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }))
    .map_err(map_err)?;
    let deadline = Instant::now() + limits.timeout;
    let _ = conn.progress_handler(1000, Some(move || Instant::now() > deadline));
    let bounds = [
        (Limit::SQLITE_LIMIT_LENGTH, MAX_LENGTH),
        (Limit::SQLITE_LIMIT_EXPR_DEPTH, MAX_EXPR_DEPTH),
        (Limit::SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_LIKE_PATTERN),
    ];
    let saved: Vec<_> = bounds
        .iter()
        .map(|&(limit, value)| (limit, conn.set_limit(limit, value)))
        .collect();
    let watchdog = Watchdog::start(conn, limits.timeout);
    let result = f(conn, sql);
    drop(watchdog);
    let _ = conn.authorizer(None::<fn(AuthContext<'_>) -> Authorization>);
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    for (limit, old) in saved {
        if let Ok(old) = old {
            let _ = conn.set_limit(limit, old);
        }
    }
    result
}

/// Interrupts the connection at the deadline, even inside one long step (a LIKE over a long
/// string is one step, which the progress handler cannot cut short). Dropping it disarms it.
struct Watchdog {
    done: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(conn: &Connection, within: Duration) -> Watchdog {
        let handle = conn.get_interrupt_handle();
        let (done, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sluice-query-watchdog".into())
            .spawn(move || {
                if rx.recv_timeout(within) == Err(mpsc::RecvTimeoutError::Timeout) {
                    handle.interrupt();
                }
            })
            .ok();
        Watchdog {
            done: Some(done),
            thread,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn query_error(e: rusqlite::Error) -> Error {
    // Errors found while preparing come with the place in the SQL; judge them by their code.
    let e = match e {
        rusqlite::Error::SqlInputError { error, msg, .. } => {
            rusqlite::Error::SqliteFailure(error, Some(msg))
        }
        other => other,
    };
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == rusqlite::ErrorCode::AuthorizationForStatementDenied =>
        {
            let _ = msg;
            Error::new(
                ErrorCode::InvalidRequest,
                "the query reads or calls something it may not",
            )
            .with_field("sql")
        }
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            Error::new(ErrorCode::Timeout, "the query ran out of time").with_field("sql")
        }
        rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::TooBig => {
            Error::new(
                ErrorCode::LimitExceeded,
                format!("the query builds a value too large: {msg}"),
            )
            .with_field("sql")
        }
        rusqlite::Error::SqliteFailure(_, Some(msg)) => Error::new(
            ErrorCode::InvalidRequest,
            format!("the query failed: {msg}"),
        )
        .with_field("sql"),
        rusqlite::Error::InvalidParameterCount(got, want) => Error::new(
            ErrorCode::InvalidRequest,
            format!("the query takes {want} parameters; {got} were given"),
        )
        .with_field("params"),
        _ => map_err(e),
    }
}

/// Runs `sql`, handing each row to `sink` as it is stepped; the column names and declared types.
fn stream(
    conn: &Connection,
    sql: &str,
    params: &[Json],
    sink: &mut dyn FnMut(Vec<Json>) -> Result<()>,
) -> Result<(Vec<String>, Vec<Option<String>>)> {
    let mut stmt = conn.prepare(sql).map_err(query_error)?;
    if !stmt.readonly() {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            "only read-only queries are allowed",
        )
        .with_field("sql"));
    }
    let columns: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let decls: Vec<Option<String>> = stmt
        .columns()
        .iter()
        .map(|c| c.decl_type().map(str::to_owned))
        .collect();
    let values: Vec<SqlValue> = params.iter().map(param).collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(values.iter()))
        .map_err(query_error)?;
    while let Some(row) = rows.next().map_err(query_error)? {
        let mut out = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            out.push(json_of(row.get_ref(i).map_err(query_error)?));
        }
        sink(out)?;
    }
    Ok((columns, decls))
}

/// Runs `sql` and collects its answer, within the row and byte caps.
fn execute(
    conn: &Connection,
    sql: &str,
    params: &[Json],
    limits: &QueryLimits,
) -> Result<QueryResult> {
    let mut rows_out: Vec<Vec<Json>> = Vec::new();
    let mut bytes = 0usize;
    let (columns, decls) = stream(conn, sql, params, &mut |row| {
        if rows_out.len() == limits.max_rows {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!(
                    "the query returns more than {} rows; narrow it or add a LIMIT",
                    limits.max_rows
                ),
            )
            .with_field("sql"));
        }
        bytes += row
            .iter()
            .map(|v| 16 + v.as_str().map_or(0, str::len))
            .sum::<usize>();
        if bytes > limits.max_result_bytes {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!(
                    "the answer is larger than {} bytes; narrow the query",
                    limits.max_result_bytes
                ),
            )
            .with_field("sql"));
        }
        rows_out.push(row);
        Ok(())
    })?;
    let types = (0..columns.len())
        .map(|i| {
            let sample = rows_out
                .iter()
                .map(|r: &Vec<Json>| &r[i])
                .find(|v| !v.is_null());
            type_of(decls[i].as_deref(), sample).to_owned()
        })
        .collect();
    Ok(QueryResult {
        columns,
        types,
        rows: rows_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The authorizer holds even for SQL that never went through the parser's checks.
    #[test]
    fn the_authorizer_is_a_second_line() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE o_a (x); INSERT INTO o_a VALUES (1); CREATE TABLE o_b (secret);",
        )
        .unwrap();
        let limits = crate::settings::Settings::default().query;
        let run = |sql: &str| {
            guard(&conn, sql, vec!["o_a".into()], &[], &limits, |c, s| {
                execute(c, s, &[], &limits)
            })
        };
        assert_eq!(
            run("SELECT x FROM o_a").unwrap().rows,
            vec![vec![Json::from(1)]]
        );
        for sql in [
            "SELECT * FROM sqlite_master",
            "SELECT * FROM o_b",
            "SELECT randomblob(10)",
            "SELECT x FROM o_a WHERE x IN (SELECT secret FROM o_b)",
            "PRAGMA table_info(o_a)",
        ] {
            let err = run(sql).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidRequest, "{sql}");
        }
        // The connection is clean afterwards: no authorizer left behind.
        conn.execute_batch("SELECT * FROM o_b").unwrap();
    }
}
