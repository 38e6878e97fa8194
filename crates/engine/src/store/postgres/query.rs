//! Running a checked query on PostgreSQL: rewritten to record tables, sent on a connection logged
//! in as the query role (which can read record tables and nothing else: the second wall behind
//! the checker), in a `READ ONLY` transaction with a statement timeout, a row cap and a cap on the
//! answer's size.

use super::pool::SCHEMA;
use super::tx::{map_err, PgTx};
use super::value::{stamp_text, PgValue};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{CheckedQuery, QueryResult, Value};
use crate::settings::QueryLimits;
use crate::store::rewrite::rewrite;
use crate::store::sql::Flavor;
use crate::store::QueryTx;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use postgres::types::{FromSql, Type};
use postgres::{GenericClient, Statement};
use serde_json::Value as Json;
use std::error::Error as StdError;
use uuid::Uuid;

type BoxError = Box<dyn StdError + Sync + Send>;

fn refused(e: &postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) if db.code() == &postgres::error::SqlState::INSUFFICIENT_PRIVILEGE => Error::new(
            ErrorCode::InvalidRequest,
            "the query reads or calls something it may not",
        )
        .with_field("sql"),
        Some(db) if db.code() == &postgres::error::SqlState::QUERY_CANCELED => {
            Error::new(ErrorCode::Timeout, "the query ran out of time").with_field("sql")
        }
        // Class 54, program limits (too many result columns, too complex, too many arguments):
        // the query is too large for the database, which says which limit.
        Some(db) if db.code().code().starts_with("54") => Error::new(
            ErrorCode::LimitExceeded,
            format!("the query is too large for the database: {}", db.message()),
        )
        .with_field("sql"),
        Some(db) if db.code().code().starts_with("42") || db.code().code().starts_with("22") => {
            Error::new(
                ErrorCode::InvalidRequest,
                format!("the query failed: {}", db.message()),
            )
            .with_field("sql")
        }
        _ => map_err(e),
    }
}

/// A parameter as a value the statement's parameter type can take.
fn param(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Number(n.as_f64().unwrap_or(0.0)), Value::Integer),
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Json(other.to_string()),
    }
}

/// `numeric` in its binary form: digit count, weight, sign, scale, then base-10000 digits.
fn numeric(raw: &[u8]) -> Result<f64, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "short numeric".into())
    };
    let (n, weight, sign) = (word(0)?, word(2)?, word(4)? as u16);
    if sign == 0xC000 {
        return Ok(f64::NAN);
    }
    let mut v = 0f64;
    for i in 0..n.max(0) as usize {
        let d = f64::from(word(8 + 2 * i)?);
        v += d * 10000f64.powi(i32::from(weight) - i as i32);
    }
    Ok(if sign == 0x4000 { -v } else { v })
}

/// Any column as JSON; types without a JSON form are refused with a hint.
struct AnyJson(Json);

