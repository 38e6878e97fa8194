//! Filters and list requests as clients write them (field names, JSON values), before they are
//! resolved against an object; plain data, so an export can keep its selection.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    StartsWith,
    EndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
    IsNull,
    NotNull,
    Between,
}

/// A filter by field names, as clients write it; resolved against the object when the op runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cmp {
        field: String,
        op: FilterOp,
        value: Json,
    },
}

/// A list request: filter, free-text search, sort (`(field, descending)`), page size and position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListSpec {
    pub filter: Vec<Filter>,
    /// Free text that must appear, ignoring case, in at least one of the object's text fields
    /// (AND-ed with `filter`); blank means no search.
    pub search: Option<String>,
    pub sort: Vec<(String, bool)>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    pub offset: Option<u64>,
    pub count: bool,
    /// Relation paths whose records replace their ids (`account`, `account.owner`).
    pub expand: Vec<String>,
    /// Only the records linked to one record (a vendor's related-records route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked: Option<Box<Linked>>,
}

/// The records linked to record `id` of `object` through the relation field `field`. Forward:
/// `field` is `object`'s, and the list holds the one record it points at (none when it is empty).
/// Reverse: `field` is the listed object's, pointing at `object`, and the list holds the records
/// whose `field` holds `id`. The record must exist and be readable, else the list is `not_found`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linked {
    pub object: String,
    pub id: String,
    pub field: String,
    pub forward: bool,
}
