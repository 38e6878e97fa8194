//! Read-only queries as plain data: a checked statement whose object references wait for the
//! store to name their tables, how objects look to it (a view), and its answer.

use super::catalog::Object;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sqlparser::ast::Statement;
use sqlparser::dialect::Dialect;
use std::sync::Arc;

/// How a store's SQL looks to the query checker: its grammar (queries are parsed as the store will
/// run them), the name prefixes of its own tables, which a query's CTEs may not take, and the
/// functions and table functions a query may call there.
pub struct SqlSyntax {
    pub dialect: Box<dyn Dialect + Send + Sync>,
    pub reserved_prefixes: &'static [&'static str],
    pub functions: &'static [&'static str],
    pub table_functions: &'static [&'static str],
}

/// A record column a view can show under another name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewColumn {
    Id,
    CreatedAt,
    UpdatedAt,
    CreatedBy,
    UpdatedBy,
    /// The object's field of this name, or NULL where the object has none.
    FieldOrNull(String),
}

/// How objects appear as tables to a query: these named columns first, then every field by its
/// name. Without a view, a query sees records as stored (system fields, then fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryView {
    pub columns: Vec<(String, ViewColumn)>,
}

/// One object a query reads: the placeholder table name the checker put in its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub placeholder: String,
    pub object: Arc<Object>,
}

/// How much of a query's answer to keep, applied by the store around the checked statement: an
/// order by one of its result columns, and a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    /// A result column, and whether descending.
    pub order_by: Option<(String, bool)>,
    /// `(offset, limit)`.
    pub page: Option<(u64, u64)>,
}

/// A checked read-only query: the statement, the objects it reads (as placeholders the store
/// replaces with its tables, seen through `view`), its CTE names (which a store may also see as
/// reads: a recursive CTE reads itself), and the window of its answer to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedQuery {
    pub statement: Statement,
    pub relations: Vec<Relation>,
    pub view: Option<QueryView>,
    pub ctes: Vec<String>,
    pub window: Window,
}

impl CheckedQuery {
    /// Prefix of the placeholders; object names cannot start with `_`, so none is a user's name.
    pub const PLACEHOLDER: &'static str = "__sluice_rel_";

    pub fn relation(&self, name: &str) -> Option<&Relation> {
        self.relations.iter().find(|r| r.placeholder == name)
    }
}

/// Functions a query may call on SQLite (lower case). No file, extension, blob-making or
/// formatting functions: nothing that reaches outside the database or allocates without bound.
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "total",
    "avg",
    "min",
    "max",
    "group_concat",
    "string_agg",
    "abs",
    "coalesce",
    "ifnull",
    "iif",
    "nullif",
    "lower",
    "upper",
    "length",
    "octet_length",
    "substr",
    "substring",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "instr",
    "like",
    "glob",
    "round",
    "sign",
    "ceil",
    "ceiling",
    "floor",
    "trunc",
    "mod",
    "pow",
    "power",
    "sqrt",
    "exp",
    "ln",
    "log",
    "log10",
    "log2",
    "typeof",
    "unicode",
    "char",
    "hex",
    "quote",
    "date",
    "time",
    "datetime",
    "julianday",
    "strftime",
    "unixepoch",
    "json",
    "json_extract",
    "json_array_length",
    "json_type",
    "json_valid",
    "json_object",
    "json_array",
    "json_quote",
    "json_group_array",
    "json_group_object",
    "concat",
    "concat_ws",
    "likely",
    "unlikely",
    "likelihood",
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// Table-valued functions a query may read from on SQLite.
pub const TABLE_FUNCTIONS: &[&str] = &["json_each", "json_tree"];

/// Functions a query may call on PostgreSQL (lower case), on the same terms: nothing that reads
/// files or settings, sleeps, makes series, or pads and repeats without bound.
pub const PG_FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "abs",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "lower",
    "upper",
    "initcap",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "substr",
    "substring",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "replace",
    "strpos",
    "position",
    "left",
    "right",
    "split_part",
    "starts_with",
    "round",
    "sign",
    "ceil",
    "ceiling",
    "floor",
    "trunc",
    "mod",
    "div",
    "power",
    "sqrt",
    "cbrt",
    "exp",
    "ln",
    "log",
    "log10",
    "pi",
    "concat",
    "concat_ws",
    "date_trunc",
    "date_part",
    "extract",
    "age",
    "now",
    "current_date",
    "to_timestamp",
    "make_date",
    "json_extract_path_text",
    "jsonb_extract_path_text",
    "json_array_length",
    "jsonb_array_length",
    "json_typeof",
    "jsonb_typeof",
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
];

/// Table-valued functions a query may read from on PostgreSQL.
pub const PG_TABLE_FUNCTIONS: &[&str] = &[
    "json_array_elements",
    "jsonb_array_elements",
    "json_each",
    "jsonb_each",
];

/// A query's answer: column names, their types (`integer`, `double`, `string`…), and rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub types: Vec<String>,
    pub rows: Vec<Vec<Json>>,
}

impl QueryResult {
    /// Index of the column named `name` (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}
