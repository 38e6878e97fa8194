//! Record selections: conditions, sort keys and keyset cursors over an object's columns.

use super::catalog::Object;
use super::value::{FieldType, Value};
use crate::error::{Error, ErrorCode, Result};
use base64::Engine as _;
use serde_json::Value as Json;

/// A column of an object's table: a system field or a user field (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    CreatedAt,
    UpdatedAt,
    CreatedBy,
    UpdatedBy,
    Field(usize),
}

impl Column {
    /// Resolves a name against `obj`: system fields first, then user fields.
    pub fn resolve(obj: &Object, name: &str) -> Result<Column> {
        Ok(match name {
            "id" => Column::Id,
            "created_at" => Column::CreatedAt,
            "updated_at" => Column::UpdatedAt,
            "created_by" => Column::CreatedBy,
            "updated_by" => Column::UpdatedBy,
            _ => Column::Field(obj.field(name).map(|(i, _)| i).ok_or_else(|| {
                Error::new(
                    ErrorCode::UnknownField,
                    format!("{} has no field {name:?}", obj.name),
                )
                .with_field(name)
            })?),
        })
    }

    pub fn ty(self, obj: &Object) -> FieldType {
        match self {
            Column::CreatedAt | Column::UpdatedAt => FieldType::Datetime,
            Column::Id | Column::CreatedBy | Column::UpdatedBy => FieldType::Text,
            Column::Field(i) => obj.fields[i].ty,
        }
    }

    pub fn name(self, obj: &Object) -> &str {
        match self {
            Column::Id => "id",
            Column::CreatedAt => "created_at",
            Column::UpdatedAt => "updated_at",
            Column::CreatedBy => "created_by",
            Column::UpdatedBy => "updated_by",
            Column::Field(i) => obj.fields[i].name.as_str(),
        }
    }

    /// Converts a client's value for this column: JSON strings are read as text cells for typed columns,
    /// since query strings and most vendor filters carry every value as a string.
    pub fn value(self, obj: &Object, v: &Json) -> Result<Value> {
        let ty = self.ty(obj);
        let converted = match v {
            Json::String(s) if ty != FieldType::Text => Value::from_text(ty, s),
            _ => Value::from_json(ty, v),
        };
        converted.map_err(|m| Error::validation(self.name(obj), format!("{}: {m}", self.name(obj))))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
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
}

/// A condition tree over one object's columns; values are already typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    True,
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp(Column, CmpOp, Value),
    In(Column, Vec<Value>, bool),
    IsNull(Column, bool),
    Between(Column, Value, Value),
    /// Free text: the value appears, ignoring case, in at least one of these columns (none: no
    /// record matches).
    Search(Vec<Column>, Value),
    /// The record that relation field (by index) points at, a record of that object, meets the
    /// condition (`account.email = …`).
    Related(usize, std::sync::Arc<Object>, Box<Cond>),
}

impl Cond {
    /// How many comparisons the condition makes, and how many values it binds.
    pub fn size(&self) -> (usize, usize) {
        match self {
            Cond::True => (0, 0),
            Cond::And(cs) | Cond::Or(cs) => cs.iter().fold((0, 0), |(c, v), x| {
                let (c2, v2) = x.size();
                (c + c2, v + v2)
            }),
            Cond::Not(c) | Cond::Related(_, _, c) => c.size(),
            Cond::Cmp(..) => (1, 1),
            Cond::In(_, vs, _) => (1, vs.len()),
            Cond::IsNull(..) => (1, 0),
            Cond::Between(..) => (1, 2),
            Cond::Search(..) => (1, 1),
        }
    }

    pub fn and(conds: Vec<Cond>) -> Cond {
        match conds.len() {
            0 => Cond::True,
            1 => conds.into_iter().next().unwrap_or(Cond::True),
            _ => Cond::And(conds),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub column: Column,
    pub desc: bool,
}

/// What to read: a condition, an order (the id breaks ties), a page size, and a position.
#[derive(Debug, Clone)]
pub struct Selection {
    pub cond: Cond,
    pub sort: Vec<SortKey>,
    pub limit: usize,
    pub offset: u64,
    /// Keyset position: the sort values then the id of the last record of the previous page.
    pub after: Option<Vec<Value>>,
}

impl Selection {
    /// The full key list, with `id` appended (in the direction of the last key) so the order is total.
    pub fn keys(&self) -> Vec<SortKey> {
        let mut keys = self.sort.clone();
        if !keys.iter().any(|k| k.column == Column::Id) {
            let desc = keys.last().is_some_and(|k| k.desc);
            keys.push(SortKey {
                column: Column::Id,
                desc,
            });
        }
        keys
    }
}

/// Parses `sort=-created_at,name` into keys.
pub fn parse_sort(obj: &Object, s: &str) -> Result<Vec<SortKey>> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (desc, name) = match p.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, p.strip_prefix('+').unwrap_or(p)),
            };
            Ok(SortKey {
                column: Column::resolve(obj, name)?,
                desc,
            })
        })
        .collect()
}

/// Encodes a keyset cursor from the key values of the last record on a page.
pub fn encode_cursor(values: &[Value]) -> String {
    let arr = Json::Array(values.iter().map(Value::to_json).collect());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(arr.to_string())
}

/// Decodes a cursor for the given key list; a cursor from another sort is refused.
pub fn decode_cursor(obj: &Object, keys: &[SortKey], cursor: &str) -> Result<Vec<Value>> {
    let bad = || Error::invalid("the cursor is not valid for this query");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let arr: Vec<Json> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if arr.len() != keys.len() {
        return Err(bad());
    }
    keys.iter()
        .zip(&arr)
        .map(|(k, v)| Value::from_json(k.column.ty(obj), v).map_err(|_| bad()))
        .collect()
}
