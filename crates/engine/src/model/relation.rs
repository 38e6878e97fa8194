//! Relations between objects as plain data: what a relation field points at, what deleting its
//! target does, and a lookup that names a target by one of its unique fields instead of its id.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What deleting a record does to the records whose relation field points at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// The delete is refused while a record points at it.
    #[default]
    Restrict,
    /// The pointing records are deleted with it, in the same transaction.
    Cascade,
    /// The pointing records' field is cleared.
    SetNull,
}

impl OnDelete {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restrict => "restrict",
            Self::Cascade => "cascade",
            Self::SetNull => "set_null",
        }
    }
}

/// The object a relation field points at (in the same app), and its delete rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationTarget {
    pub object: String,
    #[serde(default)]
    pub on_delete: OnDelete,
}

/// A relation value that names its target by a unique field (`{"email": "ops@acme.io"}`, or a
/// CSV column `account.email`), resolved to the target's id before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// The target object's field.
    pub field: String,
    /// The value it must hold: JSON as a body gave it, or a string from a cell.
    pub key: Json,
}

impl Lookup {
    /// A body's `{"<field>": value}`: exactly one member whose value is a scalar.
    pub fn from_json(v: &Json) -> Option<Lookup> {
        let map = v.as_object()?;
        let (field, key) = map.iter().next().filter(|_| map.len() == 1)?;
        (!key.is_object() && !key.is_array() && !key.is_null()).then(|| Lookup {
            field: field.clone(),
            key: key.clone(),
        })
    }

    pub fn to_json(&self) -> Json {
        Json::Object(
            [(self.field.clone(), self.key.clone())]
                .into_iter()
                .collect(),
        )
    }

    /// The looked-for value as a message shows it.
    pub fn shown(&self) -> String {
        match &self.key {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}
