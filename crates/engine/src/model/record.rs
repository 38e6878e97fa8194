//! Records: system fields, ids, stamps, and the checked field writes built from client bodies.

use super::catalog::Object;
use super::names::SYSTEM_FIELDS;
use super::time::Timestamp;
use super::value::Value;
use crate::error::{Error, ErrorCode, Result};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

/// A record id: a UUID v7, time-ordered so new rows append to the index instead of scattering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordId(String);

impl RecordId {
    pub fn new() -> RecordId {
        RecordId(Uuid::now_v7().to_string())
    }

    /// Parses a client-supplied id; anything but a UUID cannot name a record.
    pub fn parse(s: &str) -> Result<RecordId> {
        Uuid::parse_str(s)
            .map(|u| RecordId(u.hyphenated().to_string()))
            .map_err(|_| Error::not_found(format!("no record with id {s:?}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RecordId {
    fn default() -> Self {
        Self::new()
    }
}

/// Who wrote, and when.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub user: String,
    pub at: Timestamp,
}

/// A stored record: system fields plus one value per field of its object, in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: String,
    pub updated_by: String,
    pub values: Vec<Value>,
}

impl Record {
    pub fn to_json(&self, obj: &Object) -> Json {
        let mut m = Map::with_capacity(self.values.len() + 5);
        m.insert("id".into(), Json::String(self.id.clone()));
        for (f, v) in obj.fields.iter().zip(&self.values) {
            m.insert(f.name.to_string(), v.to_json());
        }
        m.insert("created_at".into(), Json::String(self.created_at.clone()));
        m.insert("updated_at".into(), Json::String(self.updated_at.clone()));
        m.insert("created_by".into(), Json::String(self.created_by.clone()));
        m.insert("updated_by".into(), Json::String(self.updated_by.clone()));
        Json::Object(m)
    }
}

/// Checked assignments of values to an object's fields, by field index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Writes(pub Vec<(usize, Value)>);

/// How a body's absent fields are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Create or replace: absent fields take their default (or null), required ones must end non-null.
    Whole,
    /// Merge: only present fields change.
    Merge,
}

impl Writes {
    /// The writes as a JSON body for `obj`, the object they were checked against.
    pub fn to_json(&self, obj: &Object) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(i, v)| (obj.fields[*i].name.to_string(), v.to_json()))
                .collect(),
        )
    }

    /// Checks a JSON body against `obj`: unknown fields are refused, types are strict, required fields present.
    /// System fields are read-only and ignored, so a record fetched and sent back is accepted.
    pub fn from_body(obj: &Object, body: &Json, mode: WriteMode) -> Result<Writes> {
        let map = body.as_object().ok_or_else(|| {
            Error::new(
                ErrorCode::ValidationFailed,
                "the record must be a JSON object",
            )
        })?;
        // One pass over the body, matching keys to fields by position: no hashing on the hot path.
        let mut given: Vec<Option<&Json>> = vec![None; obj.fields.len()];
        for (key, v) in map {
            match obj.fields.iter().position(|f| f.name.as_str() == key) {
                Some(i) => given[i] = Some(v),
                None if SYSTEM_FIELDS.contains(&key.as_str()) => {}
                None => {
                    return Err(Error::new(
                        ErrorCode::UnknownField,
                        format!("{} has no field {key:?}", obj.name),
                    )
                    .with_field(key.as_str()))
                }
            }
        }
        let mut writes = Vec::with_capacity(obj.fields.len());
        for ((i, f), v) in obj.fields.iter().enumerate().zip(given) {
            let value = match v {
                Some(v) => Value::from_json(f.ty, v)
                    .map_err(|m| Error::validation(f.name.as_str(), format!("{}: {m}", f.name)))?,
                None if mode == WriteMode::Merge => continue,
                None => f.default_value().unwrap_or(Value::Null),
            };
            if f.required && value.is_null() {
                return Err(required(f.name.as_str()));
            }
            writes.push((i, value));
        }
        Ok(Writes(writes))
    }
}

fn required(field: &str) -> Error {
    Error::new(ErrorCode::Required, format!("{field} is required")).with_field(field)
}
