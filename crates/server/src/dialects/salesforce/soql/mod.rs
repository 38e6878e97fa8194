//! SOQL → sluice's read-only SQL: the subset of Salesforce's query language that Bulk API 2.0
//! query jobs take (one object, its fields and its parents' fields one level up, WHERE, ORDER BY,
//! LIMIT), translated into a query for the engine's query guard, with every literal a parameter.
//! Pure: no store, no I/O. Lexing (`lex`), parsing (`parse`, `filter`, into `ast`), names
//! (`resolve`), date literals (`dates`), values (`literals`) and SQL (`translate`) each have their
//! file.
//!
//! This module names nothing outside itself but the engine (`sluice_engine`), `chrono`,
//! `serde_json` and `sqlparser`, so the end-to-end tests can compile it as it is.

mod ast;
mod dates;
mod filter;
mod lex;
mod literals;
mod parse;
mod resolve;
#[cfg(test)]
mod tests;
mod translate;

use sluice_engine::model::{App, SqlSyntax};
use sluice_engine::settings::{defaults, Settings};

/// A SOQL query translated: what the query guard checks and the store runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    /// The object (its sluice name) the query reads.
    pub object: String,
    /// SQL for sluice's read-only query guard (the same SQL a user may send to
    /// `POST /v1/apps/{app}/query`, checked with no view), with placeholders for `params`. Its
    /// columns are `headers`, in order, each already as Salesforce's result CSV writes it:
    /// booleans as `true`/`false`, JSON as text, a parent's field empty when the record has no
    /// parent.
    pub sql: String,
    pub params: Vec<serde_json::Value>,
    /// The result CSV's header: each selected field as the client wrote it in the SELECT
    /// (Salesforce echoes the query's spelling, e.g. `Id`, `Name`, `Account.Name`).
    pub headers: Vec<String>,
}

/// A refusal in Salesforce's terms: its `errorCode` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    /// Salesforce's errorCode: `MALFORMED_QUERY`, `INVALID_FIELD` or `INVALID_TYPE`.
    pub code: &'static str,
    pub message: String,
}

pub const MALFORMED_QUERY: &str = "MALFORMED_QUERY";
pub const INVALID_FIELD: &str = "INVALID_FIELD";
pub const INVALID_TYPE: &str = "INVALID_TYPE";

impl SoqlError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> SoqlError {
        SoqlError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for SoqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Parentheses the SQL adds around and inside one condition (the condition's own, an `IN (…)`
/// list in it, a `CAST(…)` in the list), so the SQL nests at most this much deeper than the SOQL
/// it comes from.
const SQL_LEVELS_PER_CONDITION: usize = 3;

/// Bounds on one SOQL query, checked before anything recurses: each is one of the engine's query
/// limits (`sluice_engine::settings::defaults`), so the SQL made from a query within them stays
/// within what the guard accepts.
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    /// Characters of SOQL (Salesforce's own limit is also 100,000).
    pub max_len: usize,
    /// Parentheses and `NOT`s inside each other in WHERE.
    pub max_nesting: usize,
    /// Conditions in WHERE.
    pub max_terms: usize,
    /// Values of one `IN` list.
    pub max_in_values: usize,
    /// Fields the SELECT lists.
    pub max_fields: usize,
    /// Fields ORDER BY lists.
    pub max_sort_terms: usize,
}

impl Default for Bounds {
    fn default() -> Bounds {
        Bounds {
            max_len: defaults::QUERY_MAX_SQL_LEN,
            max_nesting: defaults::QUERY_MAX_NESTING - SQL_LEVELS_PER_CONDITION,
            max_terms: defaults::QUERY_MAX_EXPRESSION_TERMS,
            max_in_values: defaults::MAX_IN_VALUES,
            max_fields: defaults::QUERY_MAX_RESULT_COLUMNS,
            max_sort_terms: defaults::MAX_SORT_TERMS,
        }
    }
}

/// Translates one SOQL query over `app`'s objects into SQL for the store whose grammar `syntax`
/// is; `now` is the instant date literals (`TODAY`, `LAST_N_DAYS:7`…) count from, in UTC.
pub fn translate(
    soql: &str,
    app: &App,
    syntax: SqlSyntax,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Translated, SoqlError> {
    translate_within(soql, app, &syntax, now, &Bounds::default())
}

pub(crate) fn translate_within(
    soql: &str,
    app: &App,
    syntax: &SqlSyntax,
    now: chrono::DateTime<chrono::Utc>,
    bounds: &Bounds,
) -> Result<Translated, SoqlError> {
    // Salesforce's own wording for the same limit.
    if soql.chars().count() > bounds.max_len {
        return Err(SoqlError::new(
            MALFORMED_QUERY,
            format!(
                "SOQL statements cannot be longer than {} characters.",
                bounds.max_len
            ),
        ));
    }
    let tokens = lex::lex(soql)?;
    let query = parse::parse(soql, &tokens, bounds)?;
    let out = translate::sql(soql, &query, app, syntax, now.date_naive())?;
    // The guard itself, with the limits every store runs queries under: what passes here is
    // what the query API will run, and a query whose SQL came out past a limit is refused here
    // in Salesforce's terms rather than later in the store's.
    sluice_engine::query::prepare(app, &out.sql, syntax, None, &Settings::default().query)
        .map_err(|e| {
            SoqlError::new(
                MALFORMED_QUERY,
                format!("the query is too complex to run: {}", e.message),
            )
        })?;
    Ok(out)
}

/// A message as Salesforce words errors of the query text: the line it found it on, a caret under
/// the place, `ERROR at Row:r:Column:c`, then the text.
pub(crate) fn located(soql: &str, at: usize, text: &str) -> String {
    /// Characters of a long line shown on either side of the place.
    const SHOWN: usize = 60;
    let at = at.min(soql.len());
    let start = soql[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = soql[at..].find('\n').map_or(soql.len(), |i| at + i);
    let line = soql[start..end].trim_end_matches('\r');
    let row = soql[..start].matches('\n').count() + 1;
    let column = soql[start..at].chars().count();
    let skip = column.saturating_sub(SHOWN);
    let shown: String = line.chars().skip(skip).take(2 * SHOWN).collect();
    format!(
        "\n{shown}\n{}^\nERROR at Row:{row}:Column:{}\n{text}",
        " ".repeat(column - skip),
        column + 1
    )
}

/// A syntax error at byte `at` of the query.
pub(crate) fn malformed(soql: &str, at: usize, text: &str) -> SoqlError {
    SoqlError::new(MALFORMED_QUERY, located(soql, at, text))
}
