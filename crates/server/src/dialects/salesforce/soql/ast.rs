//! The parsed query: plain data the translation reads.

pub struct Query {
    pub fields: Vec<Path>,
    pub object: String,
    /// Where the object's name is in the query.
    pub object_at: usize,
    /// `FROM Contact c`: `c.Name` names Contact's Name.
    pub alias: Option<String>,
    pub filter: Option<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<u64>,
}

/// A field: `Name`, or a parent's field `Account.Name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub parts: Vec<String>,
    pub at: usize,
}

impl Path {
    /// As the query wrote it (without spaces around the dots).
    pub fn text(&self) -> String {
        self.parts.join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Cmp),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cmp {
    pub field: Path,
    pub op: Op,
    pub value: Value,
    /// Where the value starts.
    pub value_at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str {
        value: String,
        pattern: String,
    },
    Num(String),
    Bool(bool),
    Null,
    Date(chrono::NaiveDate),
    DateTime(chrono::DateTime<chrono::Utc>),
    /// A date literal (`TODAY`, `LAST_N_DAYS:30`): its name in upper case and its `n`.
    Relative {
        name: String,
        n: Option<String>,
    },
    List(Vec<(Value, usize)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub field: Path,
    pub desc: bool,
    /// `NULLS FIRST` (true) or `NULLS LAST`; Salesforce's default is first when ascending and
    /// last when descending (SOQL and SOSL Reference, "ORDER BY").
    pub nulls_first: bool,
}
