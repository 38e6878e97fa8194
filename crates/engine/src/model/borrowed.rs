//! Records read in place: values and system fields borrowed from the store's row, for readers
//! that only pass them on (exports), so a million rows cost no million allocations.

use super::record::Record;
use super::selection::Column;
use super::value::Value;

/// A field value borrowed from where it was read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Text(&'a str),
    Integer(i64),
    Number(f64),
    Boolean(bool),
    Date(&'a str),
    DateTime(&'a str),
    Json(&'a str),
}

impl ValueRef<'_> {
    /// Writes this value into `slot`, reusing its text's allocation where both hold text of one
    /// kind (a scan keeping its last row's keys allocates nothing per row).
    pub fn store_in(self, slot: &mut Value) {
        match (self, &mut *slot) {
            (ValueRef::Text(s), Value::Text(t))
            | (ValueRef::Date(s), Value::Date(t))
            | (ValueRef::DateTime(s), Value::DateTime(t))
            | (ValueRef::Json(s), Value::Json(t)) => {
                t.clear();
                t.push_str(s);
            }
            (v, slot) => *slot = v.to_value(),
        }
    }

    pub fn to_value(self) -> Value {
        match self {
            ValueRef::Null => Value::Null,
            ValueRef::Text(s) => Value::Text(s.to_owned()),
            ValueRef::Integer(n) => Value::Integer(n),
            ValueRef::Number(f) => Value::Number(f),
            ValueRef::Boolean(b) => Value::Boolean(b),
            ValueRef::Date(s) => Value::Date(s.to_owned()),
            ValueRef::DateTime(s) => Value::DateTime(s.to_owned()),
            ValueRef::Json(s) => Value::Json(s.to_owned()),
        }
    }
}

impl Value {
    pub fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Text(s) => ValueRef::Text(s),
            Value::Integer(n) => ValueRef::Integer(*n),
            Value::Number(f) => ValueRef::Number(*f),
            Value::Boolean(b) => ValueRef::Boolean(*b),
            Value::Date(s) => ValueRef::Date(s),
            Value::DateTime(s) => ValueRef::DateTime(s),
            Value::Json(s) => ValueRef::Json(s),
            // Resolved before anything is stored or read back.
            Value::Lookup(_) => ValueRef::Null,
        }
    }
}

/// A record borrowed from where it was read: system fields, then one value per field.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    pub id: &'a str,
    pub created_at: &'a str,
    pub updated_at: &'a str,
    pub created_by: &'a str,
    pub updated_by: &'a str,
    pub values: &'a [ValueRef<'a>],
}

impl RecordRef<'_> {
    /// The value in column `c` (a system field as text, or datetime).
    pub fn get(&self, c: Column) -> ValueRef<'_> {
        match c {
            Column::Id => ValueRef::Text(self.id),
            Column::CreatedAt => ValueRef::DateTime(self.created_at),
            Column::UpdatedAt => ValueRef::DateTime(self.updated_at),
            Column::CreatedBy => ValueRef::Text(self.created_by),
            Column::UpdatedBy => ValueRef::Text(self.updated_by),
            Column::Field(i) => self.values.get(i).copied().unwrap_or(ValueRef::Null),
        }
    }
}

impl Record {
    /// Hands this record, borrowed, to `f`.
    pub fn with_ref<R>(&self, f: impl FnOnce(&RecordRef<'_>) -> R) -> R {
        let values: Vec<ValueRef<'_>> = self.values.iter().map(Value::as_value_ref).collect();
        f(&RecordRef {
            id: &self.id,
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            created_by: &self.created_by,
            updated_by: &self.updated_by,
            values: &values,
        })
    }
}