impl<'a> FromSql<'a> for AnyJson {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let num = |f: f64| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number);
        Ok(AnyJson(match *ty {
            Type::BOOL => Json::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Json::from(i16::from_sql(ty, raw)?),
            Type::INT4 => Json::from(i32::from_sql(ty, raw)?),
            Type::INT8 => Json::from(i64::from_sql(ty, raw)?),
            Type::OID => Json::from(u32::from_sql(ty, raw)?),
            Type::FLOAT4 => num(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => num(f64::from_sql(ty, raw)?),
            Type::NUMERIC => num(numeric(raw)?),
            Type::UUID => Json::String(Uuid::from_sql(ty, raw)?.hyphenated().to_string()),
            Type::DATE => {
                Json::String(NaiveDate::from_sql(ty, raw)?.format("%Y-%m-%d").to_string())
            }
            Type::TIMESTAMPTZ => Json::String(stamp_text(DateTime::<Utc>::from_sql(ty, raw)?)),
            Type::TIMESTAMP => Json::String(
                NaiveDateTime::from_sql(ty, raw)?
                    .format("%Y-%m-%dT%H:%M:%S%.3f")
                    .to_string(),
            ),
            Type::JSON | Type::JSONB => {
                let body = if *ty == Type::JSONB {
                    raw.get(1..).unwrap_or_default()
                } else {
                    raw
                };
                serde_json::from_slice(body)?
            }
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::CHAR => {
                Json::String(String::from_sql(ty, raw)?)
            }
            _ => {
                return Err(
                    format!("columns of type {ty} cannot be returned; cast them to text").into(),
                )
            }
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(AnyJson(Json::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn type_name(ty: &Type) -> &'static str {
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => "integer",
        Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC => "double",
        Type::BOOL => "boolean",
        _ => "string",
    }
}

/// Prepares a query. A type PostgreSQL does not build in (a table's row type) makes the client
/// look it up with statements it then keeps for the connection; behind a pooler those would stay
/// on a server connection other transactions get. So there the server's statements are dropped
/// and the query prepared again (its types now known), and `stale` says the connection must not
/// be used again.
fn prepare(
    client: &mut impl GenericClient,
    sql: &str,
    pooled: bool,
    stale: &mut bool,
) -> std::result::Result<Statement, postgres::Error> {
    let stmt = client.prepare(sql)?;
    let builtin = |t: &Type| Type::from_oid(t.oid()).is_some();
    if !pooled
        || stmt
            .params()
            .iter()
            .chain(stmt.columns().iter().map(|c| c.type_()))
            .all(builtin)
    {
        return Ok(stmt);
    }
    *stale = true;
    drop(stmt);
    client.batch_execute("DEALLOCATE ALL")?;
    client.prepare(sql)
}

/// Rows fetched from a query's portal at a time.
const PORTAL_ROWS: i32 = 2000;

fn too_big(what: String) -> Error {
    Error::new(ErrorCode::LimitExceeded, what).with_field("sql")
}

impl PgTx<'_> {
    /// Runs a checked query as the query role, in a read-only transaction with the deadline,
    /// handing each row to `sink` as it streams in; the column names and types.
    fn stream(
        &mut self,
        q: &CheckedQuery,
        params: &[Json],
        limits: &QueryLimits,
        sink: &mut dyn FnMut(Vec<Json>) -> Result<()>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let sql = rewrite(q, Flavor::Postgres, limits)?.sql;
        let mut conn = self
            .shared
            .queries
            .get_begun(self.shared.limits.read_wait, "")?;
        let (pooled, mut stale) = (conn.pooled(), false);
        let out = stream_on(
            &mut conn.client,
            &sql,
            params,
            limits,
            sink,
            pooled,
            &mut stale,
        );
        if stale {
            conn.discard();
        }
        out
    }
}

/// `PgTx::stream` on a query connection.
fn stream_on(
    client: &mut postgres::Client,
    sql: &str,
    params: &[Json],
    limits: &QueryLimits,
    sink: &mut dyn FnMut(Vec<Json>) -> Result<()>,
    pooled: bool,
    stale: &mut bool,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut tx = client.transaction().map_err(|e| map_err(&e))?;
    tx.batch_execute(&format!(
        "SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}; SET LOCAL TimeZone = 'UTC';
             SET LOCAL search_path = {SCHEMA}",
        limits.timeout.as_millis().max(1)
    ))
    .map_err(|e| map_err(&e))?;
    let stmt = prepare(&mut tx, sql, pooled, stale).map_err(|e| refused(&e))?;
    if stmt.params().len() != params.len() {
        return Err(Error::new(
            ErrorCode::InvalidRequest,
            format!(
                "the query takes {} parameters; {} were given",
                stmt.params().len(),
                params.len()
            ),
        )
        .with_field("params"));
    }
    let values: Vec<Value> = params.iter().map(param).collect();
    let bound: Vec<PgValue<'_>> = values.iter().map(PgValue).collect();
    let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
    let types = stmt
        .columns()
        .iter()
        .map(|c| type_name(c.type_()).to_owned())
        .collect();
    // A portal read in batches: however large the answer, only one batch is held at a time.
    let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = bound
        .iter()
        .map(|b| b as &(dyn postgres::types::ToSql + Sync))
        .collect();
    let portal = tx.bind(&stmt, &refs).map_err(|e| refused(&e))?;
    loop {
        let batch = tx
            .query_portal(&portal, PORTAL_ROWS)
            .map_err(|e| refused(&e))?;
        if batch.is_empty() {
            break;
        }
        for row in batch {
            let mut out = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                out.push(
                    row.try_get::<_, AnyJson>(i)
                        .map_err(|e| {
                            Error::new(ErrorCode::InvalidRequest, e.to_string()).with_field("sql")
                        })?
                        .0,
                );
            }
            sink(out)?;
        }
    }
    // Closed inside the transaction (behind a pooler, the next one may be elsewhere).
    drop((portal, stmt));
    let _ = tx.rollback();
    Ok((columns, types))
}

impl QueryTx for PgTx<'_> {
    fn query(
        &mut self,
        q: &CheckedQuery,
        params: &[Json],
        limits: &QueryLimits,
    ) -> Result<QueryResult> {
        let mut rows: Vec<Vec<Json>> = Vec::new();
        let mut bytes = 0usize;
        let (columns, types) = self.stream(q, params, limits, &mut |row| {
            if rows.len() == limits.max_rows {
                return Err(too_big(format!(
                    "the query returns more than {} rows; narrow it or add a LIMIT",
                    limits.max_rows
                )));
            }
            bytes += row
                .iter()
                .map(|v| 16 + v.as_str().map_or(0, str::len))
                .sum::<usize>();
            if bytes > limits.max_result_bytes {
                return Err(too_big(format!(
                    "the answer is larger than {} bytes; narrow the query",
                    limits.max_result_bytes
                )));
            }
            rows.push(row);
            Ok(())
        })?;
        Ok(QueryResult {
            columns,
            types,
            rows,
        })
    }

    fn query_each(
        &mut self,
        q: &CheckedQuery,
        params: &[Json],
        limits: &QueryLimits,
        row: &mut dyn FnMut(Vec<Json>) -> Result<()>,
    ) -> Result<Vec<String>> {
        self.stream(q, params, limits, row)
            .map(|(columns, _)| columns)
    }

    fn query_columns(&mut self, q: &CheckedQuery, limits: &QueryLimits) -> Result<Vec<String>> {
        let sql = rewrite(q, Flavor::Postgres, limits)?.sql;
        let mut conn = self
            .shared
            .queries
            .get_begun(self.shared.limits.read_wait, "")?;
        let (pooled, mut stale) = (conn.pooled(), false);
        let columns = conn.transact("BEGIN READ ONLY", |conn| {
            let stmt =
                prepare(&mut conn.client, &sql, pooled, &mut stale).map_err(|e| refused(&e))?;
            Ok(stmt.columns().iter().map(|c| c.name().to_owned()).collect())
        });
        if stale {
            conn.discard();
        }
        columns
    }
}
