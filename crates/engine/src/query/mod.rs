//! Read-only SQL over an app's objects: parsed with a real SQL parser, checked against an
//! allow-list (one SELECT, the app's objects, vetted functions), and rewritten to the objects'
//! tables. The store runs the result on a read-only connection behind SQLite's authorizer, with a
//! time limit and a row cap.

mod check;

pub use check::{prepare, CheckedQuery, Flavor, ALLOWED_FUNCTIONS, TABLE_FUNCTIONS};

use serde_json::Value as Json;
use std::time::Duration;

/// Bounds on one query's work.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    pub max_rows: usize,
    pub timeout: Duration,
    /// Longest SQL text accepted.
    pub max_sql_len: usize,
    /// Most bytes of values one answer may hold.
    pub max_result_bytes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_rows: 10_000,
            timeout: Duration::from_secs(5),
            max_sql_len: 100_000,
            max_result_bytes: 64 << 20,
        }
    }
}

/// A query's answer: column names, their types (`integer`, `double`, `string`…), and rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Vec<Json>>,
}

impl QueryResult {
    /// The native JSON answer: `{"columns": […], "rows": [[…]…]}`.
    pub fn to_json(&self) -> Json {
        serde_json::json!({"columns": self.columns, "rows": self.rows})
    }

    /// The answer as CSV text (header row, then values; null as an empty cell).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for row in &self.rows {
            let _ = w.write_record(row.iter().map(|v| match v {
                Json::Null => String::new(),
                Json::String(s) => s.clone(),
                other => other.to_string(),
            }));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// Index of the column named `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}
